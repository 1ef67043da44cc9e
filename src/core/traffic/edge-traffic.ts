import type { Attribution } from '../attribute.js';
import type { Endpoint, TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, EdgeTraffic, Topology } from '../model/topology.js';
import { accumulateEdgeBytes, type EdgeByteCounters } from '../report/edge-bytes.js';

/** What per-edge rates need from the previous sample. */
export interface EdgeTrafficState {
  readonly takenAtMs: number;
  readonly counters: EdgeByteCounters;
}

const ep = (e: Endpoint) => `${e.address}|${e.port}`;

/** Indexes every socket's tcp_info by `local>remote`. */
function tcpIndex(attribution: Attribution): Map<string, TcpInfo> {
  const tcp = new Map<string, TcpInfo>();
  for (const group of [...attribution.containers, ...attribution.unclaimed]) {
    for (const s of group.sockets) if (s.tcp) tcp.set(`${ep(s.local)}>${ep(s.remote)}`, s.tcp);
  }
  return tcp;
}

/** A connection's tcp_info seen from the client: its own socket, or the server's with directions swapped. */
function clientView(d: ConnectionDetail, tcp: Map<string, TcpInfo>): { sent: number; received: number; info: TcpInfo } | undefined {
  const client = tcp.get(`${ep(d.client)}>${ep(d.published ?? d.server)}`) ?? tcp.get(`${ep(d.client)}>${ep(d.server)}`);
  if (client) return { sent: client.bytesSent, received: client.bytesReceived, info: client };
  const server = tcp.get(`${ep(d.server)}>${ep(d.client)}`);
  return server ? { sent: server.bytesReceived, received: server.bytesSent, info: server } : undefined;
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
  const tcp = tcpIndex(attribution);
  const counters = accumulateEdgeBytes(prev?.counters, topology, attribution);
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
      const v = clientView(d, tcp);
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
