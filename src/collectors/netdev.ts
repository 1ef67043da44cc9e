import type { CollectionIssue } from '../core/model/snapshot.js';
import { ParseError } from '../core/errors.js';
import type { NetnsCounters, ProtocolCounters } from '../core/model/traffic.js';
import { parseNetDev } from '../core/parse/net-dev.js';
import { parseNetSnmp } from '../core/parse/net-snmp.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';
import { namespaceTargets } from './namespaces.js';

/** Options of the netdev collector. */
export interface NetdevCollectorOptions {
  readonly now?: () => number;
  /**
   * For collections that repeat (the agent, `top`): each namespace's file stays open and is read again with one
   * pread, and a text unchanged since the last read is not parsed again (its counters are the same).
   */
  readonly repeat?: boolean;
}

/** One namespace's last read: its texts and what was parsed from them. */
interface LastRead {
  readonly dev: string;
  readonly snmp: string | undefined;
  readonly counters: NetnsCounters;
}

/**
 * Reads the interface counters of every distinct network namespace (containers' and the host's) from
 * /proc/<pid>/net/dev — the same numbers Docker's stats API reports, without its one-second wait.
 */
export function createNetdevCollector(procfs: Procfs, options: NetdevCollectorOptions = {}): Collector<'netdev'> {
  const now = options.now ?? Date.now;
  const last = new Map<number, LastRead>();
  return {
    name: 'netdev',
    provides: ['netdev'],
    needs: ['netns'],
    collect: async ({ parts, signal }) => {
      signal.throwIfAborted();
      const netdev: NetnsCounters[] = [];
      const issues: CollectionIssue[] = [];
      const targets = namespaceTargets(parts.netns);
      for (const [netns, pid] of targets) {
        const before = last.get(netns);
        let text: string | undefined;
        try {
          // Repeating: an unchanged file is told by its bytes, without making text of it.
          text = !options.repeat ? procfs.readText(pid, 'net/dev') : before ? procfs.readIfChanged(pid, 'net/dev') : procfs.readAgain(pid, 'net/dev');
        } catch (err) {
          if (isVanished(err)) continue;
          throw err;
        }
        const readAtMs = now();
        if (before && (text === undefined || before.dev === text)) {
          // The same counters, read now: rates over the next interval start from this read. No packet on any
          // interface, `lo` included, so no TCP segment and no UDP datagram either: net/snmp is not read again.
          netdev.push({ ...before.counters, readAtMs });
          continue;
        }
        const dev = text ?? procfs.readAgain(pid, 'net/dev');
        // Repeating, the namespace's TCP and UDP counters tell the other collectors whether its sockets did anything.
        let snmp: string | undefined;
        if (options.repeat) {
          try {
            snmp = procfs.readAgain(pid, 'net/snmp');
          } catch (err) {
            if (isVanished(err)) continue;
            throw err;
          }
        }
        const { records, errors } = parseNetDev(dev, procfs.pathOf(pid, 'net/dev'));
        if (errors.length > 0) issues.push({ source: 'netdev', message: `skipped malformed lines, first: ${errors[0]?.message ?? ''}`, count: errors.length });
        let protocols: ProtocolCounters | undefined;
        if (snmp !== undefined) {
          try {
            protocols = parseNetSnmp(snmp, procfs.pathOf(pid, 'net/snmp'));
          } catch (err) {
            if (!(err instanceof ParseError)) throw err;
            issues.push({ source: 'netdev', message: err.message, count: 1 });
          }
        }
        const loopback = records.find((r) => r.name === 'lo');
        const counters: NetnsCounters = {
          netns, readAtMs, interfaces: records.filter((r) => r.name !== 'lo'), ...(loopback ? { loopback } : {}), ...(protocols ? { protocols } : {}),
        };
        if (options.repeat && errors.length === 0 && (snmp === undefined || protocols)) last.set(netns, { dev, snmp, counters });
        else last.delete(netns);
        netdev.push(counters);
      }
      if (options.repeat) {
        for (const netns of last.keys()) if (!targets.has(netns)) last.delete(netns);
        procfs.releaseExcept(new Set(targets.values()));
      }
      return { netdev, issues };
    },
  };
}
