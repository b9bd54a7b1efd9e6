// The request line and header limits answer 414 and 431, counted like every other error.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, stopAll, request, waitFor } from "../helpers/harness.mjs";

after(stopAll);

describe("request limits", () => {
  const raw = (port, text) =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end(text));
      let out = "";
      socket.on("data", (d) => (out += d));
      socket.on("close", () => resolve(out));
      socket.on("error", reject);
    });

  it("answers 431 for too many or too long headers and 400 for a malformed request, counting each", async () => {
    const s = await startServer({
      workers: 1,
      args: ["--limit-request-fields", "10", "--limit-request-field-size", "100"],
    });
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-h${i}`, "v"]));
    assert.equal((await request(s.url("/"), { headers: many })).status, 431);
    assert.equal((await request(s.url("/"), { headers: { "x-long": "y".repeat(200) } })).status, 431);
    assert.match(await raw(s.port, "THIS IS NOT HTTP\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.equal((await request(s.url("/"))).status, 200, "the worker survived");
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_error_handling_total") >= 3 && m;
    });
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "LimitRequestFields" }), 1);
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "LimitRequestFieldSize" }), 1);
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "BadRequest" }), 1);
  });
});
