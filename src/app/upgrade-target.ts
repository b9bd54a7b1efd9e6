// Where Upgrade requests (WebSocket, and any other protocol switch) go: the "upgrade" listeners of
// the app's server (its own, taken over, or the one a factory was given), or an `upgrade` export.
import type { IncomingMessage } from "node:http";
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

export interface UpgradeTarget {
  /** The app takes upgrades now (a listener or an export exists). */
  active(): boolean;
  /** Calls `enable` once the app takes upgrades: now, or when its server gets its first listener. */
  whenActive(enable: () => void): void;
  handle: UpgradeHandler;
}

/** The "upgrade" listeners of a server the app attached them to (ws: new WebSocketServer({ server })). */
export function serverUpgrades(server: EventEmitter): UpgradeTarget {
  return {
    active: () => server.listenerCount("upgrade") > 0,
    whenActive(enable) {
      if (server.listenerCount("upgrade") > 0) {
        enable();
        return;
      }
      const watch = (event: string | symbol): void => {
        if (event !== "upgrade") return;
        server.off("newListener", watch);
        enable();
      };
      server.on("newListener", watch);
    },
    handle: (req, socket, head) => server.emit("upgrade", req, socket, head),
  };
}

/** An `upgrade(req, socket, head)` export. */
export function exportedUpgrade(handler: UpgradeHandler): UpgradeTarget {
  return { active: () => true, whenActive: (enable) => enable(), handle: handler };
}
