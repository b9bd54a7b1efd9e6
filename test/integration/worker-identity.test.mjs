// What a worker knows of itself: NODE_APP_INSTANCE, its slot, its process title.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("worker identity", () => {
  it("gives each worker NODE_APP_INSTANCE and GPE_WORKER_ID, and a replacement keeps its slot's", async () => {
    const s = await startServer({ app: join(FIXTURES, "identity.mjs"), workers: 2 });
    const seen = new Map();
    await waitFor(
      async () => {
        const who = JSON.parse((await request(s.url("/"))).body);
        seen.set(who.instance, who);
        return seen.size === 2;
      },
      { what: "both workers to answer" },
    );
    assert.deepEqual([...seen.keys()].sort(), ["0", "1"]);
    for (const [instance, who] of seen) assert.equal(who.id, `worker_${Number(instance) + 1}`);
    const first = seen.get("0");
    process.kill(first.pid, "SIGKILL");
    const replacement = await waitFor(
      async () => {
        const who = JSON.parse((await request(s.url("/"))).body);
        return who.instance === "0" && who.pid !== first.pid && who;
      },
      { timeout: 20_000, what: "the replacement in slot 1 to answer" },
    );
    assert.equal(replacement.id, "worker_1");
  });
});
