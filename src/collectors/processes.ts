import { parseNsLink, parsePidCgroup, parseSocketLink } from '../core/parse/pid-cgroup.js';
import type { ProcessInfo } from '../core/model/process.js';
import type { ProcScanResult } from '../sources/proc-scan.js';
import type { Collector } from './collector.js';

/**
 * Lists every host process that holds at least one socket: pid, command, network namespace, container (by
 * cgroup) and socket inodes — the same walk `ss -p` does over /proc/<pid>/fd. `scan` is the raw walk
 * (scanProcessesInWorker in production, scanProcesses against a fixture tree in tests).
 */
export function createProcessesCollector(scan: () => Promise<ProcScanResult>): Collector<'processes'> {
  return {
    name: 'processes',
    provides: ['processes'],
    needs: [],
    collect: async () => {
      const { entries, denied } = await scan();
      const processes: ProcessInfo[] = [];
      for (const e of entries) {
        const socketInodes: number[] = [];
        for (const link of e.socketLinks) {
          const inode = parseSocketLink(link);
          if (inode !== undefined) socketInodes.push(inode);
        }
        const containerId = parsePidCgroup(e.cgroup);
        processes.push({ pid: e.pid, command: e.comm, netns: parseNsLink(e.netLink), ...(containerId ? { containerId } : {}), socketInodes });
      }
      const names = denied.slice(0, 5).map((d) => `${d.pid} ${d.comm}`).join(', ');
      const issues = denied.length > 0
        ? [{ source: 'processes', message: `permission denied reading the fds of ${denied.length} process(es) (${names}${denied.length > 5 ? ', …' : ''}): their sockets show no owner (run as root with CAP_SYS_PTRACE)`, count: 1 }]
        : [];
      return { processes, issues };
    },
  };
}
