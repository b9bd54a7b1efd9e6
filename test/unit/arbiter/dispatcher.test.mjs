// The master's dispatcher: connections a worker handed back wait for a worker with room.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dispatchWorker, fakeSocket as socket } from "../../doubles/workers.mjs";
import { ConnectionDispatcher } from "../../../dist/arbiter/dispatcher.js";

describe("the master's dispatcher", () => {
  const worker = dispatchWorker;
  it("asks every worker for room once when a connection has to wait, and gives the oldest to the first that has some", () => {
    const a = worker(1);
    const b = worker(2);
    const d = new ConnectionDispatcher(() => [a, b], 100);
    d.full(a);
    d.full(b);
    d.handOff(a, socket("x"));
    d.handOff(a, socket("y"));
    assert.deepEqual([a.asked, b.asked], [1, 1], "asked once, not once a connection");
    d.idle(b);
    assert.deepEqual(b.got, ["x+"], "b gets the oldest, and hears that more wait");
    d.full(b); // b, having said it had room, says when it fills up
    d.idle(a);
    assert.deepEqual(a.got, ["y"]);
    d.full(a);
    assert.equal(d.queued, 0);
    d.handOff(a, socket("z"));
    assert.deepEqual([a.got, b.got], [["y"], ["x+"]], "both busy: z waits for an answer");
    assert.deepEqual([a.asked, b.asked], [2, 2], "the queue ran dry in between: a new wait asks again");
    d.idle(a);
    assert.deepEqual(a.got, ["y", "z"]);
  });

  it("passes a handed-off connection straight to a worker believed to have room", () => {
    const a = worker(1);
    const b = worker(2);
    const d = new ConnectionDispatcher(() => [a, b], 100);
    d.handOff(a, socket("x"));
    assert.deepEqual(b.got, ["x"]);
    assert.deepEqual([a.asked, b.asked], [0, 0]);
  });
});
