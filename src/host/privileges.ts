// --user / --group: the master starts as root, binds its sockets (privileged ports included) and
// writes its pidfile, then becomes the given user and group; workers are forked after that, so
// they never run as root. Names are looked up in /etc/passwd and /etc/group; numbers work too.
import { readFileSync } from "node:fs";

export interface Identity {
  uid: number;
  gid: number;
  /** The user's name, for its supplementary groups (initgroups); null for a bare uid. */
  user: string | null;
  label: string;
}

export class PrivilegeError extends Error {}

function table(path: string): string[][] {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/** The identity to switch to, or null when neither --user nor --group is set. */
export function resolveIdentity(user: string | null, group: string | null): Identity | null {
  if (user === null && group === null) return null;
  let uid = process.getuid!();
  let gid = process.getgid!();
  let name: string | null = null;
  if (user !== null) {
    const row = table("/etc/passwd").find((r) => r[0] === user || (/^\d+$/.test(user) && r[2] === user));
    if (!row && !/^\d+$/.test(user))
      throw new PrivilegeError(`user: no user named ${JSON.stringify(user)} in /etc/passwd`);
    uid = row ? Number(row[2]) : Number(user);
    gid = row ? Number(row[3]) : gid;
    name = row ? row[0]! : null;
  }
  if (group !== null) {
    const row = table("/etc/group").find((r) => r[0] === group || (/^\d+$/.test(group) && r[2] === group));
    if (!row && !/^\d+$/.test(group))
      throw new PrivilegeError(`group: no group named ${JSON.stringify(group)} in /etc/group`);
    gid = row ? Number(row[2]) : Number(group);
  }
  const current = process.getuid!() === uid && process.getgid!() === gid;
  if (!current && process.getuid!() !== 0) {
    throw new PrivilegeError(
      `user/group: switching to uid ${uid}, gid ${gid} needs the master to start as root (it runs as uid ${process.getuid!()})`,
    );
  }
  return { uid, gid, user: name, label: `${user ?? uid}:${group ?? gid} (uid ${uid}, gid ${gid})` };
}

/** Becomes the identity for good: supplementary groups, then group, then user (in that order, while still root). */
export function dropPrivileges(id: Identity): void {
  if (process.getuid!() === id.uid && process.getgid!() === id.gid) return;
  if (id.user !== null)
    (process as unknown as { initgroups(user: string, group: number): void }).initgroups(id.user, id.gid);
  else process.setgroups!([id.gid]);
  process.setgid!(id.gid);
  process.setuid!(id.uid);
}
