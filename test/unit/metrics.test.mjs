import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Merger, monotonicPart } from "../../dist/metrics/merge.js";
import { formatPrometheus, formatOpenMetrics, negotiate } from "../../dist/metrics/exposition.js";
import { familyToJSON, metricsFromJSON, metricsToJSON } from "../../dist/metrics/family.js";
import { StoreReader, parseSnapshot, workerFileText, workerFileName } from "../../dist/metrics/store.js";
import { StoreCollector } from "../../dist/exporter/collector.js";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RequestMetrics, FailureCounters } from "../../dist/metrics/request-metrics.js";
import { compileAccessFormat } from "../../dist/logging/access-log.js";
import { METRICS } from "../../dist/metrics/catalogue.js";
import { renderMetricsDoc } from "../../dist/metrics/metrics-doc.js";
import { MasterMetrics, storeErrorsFamily } from "../../dist/exporter/master-metrics.js";

const counter = (value, labels = {}) => ({
  name: "jobs_total",
  help: "Jobs.",
  type: "counter",
  values: [{ labels, value }],
});
const gauge = (value, aggregator) => ({
  name: "depth",
  help: "Depth.",
  type: "gauge",
  aggregator,
  values: [{ labels: {}, value }],
});

describe("merge rules", () => {
  it("sums counters and histograms whatever their aggregator", () => {
    const m = new Merger();
    m.add([counter(2)], "worker_1");
    m.add([counter(3)], "worker_2");
    assert.deepEqual(m.toJSON()[0].values, [{ labels: {}, value: 5 }]);
  });

  for (const [aggregator, expected] of [
    ["sum", 12],
    ["min", 2],
    ["max", 10],
    ["average", 6],
    ["first", 10],
  ]) {
    it(`merges gauges with aggregator ${aggregator}`, () => {
      const m = new Merger();
      m.add([gauge(10, aggregator)], "worker_1");
      m.add([gauge(2, aggregator)], "worker_2");
      assert.equal(m.toJSON()[0].values[0].value, expected);
    });
  }

  it("keeps one series per worker with aggregator 'worker', drops 'omit'", () => {
    const m = new Merger();
    m.add([gauge(1, "worker"), { ...counter(1), name: "secret_total", aggregator: "omit" }], "worker_1");
    m.add([gauge(2, "worker")], "worker_2");
    const [depth, ...rest] = m.toJSON();
    assert.deepEqual(
      depth.values.map((v) => v.labels.worker_id),
      ["worker_1", "worker_2"],
    );
    assert.equal(rest.length, 0);
  });

  it("archives only what must stay monotonic", () => {
    assert.deepEqual(
      monotonicPart([counter(1), gauge(1, "sum")]).map((f) => f.type),
      ["counter"],
    );
  });
});

describe("exposition", () => {
  it("prints the text format with escaping", () => {
    const text = formatPrometheus([
      { name: "x_total", help: "a\\b\nc", type: "counter", values: [{ labels: { path: 'q"\n' }, value: Infinity }] },
    ]);
    assert.equal(text, '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{path="q\\"\\n"} +Inf\n');
  });

  it("prints OpenMetrics with counter families named without _total, and # EOF", () => {
    const text = formatOpenMetrics([counter(4)]);
    assert.equal(text, "# TYPE jobs counter\n# HELP jobs Jobs.\njobs_total 4\n# EOF\n");
    assert.equal(negotiate("application/openmetrics-text; version=1.0.0"), "openmetrics");
    assert.equal(negotiate("text/plain"), "prometheus");
  });

  it("escapes quotes in OpenMetrics HELP text (the text format leaves them)", () => {
    const family = { name: "q", help: 'say "hi"\\', type: "gauge", values: [{ labels: {}, value: 1 }] };
    assert.equal(formatOpenMetrics([family]), '# TYPE q gauge\n# HELP q say \\"hi\\"\\\\\nq 1\n# EOF\n');
    assert.equal(formatPrometheus([family]), '# HELP q say "hi"\\\\\n# TYPE q gauge\nq 1\n');
  });
});

describe("store JSON", () => {
  it("keeps NaN and infinite values (plain JSON turns them into null), and leaves labels alone", () => {
    const families = [
      {
        name: "g",
        help: "G.",
        type: "gauge",
        values: [
          { labels: { value: "NaN" }, value: NaN },
          { labels: {}, value: Infinity },
          { labels: {}, value: -Infinity },
          { labels: {}, value: 1.5 },
        ],
      },
    ];
    const back = metricsFromJSON(metricsToJSON({ format: "gpe-store-1", families })).families;
    assert.deepEqual(back, families);
    assert.equal(typeof back[0].values[0].labels.value, "string");
    assert.equal(formatPrometheus(back), '# HELP g G.\n# TYPE g gauge\ng{value="NaN"} NaN\ng +Inf\ng -Inf\ng 1.5\n');
    assert.equal(
      metricsToJSON([{ ...families[0], values: [{ labels: {}, value: 2 }] }]),
      JSON.stringify([{ ...families[0], values: [{ labels: {}, value: 2 }] }]),
    );
  });
});

describe("store files, one line per family", () => {
  const nan = { name: "g", help: "G.", type: "gauge", values: [{ labels: { a: "x" }, value: NaN }] };
  const text = (families, written = 1) => workerFileText(42, 3, written, families.map(familyToJSON).join("\n"));

  it("reads back what a worker writes, non-finite values included", () => {
    const parsed = parseSnapshot(text([counter(5), nan]));
    assert.equal(typeof parsed, "object");
    assert.equal(parsed.snapshot.format, "gpe-store-2");
    assert.equal(parsed.snapshot.slot, 3);
    assert.deepEqual(parsed.snapshot.families, [counter(5), nan]);
    assert.deepEqual(parseSnapshot(text([])).snapshot.families, []);
  });

  it("hands back the same object for a family line that did not change, a new one for a line that did", () => {
    const first = parseSnapshot(text([counter(5), gauge(1)], 1));
    const second = parseSnapshot(text([counter(6), gauge(1)], 2), first.lines);
    assert.notEqual(second.snapshot.families[0], first.snapshot.families[0]);
    assert.equal(second.snapshot.families[0].values[0].value, 6);
    assert.equal(second.snapshot.families[1], first.snapshot.families[1]);
  });

  it("calls a file with a broken line corrupt, and a foreign header not ours", () => {
    assert.equal(parseSnapshot(`${text([counter(1)])}{"name":`), "corrupt (not valid JSON)");
    assert.equal(parseSnapshot('{"format":"other"}\n{}'), "not a gpe-server store file");
    assert.equal(parseSnapshot('{"format":"gpe-store-2","kind":"worker"}\n[1]'), "not a gpe-server store file");
  });

  it("merges again only the families whose lines changed, with the same totals as a full merge", () => {
    const dir = mkdtempSync(join(tmpdir(), "gpe-collect-"));
    try {
      const collector = new StoreCollector(dir, process.pid, { warn() {} }, false);
      const write = (slot, pid, families, written) =>
        writeFileSync(
          join(dir, workerFileName(slot, pid)),
          workerFileText(pid, slot, written, families.map(familyToJSON).join("\n")),
        );
      const app = (v) => ({ ...counter(v, { route: "/a" }), name: "app_total" });
      write(1, 101, [counter(1), app(10)], 1);
      write(2, 102, [counter(2), app(20)], 1);
      const before = collector.collect();
      const total = (families, name) => families.find((f) => f.name === name).values[0].value;
      assert.equal(total(before, "jobs_total"), 3);
      assert.equal(total(before, "app_total"), 30);
      // Only the hot family of worker 1 changes (a new file: new inode, new size).
      write(1, 101, [counter(11), app(10)], 2);
      const after = collector.collect();
      assert.equal(total(after, "jobs_total"), 13);
      assert.equal(
        after.find((f) => f.name === "app_total"),
        before.find((f) => f.name === "app_total"),
        "the unchanged family is reused, not merged again",
      );
      const full = new Merger();
      full.add([counter(11), app(10)], "worker_1");
      full.add([counter(2), app(20)], "worker_2");
      assert.deepEqual(after, full.toJSON());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("request metrics (hot path)", () => {
  it("counts by method and status and fills cumulative buckets", () => {
    const r = RequestMetrics.inMemory([0.1, 1]);
    r.observe("GET", 200, 0.05);
    r.observe("GET", 200, 0.5);
    r.observe("BREW", 418, 5);
    const [requests, duration] = RequestMetrics.families([r], 3);
    assert.deepEqual(requests.values, [
      { labels: { worker_id: "worker_3", method: "GET", status: "200" }, value: 2 },
      { labels: { worker_id: "worker_3", method: "other", status: "418" }, value: 1 },
    ]);
    assert.deepEqual(
      duration.values.filter((v) => v.labels.le).map((v) => [v.labels.le, v.value]),
      [
        ["0.1", 1],
        ["1", 2],
        ["+Inf", 3],
      ],
    );
    assert.equal(duration.values.find((v) => v.metricName.endsWith("_count")).value, 3);
  });

  it("sums the regions of several threads", () => {
    const a = RequestMetrics.inMemory([1]);
    const b = RequestMetrics.inMemory([1]);
    a.observe("POST", 201, 0.1);
    b.observe("POST", 201, 0.1);
    assert.equal(RequestMetrics.families([a, b], 1)[0].values[0].value, 2);
  });

  it("caps distinct endpoints", () => {
    const f = new FailureCounters(2);
    for (const path of ["/a", "/b", "/c", "/d"]) f.appFailed("GET", path, "Error");
    const endpoints = f.families(1)[0].values.map((v) => v.labels.endpoint);
    assert.deepEqual(endpoints, ["/a", "/b", "other"]);
    assert.equal(f.families(1)[0].values[2].value, 2);
  });
});

describe("access log format", () => {
  it("renders gunicorn atoms", () => {
    const build = compileAccessFormat('%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-id}i)s %(M)s');
    const req = {
      method: "GET",
      url: "/b=1", // as a router rewrote it; the line shows the URL as received (the entry's url)
      httpVersion: "1.1",
      socket: { remoteAddress: "10.0.0.1" },
      headers: {
        "user-agent": "curl",
        "x-id": "42",
        authorization: `Basic ${Buffer.from("ann:pw").toString("base64")}`,
      },
    };
    const res = { statusCode: 201, getHeader: () => undefined };
    assert.equal(
      build({ req, res, url: "/a?b=1", startedAt: 0, finishedAt: 12.4, bytesSent: 5 }),
      '10.0.0.1 - ann "GET /a?b=1 HTTP/1.1" 201 5 "-" "curl" 42 12',
    );
  });
});

describe("the metrics catalogue", () => {
  const names = new Set(Object.values(METRICS).map((m) => m.name));

  it("docs/metrics.md is generated from it and up to date", () => {
    assert.equal(readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8"), renderMetricsDoc());
  });

  it("lists every family the workers and the master produce, with its type and labels", async () => {
    const worker = {
      pid: process.pid,
      slot: 1,
      state: "running",
      live: true,
      stateSince: Date.now(),
      startedAt: Date.now(),
      lastHeartbeat: Date.now(),
      inFlight: 0,
      capacity: 1,
      eventLoopUtilization: 0,
      eventLoopLag: 0,
    };
    const master = new MasterMetrics(() => [worker]);
    master.restart("crash", 1, 1);
    const failures = new FailureCounters(10);
    failures.appFailed("GET", "/", "Error");
    failures.serverError("GET", "/", "BadRequest");
    const families = [
      ...RequestMetrics.families([RequestMetrics.inMemory([0.1])], 1),
      ...failures.families(1),
      ...(await master.families()).filter(
        (f) => !f.name.startsWith("gunicorn_master_process_") && !f.name.startsWith("gunicorn_master_nodejs_"),
      ),
      storeErrorsFamily(new Map()),
    ];
    for (const f of families) {
      assert.ok(names.has(f.name), `${f.name} is in the catalogue`);
      const spec = Object.values(METRICS).find((m) => m.name === f.name);
      assert.equal(f.type, spec.type, `${f.name}'s type`);
      for (const sample of f.values) {
        const labels = Object.keys(sample.labels).filter((l) => l !== "le");
        assert.deepEqual(labels.sort(), [...spec.labels].sort(), `${f.name}'s labels`);
      }
    }
  });
});

describe("listing the store only when it may have changed", () => {
  const withDir = (body) => {
    const dir = mkdtempSync(join(tmpdir(), "gpe-listing-"));
    try {
      body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const write = (dir, slot, pid, value) =>
    writeFileSync(join(dir, workerFileName(slot, pid)), workerFileText(pid, slot, 1, familyToJSON(counter(value))));
  const files = (read) => read.snapshots.map((s) => s.file).sort();

  it("reads a new expected worker's file at once, and a file nobody expects only after invalidate()", () => {
    withDir((dir) => {
      const reader = new StoreReader();
      write(dir, 1, 101, 1);
      const one = [workerFileName(1, 101)];
      assert.deepEqual(files(reader.read(dir, one)), one);
      write(dir, 2, 102, 2);
      // Not expected and not listed: the listing is not taken again for nothing.
      assert.deepEqual(files(reader.read(dir, one)), one);
      const two = [workerFileName(1, 101), workerFileName(2, 102)];
      assert.deepEqual(files(reader.read(dir, two)), two);
      write(dir, 3, 103, 3);
      reader.invalidate();
      assert.equal(reader.read(dir, two).snapshots.length, 3);
    });
  });

  it("still sees a listed file's new content, and lists again when a listed file is gone", () => {
    withDir((dir) => {
      const reader = new StoreReader();
      write(dir, 1, 101, 1);
      write(dir, 2, 102, 2);
      const both = [workerFileName(1, 101), workerFileName(2, 102)];
      reader.read(dir, both);
      write(dir, 1, 101, 7);
      const value = (read, file) => read.snapshots.find((s) => s.file === file).snapshot.families[0].values[0].value;
      assert.equal(value(reader.read(dir, both), workerFileName(1, 101)), 7);
      // Another process folds worker 2 into a new archive: its file goes, the archive comes.
      writeFileSync(
        join(dir, "gpe_archive_9.json.tmp"),
        metricsToJSON({ format: "gpe-store-1", kind: "archive", pid: 9, slot: 0, written: 1, families: [counter(2)] }),
      );
      renameSync(join(dir, "gpe_archive_9.json.tmp"), join(dir, "gpe_archive_9.json"));
      rmSync(join(dir, workerFileName(2, 102)));
      assert.deepEqual(files(reader.read(dir, [workerFileName(1, 101)])), [
        "gpe_archive_9.json",
        workerFileName(1, 101),
      ]);
    });
  });

  it("lists every time when the caller cannot say what to expect (the exporter)", () => {
    withDir((dir) => {
      const reader = new StoreReader();
      write(dir, 1, 101, 1);
      assert.equal(reader.read(dir).snapshots.length, 1);
      write(dir, 2, 102, 2);
      assert.equal(reader.read(dir).snapshots.length, 2);
    });
  });
});
