// HAProxy's PROXY protocol header, v1 (a text line) and v2 (binary), as a load balancer (HAProxy,
// AWS NLB) puts it in front of a connection: who the client is. A pure parser, so its cases are
// unit-tested without sockets.

/** The v2 signature: \r\n\r\n\0\r\nQUIT\n. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ");
/** A v1 line is at most 107 bytes with its CRLF. */
const V1_MAX = 107;
const V2_HEADER = 16;

export type ProxyHeader =
  /** More bytes are needed. */
  | { kind: "partial" }
  | { kind: "invalid"; reason: string }
  /** `address` null: a LOCAL (health check) or UNKNOWN header; the connection's own peer stands. */
  | { kind: "header"; length: number; address: string | null; port: number | null; version: 1 | 2 };

const invalid = (reason: string): ProxyHeader => ({ kind: "invalid", reason });

/** Parses the start of a connection's bytes. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? { kind: "partial" } : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? { kind: "partial" } : parseV1(buf);
  return invalid("no PROXY protocol header");
}

/** Whether buf, as far as it goes, agrees with the start of prefix (or prefix with the start of buf). */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf("\r\n");
  if (end < 0) return buf.length >= V1_MAX ? invalid("v1 line longer than 107 bytes") : { kind: "partial" };
  if (end + 2 > V1_MAX) return invalid("v1 line longer than 107 bytes");
  const parts = buf.toString("latin1", 0, end).split(" ");
  const length = end + 2;
  if (parts[1] === "UNKNOWN") return { kind: "header", length, address: null, port: null, version: 1 };
  if (parts.length !== 6 || (parts[1] !== "TCP4" && parts[1] !== "TCP6")) return invalid("malformed v1 line");
  const [, family, source, , sourcePort] = parts as [string, string, string, string, string, string];
  if (!validAddress(source, family === "TCP4" ? 4 : 6)) return invalid(`bad v1 source address ${source}`);
  const port = Number(sourcePort);
  if (!/^\d{1,5}$/.test(sourcePort) || port > 65535) return invalid(`bad v1 source port ${sourcePort}`);
  return { kind: "header", length, address: source, port, version: 1 };
}

function parseV2(buf: Buffer): ProxyHeader {
  if (buf.length < V2_HEADER) return { kind: "partial" };
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`v2 version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`v2 command ${command}`);
  const length = V2_HEADER + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: "partial" };
  const family = buf[13]! >> 4;
  const local = { kind: "header", length, address: null, port: null, version: 2 } as const;
  if (command === 0) return local; // LOCAL: the proxy's own connection (a health check)
  const body = buf.subarray(V2_HEADER, length);
  if (family === 1) {
    if (body.length < 12) return invalid("v2 IPv4 block too short");
    return {
      kind: "header",
      length,
      address: [...body.subarray(0, 4)].join("."),
      port: body.readUInt16BE(8),
      version: 2,
    };
  }
  if (family === 2) {
    if (body.length < 36) return invalid("v2 IPv6 block too short");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { kind: "header", length, address: compactIPv6(groups), port: body.readUInt16BE(32), version: 2 };
  }
  return local; // AF_UNSPEC or AF_UNIX: no address to take
}

function validAddress(text: string, family: 4 | 6): boolean {
  if (family === 4) return /^(\d{1,3})(\.\d{1,3}){3}$/.test(text) && text.split(".").every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(":");
}

/** The shortest spelling of an IPv6 address given as eight hex groups (RFC 5952). */
function compactIPv6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLength).join(":")}`;
}
