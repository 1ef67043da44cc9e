// What one host publishes to the fleet (pure): its identity, its time, its topology and the few facts cross-host
// matching needs that the topology does not carry — the conntrack entries of NATed flows (a connection through a
// published port is only recognisable from both ends by its tuples on the wire) and the ids of the networks its
// containers are on (a Swarm overlay has the same id on every host; local networks have random ones).
import type { Attribution } from '../attribute.js';
import type { ConntrackTable } from '../model/conntrack.js';
import { formatNetworkMode, type ContainerInfo, type PortBinding } from '../model/container.js';
import type { HostIdentity } from '../model/host-identity.js';
import type { Endpoint, Family, Protocol, SocketState } from '../model/socket.js';
import type { Topology } from '../model/topology.js';
import type { ContainerTraffic, TrafficTcp } from '../model/traffic.js';
import { toTopContainers } from '../report/top.js';
import { canonicalIp, isLoopbackIp, isUnspecifiedIp } from '../parse/ip-text.js';

/** Version of the document format; a reader refuses another. */
export const HOST_DOCUMENT_VERSION = 1;

export type { HostIdentity } from '../model/host-identity.js';

/** One direction of a flow on the wire, ports included (canonical addresses). */
export interface FlowTuple {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/** A NATed flow of this host's conntrack table: a connection leaving through MASQUERADE or entering through DNAT. */
export interface HostFlow {
  readonly protocol: 'tcp' | 'udp';
  readonly original: FlowTuple;
  readonly reply: FlowTuple;
}

/** A Docker network as the host's containers name it, with its id. */
export interface HostNetwork {
  readonly name: string;
  readonly id: string;
}

/** A socket of a container as the fleet sees it: the `ps --json` row without tcp_info (which changes all the time). */
export interface HostSocket {
  readonly protocol: Protocol;
  readonly family: Family;
  readonly state: SocketState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly inode: number;
  readonly rxQueue: number;
  readonly txQueue: number;
  /** Who holds it: `container` is absent for this container's own processes, the other container's id, or null (the host). */
  readonly processes: readonly { readonly pid: number; readonly command: string; readonly container?: string | null }[];
}

/** A container of the host with its sockets: identity as `ps --json` shows it (compose labels only), no environment. */
export interface HostContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** As `docker inspect` spells it (bridge, host, none, container:<id>, a network's name). */
  readonly networkMode: string;
  readonly pid: number;
  readonly netns: number;
  readonly ownsNetns: boolean;
  readonly source: 'netlink' | 'proc' | null;
  readonly networks: readonly { readonly name: string; readonly ipv4?: string; readonly ipv6?: string }[];
  readonly ports: readonly PortBinding[];
  /** `com.docker.compose.*` labels only. */
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted (protocol, local, remote, state, inode), so that an unchanged table gives an equal list. */
  readonly sockets: readonly HostSocket[];
}

/** A container's interface counters (what `top` shows), rates rounded to whole bytes per second. */
export interface HostTraffic {
  /** The container's id. */
  readonly id: string;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxErrors: number;
  readonly txErrors: number;
  readonly rxDropped: number;
  readonly txDropped: number;
  readonly rxBytesPerSec?: number;
  readonly txBytesPerSec?: number;
  /** Its established TCP connections as `top` sums them up (RTT to two significant digits); absent without any. */
  readonly tcp?: TrafficTcp;
  readonly scope: ContainerTraffic['scope'];
}

/** What one host publishes: a full document (the transport sends diffs between full ones). */
export interface HostDocument {
  readonly version: typeof HOST_DOCUMENT_VERSION;
  readonly engineId: string;
  readonly hostname: string;
  readonly addresses: readonly string[];
  /** When the host rendered the topology (its own clock). */
  readonly takenAt: string;
  /** The agent's collection interval in ms: how often a live host publishes. */
  readonly intervalMs: number;
  /** The agent's topology of this host alone (no `hosts`). */
  readonly topology: Topology;
  /** The networks the host's containers are on, sorted by name. */
  readonly networks: readonly HostNetwork[];
  /** NATed TCP and UDP flows of the host's conntrack table, sorted. */
  readonly flows: readonly HostFlow[];
  /** Flows left out because there were more than `maxFlows`. */
  readonly flowsOmitted?: number;
  /**
   * The host's containers with their sockets, by name (absent from agents older than this field: the hub then shows
   * their containers without sockets). Kept apart from `traffic` so that moving counters do not resend sockets.
   */
  readonly containers?: readonly HostContainer[];
  /** Sockets left out because there were more than `maxSockets` (the last containers by name lose theirs first). */
  readonly socketsOmitted?: number;
  /** Interface counters per container (by id), sorted by id. */
  readonly traffic?: readonly HostTraffic[];
}

/** What toHostDocument reads of the agent's state (AgentState has these fields). */
export interface HostDocumentSource {
  readonly snapshot: { readonly containers: readonly ContainerInfo[]; readonly conntrack: ConntrackTable; readonly identity?: HostIdentity };
  readonly topology: Topology;
  /** Who holds which socket: with it, the document carries `containers` with their sockets. */
  readonly attribution?: Attribution;
  /** Per container id: interface counters (the document's `traffic`). */
  readonly traffic?: ReadonlyMap<string, ContainerTraffic>;
}

/** Limits of toHostDocument. */
export interface ToHostDocumentOptions {
  /** At most this many flows are published (default 20,000); the rest are counted in `flowsOmitted`. */
  readonly maxFlows?: number;
  /** At most this many sockets are published in all (default 20,000); the rest are counted in `socketsOmitted`. */
  readonly maxSockets?: number;
  /**
   * The document made last: an idle container keeps its traffic entry from it as it was (see hostTraffic), so that
   * background packets do not change every entry (each diff repeats all that changed since the full document).
   */
  readonly previous?: HostDocument;
}

/** Dead band of an idle container's published traffic: counters that moved less than this (bytes, each way)… */
export const IDLE_TRAFFIC_BYTES = 4096;
/** …while its rates stay under this (bytes per second, each way) keep the entry published before. */
export const IDLE_TRAFFIC_RATE = 64;

/** Default cap on the sockets one document carries. */
export const DEFAULT_MAX_SOCKETS = 20_000;

/** Default cap on the flows one document carries. */
export const DEFAULT_MAX_FLOWS = 20_000;

/**
 * The document a host publishes (pure), from the agent's state and the host's identity. Only the topology, the
 * networks' ids and NATed flows go out: no environment, no labels but compose's (the topology's own).
 */
export function toHostDocument(state: HostDocumentSource, identity: HostIdentity, intervalMs: number, options: ToHostDocumentOptions = {}): HostDocument {
  const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
  const gateways = new Set<string>();
  const networks = new Map<string, string>();
  for (const c of state.snapshot.containers) {
    for (const n of c.networks) {
      if (n.networkId) networks.set(n.name, n.networkId);
      for (const g of [n.gateway, n.ipv6Gateway]) if (g) gateways.add(canonicalIp(g));
    }
  }
  const addresses = [...new Set(identity.addresses.map(canonicalIp))]
    .filter((a) => !isLoopbackIp(a) && !isUnspecifiedIp(a) && !gateways.has(a) && !a.startsWith('fe80:'))
    .sort();
  const all = natedFlows(state.snapshot.conntrack);
  const flows = all.slice(0, maxFlows);
  const { hosts: _hosts, ...topology } = state.topology;
  return {
    version: HOST_DOCUMENT_VERSION,
    engineId: identity.engineId,
    hostname: identity.hostname,
    addresses,
    takenAt: state.topology.takenAt,
    intervalMs,
    topology,
    networks: [...networks].map(([name, id]) => ({ name, id })).sort((a, b) => cmp(a.name, b.name)),
    flows,
    ...(all.length > flows.length ? { flowsOmitted: all.length - flows.length } : {}),
    ...(state.attribution ? hostContainers(state.attribution, options.maxSockets ?? DEFAULT_MAX_SOCKETS) : {}),
    ...(state.traffic ? { traffic: hostTraffic(state.traffic, options.previous?.traffic, state.attribution ? tcpSummaries(state.attribution, state.traffic) : undefined) } : {}),
  };
}

/** The containers section: each container's identity and sockets, by name, at most `maxSockets` sockets in all. */
export function hostContainers(attribution: Attribution, maxSockets: number): { containers: HostContainer[]; socketsOmitted?: number } {
  let room = maxSockets;
  let omitted = 0;
  const list = [...attribution.containers].sort((a, b) => cmp(a.container.name, b.container.name) || cmp(a.container.id, b.container.id));
  const containers = list.map((cs): HostContainer => {
    const c = cs.container;
    const all = cs.sockets.map((s): HostSocket => ({
      protocol: s.protocol, family: s.family, state: s.state, local: { address: s.local.address, port: s.local.port },
      remote: { address: s.remote.address, port: s.remote.port }, inode: s.inode, rxQueue: s.rxQueue, txQueue: s.txQueue,
      processes: s.processes.map((p) => (p.containerId === c.id ? { pid: p.pid, command: p.command } : { pid: p.pid, command: p.command, container: p.containerId ?? null })),
    })).sort(compareSockets);
    const sockets = all.slice(0, Math.max(0, room));
    room -= sockets.length;
    omitted += all.length - sockets.length;
    const labels: Record<string, string> = {};
    for (const k of Object.keys(c.labels).sort()) if (k.startsWith('com.docker.compose.')) labels[k] = c.labels[k] as string;
    return {
      id: c.id, name: c.name, image: c.image, networkMode: formatNetworkMode(c.networkMode), pid: c.pid, netns: cs.netns, ownsNetns: cs.ownsNetns,
      source: cs.source ?? null,
      networks: c.networks.map((n) => ({ name: n.name, ...(n.ipv4 ? { ipv4: n.ipv4 } : {}), ...(n.ipv6 ? { ipv6: n.ipv6 } : {}) })),
      ports: c.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort })),
      labels, sockets,
    };
  });
  return { containers, ...(omitted > 0 ? { socketsOmitted: omitted } : {}) };
}

/**
 * The traffic section: counters per container id, rates in whole bytes per second (fractions would change every
 * interval). Given the entries published before, an idle container keeps its previous entry as it was — a dead
 * band: while its rates, then and now, stay under IDLE_TRAFFIC_RATE and its byte counters grew by less than
 * IDLE_TRAFFIC_BYTES since (none went back). A reader may so see an idle container's counters up to 4 KiB behind
 * and a rate under 64 B/s as the one published before.
 */
export function hostTraffic(traffic: ReadonlyMap<string, ContainerTraffic>, previous: readonly HostTraffic[] = [], tcp: ReadonlyMap<string, TrafficTcp> = new Map()): HostTraffic[] {
  const before = new Map(previous.map((p) => [p.id, p]));
  const idle = (rate: number | undefined) => (rate ?? 0) < IDLE_TRAFFIC_RATE;
  const grew = (now: number, then: number) => now >= then && now - then < IDLE_TRAFFIC_BYTES;
  return [...traffic].sort(([a], [b]) => cmp(a, b)).map(([id, t]) => {
    const rx = t.rxBytesPerSec !== undefined ? Math.round(t.rxBytesPerSec) : undefined;
    const tx = t.txBytesPerSec !== undefined ? Math.round(t.txBytesPerSec) : undefined;
    const p = before.get(id);
    const now = tcp.get(id);
    if (p && p.scope === t.scope && idle(p.rxBytesPerSec) && idle(p.txBytesPerSec) && idle(rx) && idle(tx) &&
      grew(t.rxBytes, p.rxBytes) && grew(t.txBytes, p.txBytes) && t.rxPackets >= p.rxPackets && t.txPackets >= p.txPackets &&
      closeTcp(p.tcp, now)) {
      return p;
    }
    return {
      id, rxBytes: t.rxBytes, txBytes: t.txBytes, rxPackets: t.rxPackets, txPackets: t.txPackets, rxErrors: t.rxErrors, txErrors: t.txErrors,
      rxDropped: t.rxDropped, txDropped: t.txDropped,
      ...(rx !== undefined ? { rxBytesPerSec: rx } : {}),
      ...(tx !== undefined ? { txBytesPerSec: tx } : {}),
      scope: t.scope,
      ...(now ? { tcp: { rttMeanMs: twoDigits(now.rttMeanMs), rttMaxMs: twoDigits(now.rttMaxMs), retransmits: now.retransmits } } : {}),
    };
  });
}

/** Relative change of an RTT within which an idle container keeps the figures published before. */
export const RTT_DEAD_BAND = 0.25;

const twoDigits = (x: number) => Number(x.toPrecision(2));
const closeRtt = (a: number, b: number) => Math.abs(a - b) <= RTT_DEAD_BAND * Math.max(a, b);
/** Whether the published tcp figures still tell the current ones: no new retransmit, RTTs within the dead band. */
function closeTcp(published: TrafficTcp | undefined, now: TrafficTcp | undefined): boolean {
  if (!published || !now) return published === now;
  return published.retransmits === now.retransmits && closeRtt(published.rttMeanMs, now.rttMeanMs) && closeRtt(published.rttMaxMs, now.rttMaxMs);
}

/** Per container id: its established TCP connections as `top` sums them up (those with tcp_info only). */
export function tcpSummaries(attribution: Attribution, traffic: ReadonlyMap<string, ContainerTraffic>): Map<string, TrafficTcp> {
  const out = new Map<string, TrafficTcp>();
  for (const r of toTopContainers(attribution, traffic)) {
    if (r.rttMeanMs !== null && r.rttMaxMs !== null) out.set(r.id, { rttMeanMs: r.rttMeanMs, rttMaxMs: r.rttMaxMs, retransmits: r.retransmits });
  }
  return out;
}

function compareSockets(a: HostSocket, b: HostSocket): number {
  return cmp(a.protocol, b.protocol) || cmp(a.local.address, b.local.address) || a.local.port - b.local.port ||
    cmp(a.remote.address, b.remote.address) || a.remote.port - b.remote.port || cmp(a.state, b.state) || a.inode - b.inode;
}

/**
 * The document of an agent's state whose snapshot carries the host's identity (a collection with `identity`);
 * undefined while it has none (Docker's /info failed): nothing to publish under no name.
 */
export function toHostDocumentOf(state: HostDocumentSource, intervalMs: number, options: ToHostDocumentOptions = {}): HostDocument | undefined {
  const identity = state.snapshot.identity;
  return identity ? toHostDocument(state, identity, intervalMs, options) : undefined;
}

/** The table's TCP and UDP entries whose addresses or ports were rewritten (SNAT/MASQUERADE or DNAT), sorted. */
export function natedFlows(table: ConntrackTable): HostFlow[] {
  if (table.status !== 'ok') return [];
  const out: HostFlow[] = [];
  for (const e of table.entries) {
    if (e.protocol !== 'tcp' && e.protocol !== 'udp') continue;
    const o = e.original;
    const r = e.reply;
    if (o.sport === undefined || o.dport === undefined || r.sport === undefined || r.dport === undefined) continue;
    const original = { src: canonicalIp(o.src), sport: o.sport, dst: canonicalIp(o.dst), dport: o.dport };
    const reply = { src: canonicalIp(r.src), sport: r.sport, dst: canonicalIp(r.dst), dport: r.dport };
    const nat = original.src !== reply.dst || original.sport !== reply.dport || original.dst !== reply.src || original.dport !== reply.sport;
    if (!nat) continue;
    if (isLoopbackIp(original.src) && isLoopbackIp(original.dst)) continue;
    out.push({ protocol: e.protocol, original, reply });
  }
  out.sort((a, b) => cmp(flowKey(a.protocol, a.original), flowKey(b.protocol, b.original)));
  return out;
}

/** A tuple as one string key: `tcp 10.0.0.1:4000>10.0.0.2:80`. */
export function flowKey(protocol: string, t: FlowTuple): string {
  return `${protocol} ${t.src}:${t.sport}>${t.dst}:${t.dport}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
