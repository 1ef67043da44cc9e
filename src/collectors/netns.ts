import { parseNsLink } from '../core/parse/pid-cgroup.js';
import type { ContainerNetns, SnapshotParts } from '../core/model/snapshot.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';

/**
 * The host's namespace is pid 1's; when pid 1 refuses ptrace-read access (a non-dumpable init, as in some
 * sandboxes), portolan's own namespace stands in: it runs on the host (or with --network host). A Docker
 * host living in another namespace (a dockerd started in a netns) is named by any pid in it (`hostPid`).
 */
export function hostNetns(procfs: Procfs, hostPid: number | undefined): { host: number; hostPid: number | 'self' } {
  if (hostPid !== undefined) {
    try {
      return { host: parseNsLink(procfs.readLink(hostPid, 'ns/net')), hostPid };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      throw new Error(`cannot read the network namespace of host pid ${hostPid} (${code || (err as Error).message})`, { cause: err });
    }
  }
  try {
    return { host: parseNsLink(procfs.readLink(1, 'ns/net')), hostPid: 1 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    return { host: parseNsLink(procfs.readLink('self', 'ns/net')), hostPid: 'self' };
  }
}

/** Options of the netns collector. */
export interface NetnsCollectorOptions {
  /** A pid in the Docker host's network namespace (default: pid 1, or portolan itself when pid 1 is unreadable). */
  readonly hostPid?: number;
  /**
   * For collections that repeat: a running container keeps its namespace (a restart is a new inventory), so the
   * last answer stands while the inventory is the same one, for at most `reuseForMs`.
   */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
}

/** Resolves each running container's network namespace inode from its pid, and the host's from pid 1. */
export function createNetnsCollector(procfs: Procfs, options: NetnsCollectorOptions = {}): Collector<'netns'> {
  const repeat = options.repeat;
  const now = repeat?.now ?? Date.now;
  let last: { containers: SnapshotParts['containers']; atMs: number; netns: SnapshotParts['netns'] } | undefined;
  return {
    name: 'netns',
    provides: ['netns'],
    needs: ['containers'],
    collect: async ({ parts, signal }) => {
      signal.throwIfAborted();
      const t = now();
      if (repeat && last && last.containers === parts.containers && t - last.atMs < repeat.reuseForMs) return { netns: last.netns };
      const { host, hostPid } = hostNetns(procfs, options.hostPid);
      const containers: ContainerNetns[] = [];
      for (const c of parts.containers ?? []) {
        if (c.pid <= 0) continue;
        try {
          containers.push({ containerId: c.id, pid: c.pid, netns: parseNsLink(procfs.readLink(c.pid, 'ns/net')) });
        } catch (err) {
          // The container exited between Docker's answer and this read: it is simply not running any more.
          if (!isVanished(err)) throw err;
        }
      }
      const found = { host, hostPid, containers };
      // Read again and found the same: the same part.
      const netns = last && sameNetns(last.netns, found) ? last.netns : found;
      if (repeat && parts.containers) last = { containers: parts.containers, atMs: t, netns };
      return { netns };
    },
  };
}

function sameNetns(a: SnapshotParts['netns'], b: SnapshotParts['netns']): boolean {
  return a.host === b.host && a.hostPid === b.hostPid && a.containers.length === b.containers.length &&
    a.containers.every((c, i) => {
      const d = b.containers[i];
      return d !== undefined && c.containerId === d.containerId && c.netns === d.netns && c.pid === d.pid;
    });
}
