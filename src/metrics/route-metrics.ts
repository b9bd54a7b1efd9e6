// Per-route RED metrics: requests by method, route template and status class, and a latency
// histogram by method and route. Each route's figures live in one object found by its template, a
// string the framework already holds, so that a request allocates nothing; the object's arrays are
// indexed by method and status class. Routes past the endpoint limit fold into `other`, as a path
// that no router knows does: a raw path never becomes a label. No worker_id: the merge sums the
// workers (dead ones included), and the per-worker histogram is gunicorn_worker_request_duration_seconds.
import { METRICS, familyHead } from "./catalogue.js";
import type { FamilyJSON, SampleJSON } from "./family.js";
import { DEFAULT_NATIVE_SCHEMA, METHODS, methodIndex } from "./request-metrics.js";
import { NativeBuckets } from "./native-histogram.js";

const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
const BUCKET = `${METRICS.routeDuration.name}_bucket`;
const SUM = `${METRICS.routeDuration.name}_sum`;
const COUNT = `${METRICS.routeDuration.name}_count`;

/** The route of requests no router named, and of routes past the limit. */
export const OTHER_ROUTE = "other";

class RouteFigures {
  /** [method × class] */
  readonly counts = new Float64Array(METHODS.length * CLASSES.length);
  /** [method × (bucket, +Inf)] */
  readonly buckets: Float64Array;
  readonly sums = new Float64Array(METHODS.length);
  /** By method, made at its first request. */
  readonly native: (NativeBuckets | undefined)[] = METHODS.map(() => undefined);

  constructor(readonly bucketCount: number) {
    this.buckets = new Float64Array(METHODS.length * (bucketCount + 1));
  }
}

export class RouteMetrics {
  private readonly routes = new Map<string, RouteFigures>();
  private readonly other: RouteFigures;

  constructor(
    private readonly bounds: readonly number[],
    /** Most distinct routes; the rest count as `other`. */
    private readonly limit: number,
    private readonly schema = DEFAULT_NATIVE_SCHEMA,
  ) {
    this.other = new RouteFigures(bounds.length);
    this.routes.set(OTHER_ROUTE, this.other);
  }

  observe(method: string | undefined, route: string, status: number, seconds: number): void {
    let r = this.routes.get(route);
    if (r === undefined) r = this.add(route);
    const m = methodIndex(method);
    const c = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 3; // 0 (none sent): the client's
    r.counts[m * CLASSES.length + c]! += 1;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    r.buckets[m * (bounds.length + 1) + i]! += 1;
    r.sums[m]! += seconds;
    let native = r.native[m];
    if (native === undefined) {
      native = new NativeBuckets(this.schema);
      r.native[m] = native;
    }
    native.observe(seconds);
  }

  private add(route: string): RouteFigures {
    // The limit counts the routes named, `other` aside.
    if (this.routes.size > this.limit) return this.other;
    const r = new RouteFigures(this.bounds.length);
    this.routes.set(route, r);
    return r;
  }

  /** The figures of several threads (a thread worker's) as the store's two families. */
  static families(all: readonly RouteMetrics[]): FamilyJSON[] {
    const requests: SampleJSON[] = [];
    const duration: SampleJSON[] = [];
    const names = new Set<string>();
    for (const rm of all) for (const name of rm.routes.keys()) names.add(name);
    const bounds = all[0]?.bounds ?? [];
    for (const route of names) {
      const figures = all.map((rm) => rm.routes.get(route)).filter((r) => r !== undefined);
      for (let m = 0; m < METHODS.length; m++) {
        let any = false;
        for (let c = 0; c < CLASSES.length; c++) {
          let n = 0;
          for (const f of figures) n += f.counts[m * CLASSES.length + c]!;
          if (n === 0) continue;
          any = true;
          requests.push({ labels: { method: METHODS[m]!, route, status: CLASSES[c]! }, value: n });
        }
        if (!any) continue;
        let cumulative = 0;
        let sum = 0;
        for (let i = 0; i <= bounds.length; i++) {
          for (const f of figures) cumulative += f.buckets[m * (bounds.length + 1) + i]!;
          const le = i < bounds.length ? String(bounds[i]) : "+Inf";
          duration.push({ metricName: BUCKET, labels: { method: METHODS[m]!, route, le }, value: cumulative });
        }
        for (const f of figures) sum += f.sums[m]!;
        duration.push({ metricName: SUM, labels: { method: METHODS[m]!, route }, value: sum });
        duration.push({ metricName: COUNT, labels: { method: METHODS[m]!, route }, value: cumulative });
        const native = figures.map((f) => f.native[m]).filter((n) => n !== undefined);
        if (native.length > 0)
          duration.push(
            ...native[0]!.samples(METRICS.routeDuration.name, { method: METHODS[m]!, route }, native.slice(1)),
          );
      }
    }
    return [
      { ...familyHead(METRICS.routeRequests), values: requests },
      { ...familyHead(METRICS.routeDuration), values: duration },
    ];
  }
}

/** The per-route metrics the settings ask for, or null. */
export function routeMetricsFor(s: {
  metrics_enabled: boolean;
  metrics_per_route: boolean;
  metrics_buckets: number[];
  metrics_endpoint_limit: number;
  metrics_native_schema: number;
}): RouteMetrics | null {
  return s.metrics_enabled && s.metrics_per_route
    ? new RouteMetrics(s.metrics_buckets, s.metrics_endpoint_limit, s.metrics_native_schema)
    : null;
}

/**
 * --metrics-routes: path patterns (`/users/:id`, `/files/*`) for apps whose router is not known.
 * The first that matches a request's path names its route.
 */
export class RoutePatterns {
  private readonly patterns: { template: string; regex: RegExp }[];

  constructor(templates: readonly string[]) {
    this.patterns = templates.map((template) => ({
      template,
      regex: new RegExp(
        `^${template
          .split("/")
          .map((part) =>
            part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
          )
          .join("/")}/?$`,
      ),
    }));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** The template that matches `url` (its path; the query is ignored), or undefined. */
  match(url: string): string | undefined {
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    for (const p of this.patterns) if (p.regex.test(path)) return p.template;
    return undefined;
  }
}
