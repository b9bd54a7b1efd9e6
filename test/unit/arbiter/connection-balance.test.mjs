// The keep-alive balance's rule, on counts: who is above its share, and by how much; and a worker's
// part in it (ConnectionShare).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { balancedWorker } from "../../doubles/workers.mjs";
import http from "node:http";
import { exchange } from "../../helpers/raw-http.mjs";
import { ASK_INTERVAL_MS, ConnectionBalance, excess, slackOver } from "../../../dist/arbiter/connection-balance.js";
import { ConnectionShare } from "../../../dist/workers/connections/connection-share.js";

describe("connection balance", () => {
  it("asks nothing of a pool near balance, or of a single worker", () => {
    assert.deepEqual(excess([25, 25]), [0, 0]);
    assert.deepEqual(excess([22, 28]), [0, 0], "within the slack of a tenth above the mean");
    assert.deepEqual(excess([12, 13, 12, 13]), [0, 0, 0, 0]);
    assert.deepEqual(excess([0, 0]), [0, 0]);
    assert.deepEqual(excess([50]), [0]);
  });

  it("asks a worker above its share to come down to the mean", () => {
    assert.deepEqual(excess([50, 0]), [25, 0]);
    assert.deepEqual(excess([36, 14]), [11, 0]);
    assert.deepEqual(excess([29, 2, 8, 11]), [16, 0, 0, 0]);
    assert.deepEqual(excess([5, 15, 15, 15]), [0, 2, 2, 2], "one left with few: every worker above the mean gives");
    assert.deepEqual(excess([10, 14, 13, 13]), [0, 0, 0, 0], "a spread within twice the slack is left alone");
    assert.deepEqual(excess([3, 0]), [0, 0], "a slack of at least one connection");
    assert.deepEqual(excess([4, 0]), [2, 0]);
    assert.equal(slackOver(25), 3);
  });

  it("spaces its asks to a worker, withdraws at once, and leaves out workers that take no work", async () => {
    const sent = [];
    const worker = (name, keptAlive, accepts = true) => balancedWorker(name, keptAlive, sent, accepts);
    const a = worker("a", 0);
    const b = worker("b", 0);
    const retiring = worker("c", 0, false);
    const balance = new ConnectionBalance(() => [a, b, retiring]);
    balance.reported(a, 40);
    assert.deepEqual(sent, [["a", 20]]);
    balance.reported(a, 38); // too soon after the last ask
    assert.deepEqual(sent, [["a", 20]]);
    await new Promise((r) => setTimeout(r, ASK_INTERVAL_MS + 10));
    balance.reported(a, 38);
    assert.deepEqual(sent.at(-1), ["a", 19], "asked again, its budget replaced");
    balance.reported(b, 30);
    assert.deepEqual(sent.at(-1), ["a", 0], "within its share again: the budget is withdrawn at once");
    balance.reported(retiring, 100);
    assert.equal(sent.filter(([n]) => n === "c").length, 0, "a worker that takes no work is never asked");
  });

  it("a worker asked to close connections never picks one whose client pipelines", async () => {
    const share = new ConnectionShare(
      () => 0,
      () => {},
    );
    share.shed(1);
    const seen = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.url} ${share.closeThis(req.socket)}`);
      res.end("ok");
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const send = (bytes) => exchange(server.address().port, { parts: [bytes], quietMs: 100 });
    try {
      await send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
      await send("GET /alone HTTP/1.1\r\nHost: x\r\n\r\n");
      await send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    } finally {
      server.close();
    }
    assert.deepEqual(seen, ["/a false", "/b false", "/alone true", "/after false"]);
    assert.equal(share.rebalanced, 1);
  });
});
