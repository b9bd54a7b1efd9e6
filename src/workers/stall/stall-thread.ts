// The stall thread of a sync or async worker: a small thread beside the app's, so that the master
// can still ask where the main thread is blocked when its event loop no longer runs.
import { workerData } from "node:worker_threads";
import { mainThreadChannel, probe } from "./stall-probe.js";
import { answerProbes } from "./stall-line.js";

const { fd, timeoutMs } = workerData as { fd: number; timeoutMs: number };
answerProbes(fd, async (answer) => [await probe(mainThreadChannel(), "main", answer, timeoutMs)], true);
