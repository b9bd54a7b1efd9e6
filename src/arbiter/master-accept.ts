// The master accepting on the listening sockets itself: always with --sticky, and for every server
// while it stops, so that a connection the kernel queued after the workers stopped accepting is
// passed to a worker still draining instead of being reset when the last descriptor closes
// (gunicorn's open issue). Connections arrive paused: the master never reads a byte.
import net, { type Socket } from "node:net";
import type { BoundSocket } from "./bound-sockets.js";

export async function acceptInMaster(
  listeners: readonly BoundSocket[],
  backlog: number,
  onConnection: (socket: Socket) => void,
): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  for (const l of listeners) {
    const server = net.createServer({ pauseOnConnect: true }, onConnection);
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // The (handle, backlog, callback) form: the bound socket itself, not a new one.
      server.listen(l.handle as net.ListenOptions, backlog, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }
  return servers;
}
