import type { ConntrackTable } from '../core/model/conntrack.js';
import type { CollectionIssue } from '../core/model/snapshot.js';
import { parseNfConntrack } from '../core/parse/nf-conntrack.js';
import type { Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';

const FILE = 'net/nf_conntrack';

/**
 * Reads the Docker host's conntrack table from /proc/<host pid>/net/nf_conntrack (the table of that pid's
 * network namespace). A missing or unreadable table is not a failure: the part says why, and the topology
 * turns that into a warning (UDP flows and DNAT'd connections cannot be resolved without it).
 */
export function createConntrackCollector(procfs: Procfs): Collector<'conntrack'> {
  return {
    name: 'conntrack',
    provides: ['conntrack'],
    needs: ['netns'],
    collect: async ({ parts }) => {
      const ns = parts.netns;
      if (!ns || ns.host === 0) {
        return { conntrack: { status: 'unavailable', reason: 'the host network namespace is unknown' } satisfies ConntrackTable };
      }
      const path = procfs.pathOf(ns.hostPid, FILE);
      let text: string;
      try {
        text = procfs.readText(ns.hostPid, FILE);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return { conntrack: { status: 'unavailable', reason: `${path} does not exist (connection tracking not loaded in the host namespace, or a kernel without CONFIG_NF_CONNTRACK_PROCFS)` } };
        }
        if (code === 'EACCES' || code === 'EPERM') {
          return { conntrack: { status: 'unavailable', reason: `cannot read ${path}: permission denied (run as root)` } };
        }
        throw err;
      }
      const { records, errors } = parseNfConntrack(text, path);
      const issues: CollectionIssue[] = errors.length > 0
        ? [{ source: 'conntrack', message: `skipped malformed lines, first: ${errors[0]?.message ?? ''}`, count: errors.length }]
        : [];
      const entries = records.filter((e) => e.protocol === 'tcp' || e.protocol === 'udp');
      return { conntrack: { status: 'ok', netns: ns.host, entries }, issues };
    },
  };
}
