// Per-request instrumentation. The hot path (observe) only indexes into a Float64Array: no
// strings are built and nothing is allocated. The array may live in a SharedArrayBuffer so the
// threads of a thread worker each write their own region and the process sums them at flush.
import { slotLabel, type Exemplar, type FamilyJSON, type SampleJSON } from "./family.js";
import { METRICS, familyHead } from "./catalogue.js";
import { NativeBuckets } from "./native-histogram.js";
import { ExemplarSlots } from "./exemplars.js";

/** metrics_native_schema's default: 8 buckets per power of two, each 9 % wider than the last. */
export const DEFAULT_NATIVE_SCHEMA = 3;

const BUCKET = `${METRICS.requestDuration.name}_bucket`;
const SUM = `${METRICS.requestDuration.name}_sum`;
const COUNT = `${METRICS.requestDuration.name}_count`;

export const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"] as const;
const STATUS_SLOTS = 600; // status codes 0..599; anything else is counted as 0

export function methodIndex(method: string | undefined): number {
  switch (method) {
    case "GET":
      return 0;
    case "POST":
      return 1;
    case "PUT":
      return 2;
    case "DELETE":
      return 3;
    case "PATCH":
      return 4;
    case "HEAD":
      return 5;
    case "OPTIONS":
      return 6;
    default:
      return 7;
  }
}

/**
 * Layout of one region: [method×status counts][bucket counts][+Inf][sum][count][native buckets,
 * zero][exemplars: one per bucket and +Inf, then one per method for the request counter].
 */
export function regionLength(bucketCount: number, schema = DEFAULT_NATIVE_SCHEMA): number {
  return (
    METHODS.length * STATUS_SLOTS +
    bucketCount +
    3 +
    NativeBuckets.length(schema) +
    ExemplarSlots.length(bucketCount + 1 + METHODS.length)
  );
}

export class RequestMetrics {
  private readonly bucketsAt: number;
  private readonly sumAt: number;
  private readonly countAt: number;
  private readonly native: NativeBuckets;
  private readonly exemplars: ExemplarSlots;

  constructor(
    readonly values: Float64Array,
    readonly bounds: readonly number[],
    schema = DEFAULT_NATIVE_SCHEMA,
  ) {
    this.bucketsAt = METHODS.length * STATUS_SLOTS;
    this.sumAt = this.bucketsAt + bounds.length + 1;
    this.countAt = this.sumAt + 1;
    // The native buckets share the region (a thread's counts are read by its process).
    this.native = new NativeBuckets(
      schema,
      values.subarray(this.countAt + 1, this.countAt + 1 + NativeBuckets.length(schema)),
    );
    this.exemplars = new ExemplarSlots(values.subarray(this.countAt + 1 + NativeBuckets.length(schema)));
  }

  static inMemory(bounds: readonly number[], schema = DEFAULT_NATIVE_SCHEMA): RequestMetrics {
    return new RequestMetrics(new Float64Array(regionLength(bounds.length, schema)), bounds, schema);
  }

  /** `traceparent`: the request's W3C trace header, kept as an exemplar; undefined for most. */
  observe(method: string | undefined, status: number, seconds: number, traceparent?: string): void {
    const v = this.values;
    const s = status >= 0 && status < STATUS_SLOTS ? status | 0 : 0;
    const m = methodIndex(method);
    v[m * STATUS_SLOTS + s]! += 1;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    v[this.bucketsAt + i]! += 1;
    v[this.sumAt]! += seconds;
    v[this.countAt]! += 1;
    this.native.observe(seconds);
    if (traceparent !== undefined) this.exemplars.record(i, bounds.length + 1 + m, seconds, s, traceparent);
  }

  get count(): number {
    return this.values[this.countAt]!;
  }

  /** Sums several regions (a thread worker's threads) into one family list for the store. */
  static families(regions: readonly RequestMetrics[], slot: number): FamilyJSON[] {
    const first = regions[0]!;
    const worker_id = slotLabel(slot);
    const exemplars = regions.map((r) => r.exemplars);
    const requests: SampleJSON[] = [];
    for (let m = 0; m < METHODS.length; m++) {
      // The method's latest traced request, on the series of the status it was answered.
      const traced = ExemplarSlots.latest(exemplars, first.bounds.length + 1 + m);
      for (let s = 0; s < STATUS_SLOTS; s++) {
        let total = 0;
        for (const r of regions) total += r.values[m * STATUS_SLOTS + s]!;
        if (total === 0) continue;
        const sample: SampleJSON = { labels: { worker_id, method: METHODS[m]!, status: String(s) }, value: total };
        if (traced !== null && traced.status === s) sample.exemplar = exemplarOf(traced);
        requests.push(sample);
      }
    }
    const duration: SampleJSON[] = [];
    let cumulative = 0;
    for (let i = 0; i <= first.bounds.length; i++) {
      for (const r of regions) cumulative += r.values[r.bucketsAt + i]!;
      const le = i < first.bounds.length ? String(first.bounds[i]) : "+Inf";
      const bucket: SampleJSON = { metricName: BUCKET, labels: { worker_id, le }, value: cumulative };
      const traced = ExemplarSlots.latest(exemplars, i);
      if (traced !== null) bucket.exemplar = exemplarOf(traced);
      duration.push(bucket);
    }
    let sum = 0;
    let count = 0;
    for (const r of regions) {
      sum += r.values[r.sumAt]!;
      count += r.values[r.countAt]!;
    }
    duration.push({ metricName: SUM, labels: { worker_id }, value: sum });
    duration.push({
      metricName: COUNT,
      labels: { worker_id },
      value: count,
    });
    duration.push(
      ...first.native.samples(
        METRICS.requestDuration.name,
        { worker_id },
        regions.slice(1).map((r) => r.native),
      ),
    );
    return [
      {
        ...familyHead(METRICS.requests),
        values: requests,
      },
      {
        ...familyHead(METRICS.requestDuration),
        values: duration,
      },
    ];
  }
}

const exemplarOf = ({ labels, value, timestamp }: Exemplar): Exemplar => ({ labels, value, timestamp });

/**
 * Failures are rare, so they are kept in a map keyed by a joined string; `endpoint` values are
 * capped so random URLs cannot grow the series count without bound.
 */
export class FailureCounters {
  private readonly failed = new Map<string, SampleJSON>();
  private readonly handled = new Map<string, SampleJSON>();
  private readonly endpoints = new Set<string>();

  constructor(private readonly endpointLimit: number) {}

  endpoint(route: string): string {
    if (this.endpoints.has(route)) return route;
    if (this.endpoints.size >= this.endpointLimit) return "other";
    this.endpoints.add(route);
    return route;
  }

  /** The app's handler threw or its promise rejected. */
  appFailed(method: string, route: string, errorType: string, n = 1): void {
    bump(this.failed, normalizeMethod(method), this.endpoint(route), errorType, n);
  }

  /** The server itself answered with an error: 500 after an uncaught error, 400/414/431, timeouts. */
  serverError(method: string, route: string, errorType: string, n = 1): void {
    bump(this.handled, normalizeMethod(method), this.endpoint(route), errorType, n);
  }

  families(slot: number): FamilyJSON[] {
    const worker_id = slotLabel(slot);
    const withSlot = (m: Map<string, SampleJSON>) =>
      [...m.values()].map((s) => ({ labels: { worker_id, ...s.labels }, value: s.value }));
    return [
      {
        ...familyHead(METRICS.failedRequests),
        values: withSlot(this.failed),
      },
      {
        ...familyHead(METRICS.errorHandling),
        values: withSlot(this.handled),
      },
    ];
  }
}

const normalizeMethod = (method: string): string => METHODS[methodIndex(method)]!;

function bump(map: Map<string, SampleJSON>, method: string, endpoint: string, errorType: string, n: number): void {
  const key = `${method} ${endpoint} ${errorType}`;
  const sample = map.get(key);
  if (sample) sample.value += n;
  else map.set(key, { labels: { method, endpoint, error_type: errorType }, value: n });
}
