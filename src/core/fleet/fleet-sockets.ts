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

/** One host's part, kept while its document is the same object (the hub never changes one in place). */
interface HostPart {
  readonly sockets: readonly ContainerSockets[];
  readonly traffic: readonly (readonly [string, ContainerTraffic])[];
  readonly issues: readonly CollectionIssue[];
}

/** Memory of fleetSockets between renders (opaque): each host's part by its document. */
export type FleetSocketsMemory = WeakMap<HostDocument, HostPart>;

/** Starts the memory of fleetSockets. */
export function createFleetSocketsMemory(): FleetSocketsMemory {
  return new WeakMap();
}

/**
 * The fleet's containers, sockets and traffic from the documents of the hosts `topology` shows (pure but for the
 * memory, which only caches). Hosts left out of the topology (expired) are left out here.
 */
export function fleetSockets(documents: readonly HostDocument[], topology: Topology, memory: FleetSocketsMemory = createFleetSocketsMemory()): FleetSockets {
  const shown = new Map((topology.hosts ?? []).map((h) => [h.id, h]));
  const hostOf = new Map<string, string | undefined>();
  for (const n of topology.nodes) if (n.kind === 'container') hostOf.set(n.id, n.host);
  const containers: ContainerSockets[] = [];
  const traffic = new Map<string, ContainerTraffic>();
  const issues: CollectionIssue[] = [];
  const seen = new Set<string>();
  for (const doc of documents) {
    if (!shown.has(doc.engineId) || seen.has(doc.engineId)) continue;
    seen.add(doc.engineId);
    let part = memory.get(doc);
    if (!part) {
      part = hostPart(doc);
      memory.set(doc, part);
    }
    for (const cs of part.sockets) {
      // On another host in the topology: that host's (a container id two hosts claim is shown once).
      const on = hostOf.get(cs.container.id);
      if (on !== undefined && on !== doc.engineId) continue;
      containers.push(cs);
    }
    for (const [id, t] of part.traffic) if (hostOf.get(id) === undefined || hostOf.get(id) === doc.engineId) traffic.set(id, t);
    issues.push(...part.issues);
  }
  return { containers: containers.map((c) => c.container), attribution: { containers, unclaimed: [] }, traffic, issues };
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
  return { sockets, traffic, issues };
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
