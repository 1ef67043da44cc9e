import { parseNsLink, parsePidCgroup, parseSocketLink } from '../core/parse/pid-cgroup.js';
import type { ProcessInfo } from '../core/model/process.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';

/**
 * Lists every host process that holds at least one socket: pid, command, network namespace, container (by
 * cgroup) and socket inodes — the same walk `ss -p` does over /proc/<pid>/fd. Processes that exit mid-scan
 * are skipped quietly.
 */
export function createProcessesCollector(procfs: Procfs): Collector<'processes'> {
  return {
    name: 'processes',
    provides: ['processes'],
    needs: [],
    collect: async () => {
      const processes: ProcessInfo[] = [];
      const denied: string[] = [];
      for (const pid of procfs.listPids()) {
        try {
          const socketInodes: number[] = [];
          for (const link of procfs.readFdLinks(pid)) {
            const inode = parseSocketLink(link);
            if (inode !== undefined) socketInodes.push(inode);
          }
          if (socketInodes.length === 0) continue;
          const containerId = parsePidCgroup(procfs.readText(pid, 'cgroup'));
          processes.push({
            pid,
            command: procfs.readText(pid, 'comm').trimEnd(),
            netns: parseNsLink(procfs.readLink(pid, 'ns/net')),
            ...(containerId ? { containerId } : {}),
            socketInodes,
          });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EACCES') denied.push(describe(procfs, pid));
          else if (!isVanished(err)) throw err;
        }
      }
      const issues = denied.length > 0
        ? [{ source: 'processes', message: `permission denied reading the fds of ${denied.length} process(es) (${denied.slice(0, 5).join(', ')}${denied.length > 5 ? ', …' : ''}): their sockets show no owner (run as root with CAP_SYS_PTRACE)`, count: 1 }]
        : [];
      return { processes, issues };
    },
  };
}

function describe(procfs: Procfs, pid: number): string {
  try {
    return `${pid} ${procfs.readText(pid, 'comm').trimEnd()}`;
  } catch {
    return String(pid);
  }
}
