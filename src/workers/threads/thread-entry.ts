// Inside one thread of a thread worker: its own copy of the app behind its own http.Server,
// fed with connections the process's main thread bridges in. One request at a time per thread.
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { LoadedApp } from "../../app/loader.js";
import type { WorkerInitData } from "../../config/settings.js";
import { EXIT_UNCAUGHT } from "../../contracts/exit-codes.js";
import type { FamilyJSON } from "../../metrics/family.js";
import { FailureCounters, RequestMetrics, regionLength } from "../../metrics/request-metrics.js";
import { RouteMetrics, routeMetricsFor } from "../../metrics/route-metrics.js";
import { slotLabel } from "../../contracts/lifecycle.js";
import { readAppRegistries } from "../../metrics/worker-snapshot.js";
import { openAppHost } from "../boot/app-host.js";
import { countUncaught, onUncaughtAppError } from "../boot/uncaught.js";
import { buildPipeline } from "../http/build-pipeline.js";
import { SHEDDING_SAID_MS } from "../http/admission-control.js";
import { exposeRunning } from "../stall/stall-probe.js";
import { THREAD_BEAT_MS } from "../stall/stall-line.js";
import { BridgedSocket, type BridgeMessage } from "./socket-bridge.js";
import { arrivedAt } from "../connections/arrivals.js";

export interface ThreadData {
  init: WorkerInitData;
  index: number;
  metricsBuffer: SharedArrayBuffer;
}

export type ThreadEvent =
  | { t: "ready" }
  | { t: "boot-error"; message: string }
  | { t: "start"; id: number }
  | { t: "done" }
  | { t: "closed" }
  | { t: "beat" }
  | { t: "metrics"; families: FamilyJSON[] }
  /** It is shedding requests that waited too long: new connections may be refused before it. */
  | { t: "shedding" }
  | BridgeMessage;

const port = parentPort as MessagePort;
const { init, index, metricsBuffer } = workerData as ThreadData;
const s = init.settings;
const post = (e: ThreadEvent) => port.postMessage(e);

async function boot(): Promise<void> {
  const host = openAppHost(init, index);
  const { log, accessLog } = host;
  // The process's main thread has said already when the hooks cannot load.
  const hooks = await host.hooks({ warn: false });
  let app: LoadedApp;
  try {
    app = await host.app();
    // Upgraded connections cannot be handed to a thread: the main thread owns the sockets.
    if (app.tlsFront)
      throw new Error("the thread worker does TLS in its main thread: give --certfile and --keyfile, and serve http");
    if (app.upgrade?.active())
      throw new Error(
        "the thread worker does not pass WebSocket or other upgrades to its threads; use -k async or -k sync",
      );
  } catch (err) {
    post({ t: "boot-error", message: (err as Error).message });
    return;
  }
  const length = regionLength(s.metrics_buckets.length, s.metrics_native_schema);
  const metrics = new RequestMetrics(
    new Float64Array(metricsBuffer, index * length * 8, length),
    s.metrics_buckets,
    s.metrics_native_schema,
  );
  const failures = new FailureCounters(s.metrics_endpoint_limit);
  const routes = routeMetricsFor(s);
  const workerInfo = { pid: process.pid, slot: init.slot, age: init.age, thread: index, log };
  const connections = new Map<number, BridgedSocket>();
  /** The accept queue's length, as the main thread last said (it owns the listening sockets). */
  let backlog = 0;
  const pipeline = buildPipeline({
    app,
    settings: s,
    metrics,
    failures,
    routes,
    log,
    hooks,
    workerInfo,
    accessLog,
    concurrency: 1,
    closeAfterResponse: false,
    answerAfterHalfClose: true,
    terminatesTls: false, // the main thread has done it
    onRequestStart: (req) => post({ t: "start", id: (req.socket as unknown as { gpeId: number }).gpeId }),
    onRequestDone: () => post({ t: "done" }),
    backlog: () => backlog,
  });
  exposeRunning((answer) => pipeline.runningNow(answer));
  // Said at most every SHEDDING_SAID_MS while it lasts: the main thread refuses for this thread
  // only while it hears it.
  let saidAt = -SHEDDING_SAID_MS;
  pipeline.admission?.onShedding(() => {
    const now = performance.now();
    if (now - saidAt < SHEDDING_SAID_MS) return;
    saidAt = now;
    post({ t: "shedding" });
  });
  setInterval(() => post({ t: "beat" }), THREAD_BEAT_MS).unref();
  const registries = host.registries();
  const publishMetrics = async () => {
    const families: FamilyJSON[] = [
      ...failures.families(init.slot),
      // Each thread's routes; the master's merge sums the threads, as it sums the workers.
      ...(routes ? RouteMetrics.families([routes]) : []),
      // Each thread's own counts; the master's merge adds them up for the worker.
      ...(pipeline.admission?.families(slotLabel(init.slot)) ?? []),
      ...(registries ? await readAppRegistries(registries.current(), log) : []),
    ];
    post({ t: "metrics", families });
  };
  if (s.metrics_enabled) {
    void publishMetrics(); // what the app set at load, without waiting a flush interval
    setInterval(() => void publishMetrics(), s.metrics_flush_interval * 1000).unref();
  }

  // As in a process worker, but only this thread ends (after publishing its metrics); the process
  // then lets its other threads finish and exits with the same code (thread-engine.ts).
  onUncaughtAppError(
    log,
    (err) => countUncaught(failures, err),
    () => {
      const exit = () => process.exit(EXIT_UNCAUGHT);
      if (s.metrics_enabled) publishMetrics().then(exit, exit);
      else exit();
    },
  );

  port.on(
    "message",
    (m: BridgeMessage | { t: "stop" } | { t: "close" } | { t: "reopen" } | { t: "backlog"; n: number }) => {
      if (m.t === "backlog") {
        backlog = m.n;
      } else if (m.t === "open") {
        const socket = new BridgedSocket(m.id, port, m);
        (socket as unknown as { gpeId: number }).gpeId = m.id;
        if (pipeline.admission !== null) arrivedAt(socket, m.since - performance.timeOrigin);
        connections.set(m.id, socket);
        socket.once("gpe:closed", () => connections.delete(m.id));
        pipeline.serve(socket as never);
      } else if (m.t === "stop") {
        pipeline.stopKeepAlive();
      } else if (m.t === "reopen") {
        host.reopenLogs(); // USR1 or a rotation: the files were moved away
      } else if (m.t === "close") {
        const closed = () => post({ t: "closed" });
        Promise.resolve()
          .then(() => app.close?.())
          .catch((err: unknown) => log.error({ err }, `the app's close() failed: ${(err as Error)?.message ?? err}`))
          .then(closed);
      } else {
        connections.get(m.id)?.deliver(m);
      }
    },
  );
  post({ t: "ready" });
}

void boot();
