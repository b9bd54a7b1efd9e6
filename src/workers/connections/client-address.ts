// Who the client is behind a proxy. `req.socket.remoteAddress` stays the peer (with the PROXY
// protocol, the address its header carries); `req.clientAddress` and `req.clientProtocol` are the
// client and scheme a trusted proxy names in X-Forwarded-For and X-Forwarded-Proto. Both are lazy
// getters on the request prototypes: a request that never asks costs nothing.
import type { IncomingMessage } from "node:http";
import { http } from "../../platform/http-modules.js";
import { BlockList, isIPv4, isIPv6, type Socket } from "node:net";

/** An allow-list of peers: "*", addresses and CIDR networks (validated by the settings). */
export class PeerList {
  private readonly all: boolean;
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    this.all = entries.includes("*");
    for (const entry of entries) {
      if (entry === "*") continue;
      const [address, bits] = entry.split("/") as [string, string | undefined];
      const family = isIPv4(address) ? "ipv4" : "ipv6";
      if (bits === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(bits), family);
    }
  }

  has(address: string | undefined): boolean {
    if (this.all) return true;
    if (!address) return false;
    const plain = unmapped(address);
    if (isIPv4(plain)) return this.list.check(plain, "ipv4");
    return isIPv6(plain) && this.list.check(plain, "ipv6");
  }
}

/** ::ffff:10.0.0.1 (an IPv4 peer on a dual-stack socket) as 10.0.0.1. */
const unmapped = (address: string): string =>
  address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;

let forwarders = new PeerList(["127.0.0.1", "::1"]);

/** The peer (with the PROXY protocol, the client its header named: proxy-gate.ts sets it). */
const peerAddress = (socket: Socket | null | undefined): string | undefined => socket?.remoteAddress;

/** The client: from a trusted peer, the nearest untrusted X-Forwarded-For hop; else the peer. */
export function clientAddress(req: IncomingMessage): string | undefined {
  const peer = peerAddress(req.socket);
  const forwarded = req.headers["x-forwarded-for"];
  if (forwarded === undefined || !forwarders.has(peer)) return peer;
  const hops = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded).split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === "") continue;
    if (i === 0 || !forwarders.has(hop)) return hop;
  }
  return peer;
}

/** Whether the request came from a peer of forwarded_allow_ips: its proxy headers are believed. */
export function fromTrustedProxy(req: IncomingMessage): boolean {
  return forwarders.has(peerAddress(req.socket));
}

/** gunicorn's secure_scheme_headers, from a trusted peer: header and the value that means https. */
const SECURE_SCHEME_HEADERS: [string, string][] = [
  ["x-forwarded-proto", "https"],
  ["x-forwarded-protocol", "ssl"],
  ["x-forwarded-ssl", "on"],
];

/** "https" or "http": the connection's own, or what a trusted proxy says the client used. */
export function clientProtocol(req: IncomingMessage): "http" | "https" {
  const own = (req.socket as (Socket & { encrypted?: boolean }) | null)?.encrypted ? "https" : "http";
  if (!forwarders.has(peerAddress(req.socket))) return own;
  for (const [name, secure] of SECURE_SCHEME_HEADERS) {
    const value = req.headers[name];
    if (typeof value !== "string") continue;
    return value.split(",")[0]!.trim().toLowerCase() === secure ? "https" : "http";
  }
  return own;
}

/** Sets who may forward, and gives the app's requests their clientAddress and clientProtocol. */
export function installClientAddress(forwardedAllowIps: readonly string[]): void {
  forwarders = new PeerList(forwardedAllowIps);
  installClientGetters(http.IncomingMessage.prototype);
}

/** The two getters on a request prototype (HTTP/2's is given them when http2-server.ts loads). */
export function installClientGetters(proto: object): void {
  if (Object.hasOwn(proto, "clientAddress")) return;
  Object.defineProperty(proto, "clientAddress", {
    configurable: true,
    get(this: IncomingMessage) {
      return clientAddress(this);
    },
  });
  Object.defineProperty(proto, "clientProtocol", {
    configurable: true,
    get(this: IncomingMessage) {
      return clientProtocol(this);
    },
  });
}
