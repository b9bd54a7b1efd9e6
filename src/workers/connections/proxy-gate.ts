// With proxy_protocol, every connection passes here before the worker serves it: its peer must be
// in proxy_allow_ips, and its first bytes a PROXY protocol header, which is read off and whose
// client address becomes the connection's. Anything else closes the connection, with one log line
// and a count; the app never sees it.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { Admission } from "./accept-front.js";
import { PeerList } from "./client-address.js";
import { parseProxyHeader } from "./proxy-header.js";
import type { FamilyJSON } from "../../metrics/family.js";
import { familyHead, METRICS } from "../../metrics/catalogue.js";

const ignore = () => {};

/** The client a PROXY header named becomes the connection's peer, as the app sees it. */
function setPeer(socket: Socket, address: string, port: number): void {
  Object.defineProperty(socket, "remoteAddress", { value: address, configurable: true });
  Object.defineProperty(socket, "remotePort", { value: port, configurable: true });
}

/** A TLS socket made from a connection that passed the gate names the same client as its peer. */
export function keepProxiedPeer(secure: Socket, raw: Socket | null): void {
  if (raw !== null && Object.hasOwn(raw, "remoteAddress")) setPeer(secure, raw.remoteAddress!, raw.remotePort ?? 0);
}

export type Rejection = "peer" | "header" | "timeout";

export class ProxyGate implements Admission {
  readonly rejected: Record<Rejection, number> = { peer: 0, header: 0, timeout: 0 };
  private readonly allowed: PeerList;

  constructor(
    private readonly inner: Admission,
    allowIps: readonly string[],
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.allowed = new PeerList(allowIps);
  }

  hasRoom(): boolean {
    return this.inner.hasRoom();
  }

  take(socket: Socket): void {
    const peer = socket.remoteAddress;
    if (!this.allowed.has(peer)) {
      this.reject(socket, "peer", `connection from ${peer}, which is not in proxy_allow_ips`);
      return;
    }
    let seen: Buffer | null = null;
    const finish = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", ignore);
    };
    const onData = (chunk: Buffer) => {
      seen = seen ? Buffer.concat([seen, chunk]) : chunk;
      const header = parseProxyHeader(seen);
      if (header.kind === "partial") return;
      finish();
      if (header.kind === "invalid") {
        this.reject(socket, "header", `PROXY protocol header from ${peer}: ${header.reason}`);
        return;
      }
      if (header.address !== null) setPeer(socket, header.address, header.port ?? 0);
      // Paused, with what followed the header back in front: the server reads it first.
      socket.pause();
      if (seen.length > header.length) socket.unshift(seen.subarray(header.length));
      this.inner.take(socket);
    };
    const onClose = () => finish();
    const timer = setTimeout(() => {
      finish();
      this.reject(socket, "timeout", `no PROXY protocol header from ${peer} within ${this.timeoutMs} ms`);
    }, this.timeoutMs);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.on("error", ignore); // a reset before the header: the close that follows ends it
    socket.resume();
  }

  families(slot: string): FamilyJSON[] {
    return [
      {
        ...familyHead(METRICS.proxyRejected),
        values: (Object.keys(this.rejected) as Rejection[]).map((reason) => ({
          labels: { worker_id: slot, reason },
          value: this.rejected[reason],
        })),
      },
    ];
  }

  private reject(socket: Socket, why: Rejection, message: string): void {
    this.rejected[why]++;
    this.log.warn(`${message}; connection closed`);
    socket.destroy();
  }
}
