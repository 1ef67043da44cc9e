// Bytes carried by each topology edge, as counters that only go up (for Prometheus): the per-connection
// tcp_info byte counts of the connections an edge holds, accumulated sample after sample.
import type { Attribution } from '../attribute.js';
import type { Endpoint, TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, Topology } from '../model/topology.js';

/** Payload bytes of an edge: client → server (`sent`) and server → client (`received`). */
export interface EdgeBytes {
  readonly sent: number;
  readonly received: number;
}

/** Accumulated edge counters, and each connection's last seen counts (to add only what is new). */
export interface EdgeByteCounters {
  readonly totals: ReadonlyMap<string, EdgeBytes>;
  readonly connections: ReadonlyMap<string, EdgeBytes>;
}

const ep = (e: Endpoint) => `${e.address}|${e.port}`;

/** Every socket's tcp_info, keyed by `local>remote`. */
export function indexTcpInfo(attribution: Attribution): Map<string, TcpInfo> {
  const tcp = new Map<string, TcpInfo>();
  for (const group of [...attribution.containers, ...attribution.unclaimed]) {
    for (const s of group.sockets) if (s.tcp) tcp.set(`${ep(s.local)}>${ep(s.remote)}`, s.tcp);
  }
  return tcp;
}

/**
 * A connection's tcp_info as the client sees it: its own socket (dialled at the published or the server
 * address), or the server's socket with the directions swapped when the client's is not seen.
 */
export function connectionTcp(d: ConnectionDetail, tcp: ReadonlyMap<string, TcpInfo>): { sent: number; received: number; info: TcpInfo } | undefined {
  const client = tcp.get(`${ep(d.client)}>${ep(d.published ?? d.server)}`) ?? tcp.get(`${ep(d.client)}>${ep(d.server)}`);
  if (client) return { sent: client.bytesSent, received: client.bytesReceived, info: client };
  const server = tcp.get(`${ep(d.server)}>${ep(d.client)}`);
  return server ? { sent: server.bytesReceived, received: server.bytesSent, info: server } : undefined;
}

/**
 * Adds what each edge's connections carried since the previous sample (pure). A connection's bytes come from
 * its client socket's tcp_info (or its server socket's, reversed, when the client is not seen); a connection
 * seen for the first time adds all its bytes; a counter that went down (the 4-tuple was reused) restarts.
 * Edges gone from the topology are forgotten. Without tcp_info (UDP, the /proc source) an edge has no entry.
 */
export function accumulateEdgeBytes(
  prev: EdgeByteCounters | undefined,
  topology: Topology,
  attribution: Attribution,
  tcp: ReadonlyMap<string, TcpInfo> = indexTcpInfo(attribution),
): EdgeByteCounters {
  const totals = new Map<string, EdgeBytes>();
  const connections = new Map<string, EdgeBytes>();
  for (const e of topology.edges) {
    const before = prev?.totals.get(e.id);
    let { sent, received } = before ?? { sent: 0, received: 0 };
    let measured = before !== undefined;
    for (const d of e.details ?? []) {
      const view = connectionTcp(d, tcp);
      if (view === undefined) continue;
      const now: EdgeBytes = { sent: view.sent, received: view.received };
      measured = true;
      const k = `${e.id}#${ep(d.client)}>${ep(d.server)}`;
      const last = prev?.connections.get(k);
      sent += last && now.sent >= last.sent ? now.sent - last.sent : now.sent;
      received += last && now.received >= last.received ? now.received - last.received : now.received;
      connections.set(k, now);
    }
    // Edges no connection of which has byte counts (UDP, the /proc source) get no series rather than zeros.
    if (measured) totals.set(e.id, { sent, received });
  }
  return { totals, connections };
}
