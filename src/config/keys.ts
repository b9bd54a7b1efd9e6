// Config-file keys: gunicorn's names, their camelCase spellings and a few aliases, to the table's names.

/** Config-file spellings that gunicorn users write, mapped to the table's names. */
const KEY_ALIASES: Record<string, string> = {
  keep_alive: "keepalive",
  preload: "preload_app",
  access_logfile: "accesslog",
  error_logfile: "errorlog",
  log_level: "loglevel",
  pid: "pidfile",
  worker_class_str: "worker_class",
  prometheus_multiproc_dir: "multiproc_dir",
  prometheus_metrics_port: "metrics_port",
  prometheus_bind_address: "metrics_bind",
};

export function normalizeKey(key: string): string {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toLowerCase();
  return KEY_ALIASES[snake] ?? snake;
}
