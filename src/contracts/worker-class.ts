// Worker types and the names users of gunicorn and gunicorn-prometheus-exporter already know.
export const WORKER_CLASSES = ["sync", "thread", "async"] as const;
export type WorkerClass = (typeof WORKER_CLASSES)[number];

const EXPORTER_CLASSES = {
  PrometheusWorker: "sync",
  PrometheusThreadWorker: "thread",
  PrometheusEventletWorker: "async",
  PrometheusGeventWorker: "async",
} as const satisfies Record<string, WorkerClass>;

type ExporterName = keyof typeof EXPORTER_CLASSES;
export type WorkerClassAlias =
  | "gthread"
  | "eventlet"
  | "gevent"
  | "tornado"
  | ExporterName
  | `gunicorn_prometheus_exporter.${ExporterName}`;

export const WORKER_CLASS_ALIASES: Record<WorkerClassAlias, WorkerClass> = {
  gthread: "thread",
  eventlet: "async",
  gevent: "async",
  tornado: "async",
  ...EXPORTER_CLASSES,
  ...(Object.fromEntries(
    Object.entries(EXPORTER_CLASSES).map(([name, cls]) => [`gunicorn_prometheus_exporter.${name}`, cls]),
  ) as Record<`gunicorn_prometheus_exporter.${ExporterName}`, WorkerClass>),
};

/** Requests one worker can handle at once: 1 (sync), its threads (thread), worker_connections (async). */
export function workerCapacity(s: { worker_class: WorkerClass; threads: number; worker_connections: number }): number {
  return s.worker_class === "sync" ? 1 : s.worker_class === "thread" ? s.threads : s.worker_connections;
}
