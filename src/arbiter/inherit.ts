// The receiving side of a USR2 upgrade: the new master takes the listening sockets (and the
// metrics socket) from the old master over the fork IPC channel instead of binding again.
import { parseBind } from "../config/bind.js";
import type { BoundSocket } from "./bound-sockets.js";

export function receiveInheritedSockets(
  binds: readonly string[],
  count: number,
): Promise<{ listeners: BoundSocket[]; metricsHandle: object | null }> {
  return new Promise((resolve, reject) => {
    const listeners: BoundSocket[] = [];
    const timer = setTimeout(() => reject(new Error("the old master did not pass its sockets within 10 s")), 10_000);
    const onMessage = (m: { cmd?: string; index?: number; address?: string; present?: boolean }, handle: unknown) => {
      if (m.cmd === "gpe:inherit" && handle) {
        const bind = parseBind(m.address ?? binds[m.index ?? 0] ?? "");
        listeners[m.index ?? listeners.length] = { bind, handle: handle as BoundSocket["handle"], address: bind.text };
      } else if (m.cmd === "gpe:inherit-metrics") {
        clearTimeout(timer);
        process.off("message", onMessage);
        // The old master's channel is no longer needed; this master lives on its own.
        process.channel?.unref();
        if (listeners.length !== count)
          reject(new Error(`expected ${count} inherited sockets, got ${listeners.length}`));
        else resolve({ listeners, metricsHandle: m.present ? (handle as object) : null });
      }
    };
    process.on("message", onMessage);
  });
}
