import type { Attribution } from '../attribute.js';
import type { EdgeTraffic, Topology } from '../model/topology.js';
import { accumulateEdgeBytes, connectionTcp, indexTcpInfo, type EdgeByteCounters } from '../report/edge-bytes.js';

/** What per-edge rates need from the previous sample. */
export interface EdgeTrafficState {
  readonly takenAtMs: number;
  readonly counters: EdgeByteCounters;
}

/**
 * Traffic of every edge (pure): bytes each way summed over its current connections, RTT min/mean/max and
 * retransmits from their tcp_info, and rates from the previous sample's accumulated counters (which keep the
 * bytes of connections that closed since). Edges without any tcp_info (UDP, the /proc source) get none.
 */
export function edgesTraffic(
  topology: Topology,
  attribution: Attribution,
  prev: EdgeTrafficState | undefined,
): { traffic: Map<string, EdgeTraffic>; state: EdgeTrafficState } {
  const tcp = indexTcpInfo(attribution);
  const counters = accumulateEdgeBytes(prev?.counters, topology, attribution, tcp);
  const takenAtMs = Date.parse(topology.takenAt);
  const elapsed = prev ? takenAtMs - prev.takenAtMs : 0;
  const traffic = new Map<string, EdgeTraffic>();
  for (const e of topology.edges) {
    let sent = 0;
    let received = 0;
    let retransmits = 0;
    let measured = 0;
    const rtts: number[] = [];
    for (const d of e.details ?? []) {
      const v = connectionTcp(d, tcp);
      if (!v) continue;
      measured++;
      sent += v.sent;
      received += v.received;
      retransmits += v.info.retransmits;
      if (v.info.rttMs > 0) rtts.push(v.info.rttMs);
    }
    if (measured === 0) continue;
    const now = counters.totals.get(e.id);
    const before = prev?.counters.totals.get(e.id);
    const rate = (a: number | undefined, b: number | undefined) =>
      a !== undefined && b !== undefined && elapsed > 0 && a >= b ? ((a - b) * 1000) / elapsed : undefined;
    const sentRate = rate(now?.sent, before?.sent);
    const receivedRate = rate(now?.received, before?.received);
    traffic.set(e.id, {
      bytesSent: sent,
      bytesReceived: received,
      ...(sentRate !== undefined ? { bytesSentPerSec: sentRate } : {}),
      ...(receivedRate !== undefined ? { bytesReceivedPerSec: receivedRate } : {}),
      ...(rtts.length > 0
        ? { rttMinMs: Math.min(...rtts), rttMeanMs: rtts.reduce((a, b) => a + b, 0) / rtts.length, rttMaxMs: Math.max(...rtts) }
        : {}),
      retransmits,
      measuredConnections: measured,
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
