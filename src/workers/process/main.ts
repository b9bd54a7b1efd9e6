// Entry point of a worker process (forked by the master).
import { runWorker } from "./worker.js";
import type { WorkerInitData } from "../../config/settings.js";
import { EXIT_BOOT_ERROR } from "../../contracts/exit-codes.js";

const raw = process.env.GPE_WORKER_INIT;
if (!raw || typeof process.send !== "function") {
  process.stderr.write("gpe-server: this file is started by the gpe-server master, not by hand\n");
  process.exit(2);
}
delete process.env.GPE_WORKER_INIT;
runWorker(JSON.parse(raw) as WorkerInitData).catch((err: unknown) => {
  process.stderr.write(`gpe-server worker: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT_BOOT_ERROR);
});
