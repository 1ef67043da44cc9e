import { parseNsLink, parsePidCgroup } from '../core/parse/pid-cgroup.js';
import { parseNsPid } from '../core/parse/pid-status.js';
import { isVanished, type Procfs } from '../sources/procfs.js';

/**
 * Finds the init process (Docker's `State.Pid`) of each container in `ids` from /proc, without asking Docker: the
 * process whose `/proc/<pid>/cgroup` names the container and that is pid 1 of its own pid namespace. A container
 * with no such process, or more than one (its pid namespace shared with the host or another container, a nested
 * pid namespace inside it), is left out: the caller asks Docker for it.
 *
 * Cheap first: one readlink of `ns/pid` per process sorts the processes by pid namespace; those of the host's (pid
 * 1's) are no container's init. A non-empty pid namespace always holds its init (when it exits the kernel kills the
 * rest), so the only process of a namespace is its init; in a namespace of several (or when some process's
 * namespace could not be read, so a namespace may look smaller than it is) the init is told by `NSpid` ending in
 * 1 (/proc/<pid>/status). `cgroup` is read only for processes outside the host's pid namespace.
 */
export function findContainerInits(procfs: Procfs, ids: ReadonlySet<string>): Map<string, number> {
  const found = new Map<string, number>();
  if (ids.size === 0) return found;
  let hostPidNs: number;
  try {
    hostPidNs = pidNsOf(procfs, 1);
  } catch {
    // pid 1 refuses (a non-dumpable init, as in some sandboxes): portolan's own stands in, as for the network
    // namespace (collectors/netns.ts). Unreadable too: every container is inspected, as without this.
    try {
      hostPidNs = pidNsOf(procfs, 'self');
    } catch {
      return found;
    }
  }
  const byNs = new Map<number, number[]>();
  // Containers with a process whose namespace could not be read: their namespaces may look smaller than they are.
  const blind = new Set<string>();
  for (const pid of procfs.listPids()) {
    try {
      const ns = pidNsOf(procfs, pid);
      if (ns === hostPidNs) continue;
      const members = byNs.get(ns);
      if (members) members.push(pid); else byNs.set(ns, [pid]);
    } catch (err) {
      if (isVanished(err)) continue;
      try {
        const id = parsePidCgroup(procfs.readText(pid, 'cgroup'));
        if (id !== undefined) blind.add(id);
      } catch {
        // Its cgroup unreadable too: it may belong to any container, so none is taken on its namespace's size alone.
        blind.add('*');
      }
    }
  }
  const ambiguous = new Set<string>();
  const claim = (id: string, pid: number) => {
    if (ambiguous.has(id)) return;
    if (found.has(id)) {
      found.delete(id);
      ambiguous.add(id);
    } else {
      found.set(id, pid);
    }
  };
  for (const members of byNs.values()) {
    for (const pid of members) {
      try {
        const id = parsePidCgroup(procfs.readText(pid, 'cgroup'));
        if (id === undefined || !ids.has(id)) continue;
        if (members.length === 1 && !blind.has(id) && !blind.has('*')) {
          claim(id, pid);
          continue;
        }
        const nsPids = parseNsPid(procfs.readText(pid, 'status'));
        if (nsPids !== undefined && nsPids.length >= 2 && nsPids[nsPids.length - 1] === 1) claim(id, pid);
      } catch (err) {
        // Gone meanwhile: not an init that matters (its container is ending). Unreadable: Docker is asked.
        if (!isVanished(err)) continue;
      }
    }
  }
  return found;
}

function pidNsOf(procfs: Procfs, pid: number | 'self'): number {
  return parseNsLink(procfs.readLink(pid, 'ns/pid'), 'pid');
}
