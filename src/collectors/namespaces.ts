import type { SnapshotParts } from '../core/model/snapshot.js';
import type { NetnsCounters } from '../core/model/traffic.js';

/** One pid (or `self`) per distinct network namespace: the host's first, then each container's. */
export function namespaceTargets(ns: SnapshotParts['netns'] | undefined): Map<number, number | 'self'> {
  const targets = new Map<number, number | 'self'>();
  if (!ns) return targets;
  targets.set(ns.host, ns.hostPid);
  for (const c of ns.containers) if (!targets.has(c.netns)) targets.set(c.netns, c.pid);
  return targets;
}

/** Maps items with at most `limit` calls in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * What a namespace's sockets did, as one string that changes when they do anything: its TCP segments and UDP
 * datagrams in and out (net/snmp), or, when those were not read, the packets of all its interfaces.
 */
export function socketTraffic(counters: NetnsCounters | undefined): string {
  if (!counters) return '';
  const p = counters.protocols;
  if (p) return `${p.tcpInSegs}/${p.tcpOutSegs}/${p.udpInDatagrams}/${p.udpOutDatagrams}`;
  let packets = counters.loopback ? counters.loopback.rxPackets + counters.loopback.txPackets : 0;
  for (const i of counters.interfaces) packets += i.rxPackets + i.txPackets;
  return String(packets);
}

/** socketTraffic of every container namespace (not the host's), as one string. */
export function containersSocketTraffic(parts: Partial<SnapshotParts>): string {
  const host = parts.netns?.host;
  const out: string[] = [];
  for (const n of parts.netdev ?? []) if (n.netns !== host) out.push(`${n.netns}:${socketTraffic(n)}`);
  return out.join(',');
}
