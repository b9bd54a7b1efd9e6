// An async factory: gpe-server calls create() once in each worker, after the fork, so anything it
// opens (a database pool, a file, a socket) belongs to that worker alone.
//   npx gpe-server -w 2 'examples/factory-app.mjs:create()'
import { appendFileSync, closeSync, openSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function create() {
  // Stands in for a connection pool: a journal file per worker, opened before serving, closed
  // and removed when the worker exits.
  const dir = await mkdtemp(join(tmpdir(), "gpe-example-"));
  const journal = openSync(join(dir, "journal.log"), "a");
  process.once("exit", () => {
    closeSync(journal);
    rmSync(dir, { recursive: true, force: true });
  });
  let served = 0;
  return (req, res) => {
    served += 1;
    appendFileSync(journal, `${new Date().toISOString()} ${req.method} ${req.url}\n`);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ worker: process.pid, served, journal: dir }));
  };
}
