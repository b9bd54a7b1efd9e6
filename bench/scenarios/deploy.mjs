// Deploys under load: a canary reload to a release that answers 500 to one request in five (rolled
// back), and to a good one (promoted, the other slot rolling), while wrk keeps 32 kept-alive
// connections busy. Reports the requests that failed beyond the bad canary's own 500s (socket
// errors: none expected), p99 latency over the run, and the time from HUP to the verdict.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gpe } from "../lib/competitors.mjs";
import { wrkAsync } from "../lib/load.mjs";
import { fmt, report } from "../lib/report.mjs";
import { CLI } from "../lib/settings.mjs";

const RELEASES = {
  v1: "res.end('v1')",
  good: "res.end('good')",
  bad: "if (++n % 5 === 0) res.statusCode = 500; res.end('bad')",
};

function layout() {
  const root = mkdtempSync(join(tmpdir(), "gpe-bench-deploy-"));
  for (const [name, body] of Object.entries(RELEASES)) {
    mkdirSync(join(root, "releases", name), { recursive: true });
    writeFileSync(join(root, "releases", name, "app.mjs"), `let n = 0;\nexport default (req, res) => { ${body} };\n`);
  }
  symlinkSync(join("releases", "v1"), join(root, "current"));
  return root;
}

function point(root, name) {
  const next = join(root, `current.${name}`);
  symlinkSync(join("releases", name), next);
  renameSync(next, join(root, "current"));
}

export async function run() {
  for (const [release, expected] of [
    ["bad", 1],
    ["good", 0],
  ]) {
    const root = layout();
    const g = await gpe(
      2,
      ["--keep-alive", "75", "--canary-period", "30", "--canary-min-requests", "2000", "--reload-batch", "1"],
      { app: join(root, "current", "app.mjs") },
    );
    try {
      const load = wrkAsync({ url: `${g.url}/`, connections: 32, duration: 12 });
      await new Promise((r) => setTimeout(r, 2000));
      point(root, release);
      const t0 = performance.now();
      const reload = spawnSync(
        process.execPath,
        [CLI, "reload", "--canary", "--wait", "--metrics-url", g.metricsUrl, "--timeout", "60"],
        { encoding: "utf8" },
      );
      const decided = performance.now() - t0;
      const w = await load;
      const verdict = (reload.stdout + reload.stderr).trim().split("\n").at(-1);
      report(
        `deploy: canary to a ${release} release under load (2 workers, wrk -c32 keep-alive)`,
        `exit ${reload.status}; ${fmt(decided / 1000, 1)} s from HUP to verdict; ${w.total} requests, ${w.non2xx} non-2xx (the bad canary's own), ${w.socketFailures} socket errors; p99 ${fmt(w.p99, 1)} ms; ${verdict}`,
        `exit ${expected}, no socket error`,
        reload.status === expected && w.socketFailures === 0,
      );
    } finally {
      await g.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }
}
