// The WORKER TIMEOUT message the master logs for a worker that timed out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { timeoutMessage } from "../../../dist/arbiter/stall-report.js";

describe("the WORKER TIMEOUT message", () => {
  it("names the worker, each blocked thread's requests and its stack", () => {
    const text = timeoutMessage({ pid: 7, slot: 2 }, 31_200, [
      {
        thread: "main",
        frames: ["at spin (file:///app.js:3:5)"],
        inFlight: [{ method: "GET", url: "/x", ms: 31_000 }],
      },
    ]);
    assert.equal(
      text,
      "WORKER TIMEOUT (pid:7, slot 2): blocked for 31.2 s\n  main: serving GET /x (31.0 s)\n    at spin (file:///app.js:3:5)",
    );
  });
  it("says so when the worker did not answer", () => {
    assert.match(timeoutMessage({ pid: 7, slot: 2 }, 5000, null), /did not say where/);
  });
});
