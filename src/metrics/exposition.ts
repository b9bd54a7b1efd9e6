// Prometheus text format 0.0.4 and OpenMetrics 1.0.0, from merged families. The hidden samples of
// native histograms are for the protobuf exposition only (native-histogram.ts); exemplars are
// OpenMetrics' alone (the text format has no place for them).
import type { FamilyJSON, Labels } from "./family.js";
import { NATIVE_SUFFIX } from "./native-histogram.js";

const hidden = (metricName: string | undefined) => metricName?.endsWith(NATIVE_SUFFIX) === true;

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const NEEDS_ESCAPE = /[\\\n"]/;
// Most label values need no escaping: one test instead of three replaces on each.
const escapeLabel = (s: string) =>
  NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : s;

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Labels): string {
  let out = "";
  for (const k in labels) {
    const v = labels[k]!;
    const text = typeof v === "number" ? formatValue(v) : escapeLabel(v);
    out += out === "" ? `${k}="${text}"` : `,${k}="${text}"`;
  }
  return out === "" ? "" : `{${out}}`;
}

// Merged families are treated as immutable and reused while unchanged (see the store collector),
// so each family's text is kept with it and a scrape formats only what changed.
const prometheusText = new WeakMap<FamilyJSON, string>();
const openMetricsText = new WeakMap<FamilyJSON, string>();

function prometheusFamily(f: FamilyJSON): string {
  let out = `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
  for (const s of f.values)
    if (!hidden(s.metricName)) out += `${s.metricName ?? f.name}${formatLabels(s.labels)} ${formatValue(s.value)}\n`;
  return out;
}

function openMetricsFamily(f: FamilyJSON): string {
  // OpenMetrics names a counter family without _total and requires the suffix on its samples.
  const base = f.type === "counter" && f.name.endsWith("_total") ? f.name.slice(0, -6) : f.name;
  // OpenMetrics escapes HELP text as it does label values, quotes included.
  let out = `# TYPE ${base} ${f.type}\n# HELP ${base} ${escapeLabel(f.help)}\n`;
  for (const s of f.values) {
    if (hidden(s.metricName)) continue;
    const name = f.type === "counter" ? `${base}_total` : (s.metricName ?? f.name);
    const e = s.exemplar;
    const exemplar = e == null ? "" : ` # ${formatLabels(e.labels)} ${formatValue(e.value)} ${e.timestamp.toFixed(3)}`;
    out += `${name}${formatLabels(s.labels)} ${formatValue(s.value)}${exemplar}\n`;
  }
  return out;
}

function formatWith(
  families: readonly FamilyJSON[],
  memo: WeakMap<FamilyJSON, string>,
  one: (f: FamilyJSON) => string,
) {
  let out = "";
  for (const f of families) {
    let text = memo.get(f);
    if (text === undefined) {
      text = one(f);
      memo.set(f, text);
    }
    out += text;
  }
  return out;
}

/** Families must not be modified once formatted: their text is kept. */
export function formatPrometheus(families: readonly FamilyJSON[]): string {
  return formatWith(families, prometheusText, prometheusFamily);
}

export function formatOpenMetrics(families: readonly FamilyJSON[]): string {
  return `${formatWith(families, openMetricsText, openMetricsFamily)}# EOF\n`;
}

/**
 * Picks the format a scraper asked for in its Accept header: protobuf (a Prometheus with native
 * histograms lists it first), OpenMetrics, or the text format.
 */
export function negotiate(accept: string | undefined): "protobuf" | "openmetrics" | "prometheus" {
  if (accept?.includes("application/vnd.google.protobuf") && accept.includes("io.prometheus.client.MetricFamily"))
    return "protobuf";
  return accept?.includes("application/openmetrics-text") ? "openmetrics" : "prometheus";
}
