import type { Attribution } from '../attribute.js';
import type { ContainerHost } from '../model/container.js';
import type { Topology } from '../model/topology.js';
import type { ContainerTraffic } from '../model/traffic.js';
import { isDockerDnsSocket } from './docker-dns.js';

/** One container row of `portolan top`. */
export interface TopContainer {
  readonly id: string;
  readonly name: string;
  /** In a fleet (a hub's answer) only: the host it runs on. */
  readonly host?: ContainerHost;
  readonly rxBytesPerSec: number | null;
  readonly txBytesPerSec: number | null;
  readonly rxBytes: number | null;
  readonly txBytes: number | null;
  /** `host`/`shared`: the counters are not this container's own (host network, shared namespace). */
  readonly trafficScope: ContainerTraffic['scope'] | null;
  readonly established: number;
  readonly listening: number;
  /** Mean / max smoothed RTT over its established TCP connections (netlink source only). */
  readonly rttMeanMs: number | null;
  readonly rttMaxMs: number | null;
  readonly retransmits: number;
}

/** Keys `top` can sort by. */
export const TOP_SORT_KEYS = ['rate', 'rx', 'tx', 'connections', 'rtt', 'retransmits', 'name'] as const;
/** A sort key of `top`. */
export type TopSortKey = (typeof TOP_SORT_KEYS)[number];

/** Builds the container rows of `top`, sorted busiest first by the key (pure). */
export function toTopContainers(
  attribution: Attribution,
  traffic: ReadonlyMap<string, ContainerTraffic>,
  sort: TopSortKey = 'rate',
): TopContainer[] {
  const rows: TopContainer[] = attribution.containers.map((cs) => {
    const t = traffic.get(cs.container.id);
    const est = cs.sockets.filter((s) => s.state === 'ESTABLISHED');
    const rtts = est.flatMap((s) => (s.tcp ? [s.tcp.rttMs] : []));
    // A hub's sockets carry no tcp_info: the figures come as the container's agent summed them up.
    const published = rtts.length === 0 ? t?.tcp : undefined;
    return {
      id: cs.container.id,
      name: cs.container.name,
      ...(cs.container.host ? { host: cs.container.host } : {}),
      rxBytesPerSec: t?.rxBytesPerSec ?? null,
      txBytesPerSec: t?.txBytesPerSec ?? null,
      rxBytes: t?.rxBytes ?? null,
      txBytes: t?.txBytes ?? null,
      trafficScope: t?.scope ?? null,
      established: est.length,
      // Docker's embedded DNS listens in every container of a user-defined network: dockerd's, not the container's.
      listening: cs.sockets.filter((s) => (s.state === 'LISTEN' || s.state === 'UNCONN') && !isDockerDnsSocket(s)).length,
      rttMeanMs: rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length : published?.rttMeanMs ?? null,
      // reduce, not Math.max(...rtts): a container can hold more connections than a call takes arguments.
      rttMaxMs: rtts.length > 0 ? rtts.reduce((a, b) => Math.max(a, b)) : published?.rttMaxMs ?? null,
      retransmits: published ? published.retransmits : est.reduce((a, s) => a + (s.tcp?.retransmits ?? 0), 0),
    };
  });
  return sortTopContainers(rows, sort);
}

/** Sorts `top` rows busiest first by the key, then by name (pure; also used on rows fetched from an agent). */
export function sortTopContainers(rows: readonly TopContainer[], sort: TopSortKey = 'rate'): TopContainer[] {
  const v = (n: number | null) => n ?? -1;
  const by: Record<TopSortKey, (a: TopContainer, b: TopContainer) => number> = {
    rate: (a, b) => v(b.rxBytesPerSec) + v(b.txBytesPerSec) - (v(a.rxBytesPerSec) + v(a.txBytesPerSec)),
    rx: (a, b) => v(b.rxBytesPerSec) - v(a.rxBytesPerSec),
    tx: (a, b) => v(b.txBytesPerSec) - v(a.txBytesPerSec),
    connections: (a, b) => b.established - a.established,
    rtt: (a, b) => v(b.rttMeanMs) - v(a.rttMeanMs),
    retransmits: (a, b) => b.retransmits - a.retransmits,
    name: () => 0,
  };
  return [...rows].sort((a, b) => by[sort](a, b) || a.name.localeCompare(b.name) || (a.host?.hostname ?? '').localeCompare(b.host?.hostname ?? '') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Formats a byte rate for humans (B/s, kB/s, MB/s; SI like `docker stats`). */
export function formatRate(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return '-';
  return `${formatBytes(bytesPerSec)}/s`;
}

/** Formats a byte count for humans (SI units, like `docker stats`). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
}

/** One edge row of `portolan top`. */
export interface TopEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: string;
  readonly port: number;
  readonly connections: number;
  /**
   * Client → server and server → client bytes per second (tcp_info payload, or conntrack IP-level bytes for UDP
   * and connections closed unseen; null until two samples exist).
   */
  readonly bytesSentPerSec: number | null;
  readonly bytesReceivedPerSec: number | null;
  readonly rttMeanMs: number | null;
  /** Retransmitted segments (tcp_info); null for edges without tcp_info (UDP). */
  readonly retransmits: number | null;
}

/** Builds the edge rows of `top` from a topology with traffic attached, busiest first by the key (pure). */
export function toTopEdges(topology: Topology, sort: TopSortKey = 'rate'): TopEdge[] {
  const names = new Map(topology.nodes.map((n) => [n.id, n.name]));
  const rows: TopEdge[] = topology.edges.map((e) => ({
    id: e.id,
    from: names.get(e.from) ?? e.from,
    to: names.get(e.to) ?? e.to,
    protocol: e.protocol,
    port: e.port,
    connections: e.connections,
    bytesSentPerSec: e.traffic?.bytesSentPerSec ?? null,
    bytesReceivedPerSec: e.traffic?.bytesReceivedPerSec ?? null,
    rttMeanMs: e.traffic?.rttMeanMs ?? null,
    retransmits: e.traffic?.retransmits ?? null,
  }));
  const v = (n: number | null) => n ?? -1;
  const total = (e: TopEdge) => v(e.bytesSentPerSec) + v(e.bytesReceivedPerSec);
  const by: Record<TopSortKey, (a: TopEdge, b: TopEdge) => number> = {
    rate: (a, b) => total(b) - total(a),
    rx: (a, b) => v(b.bytesReceivedPerSec) - v(a.bytesReceivedPerSec),
    tx: (a, b) => v(b.bytesSentPerSec) - v(a.bytesSentPerSec),
    connections: (a, b) => b.connections - a.connections,
    rtt: (a, b) => v(b.rttMeanMs) - v(a.rttMeanMs),
    retransmits: (a, b) => v(b.retransmits) - v(a.retransmits),
    name: () => 0,
  };
  return rows.sort((a, b) => by[sort](a, b) || a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.port - b.port);
}
