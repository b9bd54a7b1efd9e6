import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileAccessFormat } from "../../../dist/logging/access-log.js";

describe("access log format", () => {
  it("renders gunicorn atoms", () => {
    const build = compileAccessFormat('%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-id}i)s %(M)s');
    const req = {
      method: "GET",
      url: "/b=1", // as a router rewrote it; the line shows the URL as received (the entry's url)
      httpVersion: "1.1",
      socket: { remoteAddress: "10.0.0.1" },
      headers: {
        "user-agent": "curl",
        "x-id": "42",
        authorization: `Basic ${Buffer.from("ann:pw").toString("base64")}`,
      },
    };
    const res = { statusCode: 201, getHeader: () => undefined };
    assert.equal(
      build({ req, res, url: "/a?b=1", startedAt: 0, finishedAt: 12.4, bytesSent: 5 }),
      '10.0.0.1 - ann "GET /a?b=1 HTTP/1.1" 201 5 "-" "curl" 42 12',
    );
  });
});
