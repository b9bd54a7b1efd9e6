// Errors a framework caught and answered itself, passed on to the worker's request metrics.
import type { IncomingMessage, ServerResponse } from "node:http";

/** An error the framework caught itself, with the response it belongs to where the framework gives it. */
export type ErrorListener = (req: IncomingMessage, res: ServerResponse | null, err: unknown) => void;

/**
 * Errors the frameworks report, passed on to the request metrics. An error that carries a 4xx
 * status (a malformed URL, a validation error, an http-errors 404) is the client's, not a failure
 * of the handler, and is not passed on.
 */
export function errorChannel(): { emit: ErrorListener; onError(listener: ErrorListener): void } {
  let target: ErrorListener = () => {};
  const isClientError = (err: unknown): boolean => {
    const e = err as { status?: unknown; statusCode?: unknown } | null;
    const status = typeof e?.status === "number" ? e.status : typeof e?.statusCode === "number" ? e.statusCode : 500;
    return status >= 400 && status < 500;
  };
  return {
    emit: (req, res, err) => {
      if (!isClientError(err)) target(req, res, err);
    },
    onError: (listener) => {
      target = listener;
    },
  };
}
