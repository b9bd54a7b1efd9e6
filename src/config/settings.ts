// The one table of settings. The CLI parser, the config-file loader, the environment mapping,
// `--help` and docs/settings.md are all generated from it: adding a setting touches only this file.
import {
  boolean,
  decimal,
  hookOfArity,
  increasingNumbers,
  integer,
  listOf,
  oneOf,
  optionalText,
  redisUrl,
  userOrGroup,
  text,
  type Validator,
} from "./validators.js";
import { WORKER_CLASSES, WORKER_CLASS_ALIASES } from "../contracts/worker-class.js";
import { HOOKS, HOOK_NAMES, hookHelp, type HookName } from "../contracts/hooks.js";
import type { WorkerInit } from "../contracts/messages.js";

export interface SettingSpec<T = unknown> {
  /** gunicorn's setting name, also the config-file key (camelCase accepted too). */
  name: string;
  section: "Config" | "Server" | "Worker" | "Logging" | "Security" | "Metrics" | "Redis" | "Hooks";
  /** Commander flag spelling, e.g. "-b, --bind <ADDRESS>"; absent for config-only settings. */
  flag?: string;
  /** Environment variables read (first set wins), after the config file is evaluated. */
  env?: string[];
  default: T;
  validate: Validator<T>;
  /** How the CLI collects it: a value, a boolean switch, or a repeatable value. */
  cli?: "value" | "switch" | "repeat";
  help: string;
}

const spec = <N extends string, T>(s: SettingSpec<T> & { name: N }): SettingSpec<T> & { name: N } => s;

export const DEFAULT_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

type HookRow = (typeof HOOKS)[number];
const hookSpec = <H extends HookRow>(h: H) =>
  spec({ name: h.name as H["name"], section: "Hooks", default: null, validate: hookOfArity(h.args.length), help: hookHelp(h) });

export const SETTINGS = [
  spec({
    name: "config", section: "Config", flag: "-c, --config <FILE>", env: ["GUNICORN_CONFIG"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Config file: .ts, .mts, .cts, .js, .mjs, .cjs or .json. Its default export holds settings (gunicorn names or camelCase) and hooks.",
  }),
  spec({
    name: "bind", section: "Server", flag: "-b, --bind <ADDRESS>", env: ["GUNICORN_BIND"],
    default: ["127.0.0.1:8000"], validate: listOf(text), cli: "repeat",
    help: "Address to serve the app on: HOST:PORT, [IPV6]:PORT, :PORT or unix:/path. Repeat for several.",
  }),
  spec({
    name: "workers", section: "Worker", flag: "-w, --workers <N>", env: ["GUNICORN_WORKERS", "WEB_CONCURRENCY"],
    default: 1, validate: integer(1, 1024), cli: "value",
    help: "Number of worker processes.",
  }),
  spec({
    name: "worker_class", section: "Worker", flag: "-k, --worker-class <CLASS>", env: ["GUNICORN_WORKER_CLASS"],
    default: "sync" as (typeof WORKER_CLASSES)[number], validate: oneOf(WORKER_CLASSES, WORKER_CLASS_ALIASES), cli: "value",
    help: "Worker type: sync (one request at a time), thread (a pool of worker_threads) or async (many requests on the event loop). gthread, eventlet, gevent and the original exporter's Prometheus*Worker class names are accepted as aliases.",
  }),
  spec({
    name: "threads", section: "Worker", flag: "--threads <N>", env: ["GUNICORN_THREADS"],
    default: 1, validate: integer(1, 256), cli: "value",
    help: "Threads per worker process for the thread worker; each runs its own copy of the app.",
  }),
  spec({
    name: "worker_connections", section: "Worker", flag: "--worker-connections <N>",
    default: 1000, validate: integer(1, 1_000_000), cli: "value",
    help: "Most simultaneous connections one async worker serves.",
  }),
  spec({
    name: "timeout", section: "Worker", flag: "-t, --timeout <SECONDS>", env: ["GUNICORN_TIMEOUT"],
    default: 30, validate: decimal(0, 86400), cli: "value",
    help: "A worker whose event loop has not sent a heartbeat for this long is aborted and replaced. 0 turns the check off.",
  }),
  spec({
    name: "graceful_timeout", section: "Worker", flag: "--graceful-timeout <SECONDS>",
    default: 30, validate: decimal(0, 86400), cli: "value",
    help: "How long workers may finish in-flight requests after a graceful stop or reload before they are killed.",
  }),
  spec({
    name: "keepalive", section: "Worker", flag: "--keep-alive <SECONDS>", env: ["GUNICORN_KEEPALIVE"],
    default: 2, validate: decimal(0, 3600), cli: "value",
    help: "Seconds to keep an idle connection open; 0 closes every connection after its response. The sync worker closes after each response unless this is set explicitly (like gunicorn's sync worker).",
  }),
  spec({
    name: "max_requests", section: "Worker", flag: "--max-requests <N>",
    default: 0, validate: integer(0, 1_000_000_000), cli: "value",
    help: "Recycle a worker gracefully after it has served this many requests. 0 turns recycling off.",
  }),
  spec({
    name: "max_requests_jitter", section: "Worker", flag: "--max-requests-jitter <N>",
    default: 0, validate: integer(0, 1_000_000_000), cli: "value",
    help: "Add a random 0..N to max_requests for each worker, so workers do not all recycle at once.",
  }),
  spec({
    name: "preload_app", section: "Server", flag: "--preload",
    default: false, validate: boolean, cli: "switch",
    help: "Import the app in the master before forking: a broken app fails before any worker starts, and HUP does not re-import it in the master.",
  }),
  spec({
    name: "die_with_parent", section: "Server", flag: "--die-with-parent", env: ["GPE_DIE_WITH_PARENT"],
    default: false, validate: boolean, cli: "switch",
    help: "Stop gracefully, as on TERM, when the process that started gpe-server exits: for running under another supervisor or a test runner that may die without passing a signal on. Checked twice a second; a master started by init, or by USR2, has no such parent.",
  }),
  spec({
    name: "user", section: "Server", flag: "-u, --user <USER>", env: ["GUNICORN_USER"],
    default: null as string | null, validate: userOrGroup, cli: "value",
    help: "Become this user (name or uid) after binding: the master starts as root, binds and writes the pidfile, then drops privileges before forking workers.",
  }),
  spec({
    name: "group", section: "Server", flag: "-g, --group <GROUP>", env: ["GUNICORN_GROUP"],
    default: null as string | null, validate: userOrGroup, cli: "value",
    help: "Become this group (name or gid) after binding. Default with --user: the user's primary group.",
  }),
  spec({
    name: "pidfile", section: "Server", flag: "-p, --pid <FILE>",
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Write the master's pid to this file; removed at exit.",
  }),
  spec({
    name: "backlog", section: "Server", flag: "--backlog <N>",
    default: 2048, validate: integer(1, 65535), cli: "value",
    help: "Listen queue length of each bind address.",
  }),
  spec({
    name: "proc_name", section: "Server", flag: "-n, --name <NAME>",
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Name shown in process titles (default: the app).",
  }),
  spec({
    name: "accesslog", section: "Logging", flag: "--access-logfile <FILE>",
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Access log file; '-' is stdout. Off unless given.",
  }),
  spec({
    name: "access_log_format", section: "Logging", flag: "--access-log-format <FORMAT>",
    default: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', validate: text, cli: "value",
    help: "Access log line in gunicorn's %(atom)s format: h l u t r s b f a T D M L p m U q H, {Header}i, {Header}o, {VAR}e.",
  }),
  spec({
    name: "errorlog", section: "Logging", flag: "--error-logfile <FILE>",
    default: "-", validate: text, cli: "value",
    help: "Error log file; '-' is stderr. JSON lines, or human-readable when stderr is a terminal.",
  }),
  spec({
    name: "loglevel", section: "Logging", flag: "--log-level <LEVEL>", env: ["GUNICORN_LOG_LEVEL"],
    default: "info" as "debug" | "info" | "warning" | "error" | "critical",
    validate: oneOf(["debug", "info", "warning", "error", "critical"] as const, { warn: "warning", fatal: "critical", trace: "debug" }),
    cli: "value",
    help: "Error log level: debug, info, warning, error or critical.",
  }),
  spec({
    name: "certfile", section: "Security", flag: "--certfile <FILE>",
    default: null as string | null, validate: optionalText, cli: "value",
    help: "TLS certificate (PEM): the app is served over HTTPS.",
  }),
  spec({
    name: "keyfile", section: "Security", flag: "--keyfile <FILE>",
    default: null as string | null, validate: optionalText, cli: "value",
    help: "TLS private key (PEM) for certfile.",
  }),
  spec({
    name: "limit_request_line", section: "Security", flag: "--limit-request-line <BYTES>",
    default: 4094, validate: integer(0, 8190), cli: "value",
    help: "Longest request line accepted; longer gets 414. 0 means the largest (8190).",
  }),
  spec({
    name: "limit_request_fields", section: "Security", flag: "--limit-request-fields <N>",
    default: 100, validate: integer(0, 32768), cli: "value",
    help: "Most header fields in a request; more gets 431. 0 means the largest (32768).",
  }),
  spec({
    name: "limit_request_field_size", section: "Security", flag: "--limit-request-field-size <BYTES>",
    default: 8190, validate: integer(0, 65536), cli: "value",
    help: "Longest header field line; longer gets 431. 0 means the largest (65536).",
  }),
  spec({
    name: "header_timeout", section: "Security", flag: "--header-timeout <SECONDS>", env: ["GPE_HEADER_TIMEOUT"],
    default: 30, validate: decimal(0.5, 3600), cli: "value",
    help: "A client must send its complete request line and headers within this long; a slower one (slowloris) gets 408 and is dropped, so it cannot hold a sync worker.",
  }),
  spec({
    name: "multiproc_dir", section: "Metrics", flag: "--multiproc-dir <DIR>", env: ["PROMETHEUS_MULTIPROC_DIR"],
    default: "/tmp/prometheus_multiproc", validate: text, cli: "value",
    help: "Directory of the shared metrics store (created 0700). Each worker writes its own file; the master merges them.",
  }),
  spec({
    name: "metrics_enabled", section: "Metrics", flag: "--no-metrics", env: ["GPE_METRICS_ENABLED"],
    default: true, validate: boolean, cli: "switch",
    help: "Serve /metrics from the master. --no-metrics turns the metrics server off.",
  }),
  spec({
    name: "metrics_port", section: "Metrics", flag: "--metrics-port <PORT>", env: ["PROMETHEUS_METRICS_PORT"],
    default: 9090, validate: integer(0, 65535), cli: "value",
    help: "Port of the metrics server (a separate port from the app's).",
  }),
  spec({
    name: "metrics_bind", section: "Metrics", flag: "--metrics-bind <HOST>", env: ["PROMETHEUS_BIND_ADDRESS"],
    default: "0.0.0.0", validate: text, cli: "value",
    help: "Address the metrics server listens on.",
  }),
  spec({
    name: "metrics_flush_interval", section: "Metrics", flag: "--metrics-flush-interval <SECONDS>", env: ["GPE_METRICS_FLUSH_INTERVAL"],
    default: 1, validate: decimal(0.05, 60), cli: "value",
    help: "Longest time between a worker's writes of its metrics file. A worker killed with SIGKILL loses at most this much of its increments.",
  }),
  spec({
    name: "metrics_buckets", section: "Metrics", flag: "--metrics-buckets <LIST>", env: ["GPE_METRICS_BUCKETS"],
    default: DEFAULT_BUCKETS, validate: increasingNumbers, cli: "value",
    help: "Bucket bounds (seconds, comma-separated) of gunicorn_worker_request_duration_seconds.",
  }),
  spec({
    name: "metrics_endpoint_limit", section: "Metrics", flag: "--metrics-endpoint-limit <N>", env: ["GPE_METRICS_ENDPOINT_LIMIT"],
    default: 100, validate: integer(1, 100_000), cli: "value",
    help: "Most distinct endpoint label values per worker; the rest are counted as endpoint=\"other\".",
  }),
  spec({
    name: "metrics_certfile", section: "Metrics", flag: "--metrics-certfile <FILE>", env: ["PROMETHEUS_SSL_CERTFILE"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Certificate (PEM) to serve the metrics port over HTTPS; needs metrics_keyfile.",
  }),
  spec({
    name: "metrics_keyfile", section: "Metrics", flag: "--metrics-keyfile <FILE>", env: ["PROMETHEUS_SSL_KEYFILE"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Private key (PEM) of metrics_certfile.",
  }),
  spec({
    name: "metrics_client_cafile", section: "Metrics", flag: "--metrics-client-cafile <FILE>", env: ["PROMETHEUS_SSL_CLIENT_CAFILE"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "CA bundle (PEM) that signs scrapers' client certificates (mutual TLS). A client certificate it did not sign is refused.",
  }),
  spec({
    name: "metrics_client_auth_required", section: "Metrics", flag: "--metrics-client-auth-required", env: ["PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED"],
    default: false, validate: boolean, cli: "switch",
    help: "With metrics_client_cafile: refuse scrapers that present no client certificate at all.",
  }),
  spec({
    name: "metrics_auth", section: "Metrics", flag: "--metrics-auth <MODE>", env: ["GPE_METRICS_AUTH"],
    default: "none" as "none" | "basic" | "bearer", validate: oneOf(["none", "basic", "bearer"] as const), cli: "value",
    help: "Authentication for /metrics, /status.json and the status page (/healthz stays open): basic (secret user:password) or bearer (secret: the token).",
  }),
  spec({
    name: "metrics_auth_file", section: "Metrics", flag: "--metrics-auth-file <FILE>", env: ["GPE_METRICS_AUTH_FILE"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "File holding the metrics_auth secret (first line). Keep it 0600.",
  }),
  spec({
    name: "metrics_auth_secret", section: "Metrics", env: ["GPE_METRICS_AUTH_SECRET"],
    default: null as string | null, validate: optionalText,
    help: "The metrics_auth secret itself, from the environment or a config file; never accepted on the command line, where every user can read it.",
  }),
  spec({
    name: "redis_enabled", section: "Redis", flag: "--redis", env: ["REDIS_ENABLED"],
    default: false, validate: boolean, cli: "switch",
    help: "Forward this host's merged metrics to Redis every redis_forward_interval, so `gpe-server aggregate` can serve a whole fleet.",
  }),
  spec({
    name: "redis_url", section: "Redis", flag: "--redis-url <URL>", env: ["REDIS_URL"],
    default: null as string | null, validate: redisUrl, cli: "value",
    help: "redis://[user:password@]host:port/db, or rediss:// for TLS. Overrides redis_host, redis_port and redis_db.",
  }),
  spec({
    name: "redis_host", section: "Redis", flag: "--redis-host <HOST>", env: ["REDIS_HOST"],
    default: "127.0.0.1", validate: text, cli: "value",
    help: "Redis host.",
  }),
  spec({
    name: "redis_port", section: "Redis", flag: "--redis-port <PORT>", env: ["REDIS_PORT"],
    default: 6379, validate: integer(1, 65535), cli: "value",
    help: "Redis port.",
  }),
  spec({
    name: "redis_db", section: "Redis", flag: "--redis-db <N>", env: ["REDIS_DB"],
    default: 0, validate: integer(0, 65535), cli: "value",
    help: "Redis database number.",
  }),
  spec({
    name: "redis_password", section: "Redis", env: ["REDIS_PASSWORD"],
    default: null as string | null, validate: optionalText,
    help: "Redis password (config file or environment only: a command line is visible to every user). Used when redis_url carries none.",
  }),
  spec({
    name: "redis_key_prefix", section: "Redis", flag: "--redis-key-prefix <PREFIX>", env: ["REDIS_KEY_PREFIX"],
    default: "gunicorn", validate: text, cli: "value",
    help: "First part of every key written; the aggregator reads the keys under the same prefix.",
  }),
  spec({
    name: "redis_ttl_seconds", section: "Redis", flag: "--redis-ttl <SECONDS>", env: ["REDIS_TTL_SECONDS"],
    default: 300, validate: integer(1, 30 * 86400), cli: "value",
    help: "Expiry of a host's key, refreshed on every write: a live host never expires, a host that is gone disappears after this long.",
  }),
  spec({
    name: "redis_forward_interval", section: "Redis", flag: "--redis-forward-interval <SECONDS>", env: ["REDIS_FORWARD_INTERVAL"],
    default: 30, validate: decimal(0.1, 3600), cli: "value",
    help: "Seconds between writes to Redis (one more at graceful shutdown). Must be shorter than redis_ttl_seconds.",
  }),
  spec({
    name: "instance", section: "Redis", flag: "--instance <NAME>", env: ["GPE_INSTANCE"],
    default: null as string | null, validate: optionalText, cli: "value",
    help: "Name of this host in Redis and the `instance` label the aggregator adds. Default: hostname:metrics-port.",
  }),
  ...HOOKS.map(hookSpec),
] as const;

type Table = typeof SETTINGS;
type Spec = Table[number];
/** The resolved settings: one typed property per row of the table. */
export type Settings = { [S in Spec as S["name"]]: ReturnType<S["validate"]> };

export const SETTINGS_BY_NAME: ReadonlyMap<string, SettingSpec> = new Map(
  SETTINGS.map((s) => [s.name, s as SettingSpec]),
);

export { HOOK_NAMES };
/** What a worker is given of the settings: everything but the hooks (functions do not cross processes). */
export type WorkerSettings = Omit<Settings, HookName>;
export type WorkerInitData = WorkerInit<WorkerSettings>;

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.name] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as Settings;
}
