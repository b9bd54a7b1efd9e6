// The list of running requests the timeout diagnostics read.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RunningRequests } from "../../../dist/workers/http/running-requests.js";

describe("running requests", () => {
  const node = (name) => ({ name, prevRunning: null, nextRunning: null });
  it("lists oldest first and unlinks from anywhere", () => {
    const list = new RunningRequests();
    const [a, b, c] = ["a", "b", "c"].map(node);
    for (const n of [a, b, c]) list.add(n);
    assert.deepEqual(
      list.list().map((n) => n.name),
      ["a", "b", "c"],
    );
    list.remove(b);
    assert.deepEqual(
      list.list().map((n) => n.name),
      ["a", "c"],
    );
    list.remove(c);
    list.remove(a);
    assert.deepEqual(list.list(), []);
  });
});
