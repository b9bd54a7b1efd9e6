// The peer allow-lists (forwarded_allow_ips, proxy_allow_ips).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PeerList } from "../../../dist/workers/connections/client-address.js";
import { addressList } from "../../../dist/config/validators.js";

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
