// The PROXY protocol header parser: pure logic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseProxyHeader, V2_SIGNATURE } from "../../../dist/workers/connections/proxy-header.js";

const v2 = (command, family, body) => {
  const head = Buffer.from([0x20 | command, (family << 4) | 1, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
};

describe("PROXY protocol header", () => {
  it("reads v1 TCP4, TCP6 and UNKNOWN lines and says how long they are", () => {
    const line = "PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n";
    assert.deepEqual(parseProxyHeader(Buffer.from(`${line}GET /`)), {
      kind: "header",
      length: line.length,
      address: "192.0.2.1",
      port: 5555,
      version: 1,
    });
    assert.equal(parseProxyHeader(Buffer.from("PROXY TCP6 2001:db8::1 ::1 1 2\r\n")).address, "2001:db8::1");
    assert.equal(parseProxyHeader(Buffer.from("PROXY UNKNOWN whatever\r\n")).address, null);
  });

  it("waits for more bytes while the start still agrees, at any cut", () => {
    const full = Buffer.from("PROXY TCP4 192.0.2.1 10.0.0.1 5555 80\r\n");
    for (let cut = 1; cut < full.length; cut++)
      assert.equal(parseProxyHeader(full.subarray(0, cut)).kind, "partial", `cut at ${cut}`);
    const body = Buffer.alloc(12, 1);
    const header = v2(1, 1, body);
    for (let cut = 1; cut < header.length; cut++)
      assert.equal(parseProxyHeader(header.subarray(0, cut)).kind, "partial", `v2 cut at ${cut}`);
  });

  it("reads v2 PROXY over IPv4 and IPv6, and LOCAL", () => {
    const body4 = Buffer.from([198, 51, 100, 7, 10, 0, 0, 1, 0x1f, 0x90, 0, 80]);
    assert.deepEqual(parseProxyHeader(Buffer.concat([v2(1, 1, body4), Buffer.from("GET")])), {
      kind: "header",
      length: 28,
      address: "198.51.100.7",
      port: 8080,
      version: 2,
    });
    const body6 = Buffer.alloc(36);
    body6.writeUInt16BE(0x2001, 0);
    body6.writeUInt16BE(0xdb8, 2);
    body6.writeUInt16BE(0x42, 14);
    body6.writeUInt16BE(443, 32);
    const six = parseProxyHeader(v2(1, 2, body6));
    assert.equal(six.address, "2001:db8::42");
    assert.equal(six.port, 443);
    assert.equal(parseProxyHeader(v2(0, 0, Buffer.alloc(0))).address, null);
  });

  it("refuses what is not a header", () => {
    for (const bad of [
      "GET / HTTP/1.1\r\n",
      "PROXY TCP4 300.1.1.1 10.0.0.1 1 2\r\n",
      "PROXY TCP4 1.1.1.1 10.0.0.1 99999 2\r\n",
      "PROXY TCP5 1.1.1.1 10.0.0.1 1 2\r\n",
      `PROXY TCP4 ${"1".repeat(120)}`,
    ])
      assert.equal(parseProxyHeader(Buffer.from(bad)).kind, "invalid", bad);
    assert.equal(parseProxyHeader(v2(2, 1, Buffer.alloc(12))).kind, "invalid", "command 2");
    assert.equal(parseProxyHeader(v2(1, 1, Buffer.alloc(4))).kind, "invalid", "short IPv4 block");
  });
});
