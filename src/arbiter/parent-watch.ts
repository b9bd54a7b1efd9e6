// --die-with-parent: Linux re-parents an orphan to init (or a subreaper), so a change of
// process.ppid means the process that started us is gone. Node has no PR_SET_PDEATHSIG.
const CHECK_MS = 500;

/** Calls `gone` once, with the old parent's pid, when this process's parent exits. */
export function watchParent(gone: (ppid: number) => void): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone(parent);
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** --die-with-parent, unless this master is a USR2 successor, whose parent is meant to exit. */
export function dieWithParent(wanted: boolean, log: { warn(message: string): void }, stop: () => void): void {
  if (!wanted) return;
  watchParent((ppid) => {
    log.warn(`parent process ${ppid} exited; stopping (--die-with-parent)`);
    stop();
  });
}
