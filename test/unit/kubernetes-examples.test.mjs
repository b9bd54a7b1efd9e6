// examples/kubernetes: the manifests parse, and their flags, ports and paths are the ones the
// settings table and the metrics server define. Nothing is deployed; the CLI's own parser reads
// the containers' arguments.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseCommandLine, addSettingOptions, commonBehaviour } from "../../dist/cli/program.js";
import { resolveSettings } from "../../dist/config/load.js";
import { aggregateCommand } from "../../dist/cli/aggregate.js";
import { METRICS } from "../../dist/metrics/catalogue.js";
import { Command } from "commander";
import { ROOT } from "../helpers/harness.mjs";

const DIR = join(ROOT, "examples", "kubernetes");
const manifests = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .map((file) => {
    const docs = parseAllDocuments(readFileSync(join(DIR, file), "utf8"));
    for (const d of docs) assert.deepEqual(d.errors, [], `${file} does not parse`);
    return { file, objects: docs.map((d) => d.toJS()) };
  });
const all = manifests.flatMap((m) => m.objects.map((o) => ({ ...o, file: m.file })));
const deployments = all.filter((o) => o.kind === "Deployment");
const gpeContainers = deployments.flatMap((d) =>
  d.spec.template.spec.containers
    .filter((c) => c.command?.[0]?.includes("gpe-server"))
    .map((c) => ({ deployment: d, container: c })),
);

/** The settings a container's arguments resolve to, by the CLI's own parser and validation. */
async function settingsOf(args) {
  if (args[0] === "aggregate") {
    const program = commonBehaviour(new Command("aggregate"), "aggregate");
    const attributeOf = addSettingOptions(program, aggregateCommand.settings);
    program.parse(args.slice(1), { from: "user" });
    const cli = {};
    for (const [attribute, name] of attributeOf)
      if (program.getOptionValueSource(attribute) === "cli") cli[name] = program.opts()[attribute];
    return (await resolveSettings({ cli, env: {} })).settings;
  }
  const parsed = parseCommandLine(args, "0.0.0");
  assert.ok(parsed.app, "the container names the app");
  return (await resolveSettings({ cli: parsed.values, env: {} })).settings;
}

describe("examples/kubernetes", () => {
  it("has the Deployment, Service, PodMonitor and the Redis fleet variant", () => {
    assert.deepEqual(manifests.map((m) => m.file).sort(), [
      "autoscaling.yaml",
      "deployment.yaml",
      "podmonitor.yaml",
      "redis-fleet.yaml",
      "service.yaml",
    ]);
    assert.ok(gpeContainers.length >= 3);
    assert.ok(all.some((o) => o.kind === "PodMonitor"));
    assert.ok(all.some((o) => o.kind === "Service"));
  });

  it("starts the master itself, never through npx", () => {
    for (const { container } of gpeContainers) {
      assert.deepEqual(container.command, ["node_modules/.bin/gpe-server"]);
      assert.ok(!JSON.stringify(container).includes("npx"));
    }
  });

  it("uses flags of the settings table, with valid values", async () => {
    for (const { container } of gpeContainers) {
      const args = container.args.map((a) => a.replace("$(POD_NAME)", "myapp-0"));
      await assert.doesNotReject(settingsOf(args), `${container.name}: ${args.join(" ")}`);
    }
  });

  it("probes /readyz and /healthz and scrapes /metrics on the container port the metrics server listens on", async () => {
    for (const { container } of gpeContainers) {
      const s = await settingsOf(container.args.map((a) => a.replace("$(POD_NAME)", "myapp-0")));
      const byName = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
      assert.equal(byName.metrics, s.metrics_port, `${container.name}: the metrics port`);
      assert.notEqual(s.metrics_bind, "127.0.0.1", "the kubelet probes from outside the pod's loopback");
      // Readiness fails from the moment TERM arrives; liveness holds while the master runs.
      assert.equal(container.readinessProbe.httpGet.path, "/readyz");
      assert.equal(container.livenessProbe.httpGet.path, "/healthz");
      for (const probe of [container.readinessProbe, container.livenessProbe])
        assert.equal(byName[probe.httpGet.port], s.metrics_port);
      if (s.bind) {
        const port = Number(s.bind[0].split(":").pop());
        if (byName.http) assert.equal(byName.http, port, "the http port is the bind's");
      }
    }
    for (const monitor of all.filter((o) => o.kind === "PodMonitor")) {
      const pods = deployments.filter((d) =>
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      assert.ok(pods.length > 0, `${monitor.metadata.name} selects a Deployment`);
      for (const endpoint of monitor.spec.podMetricsEndpoints) {
        assert.equal(endpoint.path, "/metrics");
        for (const d of pods)
          assert.ok(d.spec.template.spec.containers.some((c) => c.ports?.some((p) => p.name === endpoint.port)));
      }
    }
  });

  it("drains with --drain-delay, not a preStop sleep, within the pod's grace, and sizes workers from the CPU limit", async () => {
    for (const { deployment, container } of gpeContainers) {
      if (container.args[0] === "aggregate") continue;
      const s = await settingsOf(container.args.map((a) => a.replace("$(POD_NAME)", "myapp-0")));
      assert.equal(container.lifecycle?.preStop, undefined, `${deployment.metadata.name}: no preStop hook`);
      assert.ok(s.drain_delay > 0, `${deployment.metadata.name}: a drain delay`);
      const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      assert.ok(grace > s.graceful_timeout + s.drain_delay, `${deployment.metadata.name}: ${grace} s`);
      // Above the ingress controller's idle timeout (ingress-nginx keeps upstream connections 60 s);
      // sync workers close after each response instead, which has no race.
      if (s.worker_class !== "sync")
        assert.ok(s.keepalive > 60, `${deployment.metadata.name}: keep-alive ${s.keepalive} s`);
      // auto, or an adaptive pool whose bounds the settings accepted (a sync pool may pass the CPUs).
      assert.ok(
        container.args.includes("--workers=auto") || (s.workers_min !== null && s.worker_class !== "async"),
        `${deployment.metadata.name}: ${container.args.join(" ")}`,
      );
      assert.ok(container.resources.limits.cpu, "-w auto reads the CPU limit");
    }
  });

  it("points Services at named container ports", () => {
    for (const service of all.filter((o) => o.kind === "Service")) {
      const pods = deployments.filter((d) =>
        Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      assert.ok(pods.length > 0);
      for (const port of service.spec.ports)
        for (const d of pods)
          assert.ok(d.spec.template.spec.containers.some((c) => c.ports.some((p) => p.name === port.targetPort)));
    }
  });

  describe("autoscaling across pods", () => {
    const hpas = all.filter((o) => o.kind === "HorizontalPodAutoscaler");
    const scaledObjects = all.filter((o) => o.kind === "ScaledObject");
    const adapter = all.find((o) => o.kind === "ConfigMap" && o.metadata.name === "prometheus-adapter");
    const rules = parseAllDocuments(adapter?.data["config.yaml"] ?? "")[0]?.toJS().rules ?? [];
    const families = new Set(Object.values(METRICS).map((m) => m.name));

    it("scales Deployments of the examples, by an HPA and by KEDA", () => {
      assert.ok(hpas.length > 0 && scaledObjects.length > 0);
      for (const target of [
        ...hpas.map((h) => h.spec.scaleTargetRef),
        ...scaledObjects.map((o) => o.spec.scaleTargetRef),
      ])
        assert.ok(
          deployments.some((d) => d.metadata.name === target.name),
          `${target.name} is a Deployment of the examples`,
        );
    });

    it("feeds each HPA metric from an adapter rule on a family gpe-server serves", () => {
      for (const hpa of hpas)
        for (const metric of hpa.spec.metrics) {
          const rule = rules.find((r) => r.name.as === metric.pods.metric.name);
          assert.ok(rule, `${metric.pods.metric.name} has an adapter rule`);
          const family = /^(\w+)\{/.exec(rule.seriesQuery)[1];
          assert.ok(families.has(family), `${family} is in the metrics catalogue`);
          assert.match(rule.name.matches, new RegExp(family));
          const target = Number.parseInt(metric.pods.target.averageValue, 10) / 1000;
          assert.ok(target > 0 && target < 1, "a utilization target between 0 and 1");
        }
    });

    it("asks Prometheus only what promtool accepts, on families gpe-server serves", () => {
      const queries = [
        ...rules.map((r) =>
          r.metricsQuery
            .replaceAll("<<.Series>>", /^(\w+)/.exec(r.seriesQuery)[1])
            .replaceAll("<<.LabelMatchers>>", 'namespace="default",pod=~"myapp-.*"')
            .replaceAll("<<.GroupBy>>", "pod"),
        ),
        ...scaledObjects.flatMap((o) => o.spec.triggers.map((t) => t.metadata.query)),
      ];
      for (const q of queries)
        for (const [name] of q.matchAll(/gunicorn_\w+/g)) assert.ok(families.has(name), `${name} in ${q}`);
      const dir = mkdtempSync(join(tmpdir(), "gpe-k8s-"));
      try {
        const file = join(dir, "rules.yaml");
        const group = { name: "autoscaling", rules: queries.map((expr, i) => ({ record: `q:${i}`, expr })) };
        writeFileSync(file, JSON.stringify({ groups: [group] }));
        const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
        assert.equal(r.error, undefined, "promtool is installed (scripts/ensure-test-tools.sh)");
        assert.equal(r.status, 0, r.stdout + r.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
