// How connections reach a worker. Every worker accepts on the shared listening sockets (the
// kernel spreads connections over the idle ones, the fastest path DESIGN.md measured). A worker
// that is at capacity when it accepts does not queue the connection behind its busy request: it
// hands the unread socket back to the master, which passes it to a worker that has room (or
// holds it until one says it has). So that the master never passes a connection to a worker that
// has just started a long request (it would wait in the pipe until that request ends), a worker
// tells the master when it fills up and when it has room again; an async worker, whose capacity
// is large, almost never does.
import net, { type Socket } from "node:net";
import type { ToMaster } from "./protocol.js";

export interface Admission {
  /** True when this worker can start one more connection now. */
  hasRoom(): boolean;
  take(socket: Socket): void;
}

const PENDING = Symbol("gpe.pending");

export class AcceptFront {
  private readonly servers: net.Server[] = [];
  /** What the master believes: that this worker has room. */
  private advertisedRoom = true;
  private stopping = false;

  constructor(
    private readonly admission: Admission,
    private readonly send: (message: ToMaster, handle?: Socket) => void,
  ) {}

  /** Starts accepting on a listening handle the master sent. */
  listen(handle: object, backlog: number): Promise<void> {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.accepted(socket));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      // The (handle, backlog, callback) form: Node reuses the inherited socket instead of binding.
      server.listen(handle as net.ListenOptions, backlog, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  private accepted(socket: Socket): void {
    if (this.stopping || !this.admission.hasRoom()) {
      this.handOff(socket);
      return;
    }
    this.take(socket);
  }

  private take(socket: Socket): void {
    this.admission.take(socket);
    if (this.advertisedRoom && !this.stopping && !this.admission.hasRoom()) {
      this.advertisedRoom = false;
      this.send({ cmd: "gpe:full" });
    }
  }

  /** A connection the master passed on from a busy worker. */
  received(socket: Socket): void {
    holdUnread(socket);
    // While draining, serve it here (after what is in flight) rather than send it round again.
    if (this.stopping) {
      this.admission.take(socket);
      return;
    }
    if (!this.admission.hasRoom()) {
      this.handOff(socket);
      return;
    }
    this.take(socket);
  }

  private handOff(socket: Socket): void {
    this.advertisedRoom = false; // the master marks a worker that hands off as busy
    this.send({ cmd: "gpe:handoff" }, socket);
  }

  /** Called whenever a request or connection ends: report room if the master believes we have none. */
  roomChanged(): void {
    if (!this.advertisedRoom && !this.stopping && this.admission.hasRoom()) {
      this.advertisedRoom = true;
      this.send({ cmd: "gpe:idle" });
    }
  }

  /** Stops accepting; connections already taken go on. */
  close(): void {
    this.stopping = true;
    for (const server of this.servers) server.close();
  }
}

/**
 * A socket that arrives over IPC starts reading at once. Stop it in the same tick (before the
 * event loop can read anything), as pauseOnConnect does, so the request bytes stay in the kernel
 * for whichever worker ends up serving it.
 */
export function holdUnread(socket: Socket): void {
  const s = socket as Socket & { _handle?: { readStop(): number; reading: boolean }; _readableState?: { reading: boolean } };
  if (s._handle) {
    s._handle.reading = false;
    s._handle.readStop();
  }
  // The stream still believes its first read is under way; without this, resume() never reads.
  if (s._readableState) s._readableState.reading = false;
  socket.pause();
}

/** Counts connections that were accepted but have not yet started a request. */
export class PendingConnections {
  count = 0;
  private readonly onClose: (this: Socket) => void;

  constructor(onChange: () => void) {
    const self = this;
    this.onClose = function (this: Socket) {
      if ((this as Socket & { [PENDING]?: boolean })[PENDING]) {
        (this as Socket & { [PENDING]?: boolean })[PENDING] = false;
        self.count--;
        onChange();
      }
    };
  }

  add(socket: Socket): void {
    (socket as Socket & { [PENDING]?: boolean })[PENDING] = true;
    this.count++;
    socket.once("close", this.onClose);
  }

  /** The socket's first request started: it now counts as in flight instead. */
  started(socket: Socket | null): void {
    const s = socket as (Socket & { [PENDING]?: boolean }) | null;
    if (s?.[PENDING]) {
      s[PENDING] = false;
      this.count--;
    }
  }
}
