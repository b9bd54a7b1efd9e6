// When a connection that had to wait before a worker could start it first reached this process:
// held behind the worker's current work, or passed round the master (which says how long it held
// it). Admission control counts that wait in the first request's queue time, so a sync or thread
// worker sheds what waited too long there as an async worker does what waited on its loop. Kept
// beside the socket rather than on it, for the reason PendingConnections gives; stamped only on
// those slow paths, never for a connection taken at once.
const arrivals = new WeakMap<object, number>();

/** The connection waited since `at` (performance.now() of this thread); an earlier stamp stays. */
export function arrivedAt(socket: object, at: number): void {
  if (!arrivals.has(socket)) arrivals.set(socket, at);
}

/** When the connection arrived, if it waited; the stamp is used once, by its first request. */
export function takeArrival(socket: object): number | undefined {
  const at = arrivals.get(socket);
  if (at !== undefined) arrivals.delete(socket);
  return at;
}
