// What a worker with little room does with connections it cannot start yet, and what the master
// is told: the rules of AcceptFront, driven by hand with a fake clock. The sockets are stand-ins:
// these classes only pass them along (and pause them).
import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { fakeSocket as socket, oneAtATime } from "../../doubles/workers.mjs";
import { AcceptFront, LONG_WORK_MS, PendingConnections } from "../../../dist/workers/connections/accept-front.js";

let now = 0;
const realNow = performance.now;
beforeEach(() => {
  now = 0;
  performance.now = () => now;
});
afterEach(() => {
  performance.now = realNow;
});

function front() {
  const admission = oneAtATime();
  const sent = [];
  const f = new AcceptFront(admission, (m, handle) => sent.push(handle ? `${m.cmd} ${handle.name}` : m.cmd));
  /** The request in flight ends. */
  const finish = () => {
    admission.busy = false;
    f.roomChanged();
  };
  return { f, admission, sent, finish };
}

describe("a worker's held connections", () => {
  it("are served here while the work in front of them is short", () => {
    const { f, admission, sent, finish } = front();
    f.received(socket("a"), false);
    for (const n of ["b", "c", "d"]) f.received(socket(n), false);
    for (let i = 0; i < 3; i++) {
      now += 1;
      finish();
    }
    assert.deepEqual(admission.taken, ["a", "b", "c", "d"]);
    assert.deepEqual(sent, ["gpe:full"]);
    f.close();
  });

  it("go to the master once the oldest has waited LONG_WORK_MS, even behind requests that each were short", () => {
    const { f, admission, sent, finish } = front();
    f.received(socket("a"), false);
    for (const n of ["b", "c", "d"]) f.received(socket(n), false);
    now += LONG_WORK_MS * 0.6;
    finish(); // a ran 6 ms: b starts here
    now += LONG_WORK_MS * 0.6;
    finish(); // b ran 6 ms, but c and d have waited 12: c starts here, d goes round
    assert.deepEqual(admission.taken, ["a", "b", "c"]);
    assert.deepEqual(sent, ["gpe:full", "gpe:handoff d"]);
    f.close();
  });

  it("go to the master when the request in front ran long", () => {
    const { f, admission, sent, finish } = front();
    f.received(socket("a"), false);
    now += LONG_WORK_MS - 1;
    f.received(socket("b"), false);
    f.received(socket("c"), false);
    now += 2;
    finish();
    assert.deepEqual(admission.taken, ["a", "b"]);
    assert.deepEqual(sent, ["gpe:full", "gpe:handoff c"]);
    f.close();
  });
});

describe("what a worker tells the master about its room", () => {
  it("says nothing when its work runs out, and says it has room when asked", () => {
    const { f, sent, finish } = front();
    f.received(socket("a"), false);
    finish();
    assert.deepEqual(sent, ["gpe:full"], "room after every batch is not reported");
    f.wanted();
    assert.deepEqual(sent, ["gpe:full", "gpe:idle"], "asked while it has room: at once");
    f.received(socket("b"), false);
    assert.deepEqual(sent, ["gpe:full", "gpe:idle", "gpe:full"], "having said it has room, it says when it fills up");
    f.close();
  });

  it("when asked while busy, says it has room as soon as it has", () => {
    const { f, sent, finish } = front();
    f.received(socket("a"), false);
    f.wanted();
    assert.deepEqual(sent, ["gpe:full"]);
    finish();
    assert.deepEqual(sent, ["gpe:full", "gpe:idle"]);
    f.close();
  });

  it("owes the master its room after handing connections off, or when told more wait", () => {
    const { f, sent, finish } = front();
    f.received(socket("a"), true);
    finish();
    assert.deepEqual(sent, ["gpe:full", "gpe:idle"]);
    f.close();
  });

  // A property on some sockets and not others gives them another hidden class (accept-front.ts).
  it("on stopping, are served here if the master passed them on and sent round if not, and no socket is marked", () => {
    const { f, admission, sent } = front();
    const [a, b, c] = ["a", "b", "c"].map(socket);
    const keys = (s) => Reflect.ownKeys(s).map(String);
    const before = [a, b, c].map(keys);
    f.received(a, false);
    f.received(b, false); // from the master, held behind a
    f.accepted(c); // this worker's own, held behind a
    f.close();
    assert.deepEqual(admission.taken, ["a", "b"]);
    assert.deepEqual(sent, ["gpe:full", "gpe:handoff c"]);
    assert.deepEqual([a, b, c].map(keys), before);
  });
});

describe("connections waiting for their first request", () => {
  it("count until the request starts or the socket closes, and are not marked", () => {
    const pending = new PendingConnections();
    const [a, b, c] = ["a", "b", "c"].map(socket);
    const before = Reflect.ownKeys(a).map(String);
    for (const s of [a, b, c]) pending.add(s);
    assert.equal(pending.count, 3);
    pending.started(a);
    pending.closed(b);
    pending.closed(a); // closing after its request started changes nothing
    pending.started(null); // a request on a socket already gone
    assert.equal(pending.count, 1);
    pending.closed(c);
    assert.equal(pending.count, 0);
    assert.deepEqual(Reflect.ownKeys(a).map(String), before);
  });
});
