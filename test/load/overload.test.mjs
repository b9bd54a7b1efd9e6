// Admission control under a load past capacity: an open-loop load (arrivals that do not slow down
// with the server) several times what 2 workers can serve, clients that give up after 2 s. With
// --admission the excess is answered 503 with Retry-After at once and nothing times out. A load
// test measures the server, so it runs alone (npm test runs test/load/ after the rest, one file at
// a time): beside another test file's servers, a worker's share of 2 cores is anyone's guess.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, request, sleep, startServer, stopAll, waitFor } from "../helpers/harness.mjs";

after(stopAll);

const LOAD = join(ROOT, "support", "overload-load.mjs");
const APP = join(ROOT, "bench", "hello.mjs");

/** Runs the open-loop load against `url`; resolves with its figures. */
function overload(url, { rate, seconds, deadline }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, url, String(rate), String(seconds), String(deadline)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}

describe("admission control under overload", () => {
  // Each worker type: the wait shows in a different place (the loop for async workers; the
  // accept queue, the master's queue or a thread's own queue for the others).
  for (const klass of ["async", "sync", "thread"]) {
    it(`${klass}: the excess gets a fast 503 with Retry-After, the rest a bounded latency, nothing times out`, async () => {
      const s = await startServer({ app: APP, workers: 2, args: ["-k", klass, "--admission"] });
      // 10 ms of CPU a request: 2 workers serve at most 200 a second on 2 cores; 600 arrive.
      // Health checks on new connections meanwhile, as a load balancer's: never shed.
      const health = [];
      const checks = (async () => {
        for (let i = 0; i < 5; i++) {
          await sleep(400);
          health.push((await request(s.url("/healthz"), { headers: { connection: "close" }, timeout: 5000 })).status);
        }
      })();
      const r = await overload(s.url("/cpu?ms=10"), { rate: 600, seconds: 3, deadline: 2000 });
      await checks;
      assert.deepEqual(health, [200, 200, 200, 200, 200], "health checks are never shed");
      // Without admission most requests time out here (80 % for a thread worker before it could
      // shed); with it, none should. A hundredth is left for the load generator itself, which
      // shares the 2 cores. Sync and thread workers see less of the wait (a connection in the
      // kernel's accept queue while their loop runs a request): run alone they time out none, but
      // beside the rest of the suite up to 15 % did (Node 24: 223 of 1 722, 256 of 1 760), so
      // they get a quarter: still far from what no admission gives.
      const slack = klass === "async" ? 100 : 4;
      assert.ok(r.timedOut <= r.sent / slack, `nothing times out: ${JSON.stringify(r)}`);
      assert.equal(r.errors, 0, JSON.stringify(r));
      assert.ok(r.shed > r.sent / 4, `most of the excess is shed: ${JSON.stringify(r)}`);
      assert.equal(r.shedWithoutRetry, 0, "every 503 says Retry-After");
      // How many are let in depends on the machine (a busy core beside the suite leaves the workers
      // a fraction of their capacity); the bench measures the share, the test that some are served.
      assert.ok(r.ok >= 30, `admitted requests are served: ${JSON.stringify(r)}`);
      // Admitted requests of an async worker keep a latency well inside the clients' deadline. A
      // sync or thread worker's can wait unseen in the kernel's accept queue while its loop runs a
      // request: beside the rest of the suite their p99 reached the deadline (1 984 ms, 1 819), and
      // alone, with a busy core beside it, mostly 0.3-1.0 s but once 1.8 s. For them the test asks
      // only what is above, that few time out.
      if (klass === "async")
        assert.ok(r.okP99 < 1500, `admitted requests keep a bounded latency: ${JSON.stringify(r)}`);
      // Every 503 the clients saw is counted; a count may also be a 503 that reached its client
      // after the client gave up (counted there as timed out or late).
      let shed = [];
      await waitFor(
        async () => {
          shed = (await s.scrape()).find("gunicorn_worker_shed_total");
          return shed.reduce((a, x) => a + x.value, 0) >= r.shed;
        },
        { what: () => `${shed.reduce((a, x) => a + x.value, 0)} counted against ${JSON.stringify(r)}` },
      );
      const overloaded = shed.filter((x) => x.labels.reason === "overload").reduce((a, x) => a + x.value, 0);
      const all = shed.reduce((a, x) => a + x.value, 0);
      assert.ok(all >= r.shed && all <= r.shed + r.timedOut + r.late, `${all} counted: ${JSON.stringify(r)}`);
      assert.ok(overloaded > 0, JSON.stringify(shed));
      if (klass === "thread") {
        // The process refuses for a shedding thread before its queue: those never reach the
        // thread's admission control, which measures the wait of every request it sees.
        const seen = (await s.scrape()).sum("gunicorn_request_queue_seconds_count");
        assert.ok(seen < r.sent, `${seen} of ${r.sent} reached a thread`);
      }
    });
  }
});
