// The one door to Node's internals checks itself at start-up.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import http from "node:http";
import { exchange } from "../../helpers/raw-http.mjs";
import {
  checkNodeInternals,
  handleProblems,
  internalsProblems,
  NodeInternalsError,
  pipelined,
} from "../../../dist/platform/node-internals.js";

describe("Node internals self-check", () => {
  it("finds nothing wrong on this Node", () => {
    assert.deepEqual(internalsProblems(), []);
    checkNodeInternals();
  });

  it("fails with one line naming the Node version when an internal is gone", () => {
    const saved = net._createServerHandle;
    delete net._createServerHandle;
    try {
      const problems = internalsProblems();
      assert.deepEqual(problems, ["net._createServerHandle is gone"]);
      assert.throws(
        () => checkNodeInternals(problems),
        (err) => {
          assert.ok(err instanceof NodeInternalsError);
          assert.equal(
            err.message,
            `gpe-server does not support Node ${process.version}: net._createServerHandle is gone`,
          );
          assert.ok(!err.message.includes("\n"));
          return true;
        },
      );
    } finally {
      net._createServerHandle = saved;
    }
  });

  it("checks a listening handle for what the master and workers use", () => {
    const handle = net._createServerHandle("127.0.0.1", 0, 4);
    try {
      assert.deepEqual(handleProblems(handle), []);
    } finally {
      handle.close();
    }
    assert.deepEqual(handleProblems({}), ["a listening handle has no readStop()", "a listening handle has no fd"]);
  });

  it("tells a pipelined request from one sent alone, from inside the handler", async () => {
    const seen = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.url} ${pipelined(req.socket)}`);
      res.end("ok");
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const send = (bytes) => exchange(server.address().port, { parts: [bytes], quietMs: 100 });
    try {
      await send("GET /alone HTTP/1.1\r\nHost: x\r\n\r\n");
      await send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    } finally {
      server.close();
    }
    assert.deepEqual(seen, ["/alone false", "/a true", "/b true"]);
  });
});
