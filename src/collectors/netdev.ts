import type { CollectionIssue } from '../core/model/snapshot.js';
import type { NetnsCounters } from '../core/model/traffic.js';
import { parseNetDev } from '../core/parse/net-dev.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';
import { namespaceTargets } from './namespaces.js';

/**
 * Reads the interface counters of every distinct network namespace (containers' and the host's) from
 * /proc/<pid>/net/dev — the same numbers Docker's stats API reports, without its one-second wait.
 */
export function createNetdevCollector(procfs: Procfs, now: () => number = Date.now): Collector<'netdev'> {
  return {
    name: 'netdev',
    provides: ['netdev'],
    needs: ['netns'],
    collect: async ({ parts }) => {
      const netdev: NetnsCounters[] = [];
      const issues: CollectionIssue[] = [];
      for (const [netns, pid] of namespaceTargets(parts.netns)) {
        let text: string;
        try {
          text = procfs.readText(pid, 'net/dev');
        } catch (err) {
          if (isVanished(err)) continue;
          throw err;
        }
        const readAtMs = now();
        const { records, errors } = parseNetDev(text, procfs.pathOf(pid, 'net/dev'));
        if (errors.length > 0) issues.push({ source: 'netdev', message: `skipped malformed lines, first: ${errors[0]?.message ?? ''}`, count: errors.length });
        const loopback = records.find((r) => r.name === 'lo');
        netdev.push({ netns, readAtMs, interfaces: records.filter((r) => r.name !== 'lo'), ...(loopback ? { loopback } : {}) });
      }
      return { netdev, issues };
    },
  };
}
