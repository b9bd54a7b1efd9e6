// Rows of the settings table (settings.ts), section Overload: admission control, which answers 503
// at once instead of letting every request slow down together when the load passes capacity.
import { integer, listOf, boolean, text } from "./validators.js";
import { spec } from "./setting-spec.js";

/** What --admission sets where the operator did not. */
export const ADMISSION_DEFAULTS = { max_queue_time: 500, shed_lag: 50 } as const;

export const OVERLOAD_SETTINGS = [
  spec({
    name: "admission",
    section: "Overload",
    flag: "--admission",
    env: ["GPE_ADMISSION"],
    default: false,
    validate: boolean,
    cli: "switch",
    help: `Turn admission control on with its defaults: max_queue_time ${ADMISSION_DEFAULTS.max_queue_time} ms and shed_lag ${ADMISSION_DEFAULTS.shed_lag} ms (each may be set itself). A request over a limit is answered 503 with Retry-After at once, without running the app.`,
  }),
  spec({
    name: "max_inflight",
    section: "Overload",
    flag: "--max-inflight <N>",
    default: 0,
    validate: integer(0, 1_000_000),
    cli: "value",
    help: "Most requests one async worker runs at once; one more is answered 503. 0: no limit. Sync workers run one and thread workers one per thread by nature.",
  }),
  spec({
    name: "max_queue_time",
    section: "Overload",
    flag: "--max-queue-time <MS>",
    default: 0,
    validate: integer(0, 3_600_000),
    cli: "value",
    help: "A request that waited longer than this before the app could start it is answered 503: at a trusted proxy (X-Request-Start or X-Queue-Start, from forwarded_allow_ips peers), or in the worker's own queue. 0: no limit.",
  }),
  spec({
    name: "shed_lag",
    section: "Overload",
    flag: "--shed-lag <MS>",
    default: 0,
    validate: integer(0, 60_000),
    cli: "value",
    help: "Shed new requests (503) while a queue has stood for 100 ms: requests waiting on an event loop late by more than this, or (sync, thread) waiting more than this beyond the request ahead, until it is gone. 0: off.",
  }),
  spec({
    name: "admission_exempt",
    section: "Overload",
    flag: "--admission-exempt <PATH>",
    default: ["/healthz", "/readyz", "/livez", "/health", "/ping"] as string[],
    validate: listOf(text),
    cli: "repeat",
    help: "Paths never shed, whatever the load: health checks must tell a busy server from a dead one.",
  }),
] as const;
