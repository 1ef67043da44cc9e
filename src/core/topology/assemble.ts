// Step 6: flows grouped into edges, and the nodes they join (every running container, plus the processes,
// external addresses and host that talk to containers).
import type { ContainerInfo } from '../model/container.js';
import { formatNetworkMode } from '../model/container.js';
import type { Snapshot } from '../model/snapshot.js';
import {
  edgeId, externalNodeId, HOST_NODE_ID, processNodeId,
  type ConnectionDetail, type ContainerNode, type FlowState, type NodeKind, type Resolution, type TopologyEdge, type TopologyNode,
} from '../model/topology.js';
import type { Flow, NodeRef } from './flows.js';

/** Options of edge assembly. */
export interface AssembleOptions {
  /** Keep flows whose two ends are the same node (loopback inside a container). Default false. */
  readonly loopback?: boolean;
  /** Attach per-connection details to edges. Default true. */
  readonly details?: boolean;
}

/** The node id a flow end stands for. */
export function nodeIdOf(ref: NodeRef): string {
  switch (ref.kind) {
    case 'container': return ref.containerId;
    case 'process': return processNodeId(ref.command);
    case 'host': return HOST_NODE_ID;
    case 'external': return externalNodeId(ref.address);
  }
}

/** Maps a container to its node. */
export function toContainerNode(c: ContainerInfo): ContainerNode {
  const project = c.labels['com.docker.compose.project'];
  const service = c.labels['com.docker.compose.service'];
  return {
    kind: 'container',
    id: c.id,
    name: c.name,
    image: c.image,
    ...(project !== undefined || service !== undefined
      ? { compose: { ...(project !== undefined ? { project } : {}), ...(service !== undefined ? { service } : {}) } }
      : {}),
    networkMode: formatNetworkMode(c.networkMode),
    networks: c.networks.map((n) => ({ name: n.name, ...(n.ipv4 ? { ipv4: n.ipv4 } : {}), ...(n.ipv6 ? { ipv6: n.ipv6 } : {}) })),
    ports: c.ports,
    pid: c.pid,
  };
}

interface EdgeDraft {
  readonly from: string;
  readonly to: string;
  readonly protocol: Flow['protocol'];
  readonly port: number;
  readonly flows: Flow[];
}

const KIND_ORDER: Record<NodeKind, number> = { container: 0, process: 1, host: 2, external: 3 };

/**
 * Groups flows by (client node, server node, protocol, server port) into edges, keeps only edges that touch a
 * container (and no self-edges unless asked), and lists nodes: every running container, and the other nodes
 * that some kept edge joins. Everything is sorted so that equal snapshots give byte-equal JSON.
 */
export function assembleTopology(
  snapshot: Snapshot, flows: readonly Flow[], options: AssembleOptions = {},
): { nodes: TopologyNode[]; edges: TopologyEdge[] } {
  const running = new Set(snapshot.netns.containers.map((c) => c.containerId));
  const containers = snapshot.containers.filter((c) => running.has(c.id));
  const containerIds = new Set(containers.map((c) => c.id));
  const isContainer = (ref: NodeRef) => ref.kind === 'container' && containerIds.has(ref.containerId);

  const drafts = new Map<string, EdgeDraft>();
  for (const f of flows) {
    if (!isContainer(f.client.node) && !isContainer(f.server.node)) continue;
    // A container end that is not running (exited mid-read) is no node to draw to.
    if ((f.client.node.kind === 'container' && !isContainer(f.client.node)) || (f.server.node.kind === 'container' && !isContainer(f.server.node))) continue;
    const from = nodeIdOf(f.client.node);
    const to = nodeIdOf(f.server.node);
    if (from === to && !options.loopback) continue;
    const id = edgeId(from, to, f.protocol, f.server.endpoint.port);
    const d = drafts.get(id);
    if (d) d.flows.push(f);
    else drafts.set(id, { from, to, protocol: f.protocol, port: f.server.endpoint.port, flows: [f] });
  }

  // Nodes: containers always; others when an edge joins them.
  const nodes = new Map<string, TopologyNode>();
  for (const c of containers) nodes.set(c.id, toContainerNode(c));
  const processPids = new Map<string, Set<number>>();
  const addRef = (ref: NodeRef, pids: readonly number[]) => {
    const id = nodeIdOf(ref);
    if (ref.kind === 'process') {
      const set = processPids.get(id) ?? new Set<number>();
      for (const p of pids) set.add(p);
      processPids.set(id, set);
      return;
    }
    if (nodes.has(id)) return;
    if (ref.kind === 'host') nodes.set(id, { kind: 'host', id: HOST_NODE_ID, name: snapshot.hostname });
    else if (ref.kind === 'external') nodes.set(id, { kind: 'external', id, name: ref.address, address: ref.address });
  };
  for (const d of drafts.values()) {
    for (const f of d.flows) {
      addRef(f.client.node, f.client.pids);
      addRef(f.server.node, f.server.pids);
    }
  }
  for (const [id, pids] of processPids) {
    const command = id.slice('process:'.length);
    nodes.set(id, { kind: 'process', id, name: command, command, pids: [...pids].sort((a, b) => a - b) });
  }

  const edges: TopologyEdge[] = [...drafts.entries()].map(([id, d]) => toEdge(id, d, options.details !== false));
  const nameOf = (id: string) => nodes.get(id)?.name ?? id;
  edges.sort((a, b) =>
    nameOf(a.from).localeCompare(nameOf(b.from)) || nameOf(a.to).localeCompare(nameOf(b.to)) ||
    a.protocol.localeCompare(b.protocol) || a.port - b.port || a.id.localeCompare(b.id));
  const nodeList = [...nodes.values()].sort((a, b) =>
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { nodes: nodeList, edges };
}

function toEdge(id: string, d: EdgeDraft, withDetails: boolean): TopologyEdge {
  const states = new Map<FlowState, number>();
  const via = new Set<Resolution>();
  const published = new Set<number>();
  for (const f of d.flows) {
    states.set(f.state, (states.get(f.state) ?? 0) + 1);
    via.add(f.via);
    if (f.published) published.add(f.published.port);
  }
  const details: ConnectionDetail[] = d.flows.map((f) => ({
    state: f.state,
    via: f.via,
    client: f.client.endpoint,
    server: f.server.endpoint,
    ...(f.published ? { published: f.published } : {}),
    clientPids: f.client.pids,
    serverPids: f.server.pids,
  }));
  details.sort((a, b) =>
    a.client.address.localeCompare(b.client.address) || a.client.port - b.client.port ||
    a.server.address.localeCompare(b.server.address) || a.server.port - b.server.port || a.state.localeCompare(b.state));
  return {
    id,
    from: d.from,
    to: d.to,
    protocol: d.protocol,
    port: d.port,
    connections: d.flows.length,
    states: Object.fromEntries([...states].sort(([a], [b]) => a.localeCompare(b))),
    via: [...via].sort(),
    ...(published.size > 0 ? { publishedPorts: [...published].sort((a, b) => a - b) } : {}),
    ...(withDetails ? { details } : {}),
  };
}
