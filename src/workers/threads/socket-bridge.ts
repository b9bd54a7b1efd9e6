// A TCP connection owned by a process's main thread, carried to a worker thread as messages, so
// the thread's own http.Server can serve it. Bytes stream both ways with pause/resume
// backpressure; each chunk is copied once into a buffer that is transferred, not cloned.
import { Duplex } from "node:stream";
import type { MessagePort, Worker } from "node:worker_threads";
import type { Socket } from "node:net";

export type BridgeMessage =
  | {
      t: "open";
      id: number;
      remoteAddress?: string | undefined;
      remotePort?: number | undefined;
      localAddress?: string | undefined;
      localPort?: number | undefined;
      encrypted: boolean;
      /**
       * When the connection reached this process (or the master, if it waited there), in ms since
       * the epoch: the thread's clock has its own origin, and the time this message spends in the
       * thread's queue behind a running request is part of the wait.
       */
      since: number;
    }
  | { t: "d"; id: number; b: Uint8Array }
  | { t: "e"; id: number } // end of input from this side
  | { t: "c"; id: number } // closed
  | { t: "p"; id: number } // pause sending to me
  | { t: "r"; id: number }; // resume

const copyOf = (chunk: Uint8Array): Uint8Array => new Uint8Array(chunk);

/** Main-thread side: pumps one accepted socket to a thread and back. */
export function bridgeSocket(
  socket: Socket,
  id: number,
  thread: Worker,
  encrypted: boolean,
  since: number,
): (m: BridgeMessage) => void {
  const post = (m: BridgeMessage, transfer?: ArrayBuffer[]) => thread.postMessage(m, transfer as never);
  post({
    t: "open",
    id,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    encrypted,
    since,
  });
  socket.on("data", (chunk: Buffer) => {
    const b = copyOf(chunk);
    post({ t: "d", id, b }, [b.buffer as ArrayBuffer]);
  });
  socket.on("end", () => post({ t: "e", id }));
  socket.on("close", () => post({ t: "c", id }));
  socket.on("error", () => {}); // "close" follows and tells the thread
  socket.on("drain", () => post({ t: "r", id }));
  if (socket.isPaused()) socket.resume();
  return (m) => {
    switch (m.t) {
      case "d":
        if (!socket.write(m.b)) post({ t: "p", id });
        break;
      case "e":
        socket.end();
        break;
      case "c":
        // After an end, what the thread wrote may still wait in this socket's buffer for a client
        // slower to read: close once it is out, as Node's destroySoon does. Without one, the
        // thread dropped the connection, and so does this side.
        if (socket.writableEnded && !socket.writableFinished) socket.once("finish", () => socket.destroy());
        else socket.destroy();
        break;
      case "p":
        socket.pause();
        break;
      case "r":
        socket.resume();
        break;
    }
  };
}

/** Thread side: looks enough like a net.Socket for http.Server. */
export class BridgedSocket extends Duplex {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  encrypted: boolean;
  private peerPaused = false;
  private askedPeerToPause = false;
  private pendingWrite: (() => void) | null = null;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closedByPeer = false;

  constructor(
    private readonly id: number,
    private readonly port: MessagePort,
    open: Extract<BridgeMessage, { t: "open" }>,
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = open.remoteAddress;
    this.remotePort = open.remotePort;
    this.localAddress = open.localAddress;
    this.localPort = open.localPort;
    this.encrypted = open.encrypted;
  }

  /** A message from the main thread for this connection. */
  deliver(m: BridgeMessage): void {
    this.touch();
    switch (m.t) {
      case "d":
        if (!this.push(Buffer.from(m.b.buffer, m.b.byteOffset, m.b.byteLength)) && !this.askedPeerToPause) {
          this.askedPeerToPause = true;
          this.port.postMessage({ t: "p", id: this.id });
        }
        break;
      case "e":
        this.push(null);
        break;
      case "c":
        this.closedByPeer = true;
        this.destroy();
        break;
      case "p":
        this.peerPaused = true;
        break;
      case "r":
        this.peerPaused = false;
        this.pendingWrite?.();
        this.pendingWrite = null;
        break;
    }
  }

  override _read(): void {
    if (this.askedPeerToPause) {
      this.askedPeerToPause = false;
      this.port.postMessage({ t: "r", id: this.id });
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    const b = copyOf(chunk);
    this.port.postMessage({ t: "d", id: this.id, b }, [b.buffer as ArrayBuffer]);
    if (this.peerPaused) this.pendingWrite = () => callback();
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.port.postMessage({ t: "e", id: this.id });
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.closedByPeer) this.port.postMessage({ t: "c", id: this.id });
    this.emit("gpe:closed");
    callback(error);
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (callback) this.once("timeout", callback);
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = this.idleMs > 0 && !this.destroyed ? setTimeout(() => this.emit("timeout"), this.idleMs) : null;
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  destroySoon(): void {
    this.end(() => this.destroy());
  }
}
