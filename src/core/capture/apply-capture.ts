// The capture step of the pipeline (pure but for the memory it carries): the flows conntrack announced since the
// previous collection become connection events, attributed with the address history (so a container that exited
// still names its address), and count in their edges (connections seen, open, bytes, last seen). An edge whose
// connections all closed stays on the map for `fadeMs` with `closedAt`, so the map fades it rather than drop it;
// an external node whose address a past container held is named by that container.
import type { ConnectionEnd, ConnectionEvent } from '../model/connection.js';
import type { ContainerNode, EdgeCaptured, Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { edgeId, externalNodeId, HOST_NODE_ID } from '../model/topology.js';
import type { Snapshot } from '../model/snapshot.js';
import { formatNetworkMode } from '../model/container.js';
import type { Protocol } from '../model/socket.js';
import { isLoopbackIp } from '../parse/ip-text.js';
import { createAddressHistory, type AddressHistory } from './address-history.js';
import { toConnectionEvent, type CaptureAttribution } from './connection-event.js';

/** Options of the capture step. */
export interface CaptureOptions {
  /** How long an edge with no open connection stays on the map after its last one (default 5 minutes). */
  readonly fadeMs?: number;
  /** Most edges remembered (default 10,000; the least recently seen go first). */
  readonly maxEdges?: number;
}

interface EdgeStat {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: Protocol;
  readonly port: number;
  connections: number;
  open: number;
  bytesSent?: number;
  bytesReceived?: number;
  lastSeenMs: number;
}

/** What the capture step carries from one run to the next. */
export interface CaptureMemory {
  readonly addresses: AddressHistory;
  readonly edges: Map<string, EdgeStat>;
  /**
   * Nodes of the containers at either end of a captured flow, as last known: to draw their recent edges once they
   * have exited (with `exitedAt`), however short they lived. Those still running are drawn from the snapshot.
   */
  readonly exited: Map<string, ContainerNode>;
}

/** What the capture step returns. */
export interface CaptureResult {
  readonly topology: Topology;
  /** The events of the flows read since the previous run, attributed. */
  readonly events: ConnectionEvent[];
  readonly memory: CaptureMemory;
}

/** Creates an empty capture memory. */
export function createCaptureMemory(): CaptureMemory {
  return { addresses: createAddressHistory(), edges: new Map(), exited: new Map() };
}

/** The Docker host's own addresses as a snapshot knows them: Docker networks' gateways and loopback. */
function hostAddresses(snapshot: Snapshot): Set<string> {
  const set = new Set<string>();
  for (const c of snapshot.containers) for (const n of c.networks) {
    if (n.gateway) set.add(n.gateway);
    if (n.ipv6Gateway) set.add(n.ipv6Gateway);
  }
  return set;
}

/** Runs the capture step on a rendered topology. */
export function applyCapture(topology: Topology, snapshot: Snapshot, previous: CaptureMemory | undefined, options: CaptureOptions = {}): CaptureResult {
  const fadeMs = options.fadeMs ?? 300_000;
  const maxEdges = options.maxEdges ?? 10_000;
  const memory = previous ?? createCaptureMemory();
  const nowMs = Date.parse(snapshot.takenAt);
  // Containers inspected on their start event first: a `docker run --rm` client may be gone from the listing.
  for (const s of snapshot.capture?.started ?? []) memory.addresses.learn(s.container, s.atMs);
  for (const e of snapshot.capture?.ended ?? []) memory.addresses.ended(e.containerId, e.atMs);
  memory.addresses.observe(snapshot.containers, nowMs);
  const hosts = hostAddresses(snapshot);
  const who: CaptureAttribution = {
    host: snapshot.hostname,
    containerAt: (address, atMs) => memory.addresses.at(address, atMs),
    isHostAddress: (a) => hosts.has(a) || isLoopbackIp(a),
  };
  const liveIds = new Set(snapshot.containers.map((c) => c.id));
  const events: ConnectionEvent[] = [];
  // Edges counted in this run, and when last (a sequence number): re-inserted once at the end in that order, so the
  // map stays least recently seen first without a delete and set per event.
  const touched = new Map<EdgeStat, number>();
  let seq = 0;
  // The last event time parsed (the events of a run share few distinct times).
  let lastAt = '';
  let lastAtMs = nowMs;
  for (const r of snapshot.capture?.records ?? []) {
    // The record is its own context (netns, when read; a close's opening and closing times): no object per record.
    const e = toConnectionEvent(r.msg, r, who);
    if (!e) continue;
    events.push(e);
    count(e, r.kind === 'closed' && r.openedAtMs === undefined);
  }
  for (const [s] of [...touched].sort((a, b) => a[1] - b[1])) {
    memory.edges.delete(s.id);
    memory.edges.set(s.id, s);
  }

  function nodeOf(end: ConnectionEnd): string {
    if (end.container) {
      if (!memory.exited.has(end.container.id)) {
        memory.exited.set(end.container.id, {
          kind: 'container', id: end.container.id, name: end.container.name, image: end.container.image, networkMode: end.container.network ?? '',
          networks: end.container.network ? [{ name: end.container.network, ...(end.address.includes(':') ? { ipv6: end.address } : { ipv4: end.address }) }] : [],
          ports: [], pid: 0, ...(end.container.exitedAt ? { exitedAt: end.container.exitedAt } : {}),
        });
      }
      return end.container.id;
    }
    return end.host ? HOST_NODE_ID : externalNodeId(end.address);
  }

  /** Counts an event in its edge; a close whose opening was never seen counts as a connection too. */
  function count(e: ConnectionEvent, unseenOpening: boolean): void {
    const f = e.flow;
    // The map is of containers: a flow with no container at either end (the host's own traffic, e.g. the agent's
    // connection to NATS from the host's address) is an event, not an edge between two "external" addresses.
    if (!f.client.container && !f.server.container) return;
    const from = nodeOf(f.client);
    const to = nodeOf(f.server);
    const id = edgeId(from, to, f.protocol, f.server.port);
    let s = memory.edges.get(id);
    if (!s) {
      s = { id, from, to, protocol: f.protocol, port: f.server.port, connections: 0, open: 0, lastSeenMs: 0 };
      memory.edges.set(id, s);
    }
    // Re-inserted after the loop: the map's order is least recently seen first.
    touched.set(s, seq++);
    if (e.type === 'connection.opened') {
      s.connections++;
      s.open++;
    } else {
      if (unseenOpening) s.connections++;
      else s.open = Math.max(0, s.open - 1);
      if (f.bytes) {
        s.bytesSent = (s.bytesSent ?? 0) + f.bytes.sent;
        s.bytesReceived = (s.bytesReceived ?? 0) + f.bytes.received;
      }
    }
    if (e.at !== lastAt) {
      lastAt = e.at;
      lastAtMs = Date.parse(e.at) || nowMs;
    }
    s.lastSeenMs = Math.max(s.lastSeenMs, lastAtMs);
  }

  // Bounded: forget edges neither open nor seen within the fade, then the least recently seen past the limit.
  for (const [id, s] of memory.edges) if (s.open === 0 && nowMs - s.lastSeenMs > fadeMs) memory.edges.delete(id);
  while (memory.edges.size > maxEdges) {
    const first = memory.edges.keys().next().value;
    if (first === undefined) break;
    memory.edges.delete(first);
  }
  for (const [id, n] of memory.exited) {
    if (liveIds.has(id)) continue;
    // Gone without an exit time: it left between the last collection and this one.
    if (!n.exitedAt) {
      memory.exited.set(id, { ...n, exitedAt: new Date(nowMs).toISOString() });
      continue;
    }
    if (nowMs - Date.parse(n.exitedAt) > fadeMs) memory.exited.delete(id);
  }

  return { topology: decorate(topology, memory, nowMs, snapshot), events, memory };
}

/** The topology with past containers named, captured counts on edges, and recently closed edges kept. */
function decorate(topology: Topology, memory: CaptureMemory, nowMs: number, snapshot: Snapshot): Topology {
  if (memory.edges.size === 0 && !topology.nodes.some((n) => n.kind === 'external' && memory.addresses.latest(n.address))) return topology;
  // External nodes whose address a container held (now or lately): that container.
  const rename = new Map<string, string>();
  const nodes = new Map<string, TopologyNode>();
  for (const n of topology.nodes) {
    if (n.kind === 'external') {
      const h = memory.addresses.latest(n.address);
      if (h) {
        rename.set(n.id, h.containerId);
        if (!topology.nodes.some((m) => m.id === h.containerId) && !nodes.has(h.containerId)) {
          nodes.set(h.containerId, memory.exited.get(h.containerId) ?? {
            kind: 'container', id: h.containerId, name: h.name, image: h.image, networkMode: h.network,
            networks: [{ name: h.network, ...(h.address.includes(':') ? { ipv6: h.address } : { ipv4: h.address }) }], ports: [], pid: 0,
            ...(h.untilMs !== undefined ? { exitedAt: new Date(h.untilMs).toISOString() } : {}),
          });
        }
        continue;
      }
    }
    nodes.set(n.id, n);
  }
  const liveById = new Map(snapshot.containers.map((c) => [c.id, c]));
  const edges = new Map<string, TopologyEdge>();
  for (const e of topology.edges) {
    const from = rename.get(e.from) ?? e.from;
    const to = rename.get(e.to) ?? e.to;
    const id = from === e.from && to === e.to ? e.id : edgeId(from, to, e.protocol, e.port);
    const had = edges.get(id);
    edges.set(id, had ? { ...had, connections: had.connections + e.connections } : (id === e.id ? e : { ...e, id, from, to }));
  }
  for (const s of memory.edges.values()) {
    const from = rename.get(s.from) ?? s.from;
    const to = rename.get(s.to) ?? s.to;
    const id = from === s.from && to === s.to ? s.id : edgeId(from, to, s.protocol, s.port);
    const captured: EdgeCaptured = {
      connections: s.connections, open: s.open, lastSeenAt: new Date(s.lastSeenMs).toISOString(),
      ...(s.bytesSent !== undefined ? { bytesSent: s.bytesSent, bytesReceived: s.bytesReceived ?? 0 } : {}),
    };
    const had = edges.get(id);
    if (had) {
      edges.set(id, { ...had, captured });
      continue;
    }
    for (const end of [from, to]) {
      if (nodes.has(end)) continue;
      const live = liveById.get(end);
      const exited = live ? undefined : memory.exited.get(end);
      if (exited) nodes.set(end, exited);
      // A running container the topology left out (no namespace read yet: it just started).
      else if (live) nodes.set(end, { kind: 'container', id: live.id, name: live.name, image: live.image, networkMode: formatNetworkMode(live.networkMode), networks: live.networks.map((n) => ({ name: n.name, ...(n.ipv4 ? { ipv4: n.ipv4 } : {}), ...(n.ipv6 ? { ipv6: n.ipv6 } : {}) })), ports: live.ports, pid: live.pid });
      else if (end === HOST_NODE_ID) nodes.set(end, { kind: 'host', id: HOST_NODE_ID, name: topology.hostname });
      else if (end.startsWith('external:')) nodes.set(end, { kind: 'external', id: end, name: end.slice(9), address: end.slice(9) });
    }
    if (!nodes.has(from) || !nodes.has(to)) continue;
    // Only capture saw it: no live socket now. Closed when nothing is open; it fades from the map then.
    edges.set(id, {
      id, from, to, protocol: s.protocol, port: s.port, connections: 0, states: {}, via: ['conntrack'], captured,
      ...(s.open === 0 ? { closedAt: new Date(Math.min(s.lastSeenMs, nowMs)).toISOString() } : {}),
    });
  }
  return { ...topology, nodes: [...nodes.values()], edges: [...edges.values()] };
}
