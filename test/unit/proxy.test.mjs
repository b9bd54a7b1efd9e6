// The PROXY protocol header parser and the peer allow-lists: pure logic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseProxyHeader, V2_SIGNATURE } from "../../dist/workers/connections/proxy-header.js";
import { PeerList } from "../../dist/workers/connections/client-address.js";
import { addressList } from "../../dist/config/validators.js";

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

describe("peer allow-lists", () => {
  it("matches addresses, networks, IPv4-mapped peers and *", () => {
    const list = new PeerList(["127.0.0.1", "::1", "10.0.0.0/8"]);
    assert.ok(list.has("127.0.0.1"));
    assert.ok(list.has("::ffff:127.0.0.1"));
    assert.ok(list.has("10.200.3.4"));
    assert.ok(list.has("::1"));
    assert.ok(!list.has("192.168.1.1"));
    assert.ok(!list.has(undefined));
    assert.ok(new PeerList(["*"]).has("203.0.113.9"));
  });

  it("validates the setting: one clear error for what is not an address", () => {
    assert.deepEqual(addressList("127.0.0.1, 10.0.0.0/8,::1", "forwarded_allow_ips"), [
      "127.0.0.1",
      "10.0.0.0/8",
      "::1",
    ]);
    assert.throws(() => addressList("10.0.0.0/33", "forwarded_allow_ips"), /"10\.0\.0\.0\/33" is not an IP address/);
    assert.throws(() => addressList("proxy.local", "proxy_allow_ips"), /proxy_allow_ips: "proxy.local"/);
  });
});
