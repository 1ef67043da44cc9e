// An edge's connections one by one (pure): the topology's per-connection details joined with the sockets the
// agent lists for the containers at both ends (`/api/v1/sockets`), which carry each connection's processes
// and tcp_info. Which socket's tcp_info counts a connection, and which way, is core's rule (the same as the
// edge's byte counters: report/edge-bytes.ts), so the panel and the edge's totals agree.
import type { Endpoint, TcpInfo } from '../core/model/socket.js';
import type { ConnectionDetail, Topology, TopologyEdge } from '../core/model/topology.js';
import { connectionTcp, indexSocketsTcpInfo } from '../core/report/edge-bytes.js';
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
  /** `command/pid` of the processes holding each end, or `pid N` when not even the command is known. */
  readonly clientProcess: string;
  readonly serverProcess: string;
  /** Payload bytes client → server and server → client (tcp_info), when a socket of it was read. */
  readonly bytesToServer?: number;
  readonly bytesToClient?: number;
  readonly rttMs?: number;
  readonly retransmits?: number;
}

/** The sockets of both ends, indexed for the joins below. */
interface SocketIndex {
  readonly byEnds: ReadonlyMap<string, SocketRow>;
  readonly tcp: ReadonlyMap<string, TcpInfo>;
  /** Commands by pid, from every socket's processes: names the owner of a UDP flow whose socket is unconnected. */
  readonly commands: ReadonlyMap<number, string>;
}

const key = (local: Endpoint, remote: Endpoint) => `${plainAddress(local.address)}|${local.port}|${plainAddress(remote.address)}|${remote.port}`;

/** Indexes sockets by their endpoints, their tcp_info as core looks it up, and their processes' commands. */
function indexSockets(sockets: readonly SocketRow[]): SocketIndex {
  const byEnds = new Map<string, SocketRow>();
  const commands = new Map<number, string>();
  for (const s of sockets) {
    byEnds.set(key(s.local, s.remote), s);
    for (const p of s.processes) commands.set(p.pid, p.command);
  }
  return { byEnds, tcp: indexSocketsTcpInfo(sockets), commands };
}

function processText(socket: SocketRow | undefined, pids: readonly number[], commands: ReadonlyMap<number, string>): string {
  if (socket && socket.processes.length > 0) return socket.processes.map((p) => `${p.command}/${p.pid}`).join(', ');
  // A UDP flow known from conntrack names its ends' pids, while their sockets (unconnected: `0.0.0.0:port`)
  // do not join by endpoints: the command comes from any socket of that pid.
  return pids.length > 0 ? pids.map((p) => { const c = commands.get(p); return c ? `${c}/${p}` : `pid ${p}`; }).join(', ') : '–';
}

/** One detail joined with its sockets. */
function toRow(edgeId: string, d: ConnectionDetail, index: SocketIndex): ConnectionRow {
  // The client's socket names what it dialled (the published port, if any); the server's socket sees the
  // client's address except behind docker-proxy, which opens its own connection.
  const clientSock = index.byEnds.get(key(d.client, d.published ?? d.server)) ?? index.byEnds.get(key(d.client, d.server));
  const serverSock = index.byEnds.get(key(d.server, d.client));
  const t = connectionTcp(d, index.tcp);
  return {
    edgeId, state: d.state, via: d.via, client: d.client, server: d.server,
    ...(d.published ? { published: d.published } : {}),
    clientProcess: processText(clientSock, d.clientPids, index.commands),
    serverProcess: processText(serverSock, d.serverPids, index.commands),
    ...(t ? { bytesToServer: t.sent, bytesToClient: t.received, rttMs: t.info.rttMs, retransmits: t.info.retransmits } : {}),
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
