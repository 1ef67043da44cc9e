// Bytes carried by each topology edge, as counters that only go up (for Prometheus and rates), and what each
// edge's current connections carry. A connection's bytes come from exactly one source for its whole life:
// - its tcp_info (payload bytes, netlink source) whenever tcp_info has ever seen it;
// - else its conntrack entry (IP-level bytes, headers included; only with net.netfilter.nf_conntrack_acct=1):
//   every UDP flow, and TCP connections that closed (conntrack TIME_WAIT or CLOSE) without tcp_info ever seeing
//   them open — a connection opened and closed between two samples.
// Never both: a connection tcp_info counted up to its last sample is not counted again from its conntrack
// entry once it closed (the bytes it moved after that sample are lost rather than counted twice in two units).
import type { Attribution } from '../attribute.js';
import type { ConntrackEntry, ConntrackTable, ConntrackTuple } from '../model/conntrack.js';
import type { Endpoint, Protocol, TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, Topology, TopologyEdge } from '../model/topology.js';

/**
 * Bytes of an edge: client → server (`sent`) and server → client (`received`); in accumulated totals also the
 * TCP segments retransmitted by either end (tcp_info `total_retrans` of each socket seen), when tcp_info counted any.
 */
export interface EdgeBytes {
  readonly sent: number;
  readonly received: number;
  readonly retransmits?: number;
}

/** Accumulated edge counters, and what each connection had carried when last seen (to add only what is new). */
export interface EdgeByteCounters {
  /** Per edge: bytes since portolan started, tcp_info payload plus conntrack wire bytes (see the file comment). */
  readonly totals: ReadonlyMap<string, EdgeBytes>;
  /** Per connection counted by tcp_info: its last tcp_info counts (retransmits: both ends' summed). */
  readonly connections: ReadonlyMap<string, EdgeBytes>;
  /** Per connection counted by conntrack (UDP flows, closed TCP connections tcp_info never saw): its last counts. */
  readonly flows: ReadonlyMap<string, EdgeBytes>;
  /** Connections tcp_info has seen that are still listed (e.g. in TIME_WAIT): conntrack never counts them. */
  readonly tcpInfoSeen: ReadonlySet<string>;
}

/** A connection's byte counts as the client sees them, and their source. */
export type ConnectionBytes =
  | { readonly source: 'tcp_info'; readonly sent: number; readonly received: number; readonly info: TcpInfo; readonly peer?: TcpInfo }
  | { readonly source: 'conntrack'; readonly sent: number; readonly received: number; readonly entry: ConntrackEntry };

/** What an edge's current connections carry (this sample, not accumulated). */
export interface EdgeMeasure {
  readonly sent: number;
  readonly received: number;
  /** Connections counted by tcp_info, and by conntrack. */
  readonly tcpInfoConnections: number;
  readonly conntrackConnections: number;
  /** Smoothed RTTs (ms, > 0) and summed retransmits of the tcp_info connections. */
  readonly rttsMs: readonly number[];
  readonly retransmits: number;
}

// Connection details carry canonical addresses; an IPv4 peer of a dual-stack listener's accepted socket reads
// `::ffff:a.b.c.d` in the kernel's table. Kernel text is otherwise canonical already, so unmapping is enough.
const unmapped = (a: string) => (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a);
const ep = (e: Endpoint) => `${unmapped(e.address)}|${e.port}`;

/** Indexes sockets' tcp_info by `local>remote` endpoints (pure), as connectionTcp looks it up. */
export function indexSocketsTcpInfo<T>(sockets: Iterable<{ readonly local: Endpoint; readonly remote: Endpoint; readonly tcp?: T }>, into: Map<string, T> = new Map()): Map<string, T> {
  for (const s of sockets) if (s.tcp) into.set(`${ep(s.local)}>${ep(s.remote)}`, s.tcp);
  return into;
}

/** Every socket's tcp_info, keyed by `local>remote`. */
export function indexTcpInfo(attribution: Attribution): Map<string, TcpInfo> {
  const tcp = new Map<string, TcpInfo>();
  for (const group of [...attribution.containers, ...attribution.unclaimed]) indexSocketsTcpInfo(group.sockets, tcp);
  return tcp;
}

/**
 * A connection's tcp_info as the client sees it: its own socket (dialled at the published or the server
 * address), or the server's socket with the directions swapped when the client's is not seen; `peer` is the
 * server's socket too when both are seen.
 */
export function connectionTcp<T extends Pick<TcpInfo, 'bytesSent' | 'bytesReceived'> = TcpInfo>(
  d: ConnectionDetail, tcp: ReadonlyMap<string, T>,
): { sent: number; received: number; info: T; peer?: T } | undefined {
  const { client, server } = connectionSockets(d, tcp);
  if (client) return { sent: client.bytesSent, received: client.bytesReceived, info: client, ...(server !== undefined ? { peer: server } : {}) };
  return server ? { sent: server.bytesReceived, received: server.bytesSent, info: server } : undefined;
}

/**
 * Both ends' tcp_info of a connection, when read (pure): the client's socket (dialled at the published or the
 * server address) and the server's (which sees the client's address, except behind docker-proxy).
 */
export function connectionSockets<T>(d: ConnectionDetail, tcp: ReadonlyMap<string, T>): { client?: T; server?: T } {
  const client = tcp.get(`${ep(d.client)}>${ep(d.published ?? d.server)}`) ?? tcp.get(`${ep(d.client)}>${ep(d.server)}`);
  const server = tcp.get(`${ep(d.server)}>${ep(d.client)}`);
  return { ...(client !== undefined ? { client } : {}), ...(server !== undefined ? { server } : {}) };
}

/** Conntrack entries that can count a connection's bytes, by original and by reply tuple. */
export interface ConntrackBytesIndex {
  /** Entries indexed (0 when accounting was off for all of them, or the table is unavailable). */
  readonly size: number;
  /** The entry of a connection, with its counters oriented client → server; undefined when none counts it. */
  lookup(protocol: Protocol, d: ConnectionDetail): { readonly sent: number; readonly received: number; readonly entry: ConntrackEntry } | undefined;
}

// Conntrack TCP states after which an entry's counters are final: the connection is over.
const CLOSED_TCP_STATES = new Set(['TIME_WAIT', 'CLOSE']);

const tupleKey = (protocol: string, src: string, sport: number | undefined, dst: string, dport: number | undefined) =>
  `${protocol}|${src}|${sport ?? 0}|${dst}|${dport ?? 0}`;
const ofTuple = (protocol: string, t: ConntrackTuple) => tupleKey(protocol, t.src, t.sport, t.dst, t.dport);

/**
 * Indexes the conntrack entries that may count bytes (pure): those with counters (created while accounting was
 * on), UDP ones and TCP ones that are closed. Open TCP entries are left out: tcp_info counts those connections.
 */
export function indexConntrackBytes(table: ConntrackTable | undefined): ConntrackBytesIndex {
  const byOriginal = new Map<string, ConntrackEntry>();
  const byReply = new Map<string, ConntrackEntry>();
  if (table?.status === 'ok') {
    for (const e of table.entries) {
      if (e.original.bytes === undefined || e.reply.bytes === undefined) continue;
      if (e.protocol === 'tcp' ? !CLOSED_TCP_STATES.has(e.state ?? '') : e.protocol !== 'udp') continue;
      // Zones could repeat a tuple; the first entry wins.
      const ko = ofTuple(e.protocol, e.original);
      const kr = ofTuple(e.protocol, e.reply);
      if (!byOriginal.has(ko)) byOriginal.set(ko, e);
      if (!byReply.has(kr)) byReply.set(kr, e);
    }
  }
  const forward = (e: ConntrackEntry) => ({ sent: e.original.bytes ?? 0, received: e.reply.bytes ?? 0, entry: e });
  return {
    size: byOriginal.size,
    lookup(protocol, d) {
      if (byOriginal.size === 0) return undefined;
      const at = (map: Map<string, ConntrackEntry>, a: Endpoint, b: Endpoint) => map.get(tupleKey(protocol, a.address, a.port, b.address, b.port));
      // The client's own tuple (to the published address when it dialled one); the server's reply (after SNAT).
      const e = at(byOriginal, d.client, d.published ?? d.server) ?? at(byOriginal, d.client, d.server) ?? at(byReply, d.server, d.client);
      if (e) return forward(e);
      // The node the topology calls the server sent first (a UDP peer that spoke first): counters swap.
      const r = at(byOriginal, d.server, d.client);
      return r ? { sent: r.reply.bytes ?? 0, received: r.original.bytes ?? 0, entry: r } : undefined;
    },
  };
}

/** An index that counts nothing (no conntrack table given). */
export const NO_CONNTRACK_BYTES: ConntrackBytesIndex = { size: 0, lookup: () => undefined };

/**
 * Measures every edge's current connections and adds what each carried since the previous sample to the
 * accumulated counters (pure). A connection seen for the first time adds all its bytes; a counter that went
 * down (the 4-tuple or conntrack tuple was reused) restarts; a conntrack entry counts for one connection only.
 * Edges gone from the topology are forgotten; edges no connection of which has byte counts get no entry.
 */
export function measureEdges(
  prev: EdgeByteCounters | undefined,
  topology: Topology,
  tcp: ReadonlyMap<string, TcpInfo>,
  conntrack: ConntrackBytesIndex = NO_CONNTRACK_BYTES,
): { counters: EdgeByteCounters; measures: Map<string, EdgeMeasure> } {
  const totals = new Map<string, EdgeBytes>();
  const connections = new Map<string, EdgeBytes>();
  const flows = new Map<string, EdgeBytes>();
  const tcpInfoSeen = new Set<string>();
  const measures = new Map<string, EdgeMeasure>();
  const used = new Set<ConntrackEntry>();
  const grow = (last: EdgeBytes | undefined, now: EdgeBytes): EdgeBytes => ({
    sent: last && now.sent >= last.sent ? now.sent - last.sent : now.sent,
    received: last && now.received >= last.received ? now.received - last.received : now.received,
  });
  for (const e of topology.edges) {
    const before = prev?.totals.get(e.id);
    let { sent, received } = before ?? { sent: 0, received: 0 };
    let retransmits = before?.retransmits;
    const m = { sent: 0, received: 0, tcpInfoConnections: 0, conntrackConnections: 0, rttsMs: [] as number[], retransmits: 0 };
    for (const d of e.details ?? []) {
      const k = `${e.id}#${ep(d.client)}>${ep(d.server)}`;
      const view = connectionBytes(e, d, tcp, conntrack, prev?.tcpInfoSeen.has(k) === true);
      if (view === undefined) {
        if (prev?.tcpInfoSeen.has(k)) tcpInfoSeen.add(k);
        continue;
      }
      if (view.source === 'conntrack') {
        if (used.has(view.entry)) continue;
        used.add(view.entry);
      }
      const now: EdgeBytes = { sent: view.sent, received: view.received };
      m.sent += now.sent;
      m.received += now.received;
      if (view.source === 'tcp_info') {
        tcpInfoSeen.add(k);
        m.tcpInfoConnections++;
        m.retransmits += view.info.retransmits;
        if (view.info.rttMs > 0) m.rttsMs.push(view.info.rttMs);
        const last = prev?.connections.get(k);
        const delta = grow(last, now);
        sent += delta.sent;
        received += delta.received;
        // Both ends retransmit: each socket seen adds its own count (a counter that went down is a reused 4-tuple).
        const retrans = view.info.retransmits + (view.peer?.retransmits ?? 0);
        const lastRetrans = last?.retransmits;
        retransmits = (retransmits ?? 0) + (lastRetrans !== undefined && retrans >= lastRetrans ? retrans - lastRetrans : retrans);
        connections.set(k, { sent: now.sent, received: now.received, retransmits: retrans });
      } else {
        m.conntrackConnections++;
        const delta = grow(prev?.flows.get(k), now);
        sent += delta.sent;
        received += delta.received;
        flows.set(k, now);
      }
    }
    const measured = m.tcpInfoConnections + m.conntrackConnections > 0;
    if (measured) measures.set(e.id, m);
    // Edges no connection of which ever had byte counts (UDP without accounting, the /proc source) get no
    // series rather than zeros.
    if (measured || before !== undefined) totals.set(e.id, { sent, received, ...(retransmits !== undefined ? { retransmits } : {}) });
  }
  return { counters: { totals, connections, flows, tcpInfoSeen }, measures };
}

/**
 * A connection's bytes (pure): its tcp_info when it has one; else, unless tcp_info saw it before, its
 * conntrack entry (UDP, or TCP closed). Undefined when neither counts it.
 */
export function connectionBytes(
  edge: Pick<TopologyEdge, 'protocol'>, d: ConnectionDetail, tcp: ReadonlyMap<string, TcpInfo>, conntrack: ConntrackBytesIndex, seenByTcpInfo: boolean,
): ConnectionBytes | undefined {
  const t = edge.protocol === 'tcp' ? connectionTcp(d, tcp) : undefined;
  if (t) return { source: 'tcp_info', ...t };
  if (seenByTcpInfo) return undefined;
  const c = conntrack.lookup(edge.protocol, d);
  return c ? { source: 'conntrack', ...c } : undefined;
}
