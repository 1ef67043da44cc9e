// What one host publishes to the fleet (pure): its identity, its time, its topology and the few facts cross-host
// matching needs that the topology does not carry — the conntrack entries of NATed flows (a connection through a
// published port is only recognisable from both ends by its tuples on the wire) and the ids of the networks its
// containers are on (a Swarm overlay has the same id on every host; local networks have random ones).
import type { ConntrackTable } from '../model/conntrack.js';
import type { ContainerInfo } from '../model/container.js';
import type { HostIdentity } from '../model/host-identity.js';
import type { Topology } from '../model/topology.js';
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
}

/** What toHostDocument reads of the agent's state (AgentState has these fields). */
export interface HostDocumentSource {
  readonly snapshot: { readonly containers: readonly ContainerInfo[]; readonly conntrack: ConntrackTable; readonly identity?: HostIdentity };
  readonly topology: Topology;
}

/** Limits of toHostDocument. */
export interface ToHostDocumentOptions {
  /** At most this many flows are published (default 20,000); the rest are counted in `flowsOmitted`. */
  readonly maxFlows?: number;
}

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
  };
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
