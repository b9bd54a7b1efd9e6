// The shape of src/: imports run one way between rooms (docs/architecture.md draws them), files
// stay small, and Node's private internals are touched behind one door only.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HOOKS } from "../../dist/contracts/hook-catalogue.js";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

/** Which rooms each room may import. `cli` is the top and may use any. */
const MAY_IMPORT = {
  contracts: [],
  platform: [],
  config: ["contracts"],
  logging: ["contracts", "config"],
  metrics: ["contracts", "config", "platform"],
  app: ["contracts", "config", "platform"],
  redis: ["contracts", "config", "metrics", "logging"],
  exporter: ["contracts", "config", "metrics", "redis", "logging", "platform"],
  host: ["contracts", "config", "logging", "app", "platform"],
  workers: ["contracts", "config", "metrics", "logging", "app", "platform"],
  arbiter: ["contracts", "config", "logging", "exporter", "host", "app", "platform"],
  index: ["contracts", "config"],
  cli: [
    "contracts",
    "config",
    "metrics",
    "redis",
    "logging",
    "platform",
    "exporter",
    "host",
    "workers",
    "arbiter",
    "app",
  ],
};
/** Inside workers/: which sub-room may import which (a worker process's life at the top). */
const WORKER_ROOMS = {
  process: ["engines", "boot", "http", "connections", "stall"],
  engines: ["threads", "boot", "http", "connections", "stall"],
  threads: ["boot", "http", "connections", "stall"],
  boot: ["http", "connections"],
  http: ["connections"],
  connections: [],
  stall: [],
};
/**
 * A bound that catches a file grown into several ideas, not a rule for where to cut: files are split
 * where their ideas part (docs/architecture.md), and one idea may well take more than 400 lines.
 */
const MAX_LINES = 500;
/** Node's private fields and functions; only the door may name them. */
const NODE_PRIVATE =
  /\._(handle|readableState|writableState|httpMessage|keepAliveTimeout|last|header|createServerHandle|parent)\b/;
const DOOR = "platform/node-internals.ts";

const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith(".ts")) files.push(path);
  }
};
walk(SRC);
const roomOf = (path) => {
  const parts = relative(SRC, path).split("/");
  return parts.length === 1 ? parts[0].replace(/\.ts$/, "") : parts[0];
};
/** The sub-room of a file of workers/ (null elsewhere, or for a file at the top of workers/). */
const workerRoomOf = (path) => {
  const parts = relative(SRC, path).split("/");
  return parts[0] === "workers" && parts.length === 3 ? parts[1] : null;
};

describe("architecture", () => {
  it("every file of src/ is in a known room", () => {
    for (const f of files) assert.ok(roomOf(f) in MAY_IMPORT, `${relative(SRC, f)} is in no room of the table`);
  });

  it("every file of workers/ is in a known sub-room", () => {
    for (const f of files.filter((f) => roomOf(f) === "workers"))
      assert.ok(workerRoomOf(f) in WORKER_ROOMS, `${relative(SRC, f)} is in no sub-room of workers/`);
  });

  it("imports run one way between the sub-rooms of workers/", () => {
    const wrong = [];
    for (const f of files.filter((f) => roomOf(f) === "workers")) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
        const target = resolve(dirname(f), m[1]);
        if (roomOf(target) !== "workers") continue;
        const from = workerRoomOf(f);
        const to = workerRoomOf(target);
        if (from !== to && !WORKER_ROOMS[from]?.includes(to))
          wrong.push(`${relative(SRC, f)} imports ${m[1]} (workers/${from} -> workers/${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("imports run one way between rooms", () => {
    const wrong = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
        const from = roomOf(f);
        const to = roomOf(resolve(dirname(f), m[1]));
        if (from !== to && !MAY_IMPORT[from].includes(to))
          wrong.push(`${relative(SRC, f)} imports ${m[1]} (${from} -> ${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it(`no file of src/ is over ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => [relative(SRC, f), readFileSync(f, "utf8").split("\n").length - 1])
      .filter(([, n]) => n > MAX_LINES);
    assert.deepEqual(long, []);
  });

  it("Node's private internals are named in one file only", () => {
    const outside = files.filter((f) => !f.endsWith(DOOR) && NODE_PRIVATE.test(readFileSync(f, "utf8")));
    assert.deepEqual(
      outside.map((f) => relative(SRC, f)),
      [],
    );
  });

  it("runs every hook where, and as, its catalogue row says: awaited or not, in the master or a worker", () => {
    const seen = new Map();
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/(await )?(runHook|runHookSync|runHookWithin)\([^,]+, "([a-z_]+)"/g)) {
        const side = roomOf(f) === "arbiter" ? "master" : "worker";
        seen.set(m[3], { awaited: m[1] !== undefined && m[2] !== "runHookSync", side });
      }
    }
    for (const h of HOOKS) {
      assert.deepEqual(seen.get(h.name), { awaited: h.awaited, side: h.side }, h.name);
    }
  });
});
