// What a worker tells the app loader: where a self-listening app is told it listens (the first
// address the master bound), and how long a script that exports nothing may take to call listen().
import type { LoadWhere } from "../app/loader.js";
import type { WorkerInitData } from "../config/settings.js";

export function appWhere(init: WorkerInitData): LoadWhere {
  return { bound: init.addresses[0], listenWaitMs: (init.settings.timeout || 30) * 1000 };
}
