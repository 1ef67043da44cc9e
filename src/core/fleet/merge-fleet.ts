// The fleet as one topology (pure): every host's last document merged. Containers keep their ids (random 256-bit,
// unique across hosts) and say their host; every other node id (the host, processes, external addresses) is scoped
// by the host's engine id. A connection between two hosts appears in both hosts' topologies as an edge to or from
// an "external" address; both halves are recognised by the tuple they had on the wire between the hosts — the
// client host's conntrack reply tuple (after MASQUERADE) is the server host's original tuple (before DNAT), and
// on an overlay network there is no NAT — and joined into one edge client → server. What only one side saw is
// still named: an address of another host of the fleet is that host (or its container behind the published port),
// an address of a container on a network another host shares (an overlay) is that container.
import type { ConnectionDetail, EdgeTraffic, FleetHost, FlowState, HostNode, Resolution, Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { edgeId, HOST_NODE_ID } from '../model/topology.js';
import type { Endpoint, Protocol } from '../model/socket.js';
import { canonicalIp } from '../parse/ip-text.js';
import { flowKey, type FlowTuple, type HostDocument, type HostFlow } from './host-document.js';

/** What the hub knows of one host: its last document and when it last heard from it (ms since the epoch). */
export interface HostState {
  readonly document: HostDocument;
  readonly lastSeenMs: number;
}

/** How the fleet ages its hosts. */
export interface FleetOptions {
  /** A host not heard from for this long is stale (default: 3 of its intervals, at least 3 s). */
  readonly staleAfterMs?: number;
  /** A host not heard from for this long is left out (default 1 h). */
  readonly retentionMs?: number;
}

/** Default retention of a silent host. */
export const DEFAULT_FLEET_RETENTION_MS = 3_600_000;

/** What mergeFleet did besides the topology: hosts dropped for silence, and what it refused, counted. */
export interface FleetMergeReport {
  readonly topology: Topology;
  /** Engine ids of hosts past retention (the hub may forget them). */
  readonly expired: readonly string[];
  /** Documents ignored because another document of the same engine id is newer. */
  readonly duplicateHosts: number;
  /** Containers left out because another host claims the same id. */
  readonly conflictingContainers: number;
  /** Connections joined across hosts (both ends seen). */
  readonly joinedConnections: number;
}

/** The stale threshold of a host: the option, else 3 of its intervals (at least 3 s). */
export function staleAfterOf(doc: HostDocument, options: FleetOptions): number {
  return options.staleAfterMs ?? Math.max(3_000, 3 * doc.intervalMs);
}

/** One topology of all hosts (pure, deterministic for the same input). */
export function mergeFleet(hosts: readonly HostState[], now: number, options: FleetOptions = {}): Topology {
  return mergeFleetReport(hosts, now, options).topology;
}

/** A connection's end as one host saw it, waiting to be joined with the other end. */
interface Half {
  readonly role: 'client' | 'server';
  readonly host: string;
  /** Scoped id of the local node. */
  readonly node: string;
  /** The remote address as this host saw it (an external node's). */
  readonly remote: string;
  /** The host's own edge (its counts, traffic, via and published ports when it has no details). */
  readonly edge: TopologyEdge;
  readonly wire: string | undefined;
  /**
   * The connection keyed by the client's host, its port and the address it dialled, for when the exact wire
   * tuple cannot be known (the client host published no conntrack flows: MASQUERADE keeps the port as a rule).
   */
  readonly loose?: string | undefined;
  readonly detail: ConnectionDetail | undefined;
  /** The original edge, scoped by host. */
  readonly origin: string;
  /** The local container's network ids (for overlay matching). */
  readonly networkIds: readonly string[];
}

/** One merged cross-host edge being assembled. */
interface Draft {
  from: string;
  to: string;
  protocol: Protocol;
  port: number;
  connections: number;
  states: Partial<Record<FlowState, number>>;
  via: Set<Resolution>;
  published: Set<number>;
  details: ConnectionDetail[];
  withDetails: boolean;
  /** Original edges feeding this one: scoped id → traffic, client side and server side apart. */
  clientOrigins: Map<string, EdgeTraffic | undefined>;
  serverOrigins: Map<string, EdgeTraffic | undefined>;
}

/** A published port of a host: the container behind it. */
interface Published {
  readonly id: string;
  readonly containerPort: number;
  readonly hostIp: string;
}

/** A server half as its host gives it: the loose key needs the fleet (who owns the address dialled). */
interface HalfTemplate extends Half {
  /** The tuple the client dialled (server halves with a detail). */
  readonly dialled?: FlowTuple;
}

/** An edge of a host's document as the merge takes it: its own edge, or a possible half of a cross-host connection. */
type PartEdge =
  | { readonly kind: 'local'; readonly edge: TopologyEdge }
  | {
    readonly kind: 'candidate';
    /** The remote address (canonical) and the local container's network ids: does the fleet know it? */
    readonly remote: string;
    readonly networkIds: readonly string[];
    /** The edge as its host drew it, scoped: what it stays when the fleet does not know the address. */
    readonly scoped: TopologyEdge;
    readonly halves: readonly HalfTemplate[];
  };

/**
 * One host's own part of the fleet: everything its document gives whatever the other hosts say (scoped nodes,
 * edges, possible halves with their wire tuples, addresses, published ports). The incremental merge keeps it
 * while the parts of the host's document it was made from are the same objects.
 */
export interface HostPart {
  /** The parts of the document the part was made from (it is kept while they are the same objects; see sameInputs). */
  readonly engineId: string;
  readonly inputs: PartInputs;
  /** Each scoped node and each part edge by the document's own node or edge object it was made from (reused for it). */
  readonly nodeOf: ReadonlyMap<TopologyNode, TopologyNode>;
  readonly edgeOf: ReadonlyMap<TopologyEdge, PartEdge>;
  /** The host's own addresses, canonical. */
  readonly addresses: readonly string[];
  /** `network id|address` of its containers (overlay matching), with the container, in document order. */
  readonly networkAddresses: readonly (readonly [string, { readonly host: string; readonly id: string }])[];
  /** `protocol|host port` → the containers behind it. */
  readonly published: ReadonlyMap<string, readonly Published[]>;
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly PartEdge[];
}

/** What a host's part is made from: every field of its document hostPart reads (the rest, like takenAt, it does not). */
interface PartInputs {
  readonly addresses: HostDocument['addresses'];
  readonly networks: HostDocument['networks'];
  readonly flows: HostDocument['flows'];
  readonly nodes: HostDocument['topology']['nodes'];
  readonly edges: HostDocument['topology']['edges'];
}

function inputsOf(doc: HostDocument): PartInputs {
  return { addresses: doc.addresses, networks: doc.networks, flows: doc.flows, nodes: doc.topology.nodes, edges: doc.topology.edges };
}

/**
 * True when `part` was made from the same inputs as `doc` has (the same objects): a new document that changed
 * nothing hostPart reads (an idle host's, whose diff moves only its takenAt) keeps its host's part.
 */
function sameInputs(part: HostPart, doc: HostDocument): boolean {
  const i = part.inputs;
  return part.engineId === doc.engineId && i.nodes === doc.topology.nodes && i.edges === doc.topology.edges && i.flows === doc.flows &&
    i.networks === doc.networks && i.addresses === doc.addresses;
}

/** What the incremental merge keeps between merges: each host's part, by engine id. */
export interface FleetMergeMemory {
  readonly parts: ReadonlyMap<string, HostPart>;
}

/** An empty memory for mergeFleetIncremental. */
export function createFleetMergeMemory(): FleetMergeMemory {
  return { parts: new Map() };
}

/** mergeFleet, with what it expired, refused and joined. */
export function mergeFleetReport(states: readonly HostState[], now: number, options: FleetOptions = {}): FleetMergeReport {
  return mergeWith(states, now, options, undefined).report;
}

/**
 * mergeFleetReport reusing the part of every host whose document's addresses, networks, flows, nodes and edges are
 * the same objects as in `memory` (documents are never changed in place: a new state is a new document, sharing
 * what did not change; a rebuilt part keeps the scoped nodes and edges whose own objects did not change); only
 * changed hosts' parts are made again, then the
 * fleet is joined from the parts (address owners, cross-host joins). The result equals mergeFleetReport's (a
 * property test holds them equal); returns the memory for the next merge.
 */
export function mergeFleetIncremental(
  states: readonly HostState[], now: number, options: FleetOptions, memory: FleetMergeMemory,
): { readonly report: FleetMergeReport; readonly memory: FleetMergeMemory } {
  const { report, parts } = mergeWith(states, now, options, memory.parts);
  return { report, memory: { parts } };
}

/**
 * A host's part, from its document alone (`skip`: its containers another host claims). `previous` (the host's part
 * before) gives back its scoped node for every node object of the document it was made from, and its part edge for
 * every edge object when the nodes, flows and networks it was made with are the same objects: what did not change
 * stays the same object in the merged topology, which the hub's interning and the stream's diff compare first.
 */
function hostPart(doc: HostDocument, skip: ReadonlySet<string> | undefined, previous: HostPart | undefined): HostPart {
  const h = doc.engineId;
  const prev = previous?.engineId === h ? previous : undefined;
  const prevEdges = prev && prev.inputs.nodes === doc.topology.nodes && prev.inputs.flows === doc.flows && prev.inputs.networks === doc.networks ? prev.edgeOf : undefined;
  const nodeOf = new Map<TopologyNode, TopologyNode>();
  const edgeOf = new Map<TopologyEdge, PartEdge>();
  const netIds = new Map(doc.networks.map((n) => [n.name, n.id]));
  const networkAddresses: [string, { host: string; id: string }][] = [];
  const published = new Map<string, Published[]>();
  const nodes: TopologyNode[] = [];
  const original = new Map<string, TopologyNode>();
  for (const n of doc.topology.nodes) {
    if (n.kind === 'container' && skip?.has(n.id)) continue;
    original.set(n.id, n);
    const id = scope(h, n.id, n.kind);
    const scoped = prev?.nodeOf.get(n) ?? { ...n, id, host: h };
    nodeOf.set(n, scoped);
    nodes.push(scoped);
    if (n.kind !== 'container') continue;
    const peer = { host: h, id: n.id };
    for (const net of n.networks) {
      const netId = netIds.get(net.name);
      if (netId === undefined) continue;
      for (const a of [net.ipv4, net.ipv6]) if (a) networkAddresses.push([`${netId}|${canonicalIp(a)}`, peer]);
    }
    for (const p of n.ports) {
      const k = `${p.protocol}|${p.hostPort}`;
      let list = published.get(k);
      if (!list) published.set(k, (list = []));
      list.push({ id: n.id, containerPort: p.containerPort, hostIp: canonicalIp(p.hostIp) });
    }
  }
  const flowsByOriginal = new Map<string, HostFlow>();
  const flowsByReply = new Map<string, HostFlow>();
  for (const f of doc.flows) {
    flowsByOriginal.set(flowKey(f.protocol, f.original), f);
    flowsByReply.set(flowKey(f.protocol, f.reply), f);
  }
  const networkIdsOfNode = (n: TopologyNode): string[] =>
    n.kind === 'container' ? n.networks.flatMap((x) => { const id = netIds.get(x.name); return id ? [id] : []; }) : [];
  const edges: PartEdge[] = [];
  for (const e of doc.topology.edges) {
    const from = original.get(e.from);
    const to = original.get(e.to);
    if (!from || !to) continue;
    // Same edge object, same nodes, flows and networks: the same part edge (everything below derives from those).
    const kept = prevEdges?.get(e);
    if (kept) {
      edgeOf.set(e, kept);
      edges.push(kept);
      continue;
    }
    const sFrom = scope(h, e.from, from.kind);
    const sTo = scope(h, e.to, to.kind);
    const id = edgeId(sFrom, sTo, e.protocol, e.port);
    const scoped: TopologyEdge = { ...e, id, from: sFrom, to: sTo };
    const origin = `${h}|${e.id}`;
    // Only an address of the fleet (another host's, or a container's on a network another host shares) can be
    // the other half of a connection (decided when the fleet is joined); every other edge stays as its host drew it.
    if (to.kind === 'external' && from.kind !== 'external') {
      const networkIds = networkIdsOfNode(from);
      const remote = canonicalIp(to.address);
      const halves: HalfTemplate[] = !e.details
        ? [{ role: 'client', host: h, node: sFrom, remote, edge: e, wire: undefined, detail: undefined, origin, networkIds }]
        : e.details.map((d) => ({
          role: 'client', host: h, node: sFrom, remote, edge: e, wire: clientWire(e.protocol, d, flowsByOriginal), detail: d, origin, networkIds,
          loose: `${e.protocol} ${h}:${d.client.port}>${canonicalIp(d.server.address)}:${d.server.port}`,
        }));
      const pe: PartEdge = { kind: 'candidate', remote, networkIds, scoped, halves };
      edgeOf.set(e, pe);
      edges.push(pe);
      continue;
    }
    if (from.kind === 'external' && to.kind !== 'external') {
      const networkIds = networkIdsOfNode(to);
      const remote = canonicalIp(from.address);
      const halves: HalfTemplate[] = !e.details
        ? [{ role: 'server', host: h, node: sTo, remote, edge: e, wire: undefined, detail: undefined, origin, networkIds }]
        : e.details.map((d) => {
          const dialled = serverDialled(e.protocol, d, flowsByReply);
          return { role: 'server', host: h, node: sTo, remote, edge: e, wire: flowKey(e.protocol, dialled), detail: d, origin, networkIds, dialled };
        });
      const pe: PartEdge = { kind: 'candidate', remote, networkIds, scoped, halves };
      edgeOf.set(e, pe);
      edges.push(pe);
      continue;
    }
    const pe: PartEdge = { kind: 'local', edge: scoped };
    edgeOf.set(e, pe);
    edges.push(pe);
  }
  // Sorted by id: the fleet's node list is sorted at the end, and runs already in order make that sort cheap.
  nodes.sort((a, b) => cmp(a.id, b.id));
  return { engineId: h, inputs: inputsOf(doc), nodeOf, edgeOf, addresses: doc.addresses.map(canonicalIp), networkAddresses, published, nodes, edges };
}

/** The merge, from each live host's part (reused from `previous` while its inputs are the same objects). */
function mergeWith(
  states: readonly HostState[], now: number, options: FleetOptions, previous: ReadonlyMap<string, HostPart> | undefined,
): { report: FleetMergeReport; parts: Map<string, HostPart> } {
  const retention = options.retentionMs ?? DEFAULT_FLEET_RETENTION_MS;
  const warnings: string[] = [];
  // One document per engine id: the newest heard.
  const byEngine = new Map<string, HostState>();
  let duplicateHosts = 0;
  for (const s of states) {
    const prev = byEngine.get(s.document.engineId);
    if (prev) {
      duplicateHosts++;
      if (s.lastSeenMs <= prev.lastSeenMs) continue;
    }
    byEngine.set(s.document.engineId, s);
  }
  if (duplicateHosts > 0) warnings.push(`fleet: ${duplicateHosts} document(s) claimed an engine id another document has; the newest of each kept`);
  const expired: string[] = [];
  const live: { state: HostState; stale: boolean }[] = [];
  for (const s of [...byEngine.values()].sort((a, b) => cmp(a.document.engineId, b.document.engineId))) {
    const silent = now - s.lastSeenMs;
    if (silent > retention) { expired.push(s.document.engineId); continue; }
    live.push({ state: s, stale: silent > staleAfterOf(s.document, options) });
  }

  // Containers claimed by two hosts (never by chance: ids are 256 random bits): a fresh host wins over a stale
  // one, then the first by engine id; the other's claim is left out with its edges.
  const containerOwner = new Map<string, string>();
  let conflictingContainers = 0;
  const ordered = [...live].sort((a, b) => Number(a.stale) - Number(b.stale) || cmp(a.state.document.engineId, b.state.document.engineId));
  const refused = new Map<string, Set<string>>();
  for (const { state } of ordered) {
    const h = state.document.engineId;
    for (const n of state.document.topology.nodes) {
      if (n.kind !== 'container') continue;
      const owner = containerOwner.get(n.id);
      if (owner === undefined) containerOwner.set(n.id, h);
      else if (owner !== h) {
        conflictingContainers++;
        let set = refused.get(h);
        if (!set) refused.set(h, (set = new Set()));
        set.add(n.id);
      }
    }
  }
  if (conflictingContainers > 0) warnings.push(`fleet: ${conflictingContainers} container id(s) claimed by two hosts; each shown on one host only`);

  // Each live host's part: the one kept while its document is the same (a host with refused containers is made
  // again each time: rare, and its part depends on the other hosts).
  const parts = new Map<string, HostPart>();
  const partOf = new Map<string, HostPart>();
  for (const { state } of live) {
    const doc = state.document;
    const skip = refused.get(doc.engineId);
    const kept = previous?.get(doc.engineId);
    const part = !skip && kept && sameInputs(kept, doc) ? kept : hostPart(doc, skip, kept);
    partOf.set(doc.engineId, part);
    if (!skip) parts.set(doc.engineId, part);
  }

  // Addresses of the hosts themselves; one claimed by two hosts names neither.
  const addressOwner = new Map<string, string | null>();
  for (const { state } of live) {
    const h = state.document.engineId;
    for (const c of partOf.get(h)?.addresses ?? []) {
      const o = addressOwner.get(c);
      addressOwner.set(c, o === undefined || o === h ? h : null);
    }
  }
  // Containers by (network id, address), for overlays.
  const byNetworkAddress = new Map<string, { readonly host: string; readonly id: string } | null>();
  const docs = new Map<string, HostDocument>();
  for (const { state } of live) {
    docs.set(state.document.engineId, state.document);
    for (const [k, peer] of partOf.get(state.document.engineId)?.networkAddresses ?? []) {
      const prev = byNetworkAddress.get(k);
      byNetworkAddress.set(k, prev === undefined || (prev && prev.id === peer.id) ? peer : null);
    }
  }

  const nodes = new Map<string, TopologyNode>();
  const edges = new Map<string, TopologyEdge>();
  const halves: Half[] = [];
  const hostNodeOf = (h: string): string => {
    const id = scope(h, HOST_NODE_ID);
    if (!nodes.has(id)) {
      const node: HostNode = { kind: 'host', id, name: docs.get(h)?.hostname ?? h, host: h };
      nodes.set(id, node);
    }
    return id;
  };
  const known = (remote: string, networkIds: readonly string[]) =>
    addressOwner.has(remote) || networkIds.some((net) => byNetworkAddress.has(`${net}|${remote}`));

  for (const { state } of live) {
    const part = partOf.get(state.document.engineId);
    if (!part) continue;
    for (const n of part.nodes) nodes.set(n.id, n);
    for (const pe of part.edges) {
      if (pe.kind === 'local') { edges.set(pe.edge.id, pe.edge); continue; }
      if (!known(pe.remote, pe.networkIds)) { edges.set(pe.scoped.id, pe.scoped); continue; }
      for (const t of pe.halves) {
        if (t.dialled === undefined) { halves.push(t); continue; }
        const owner = addressOwner.get(t.remote);
        halves.push(owner ? { ...t, loose: `${t.edge.protocol} ${owner}:${t.dialled.sport}>${t.dialled.dst}:${t.dialled.dport}` } : t);
      }
    }
  }

  // Join halves by their wire tuple; what stays alone is named from its own side.
  const clientsByWire = new Map<string, Half>();
  for (const x of halves) if (x.role === 'client' && x.wire !== undefined) clientsByWire.set(x.wire, x);
  const joinedClients = new Set<Half>();
  const drafts = new Map<string, Draft>();
  const unresolved: Half[] = [];
  let joinedConnections = 0;
  const lonelyServers: Half[] = [];
  for (const s of halves) {
    if (s.role !== 'server') continue;
    const c = s.wire !== undefined ? clientsByWire.get(s.wire) : undefined;
    if (c && c.host !== s.host && !joinedClients.has(c)) {
      joinedClients.add(c);
      joinedConnections++;
      add(c.node, s.node, s.edge.protocol, s.edge.port, c, s);
    } else lonelyServers.push(s);
  }
  // Second chance for what the wire tuple did not join: the client's host, port and the address it dialled.
  const clientsByLoose = new Map<string, Half>();
  for (const x of halves) if (x.role === 'client' && x.loose !== undefined && !joinedClients.has(x)) clientsByLoose.set(x.loose, x);
  for (const s of lonelyServers) {
    const c = s.loose !== undefined ? clientsByLoose.get(s.loose) : undefined;
    if (c && c.host !== s.host && !joinedClients.has(c)) {
      joinedClients.add(c);
      joinedConnections++;
      add(c.node, s.node, s.edge.protocol, s.edge.port, c, s);
      continue;
    }
    const client = nameRemote(s, 'server');
    if (client) add(client.node, s.node, s.edge.protocol, s.edge.port, undefined, s);
    else unresolved.push(s);
  }
  for (const c of halves) {
    if (c.role !== 'client' || joinedClients.has(c)) continue;
    const server = nameRemote(c, 'client');
    if (server) add(c.node, server.node, c.edge.protocol, server.port, c, undefined);
    else unresolved.push(c);
  }
  // Halves nothing in the fleet claims stay external edges, as their host drew them.
  for (const x of unresolved) {
    const ext = scope(x.host, `external:${x.remote}`, 'external');
    const [from, to] = x.role === 'client' ? [x.node, ext] : [ext, x.node];
    add(from, to, x.edge.protocol, x.edge.port, x.role === 'client' ? x : undefined, x.role === 'server' ? x : undefined);
  }

  // Each original edge's traffic goes to the merged edge that took most of its connections (its connections all
  // went to one peer in practice: a published port is one container).
  const bestFor = new Map<string, { draft: string; count: number }>();
  const joinedEdges: TopologyEdge[] = [];
  for (const [id, d] of drafts) {
    for (const origins of [d.clientOrigins, d.serverOrigins]) {
      for (const o of origins.keys()) {
        const n = d.details.length || d.connections;
        const best = bestFor.get(o);
        if (!best || n > best.count) bestFor.set(o, { draft: id, count: n });
      }
    }
  }
  for (const [id, d] of drafts) {
    const pick = (origins: Map<string, EdgeTraffic | undefined>) =>
      [...origins].filter(([o]) => bestFor.get(o)?.draft === id).flatMap(([, t]) => (t ? [t] : []));
    const fromClient = pick(d.clientOrigins);
    const traffic = sumTraffic(fromClient.length > 0 ? fromClient : pick(d.serverOrigins));
    const details = d.details.slice().sort((a, b) => cmp(a.client.address, b.client.address) || a.client.port - b.client.port || cmp(a.server.address, b.server.address) || a.server.port - b.server.port);
    const merged: TopologyEdge = {
      id, from: d.from, to: d.to, protocol: d.protocol, port: d.port, connections: d.connections, states: d.states,
      via: [...d.via].sort(),
      ...(d.published.size > 0 ? { publishedPorts: [...d.published].sort((a, b) => a - b) } : {}),
      ...(d.withDetails ? { details } : {}),
      ...(traffic ? { traffic } : {}),
    };
    const existing = edges.get(id);
    // A local edge of the same id cannot happen (ends on two hosts); keep the first if it ever does.
    if (!existing) {
      edges.set(id, merged);
      joinedEdges.push(merged);
    }
  }

  // External nodes no edge names any more (they were other hosts) go: only the external ones are looked up (a few
  // hundred in a fleet of 5,000 nodes, every render).
  const unused = new Set<string>();
  for (const [id, n] of nodes) if (n.kind === 'external') unused.add(id);
  if (unused.size > 0) {
    for (const e of edges.values()) { unused.delete(e.from); unused.delete(e.to); }
    for (const id of unused) nodes.delete(id);
  }
  // A host's own edges name nodes of its part, which are all in `nodes` (an external one an edge names stays):
  // only the edges joined or named across hosts can name a node no part has.
  for (const e of joinedEdges) {
    for (const end of [e.from, e.to]) {
      if (nodes.has(end)) continue;
      // An external end created for an unresolved half whose node was not in the document (cannot happen for
      // validated documents): make it so that every edge names a node.
      const [h, ...rest] = end.split('/');
      const raw = rest.join('/');
      if (raw.startsWith('external:')) nodes.set(end, { kind: 'external', id: end, name: raw.slice(9), address: raw.slice(9), ...(h ? { host: h } : {}) });
    }
  }

  const fleetHosts: FleetHost[] = live.map(({ state, stale }) => ({
    id: state.document.engineId, name: state.document.hostname, ...(stale ? { stale: true } : {}),
  }));
  for (const { state, stale } of live) {
    for (const w of state.document.topology.warnings) warnings.push(`${state.document.hostname}: ${w}`);
    if (stale) warnings.push(`${state.document.hostname}: not reporting since ${new Date(state.lastSeenMs).toISOString()}; its last state is shown`);
  }
  // Ids are unique (map keys): the engine's own string sort (code units, as cmp) gives the same order, faster than a
  // comparator called from JS for 5,000 nodes every render.
  const nodeList = [...nodes.keys()].sort().map((id) => nodes.get(id) as TopologyNode);
  const edgeList = [...edges.keys()].sort().map((id) => edges.get(id) as TopologyEdge);
  const report: FleetMergeReport = {
    topology: {
      takenAt: new Date(now).toISOString(), hostname: 'fleet', warnings, nodes: nodeList, edges: edgeList, hosts: fleetHosts,
    },
    expired, duplicateHosts, conflictingContainers, joinedConnections,
  };
  return { report, parts };

  /** Names the other end of a half that was not joined: another host, its container behind a published port, or an overlay peer. */
  function nameRemote(x: Half, role: 'client' | 'server'): { node: string; port: number } | undefined {
    for (const net of x.networkIds) {
      const peer = byNetworkAddress.get(`${net}|${x.remote}`);
      if (peer && peer.host !== x.host) return { node: peer.id, port: x.edge.port };
    }
    const owner = addressOwner.get(x.remote);
    if (!owner || owner === x.host) return undefined;
    if (role === 'client') {
      const behind = partOf.get(owner)?.published.get(`${x.edge.protocol}|${x.edge.port}`)?.find((p) => p.hostIp === '' || p.hostIp === '0.0.0.0' || p.hostIp === '::' || p.hostIp === x.remote);
      if (behind) return { node: behind.id, port: behind.containerPort };
    }
    return { node: hostNodeOf(owner), port: x.edge.port };
  }

  function add(from: string, to: string, protocol: Protocol, port: number, c: Half | undefined, s: Half | undefined): void {
    const id = edgeId(from, to, protocol, port);
    let d = drafts.get(id);
    if (!d) {
      d = {
        from, to, protocol, port, connections: 0, states: {}, via: new Set(), published: new Set(), details: [], withDetails: true,
        clientOrigins: new Map(), serverOrigins: new Map(),
      };
      drafts.set(id, d);
    }
    const one = c ?? s;
    if (!one) return;
    if (c) d.clientOrigins.set(c.origin, c.edge.traffic);
    if (s) d.serverOrigins.set(s.origin, s.edge.traffic);
    const cd = c?.detail;
    const sd = s?.detail;
    if (!cd && !sd) {
      // A whole edge without details: its counts as they are.
      d.withDetails = false;
      d.connections += one.edge.connections;
      for (const [k, v] of Object.entries(one.edge.states)) d.states[k as FlowState] = (d.states[k as FlowState] ?? 0) + (v ?? 0);
      for (const v of one.edge.via) d.via.add(v);
      for (const p of one.edge.publishedPorts ?? []) d.published.add(p);
      return;
    }
    d.connections++;
    const state = (cd ?? sd)?.state ?? 'ESTABLISHED';
    d.states[state] = (d.states[state] ?? 0) + 1;
    const via = sd?.via ?? cd?.via;
    if (via) d.via.add(via);
    if (c && s && cd && sd) {
      // The server's view of the address dialled: its published endpoint, else the client's.
      const published = sd.published ?? (cd.server.port !== sd.server.port || cd.server.address !== sd.server.address ? cd.server : undefined);
      if (published) d.published.add(published.port);
      d.details.push({
        state, via: sd.via, client: cd.client, server: sd.server, ...(published ? { published } : {}),
        clientPids: cd.clientPids, serverPids: sd.serverPids,
      });
      return;
    }
    const detail = (cd ?? sd) as ConnectionDetail;
    if (detail.published) d.published.add(detail.published.port);
    if (c && !s && cd && port !== cd.server.port) {
      d.published.add(cd.server.port);
      d.details.push({ ...cd, published: cd.server });
      return;
    }
    d.details.push(detail);
  }
}

/** The wire tuple of a client's connection: its host's reply tuple reversed (after MASQUERADE), else its own. */
function clientWire(protocol: Protocol, d: ConnectionDetail, flows: ReadonlyMap<string, HostFlow>): string {
  const own: FlowTuple = { src: canonicalIp(d.client.address), sport: d.client.port, dst: canonicalIp(d.server.address), dport: d.server.port };
  const f = flows.get(flowKey(protocol, own));
  return flowKey(protocol, f ? { src: f.reply.dst, sport: f.reply.dport, dst: f.reply.src, dport: f.reply.sport } : own);
}

/** The wire tuple of a server's connection: its host's original tuple (before DNAT), else what it saw. */
function serverDialled(protocol: Protocol, d: ConnectionDetail, flows: ReadonlyMap<string, HostFlow>): FlowTuple {
  const reply: FlowTuple = { src: canonicalIp(d.server.address), sport: d.server.port, dst: canonicalIp(d.client.address), dport: d.client.port };
  const f = flows.get(flowKey(protocol, reply));
  if (f) return f.original;
  const dialled: Endpoint = d.published ?? d.server;
  return { src: canonicalIp(d.client.address), sport: d.client.port, dst: canonicalIp(dialled.address), dport: dialled.port };
}

/** A node id scoped by its host: containers keep theirs. */
export function scope(host: string, id: string, kind?: TopologyNode['kind']): string {
  return kind === 'container' ? id : `${host}/${id}`;
}

/** Traffic of several edges as one: bytes and rates add up, RTT spans them (percentiles: the worst). */
export function sumTraffic(list: readonly EdgeTraffic[]): EdgeTraffic | undefined {
  const [first, ...rest] = list;
  if (!first) return undefined;
  if (rest.length === 0) return first;
  let bytesSent = 0, bytesReceived = 0, measured = 0, conntrack = 0, retransmits: number | undefined;
  let sentRate: number | undefined, receivedRate: number | undefined;
  let rttMin: number | undefined, rttMax: number | undefined, rttWeighted = 0, rttWeight = 0, p50: number | undefined, p95: number | undefined;
  const sources = new Set<string>();
  const maxOf = (a: number | undefined, b: number | undefined) => (b === undefined ? a : a === undefined ? b : Math.max(a, b));
  for (const t of list) {
    bytesSent += t.bytesSent;
    bytesReceived += t.bytesReceived;
    measured += t.measuredConnections;
    conntrack += t.conntrackConnections;
    sources.add(t.bytesSource);
    if (t.bytesSentPerSec !== undefined) sentRate = (sentRate ?? 0) + t.bytesSentPerSec;
    if (t.bytesReceivedPerSec !== undefined) receivedRate = (receivedRate ?? 0) + t.bytesReceivedPerSec;
    if (t.retransmits !== undefined) retransmits = (retransmits ?? 0) + t.retransmits;
    if (t.rttMinMs !== undefined) rttMin = rttMin === undefined ? t.rttMinMs : Math.min(rttMin, t.rttMinMs);
    rttMax = maxOf(rttMax, t.rttMaxMs);
    if (t.rttMeanMs !== undefined && t.measuredConnections > 0) { rttWeighted += t.rttMeanMs * t.measuredConnections; rttWeight += t.measuredConnections; }
    p50 = maxOf(p50, t.rttP50Ms);
    p95 = maxOf(p95, t.rttP95Ms);
  }
  return {
    bytesSent, bytesReceived,
    ...(sentRate !== undefined ? { bytesSentPerSec: sentRate } : {}),
    ...(receivedRate !== undefined ? { bytesReceivedPerSec: receivedRate } : {}),
    bytesSource: sources.size === 1 ? first.bytesSource : 'mixed',
    ...(rttMin !== undefined ? { rttMinMs: rttMin } : {}),
    ...(rttWeight > 0 ? { rttMeanMs: rttWeighted / rttWeight } : {}),
    ...(rttMax !== undefined ? { rttMaxMs: rttMax } : {}),
    ...(p50 !== undefined ? { rttP50Ms: p50 } : {}),
    ...(p95 !== undefined ? { rttP95Ms: p95 } : {}),
    ...(retransmits !== undefined ? { retransmits } : {}),
    measuredConnections: measured, conntrackConnections: conntrack,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
