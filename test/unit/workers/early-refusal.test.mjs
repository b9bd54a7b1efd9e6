// A 503 before the parser, from the request line alone: for a plain HTTP/1 request on a new,
// paused connection; never for an exempt path, HTTP/2's preface, or bytes not there yet.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { EarlyRefusal } from "../../../dist/workers/http/early-refusal.js";

const servers = [];
after(() => {
  for (const s of servers) s.close();
});

/** A paused server-side socket whose client has sent `bytes` (or nothing), and the client. */
async function connected(bytes) {
  const server = net.createServer({ pauseOnConnect: true });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const client = net.connect(server.address().port, "127.0.0.1");
  await once(client, "connect");
  if (bytes) client.write(bytes);
  const [socket] = await accepted;
  await new Promise((r) => setTimeout(r, 50)); // the bytes reach the server's kernel buffer
  return { socket, client };
}

const answer = (client) =>
  new Promise((resolve) => {
    let text = "";
    client.on("data", (d) => (text += d));
    client.on("end", () => {
      client.end();
      resolve(text);
    });
  });

describe("early refusal", () => {
  it("answers a plain request 503 with Retry-After and closes, counting its method", async () => {
    const refused = [];
    const r = new EarlyRefusal(new Set(["/healthz"]), (method, seconds) => refused.push([method, seconds]));
    const { socket, client } = await connected("POST /orders?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    assert.equal(r.refuse(socket), true);
    const text = await answer(client);
    assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(text, /\r\nretry-after: 1\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/);
    assert.equal(refused.length, 1);
    assert.equal(refused[0][0], "POST");
    assert.ok(refused[0][1] >= 0 && refused[0][1] < 1);
  });

  it("lets an exempt path, HTTP/2's preface and a connection with nothing sent yet go on, bytes in place", async () => {
    const r = new EarlyRefusal(new Set(["/healthz"]), () => assert.fail("nothing is refused"));
    for (const sent of ["GET /healthz?full=1 HTTP/1.1\r\nHost: a\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]) {
      const { socket, client } = await connected(sent);
      assert.equal(r.refuse(socket), false, sent);
      assert.equal(socket.read()?.toString(), sent, "the bytes are back in front of the stream");
      client.destroy();
      socket.destroy();
    }
    const { socket, client } = await connected(null);
    assert.equal(r.refuse(socket), false, "nothing to read yet");
    client.destroy();
    socket.destroy();
  });
});
