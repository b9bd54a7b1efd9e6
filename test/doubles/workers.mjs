// @ts-check
// Stand-ins for a worker, as the master's and a worker's connection rules see one. Each is checked
// against the interface it stands in for when the test command type-checks this file
// (tsconfig.doubles.json): a double that lacks a field, or gives it the wrong type, fails the run.

/** @typedef {import("../../src/arbiter/dispatcher.js").DispatchTarget} DispatchTarget */
/** @typedef {import("../../src/arbiter/connection-balance.js").BalancedWorker} BalancedWorker */
/** @typedef {import("../../src/workers/connections/accept-front.js").Admission} Admission */
/** @typedef {import("../../src/contracts/pool-view.js").WorkerView} WorkerView */

/**
 * A socket as these rules handle one: they only pass it along, pause it or destroy it.
 * allowHalfOpen: a real socket has it as an own property (Duplex sets it), as the worker may set it.
 * @param {string} name
 */
export const fakeSocket = (name) => ({ name, allowHalfOpen: false, pause() {}, destroy() {} });

/**
 * A worker process as the dispatcher sees it: what it was sent, and how often it was asked for room.
 * @param {number} pid
 * @returns {DispatchTarget & { got: string[]; asked: number }}
 */
export function dispatchWorker(pid) {
  return {
    pid,
    got: [],
    asked: 0,
    acceptsWork: () => true,
    sendConnection(s, more) {
      this.got.push(`${/** @type {{ name?: string }} */ (s).name}${more ? "+" : ""}`);
    },
    askForRoom() {
      this.asked++;
    },
  };
}

/**
 * A worker as the keep-alive balance sees it; its asks land in `sent` as [name, count].
 * @param {string} name
 * @param {number} keptAlive
 * @param {[string, number][]} sent
 * @param {boolean} [accepts]
 * @returns {BalancedWorker & { name: string }}
 */
export function balancedWorker(name, keptAlive, sent, accepts = true) {
  return {
    name,
    keptAlive,
    standby: false,
    acceptsWork: () => accepts,
    send: (m) => {
      if (m.cmd === "gpe:shed") sent.push([name, m.count]);
    },
  };
}

/**
 * A worker's engine with room for one request at a time, like a sync worker.
 * @returns {Admission & { busy: boolean; taken: string[] }}
 */
export function oneAtATime() {
  return {
    busy: false,
    taken: [],
    hasRoom() {
      return !this.busy;
    },
    take(s) {
      this.busy = true;
      this.taken.push(/** @type {{ name?: string }} */ (s).name ?? "");
    },
  };
}

/**
 * A worker process as the master's metrics see it: running, idle, heard from just now.
 * @param {Partial<WorkerView>} [fields]
 * @returns {WorkerView}
 */
export function workerView(fields = {}) {
  const now = Date.now();
  return {
    pid: process.pid,
    slot: 1,
    state: "running",
    live: true,
    stateSince: now,
    startedAt: now,
    lastHeartbeat: now,
    inFlight: 0,
    upgraded: 0,
    keptAlive: 0,
    capacity: 1,
    eventLoopUtilization: 0,
    eventLoopLag: 0,
    generation: 0,
    ...fields,
  };
}
