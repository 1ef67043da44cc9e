import { parseNsLink } from '../core/parse/pid-cgroup.js';
import type { ContainerNetns } from '../core/model/snapshot.js';
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
}

/** Resolves each running container's network namespace inode from its pid, and the host's from pid 1. */
export function createNetnsCollector(procfs: Procfs, options: NetnsCollectorOptions = {}): Collector<'netns'> {
  return {
    name: 'netns',
    provides: ['netns'],
    needs: ['containers'],
    collect: async ({ parts }) => {
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
      return { netns: { host, hostPid, containers } };
    },
  };
}
