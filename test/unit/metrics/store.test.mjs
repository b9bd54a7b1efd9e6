import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { counter, gauge } from "../../helpers/families.mjs";
import { Merger } from "../../../dist/metrics/merge.js";
import { formatPrometheus } from "../../../dist/metrics/exposition.js";
import { familyToJSON, metricsFromJSON, metricsToJSON } from "../../../dist/metrics/family.js";
import { StoreReader, parseSnapshot, workerFileText, workerFileName } from "../../../dist/metrics/store.js";
import { StoreCollector } from "../../../dist/exporter/collector.js";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
