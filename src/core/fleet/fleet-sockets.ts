// The fleet's containers with their sockets and traffic (pure): what `/api/v1/containers`, `/api/v1/sockets`,
// `ps --server <hub>` and `top --server <hub>` show, made from the hosts' documents as an attribution (the shape the
// agent's own reports read), every container naming its host. A container stays on the host the merged topology
// shows it on (a container id two hosts claim is shown once); a document without the `containers` section (an
// older agent) gives its containers from its topology, without sockets.
import type { Attribution, AttributedSocket, ContainerSockets } from '../attribute.js';
import type { CollectionIssue } from '../model/snapshot.js';
import { toNetworkMode } from '../docker/containers.js';
import type { ContainerHost, ContainerInfo } from '../model/container.js';
import type { ProcessRef } from '../model/process.js';
import type { Topology } from '../model/topology.js';
import type { ContainerTraffic } from '../model/traffic.js';
import type { HostContainer, HostDocument } from './host-document.js';

/** The fleet's containers as the agent's reports read them. */
export interface FleetSockets {
  /** Every container of every host the topology shows, each with its `host`. */
  readonly containers: readonly ContainerInfo[];
  readonly attribution: Attribution;
  /** Per container id: its interface counters as its host published them (no per-interface list). */
  readonly traffic: ReadonlyMap<string, ContainerTraffic>;
  /** What the hosts could not tell (sockets over the cap, agents that publish none). */
  readonly issues: readonly CollectionIssue[];
}

/** One host's part, kept while the fields of its document it is made from are the same objects. */
interface HostPart {
  readonly engineId: string;
  readonly hostname: string;
  readonly containersSection: HostDocument['containers'];
  readonly trafficSection: HostDocument['traffic'];
  readonly socketsOmitted: HostDocument['socketsOmitted'];
  /** The topology's nodes, which give an older agent's containers (only then compared). */
  readonly nodes: HostDocument['topology']['nodes'];
  readonly sockets: readonly ContainerSockets[];
  readonly traffic: readonly (readonly [string, ContainerTraffic])[];
  readonly issues: readonly CollectionIssue[];
  /** Every container id the document names (its topology's containers, its containers and traffic sections), once. */
  readonly claims: readonly string[];
}

/**
 * Memory of fleetSockets between renders (opaque; pass the same one to every call): each host's part, and which
 * container ids more than one host names, kept up to date as parts change, so that a fleet where no id is named by
 * two hosts (the rule: ids are 256 random bits) needs no fleet-wide index of containers on every render.
 */
export interface FleetSocketsMemory {
  readonly parts: Map<string, HostPart>;
  /** The parts whose claims are counted in `claimed`, by engine id. */
  readonly counted: Map<string, HostPart>;
  /** Container id → how many counted parts name it. */
  readonly claimed: Map<string, number>;
  /** Ids named by more than one counted part. */
  shared: number;
  /** The last answer, with the parts it was made from (returned again while they are the same, in the same order). */
  last: { readonly parts: readonly HostPart[]; readonly result: FleetSockets } | undefined;
}

/** Starts the memory of fleetSockets. */
export function createFleetSocketsMemory(): FleetSocketsMemory {
  return { parts: new Map(), counted: new Map(), claimed: new Map(), shared: 0, last: undefined };
}

/**
 * The fleet's containers, sockets and traffic from the documents of the hosts `topology` shows (pure but for the
 * memory, which only caches). Hosts left out of the topology (expired) are left out here.
 */
export function fleetSockets(documents: readonly HostDocument[], topology: Topology, memory: FleetSocketsMemory = createFleetSocketsMemory()): FleetSockets {
  const shown = new Set((topology.hosts ?? []).map((h) => h.id));
  const docs: HostDocument[] = [];
  const parts: HostPart[] = [];
  const seen = new Set<string>();
  let duplicates = false;
  for (const doc of documents) {
    if (!shown.has(doc.engineId)) continue;
    if (seen.has(doc.engineId)) { duplicates = true; continue; }
    seen.add(doc.engineId);
    let part = memory.parts.get(doc.engineId);
    if (!part || !sameInputs(part, doc)) {
      part = hostPart(doc);
      memory.parts.set(doc.engineId, part);
    }
    docs.push(doc);
    parts.push(part);
  }
  for (const id of memory.parts.keys()) if (!seen.has(id)) memory.parts.delete(id);
  count(memory, parts);
  // No container id named by two hosts (and one document per host): every host's containers are on that host in
  // the topology, or not in it at all; nothing to look up.
  if (memory.shared === 0 && !duplicates) {
    const last = memory.last;
    if (last && last.parts.length === parts.length && last.parts.every((p, i) => p === parts[i])) return last.result;
    const containers: ContainerSockets[] = [];
    const traffic = new Map<string, ContainerTraffic>();
    const issues: CollectionIssue[] = [];
    for (const part of parts) {
      for (const cs of part.sockets) containers.push(cs);
      for (const [id, t] of part.traffic) traffic.set(id, t);
      for (const i of part.issues) issues.push(i);
    }
    const result: FleetSockets = { containers: containers.map((c) => c.container), attribution: { containers, unclaimed: [] }, traffic, issues };
    memory.last = { parts, result };
    return result;
  }
  memory.last = undefined;
  const hostOf = new Map<string, string | undefined>();
  for (const n of topology.nodes) if (n.kind === 'container') hostOf.set(n.id, n.host);
  const containers: ContainerSockets[] = [];
  const traffic = new Map<string, ContainerTraffic>();
  const issues: CollectionIssue[] = [];
  parts.forEach((part, i) => {
    const doc = docs[i] as HostDocument;
    for (const cs of part.sockets) {
      // On another host in the topology: that host's (a container id two hosts claim is shown once).
      const on = hostOf.get(cs.container.id);
      if (on !== undefined && on !== doc.engineId) continue;
      containers.push(cs);
    }
    for (const [id, t] of part.traffic) if (hostOf.get(id) === undefined || hostOf.get(id) === doc.engineId) traffic.set(id, t);
    issues.push(...part.issues);
  });
  return { containers: containers.map((c) => c.container), attribution: { containers, unclaimed: [] }, traffic, issues };
}

/** True when `part` was made from the same fields of a document as `doc` has. */
function sameInputs(part: HostPart, doc: HostDocument): boolean {
  return part.engineId === doc.engineId && part.hostname === doc.hostname && part.containersSection === doc.containers &&
    part.trafficSection === doc.traffic && part.socketsOmitted === doc.socketsOmitted && (doc.containers !== undefined || part.nodes === doc.topology.nodes);
}

/** Brings the memory's count of claimed ids to `parts` (only the parts that changed are counted again). */
function count(memory: FleetSocketsMemory, parts: readonly HostPart[]): void {
  const current = new Map(parts.map((p) => [p.engineId, p]));
  const add = (part: HostPart, by: 1 | -1) => {
    for (const id of part.claims) {
      const before = memory.claimed.get(id) ?? 0;
      const after = before + by;
      if (after === 0) memory.claimed.delete(id);
      else memory.claimed.set(id, after);
      if (before < 2 && after >= 2) memory.shared++;
      else if (before >= 2 && after < 2) memory.shared--;
    }
  };
  for (const [host, part] of memory.counted) {
    if (current.get(host) === part) continue;
    add(part, -1);
    memory.counted.delete(host);
  }
  for (const part of parts) {
    if (memory.counted.has(part.engineId)) continue;
    add(part, 1);
    memory.counted.set(part.engineId, part);
  }
}

function hostPart(doc: HostDocument): HostPart {
  const host: ContainerHost = { id: doc.engineId, hostname: doc.hostname };
  const issues: CollectionIssue[] = [];
  let sockets: ContainerSockets[];
  if (doc.containers) {
    sockets = doc.containers.map((c) => containerSockets(c, host));
    if (doc.socketsOmitted) issues.push({ source: `host ${doc.hostname}`, message: `${doc.socketsOmitted} sockets not published (over the agent's cap)`, count: 1 });
  } else {
    issues.push({ source: `host ${doc.hostname}`, message: 'its agent publishes no sockets (an older version): its containers are shown without them', count: 1 });
    sockets = [];
    for (const n of doc.topology.nodes) {
      if (n.kind !== 'container' || n.exitedAt !== undefined) continue;
      sockets.push({
        container: {
          id: n.id, name: n.name, image: n.image, networkMode: toNetworkMode(n.networkMode), pid: n.pid,
          networks: n.networks.map((x) => ({ name: x.name, ...(x.ipv4 ? { ipv4: x.ipv4 } : {}), ...(x.ipv6 ? { ipv6: x.ipv6 } : {}) })),
          ports: n.ports, labels: composeLabels(n.compose), host,
        },
        netns: 0, ownsNetns: true, source: undefined, tcpInfo: false, sockets: [],
      });
    }
  }
  const traffic = (doc.traffic ?? []).map((t): [string, ContainerTraffic] => {
    const { id, ...counters } = t;
    return [id, { ...counters, interfaces: [] }];
  });
  const claims = new Set<string>();
  for (const n of doc.topology.nodes) if (n.kind === 'container') claims.add(n.id);
  for (const c of doc.containers ?? []) claims.add(c.id);
  for (const t of doc.traffic ?? []) claims.add(t.id);
  return {
    engineId: doc.engineId, hostname: doc.hostname, containersSection: doc.containers, trafficSection: doc.traffic, socketsOmitted: doc.socketsOmitted,
    nodes: doc.topology.nodes, sockets, traffic, issues, claims: [...claims],
  };
}

function containerSockets(c: HostContainer, host: ContainerHost): ContainerSockets {
  // One owner object per process, as attribution makes them (ps renders each once).
  const owners = new Map<string, ProcessRef>();
  const ownerOf = (p: HostContainer['sockets'][number]['processes'][number]): ProcessRef => {
    const containerId = p.container === undefined ? c.id : p.container;
    const key = `${p.pid}|${p.command}|${containerId ?? ''}`;
    let o = owners.get(key);
    if (!o) {
      o = { pid: p.pid, command: p.command, containerId };
      owners.set(key, o);
    }
    return o;
  };
  const sockets = c.sockets.map((s): AttributedSocket => ({
    protocol: s.protocol, family: s.family, state: s.state, local: s.local, remote: s.remote, inode: s.inode,
    // The document carries no uid (no report shows it).
    uid: 0,
    txQueue: s.txQueue, rxQueue: s.rxQueue, processes: s.processes.map(ownerOf),
  }));
  return {
    container: {
      id: c.id, name: c.name, image: c.image, networkMode: toNetworkMode(c.networkMode), pid: c.pid, networks: c.networks,
      ports: c.ports, labels: c.labels, host,
    },
    netns: c.netns, ownsNetns: c.ownsNetns, source: c.source ?? undefined,
    // tcp_info is not published (it changes on every read): the fleet's sockets have none.
    tcpInfo: false,
    sockets,
  };
}

function composeLabels(compose: { readonly project?: string; readonly service?: string } | undefined): Record<string, string> {
  return {
    ...(compose?.project !== undefined ? { 'com.docker.compose.project': compose.project } : {}),
    ...(compose?.service !== undefined ? { 'com.docker.compose.service': compose.service } : {}),
  };
}
