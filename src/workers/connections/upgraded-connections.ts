// Connections that left HTTP for the app (WebSocket): counted ever and while open. Such a
// connection no longer holds a request slot and is never closed by the keep-alive timeout; a
// graceful stop waits for it.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { UpgradeTarget } from "../../app/upgrade-target.js";

export class UpgradedConnections {
  total = 0;
  open = 0;
  private readonly closed = (): void => {
    this.open--;
  };

  constructor(
    private readonly target: UpgradeTarget,
    private readonly log: Logger,
  ) {}

  /** Hands the connection to the app; `leaveHttp` first frees what HTTP held of it. */
  take(req: IncomingMessage, socket: Socket, head: Buffer, leaveHttp: () => void): void {
    leaveHttp();
    this.total++;
    this.open++;
    socket.once("close", this.closed);
    try {
      this.target.handle(req, socket, head);
    } catch (err) {
      this.log.error({ err, url: req.url }, "the app's upgrade handler threw");
      socket.destroy();
    }
  }
}
