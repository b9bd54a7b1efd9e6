// The one-line API for apps whose router gpe-server does not know: `setRoute(req, "/users/:id")`
// names the request's route for the per-route metrics (and the endpoint label of a failure). The
// name sits on the request under a symbol of our own, read once when the request ends.
import type { IncomingMessage } from "node:http";

const ROUTE = Symbol.for("gpe-server.route");

type Named = IncomingMessage & { [ROUTE]?: string };

/** Names `req`'s route template: a template, never the raw path (`/users/:id`, not `/users/42`). */
export function setRoute(req: IncomingMessage, template: string): void {
  (req as Named)[ROUTE] = template;
}

export const namedRoute = (req: IncomingMessage): string | undefined => (req as Named)[ROUTE];
