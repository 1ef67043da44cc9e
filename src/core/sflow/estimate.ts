// sFlow's sampled flows as topology edges (pure): each sampled connection is put on the edge the exact
// collectors would put it on — through the topology's own connection details when the connection is there,
// else by resolving its two addresses through the inventory (container IPs, then MACs, then hsflowd's entity
// records; the Docker gateways are the host; anything else is an external address) and telling the server by
// its listening socket, a SYN, or its port. Estimates (sampled bytes × sampling rate) accumulate per edge from
// collection to collection; an edge with no sample for `edgeTtlMs` leaves.
import type { Attribution } from '../attribute.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SflowFlow } from '../model/sflow.js';
import {
  edgeId, externalNodeId, HOST_NODE_ID, processNodeId,
  type EdgeSflow, type Topology, type TopologyNode,
} from '../model/topology.js';
import { canonicalIp } from '../parse/ip-text.js';
import { containerOfCounterSource } from './containers.js';

/** Options of estimateSflowEdges. */
export interface SflowEstimateOptions {
  /** An edge with no sample for this long leaves the topology (default 2 min). */
  readonly edgeTtlMs?: number;
  /** Most edges between two external addresses (what a switch sees between other hosts); more are counted, not kept (default 1,000). */
  readonly maxExternalEdges?: number;
}

/** One edge's estimate and where it goes. */
export interface SflowEdgeEstimate {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly sflow: EdgeSflow;
}

/** What withSflowEstimates adds to a topology. */
export interface SflowEstimates {
  readonly edges: ReadonlyMap<string, SflowEdgeEstimate>;
  /** Nodes sFlow-only edges need besides containers (external addresses, the host, host processes). */
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Edges between external addresses left out by maxExternalEdges since the agent started. */
  readonly droppedExternalEdges: number;
}

interface EdgeTotals {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  bytesSent: number;
  bytesReceived: number;
  packetsSent: number;
  packetsReceived: number;
  samples: number;
  rateSent: number;
  rateReceived: number;
  readonly agents: Set<string>;
  readonly samplingRates: Set<number>;
  readonly firstMs: number;
  lastMs: number;
}

/** What the estimate carries from one collection to the next. */
export interface SflowEdgeState {
  readonly edges: ReadonlyMap<string, EdgeTotals>;
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  readonly droppedExternalEdges: number;
}

/** The empty estimate (no sFlow received). */
export const NO_SFLOW_ESTIMATES: SflowEstimates = { edges: new Map(), nodes: new Map(), droppedExternalEdges: 0 };

/** Ephemeral ports start here on Linux (net.ipv4.ip_local_port_range) and on most systems above it (IANA: 49152). */
const EPHEMERAL_FROM = 32768;
/** Most sampling rates listed per edge. */
const MAX_RATES = 8;

interface End {
  readonly ip: string;
  readonly port: number;
  mac: string | undefined;
  entity: string | undefined;
}

interface Sums {
  bytes: number;
  packets: number;
  samples: number;
  syn: boolean;
}

interface Conn {
  readonly protocol: 'tcp' | 'udp';
  readonly a: End;
  readonly b: End;
  readonly ab: Sums;
  readonly ba: Sums;
  readonly agents: Set<string>;
  readonly rates: Set<number>;
}

interface Resolved {
  readonly id: string;
  readonly node?: TopologyNode;
  /** Whether this end listens on its port (a container's or host process's listening socket). */
  readonly listens: boolean;
}

/**
 * Turns the flows sFlow sampled since the previous collection (snapshot.sflow) into per-edge estimates and adds
 * them to the totals carried in `prev` (pure). `topology` is the one built from the same snapshot: its
 * connection details put sampled connections on the same edges as the exact counters.
 */
export function estimateSflowEdges(
  snapshot: Snapshot, attribution: Attribution, topology: Topology, prev: SflowEdgeState | undefined, options: SflowEstimateOptions = {},
): { estimates: SflowEstimates; state: SflowEdgeState } {
  const part = snapshot.sflow;
  if (!part && !prev) return { estimates: NO_SFLOW_ESTIMATES, state: { edges: new Map(), nodes: new Map(), droppedExternalEdges: 0 } };
  const edgeTtlMs = options.edgeTtlMs ?? 120_000;
  const maxExternal = options.maxExternalEdges ?? 1000;
  const nowMs = part?.toMs ?? Date.parse(snapshot.takenAt);
  const intervalS = part ? Math.max(0, part.toMs - part.fromMs) / 1000 : 0;
  const resolve = resolver(snapshot, attribution);
  const details = detailIndex(topology);

  const edges = new Map<string, EdgeTotals>();
  const nodes = new Map<string, TopologyNode>();
  let externalEdges = 0;
  let dropped = prev?.droppedExternalEdges ?? 0;
  const running = new Set(snapshot.netns.containers.map((c) => c.containerId));
  const alive = (e: EdgeTotals) => nowMs - e.lastMs <= edgeTtlMs && [e.from, e.to].every((id) => !isContainerId(id) || running.has(id));
  // Edges of earlier collections that are still fresh and whose containers still run carry over; rates restart.
  for (const e of prev?.edges.values() ?? []) {
    if (!alive(e)) continue;
    edges.set(e.id, { ...e, rateSent: 0, rateReceived: 0, agents: new Set(e.agents), samplingRates: new Set(e.samplingRates) });
    if (isExternalId(e.from) && isExternalId(e.to)) externalEdges++;
    for (const id of [e.from, e.to]) {
      const n = prev?.nodes.get(id);
      if (n) nodes.set(id, n);
    }
  }

  for (const c of connections(part?.flows ?? [])) {
    let clientIsA: boolean;
    let from: string;
    let to: string;
    let port: number;
    const forward = details.get(connKey(c.protocol, c.a, c.b));
    const known = forward ?? details.get(connKey(c.protocol, c.b, c.a));
    if (known) {
      // The connection is on the map already: same edge, same client, as the exact collectors say.
      clientIsA = known === forward;
      ({ from, to, port } = known);
    } else {
      const ra = resolve(c.a, c.protocol);
      const rb = resolve(c.b, c.protocol);
      if (ra.listens !== rb.listens) clientIsA = rb.listens;
      else if (c.ab.syn !== c.ba.syn) clientIsA = c.ab.syn;
      else clientIsA = serverByPorts(c.a.port, c.b.port) === 'b';
      const client = clientIsA ? ra : rb;
      const server = clientIsA ? rb : ra;
      from = client.id;
      to = server.id;
      port = (clientIsA ? c.b : c.a).port;
      if (from === to) continue;
      for (const r of [client, server]) if (r.node && !nodes.has(r.id)) nodes.set(r.id, r.node);
    }
    const id = edgeId(from, to, c.protocol, port);
    let e = edges.get(id);
    if (!e) {
      if (isExternalId(from) && isExternalId(to)) {
        if (externalEdges >= maxExternal) {
          dropped++;
          continue;
        }
        externalEdges++;
      }
      e = {
        id, from, to, protocol: c.protocol, port, bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0, samples: 0,
        rateSent: 0, rateReceived: 0, agents: new Set(), samplingRates: new Set(), firstMs: nowMs, lastMs: nowMs,
      };
      edges.set(id, e);
    }
    const sent = clientIsA ? c.ab : c.ba;
    const received = clientIsA ? c.ba : c.ab;
    e.bytesSent += sent.bytes;
    e.bytesReceived += received.bytes;
    e.packetsSent += sent.packets;
    e.packetsReceived += received.packets;
    e.samples += sent.samples + received.samples;
    if (intervalS > 0) {
      e.rateSent += sent.bytes / intervalS;
      e.rateReceived += received.bytes / intervalS;
    }
    e.lastMs = nowMs;
    for (const a of c.agents) e.agents.add(a);
    for (const r of c.rates) if (e.samplingRates.size < MAX_RATES) e.samplingRates.add(r);
  }

  // Nodes only for edges kept.
  const keptNodes = new Map<string, TopologyNode>();
  for (const e of edges.values()) for (const id of [e.from, e.to]) { const n = nodes.get(id); if (n) keptNodes.set(id, n); }
  const estimates = new Map<string, SflowEdgeEstimate>();
  for (const e of edges.values()) estimates.set(e.id, { id: e.id, from: e.from, to: e.to, protocol: e.protocol, port: e.port, sflow: toEdgeSflow(e) });
  return {
    estimates: { edges: estimates, nodes: keptNodes, droppedExternalEdges: dropped },
    state: { edges, nodes: keptNodes, droppedExternalEdges: dropped },
  };
}

function toEdgeSflow(e: EdgeTotals): EdgeSflow {
  const rates = [...e.samplingRates].sort((a, b) => a - b);
  const exact = rates.length === 1 && rates[0] === 1;
  return {
    bytesSource: 'sflow',
    agents: [...e.agents].sort(),
    samplingRates: rates,
    bytesSent: e.bytesSent,
    bytesReceived: e.bytesReceived,
    packetsSent: e.packetsSent,
    packetsReceived: e.packetsReceived,
    bytesSentPerSec: e.rateSent,
    bytesReceivedPerSec: e.rateReceived,
    samples: e.samples,
    errorPercent: exact ? 0 : Math.round((196 / Math.sqrt(Math.max(1, e.samples))) * 100) / 100,
    firstSampleAt: new Date(e.firstMs).toISOString(),
    lastSampleAt: new Date(e.lastMs).toISOString(),
  };
}

const isExternalId = (id: string) => id.startsWith('external:');

// Node ids other than containers' are prefixed (`external:`, `process:`) or `host`.
function isContainerId(id: string): boolean {
  return id !== HOST_NODE_ID && !id.startsWith('external:') && !id.startsWith('process:');
}

/** Which end of a connection is the server, from ports alone: the one outside the ephemeral range, else the lower. */
export function serverByPorts(portA: number, portB: number): 'a' | 'b' {
  const ea = portA >= EPHEMERAL_FROM;
  const eb = portB >= EPHEMERAL_FROM;
  if (ea !== eb) return ea ? 'b' : 'a';
  return portA <= portB ? 'a' : 'b';
}

function connKey(protocol: string, client: { ip: string; port: number }, server: { ip: string; port: number }): string {
  return `${protocol}|${client.ip}|${client.port}|${server.ip}|${server.port}`;
}

/** The topology's connections by (protocol, client, server), with their edge. */
function detailIndex(topology: Topology): Map<string, { from: string; to: string; port: number }> {
  const index = new Map<string, { from: string; to: string; port: number }>();
  for (const e of topology.edges) {
    for (const d of e.details ?? []) {
      const client = { ip: canonicalIp(d.client.address), port: d.client.port };
      const server = { ip: canonicalIp(d.server.address), port: d.server.port };
      index.set(connKey(e.protocol, client, server), { from: e.from, to: e.to, port: e.port });
    }
  }
  return index;
}

/** Both directions of each sampled connection, summed over agents. */
function connections(flows: readonly SflowFlow[]): Conn[] {
  const byKey = new Map<string, Conn>();
  for (const f of flows) {
    const src = `${f.srcIp}|${f.srcPort}`;
    const dst = `${f.dstIp}|${f.dstPort}`;
    const forward = src <= dst;
    const key = `${f.protocol}|${forward ? src : dst}|${forward ? dst : src}`;
    let c = byKey.get(key);
    if (!c) {
      const s: End = { ip: canonicalIp(f.srcIp), port: f.srcPort, mac: f.srcMac, entity: f.srcEntity ? `${f.agent}|${f.subAgentId}|${f.srcEntity}` : undefined };
      const d: End = { ip: canonicalIp(f.dstIp), port: f.dstPort, mac: f.dstMac, entity: f.dstEntity ? `${f.agent}|${f.subAgentId}|${f.dstEntity}` : undefined };
      c = {
        protocol: f.protocol, a: forward ? s : d, b: forward ? d : s,
        ab: { bytes: 0, packets: 0, samples: 0, syn: false }, ba: { bytes: 0, packets: 0, samples: 0, syn: false }, agents: new Set(), rates: new Set(),
      };
      byKey.set(key, c);
    }
    const sums = forward ? c.ab : c.ba;
    sums.bytes += f.bytes;
    sums.packets += f.packets;
    sums.samples += f.samples;
    if (f.syn) sums.syn = true;
    const srcEnd = forward ? c.a : c.b;
    const dstEnd = forward ? c.b : c.a;
    srcEnd.mac ??= f.srcMac;
    dstEnd.mac ??= f.dstMac;
    srcEnd.entity ??= f.srcEntity ? `${f.agent}|${f.subAgentId}|${f.srcEntity}` : undefined;
    dstEnd.entity ??= f.dstEntity ? `${f.agent}|${f.subAgentId}|${f.dstEntity}` : undefined;
    c.agents.add(f.agent);
    for (const r of f.samplingRates) c.rates.add(r);
  }
  return [...byKey.values()];
}

/** Resolves an address (with MAC and entity) to a node, through the snapshot's inventory and listening sockets. */
function resolver(snapshot: Snapshot, attribution: Attribution): (end: End, protocol: 'tcp' | 'udp') => Resolved {
  const running = new Set(snapshot.netns.containers.map((c) => c.containerId));
  const containers = snapshot.containers.filter((c) => running.has(c.id)).sort((a, b) => a.id.localeCompare(b.id));
  const byIp = new Map<string, string[]>();
  const byMac = new Map<string, string>();
  const gateways = new Set<string>();
  for (const c of containers) {
    for (const n of c.networks) {
      for (const ip of [n.ipv4, n.ipv6]) {
        if (!ip) continue;
        const k = canonicalIp(ip);
        const list = byIp.get(k) ?? [];
        if (!list.includes(c.id)) list.push(c.id);
        byIp.set(k, list);
      }
      if (n.macAddress) byMac.set(n.macAddress.toLowerCase(), c.id);
      for (const g of [n.gateway, n.ipv6Gateway]) if (g) gateways.add(canonicalIp(g));
    }
  }
  const macOf = new Map<string, Set<string>>();
  for (const c of containers) macOf.set(c.id, new Set(c.networks.flatMap((n) => (n.macAddress ? [n.macAddress.toLowerCase()] : []))));
  const entities = new Map<string, string>();
  for (const s of snapshot.sflow?.counters ?? []) {
    const c = containerOfCounterSource(s, containers);
    if (c) entities.set(`${s.agent}|${s.subAgentId}|${s.source}`, c.id);
  }
  const listeners = new Set<string>();
  for (const cs of attribution.containers) {
    for (const so of cs.sockets) {
      if ((so.protocol === 'tcp' && so.state === 'LISTEN') || (so.protocol === 'udp' && so.state === 'UNCONN')) listeners.add(`${cs.container.id}|${so.protocol}|${so.local.port}`);
    }
  }
  const hostListeners = new Map<string, { command: string; pids: Set<number> }>();
  for (const u of attribution.unclaimed) {
    if (u.netns !== snapshot.netns.host) continue;
    for (const so of u.sockets) {
      if (!((so.protocol === 'tcp' && so.state === 'LISTEN') || (so.protocol === 'udp' && so.state === 'UNCONN'))) continue;
      const owner = so.processes[0];
      if (!owner) continue;
      const k = `${so.protocol}|${so.local.port}`;
      const l = hostListeners.get(k) ?? { command: owner.command, pids: new Set<number>() };
      for (const p of so.processes) if (p.command === l.command) l.pids.add(p.pid);
      hostListeners.set(k, l);
    }
  }

  return (end, protocol) => {
    const mac = end.mac?.toLowerCase();
    let id: string | undefined;
    const candidates = byIp.get(end.ip);
    if (candidates && candidates.length > 0) {
      id = (mac !== undefined ? candidates.find((c) => macOf.get(c)?.has(mac)) : undefined) ?? candidates[0];
    } else if (mac !== undefined && byMac.has(mac)) {
      id = byMac.get(mac);
    } else if (end.entity !== undefined && entities.has(end.entity)) {
      id = entities.get(end.entity);
    }
    if (id !== undefined) return { id, listens: listeners.has(`${id}|${protocol}|${end.port}`) };
    if (gateways.has(end.ip)) {
      const l = hostListeners.get(`${protocol}|${end.port}`);
      if (l) {
        const pid = processNodeId(l.command);
        return { id: pid, node: { kind: 'process', id: pid, name: l.command, command: l.command, pids: [...l.pids].sort((a, b) => a - b) }, listens: true };
      }
      return { id: HOST_NODE_ID, node: { kind: 'host', id: HOST_NODE_ID, name: snapshot.hostname }, listens: false };
    }
    const ext = externalNodeId(end.ip);
    return { id: ext, node: { kind: 'external', id: ext, name: end.ip, address: end.ip }, listens: false };
  };
}
