import type { Attribution } from '../attribute.js';
import type { ConntrackTable } from '../model/conntrack.js';
import type { EdgeTraffic, Topology } from '../model/topology.js';
import { indexConntrackBytes, indexTcpInfo, measureEdges, type EdgeByteCounters } from '../report/edge-bytes.js';

/** What per-edge rates need from the previous sample. */
export interface EdgeTrafficState {
  readonly takenAtMs: number;
  readonly counters: EdgeByteCounters;
}

/**
 * Traffic of every edge (pure): bytes each way summed over its current connections, RTT min/mean/max and
 * retransmits from their tcp_info, and rates from the previous sample's accumulated counters (which keep the
 * bytes of connections that closed since). With the snapshot's conntrack table, UDP flows and TCP connections
 * that closed unseen by tcp_info are counted from conntrack's accounting (see report/edge-bytes.ts). Edges
 * without byte counts from either source get none.
 */
export function edgesTraffic(
  topology: Topology,
  attribution: Attribution,
  prev: EdgeTrafficState | undefined,
  conntrack?: ConntrackTable,
): { traffic: Map<string, EdgeTraffic>; state: EdgeTrafficState } {
  const { counters, measures } = measureEdges(prev?.counters, topology, indexTcpInfo(attribution), indexConntrackBytes(conntrack));
  const takenAtMs = Date.parse(topology.takenAt);
  const elapsed = prev ? takenAtMs - prev.takenAtMs : 0;
  const traffic = new Map<string, EdgeTraffic>();
  for (const e of topology.edges) {
    const m = measures.get(e.id);
    if (!m) continue;
    const now = counters.totals.get(e.id);
    const before = prev?.counters.totals.get(e.id);
    const rate = (a: number | undefined, b: number | undefined) =>
      a !== undefined && b !== undefined && elapsed > 0 && a >= b ? ((a - b) * 1000) / elapsed : undefined;
    const sentRate = rate(now?.sent, before?.sent);
    const receivedRate = rate(now?.received, before?.received);
    const rtts = m.rttsMs;
    traffic.set(e.id, {
      bytesSent: m.sent,
      bytesReceived: m.received,
      ...(sentRate !== undefined ? { bytesSentPerSec: sentRate } : {}),
      ...(receivedRate !== undefined ? { bytesReceivedPerSec: receivedRate } : {}),
      bytesSource: m.conntrackConnections === 0 ? 'tcp_info' : m.tcpInfoConnections === 0 ? 'conntrack' : 'mixed',
      ...(rtts.length > 0
        // reduce, not Math.min(...rtts): an edge can carry more connections than a call takes arguments.
        ? { rttMinMs: rtts.reduce((a, b) => Math.min(a, b)), rttMeanMs: rtts.reduce((a, b) => a + b, 0) / rtts.length, rttMaxMs: rtts.reduce((a, b) => Math.max(a, b)) }
        : {}),
      // UDP and conntrack-only edges have no retransmit count: absent, not zero.
      ...(m.tcpInfoConnections > 0 ? { retransmits: m.retransmits } : {}),
      measuredConnections: m.tcpInfoConnections,
      conntrackConnections: m.conntrackConnections,
    });
  }
  return { traffic, state: { takenAtMs, counters } };
}

/** The topology with each edge's traffic attached (pure). */
export function withEdgeTraffic(topology: Topology, traffic: ReadonlyMap<string, EdgeTraffic>): Topology {
  return {
    ...topology,
    edges: topology.edges.map((e) => {
      const t = traffic.get(e.id);
      return t ? { ...e, traffic: t } : e;
    }),
  };
}
