import { parseNsLink } from '../core/parse/pid-cgroup.js';
import type { ContainerNetns } from '../core/model/snapshot.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';

/**
 * The host's namespace is pid 1's; when pid 1 refuses ptrace-read access (a non-dumpable init, as in some
 * sandboxes), portolan's own namespace stands in: it runs on the host (or with --network host).
 */
function hostNetns(procfs: Procfs): { host: number; hostPid: number | 'self' } {
  try {
    return { host: parseNsLink(procfs.readLink(1, 'ns/net')), hostPid: 1 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    return { host: parseNsLink(procfs.readLink('self', 'ns/net')), hostPid: 'self' };
  }
}

/** Resolves each running container's network namespace inode from its pid, and the host's from pid 1. */
export function createNetnsCollector(procfs: Procfs): Collector<'netns'> {
  return {
    name: 'netns',
    provides: ['netns'],
    needs: ['containers'],
    collect: async ({ parts }) => {
      const { host, hostPid } = hostNetns(procfs);
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
