// The HTTP edge, held against bare node:http serving the same handler: what each worker type
// answers to pipelining, odd bodies, malformed and hostile input, and clients that leave early;
// and that however a connection ends, the worker's accounting comes back to idle.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { isDeepStrictEqual } from "node:util";
import { join } from "node:path";
import { startServer, stopAll, waitFor, FIXTURES } from "../helpers/harness.mjs";
import { exchange } from "../helpers/raw-http.mjs";
import {
  CASES,
  TARGETS,
  expected,
  assertIdleAndServing,
  get,
  seeded,
  randomConnection,
} from "../helpers/http-cases.mjs";
import app from "../fixtures/app.mjs";

let reference;
const referenceAnswers = new Map();

before(async () => {
  // A rejected body read (the client cut it short) is the app's to handle, as in any Node server.
  reference = http.createServer((req, res) => app(req, res).catch(() => res.destroy()));
  await new Promise((resolve) => reference.listen(0, "127.0.0.1", resolve));
  const port = reference.address().port;
  for (const c of CASES) referenceAnswers.set(c.name, await exchange(port, c));
});

after(async () => {
  reference?.closeAllConnections();
  reference?.close();
  await stopAll();
});

describe("bare node:http, the reference", () => {
  it("answers each case as the table says", () => {
    for (const c of CASES) {
      if (c.node) assert.deepEqual(referenceAnswers.get(c.name).statuses, c.node, c.name);
    }
  });
});

for (const target of TARGETS) {
  describe(`${target.name} worker against bare node:http`, () => {
    it("answers every case as bare Node does, but for the listed differences, and ends up idle", async () => {
      const s = await startServer({ workers: 2, args: target.args, app: join(FIXTURES, "app.mjs") });
      const pids = s.workerPids();
      const before = (await s.scrape()).sum("gunicorn_worker_error_handling_total");
      const results = await Promise.all(CASES.map(async (c) => [c, await exchange(s.port, c)]));
      let badRequests = 0;
      for (const [c, got] of results) {
        const ref = referenceAnswers.get(c.name);
        const answers = expected(target, c, ref.statuses);
        assert.ok(
          answers.some((statuses) => isDeepStrictEqual(got.statuses, statuses)),
          `${c.name}: answered ${JSON.stringify(got.statuses)}, expected one of ${JSON.stringify(answers)}; bare Node answered ${JSON.stringify(ref.statuses)}`,
        );
        if (c.body) assert.ok(got.bytes.toString("latin1").includes(c.body), `${c.name}: the body said ${c.body}`);
        badRequests += got.statuses.filter((x) => x >= 400).length;
      }
      await assertIdleAndServing(s, pids);
      await waitFor(
        async () => (await s.scrape()).sum("gunicorn_worker_error_handling_total") - before >= badRequests,
        {
          timeout: 5000,
          what: `${badRequests} error answers counted in gunicorn_worker_error_handling_total`,
        },
      );
    });
  });
}

/** Sends each connection of `list`, `concurrency` at a time. */
async function runAll(port, list, concurrency) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) await exchange(port, list[next++]);
    }),
  );
}

for (const target of TARGETS) {
  describe(`${target.name} worker: pipelining clients cannot wedge it`, () => {
    const pipelined = [get() + get() + get()];

    it("two connections of three pipelined GETs, read to the end: later clients are served, stop is quick", async () => {
      const s = await startServer({ workers: 2, args: target.args });
      const pids = s.workerPids();
      const answers = await Promise.all([0, 1].map(() => exchange(s.port, { parts: pipelined })));
      for (const a of answers) assert.deepEqual(a.statuses, target.onePerConnection ? [200] : [200, 200, 200]);
      await assertIdleAndServing(s, pids);
      const t0 = Date.now();
      s.signal("SIGTERM");
      await s.exited;
      assert.ok(Date.now() - t0 < 5000, `graceful stop took ${Date.now() - t0} ms with nothing in flight`);
    });

    it("six connections of three pipelined GETs that hang up after 20 ms", async () => {
      const s = await startServer({ workers: 2, args: target.args });
      const pids = s.workerPids();
      await Promise.all(
        Array.from({ length: 6 }, () => exchange(s.port, { parts: pipelined, after: "hangup", hangupMs: 20 })),
      );
      await assertIdleAndServing(s, pids);
    });
  });
}

describe("random connections", () => {
  const seed = Number(process.env.GPE_EDGE_SEED ?? Date.now() % 2 ** 31);
  for (const target of TARGETS) {
    it(`${target.name} worker: ${120} connections of random valid and malformed requests leave it idle and serving`, async (t) => {
      t.diagnostic(`seed ${seed} (GPE_EDGE_SEED=${seed} repeats it)`);
      const rng = seeded(seed);
      const list = Array.from({ length: 120 }, () => randomConnection(rng));
      const s = await startServer({ workers: 2, args: target.args });
      const pids = s.workerPids();
      const t0 = Date.now();
      await runAll(s.port, list, 12);
      t.diagnostic(
        `${list.length} connections, ${list.reduce((n, c) => n + c.parts.length, 0)} writes, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      try {
        await assertIdleAndServing(s, pids);
      } catch (err) {
        err.message = `seed ${seed}: ${err.message}`;
        throw err;
      }
    });
  }
});
