// An edge's connections one by one (pure): the topology's per-connection details joined with the sockets the
// agent lists for the containers at both ends (`/api/v1/sockets`), which carry each connection's processes
// and tcp_info (bytes each way, RTT).
import type { Endpoint } from '../core/model/socket.js';
import type { ConnectionDetail, Topology, TopologyEdge } from '../core/model/topology.js';
import { plainAddress } from './format.js';
import type { SocketRow } from './types.js';

/** One connection of an edge, as the panels list it. */
export interface ConnectionRow {
  readonly edgeId: string;
  readonly state: string;
  readonly via: string;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** The host address and port the client dialled, for published ports. */
  readonly published?: Endpoint;
  /** `command/pid` of the processes holding each end, or `pid N` when only pids are known. */
  readonly clientProcess: string;
  readonly serverProcess: string;
  /** Payload bytes client → server and server → client (tcp_info), when a socket of it was read. */
  readonly bytesToServer?: number;
  readonly bytesToClient?: number;
  readonly rttMs?: number;
  readonly retransmits?: number;
}

const key = (local: Endpoint, remote: Endpoint) => `${plainAddress(local.address)}|${local.port}|${plainAddress(remote.address)}|${remote.port}`;

/** Indexes sockets by their local and remote endpoints. */
export function indexSockets(sockets: readonly SocketRow[]): Map<string, SocketRow> {
  const m = new Map<string, SocketRow>();
  for (const s of sockets) m.set(key(s.local, s.remote), s);
  return m;
}

function processText(socket: SocketRow | undefined, pids: readonly number[]): string {
  if (socket && socket.processes.length > 0) return socket.processes.map((p) => `${p.command}/${p.pid}`).join(', ');
  return pids.length > 0 ? pids.map((p) => `pid ${p}`).join(', ') : '–';
}

/** One detail joined with its sockets. */
function toRow(edgeId: string, d: ConnectionDetail, index: ReadonlyMap<string, SocketRow>): ConnectionRow {
  // The client's socket names what it dialled (the published port, if any); the server's socket sees the
  // client's address except behind docker-proxy, which opens its own connection (then only the client side joins).
  const clientSock = index.get(key(d.client, d.published ?? d.server)) ?? index.get(key(d.client, d.server));
  const serverSock = index.get(key(d.server, d.client));
  const bytesToServer = clientSock?.tcp?.bytesSent ?? serverSock?.tcp?.bytesReceived;
  const bytesToClient = clientSock?.tcp?.bytesReceived ?? serverSock?.tcp?.bytesSent;
  const rttMs = clientSock?.tcp?.rttMs ?? serverSock?.tcp?.rttMs;
  const retransmits = (clientSock?.tcp || serverSock?.tcp) ? (clientSock?.tcp?.retransmits ?? 0) + (serverSock?.tcp?.retransmits ?? 0) : undefined;
  return {
    edgeId, state: d.state, via: d.via, client: d.client, server: d.server,
    ...(d.published ? { published: d.published } : {}),
    clientProcess: processText(clientSock, d.clientPids),
    serverProcess: processText(serverSock, d.serverPids),
    ...(bytesToServer !== undefined ? { bytesToServer } : {}),
    ...(bytesToClient !== undefined ? { bytesToClient } : {}),
    ...(rttMs !== undefined ? { rttMs } : {}),
    ...(retransmits !== undefined ? { retransmits } : {}),
  };
}

/** An edge's connections, joined with the sockets of its ends (empty when the edge has no details). */
export function edgeConnections(edge: TopologyEdge, sockets: readonly SocketRow[]): ConnectionRow[] {
  const index = indexSockets(sockets);
  return (edge.details ?? []).map((d) => toRow(edge.id, d, index));
}

/** One connection of a container, seen from it. */
export interface ContainerConnectionRow extends ConnectionRow {
  /** `out`: it is the client; `in`: the server. */
  readonly direction: 'in' | 'out';
  readonly peerId: string;
  readonly peerName: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** Its own process on this connection. */
  readonly process: string;
}

/** Every connection of a node's edges, both directions, outgoing first then by peer name. */
export function nodeConnections(t: Topology, nodeId: string, sockets: readonly SocketRow[]): ContainerConnectionRow[] {
  const names = new Map(t.nodes.map((n) => [n.id, n.name]));
  const index = indexSockets(sockets);
  const rows: ContainerConnectionRow[] = [];
  for (const e of t.edges) {
    if (e.from !== nodeId && e.to !== nodeId) continue;
    const direction = e.from === nodeId ? 'out' : 'in';
    const peerId = direction === 'out' ? e.to : e.from;
    for (const d of e.details ?? []) {
      const row = toRow(e.id, d, index);
      rows.push({
        ...row, direction, peerId, peerName: names.get(peerId) ?? peerId, protocol: e.protocol, port: e.port,
        process: direction === 'out' ? row.clientProcess : row.serverProcess,
      });
    }
  }
  return rows.sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'out' ? -1 : 1) || a.peerName.localeCompare(b.peerName) || a.port - b.port);
}
