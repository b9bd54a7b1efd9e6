// The requests a worker is running now, for the timeout diagnostics: an intrusive list through
// fields every tracked response is born with, so the hot path links and unlinks with no allocation.

import type { RunningRequest } from "../../contracts/stall.js";

export type { RunningRequest };

export interface RunningNode {
  prevRunning: RunningNode | null;
  nextRunning: RunningNode | null;
}

export class RunningRequests<T extends RunningNode> {
  private head: T | null = null;

  add(node: T): void {
    node.prevRunning = null;
    node.nextRunning = this.head;
    if (this.head !== null) this.head.prevRunning = node;
    this.head = node;
  }

  remove(node: T): void {
    if (node.prevRunning !== null) node.prevRunning.nextRunning = node.nextRunning;
    else if (this.head === node) this.head = node.nextRunning as T | null;
    if (node.nextRunning !== null) node.nextRunning.prevRunning = node.prevRunning;
    node.prevRunning = node.nextRunning = null;
  }

  /** Oldest first. */
  list(): T[] {
    const out: T[] = [];
    for (let n: RunningNode | null = this.head; n !== null; n = n.nextRunning) out.unshift(n as T);
    return out;
  }
}
