// From the agent's topology to what the map draws (pure): compound groups (compose project or network; host
// processes and external addresses set apart), nodes, and edges with their label, width (bytes/s) and health
// (RTT, retransmits, unanswered connects). graph-view.ts hands these to cytoscape.
import type { ContainerNode, Topology, TopologyEdge, TopologyNode } from '../core/model/topology.js';
import { edgeHealth, worseHealth, type HealthLevel as Health } from '../core/report/edge-health.js';
import { formatRate } from './format.js';

/** What containers are grouped by. */
export type GroupBy = 'compose' | 'network';

/** What a group stands for (drawn differently: host and external are set apart). */
export type GroupKind = 'compose' | 'network' | 'host' | 'external';

/** A compound node. */
export interface GroupData {
  readonly id: string;
  readonly label: string;
  readonly kind: 'group';
  readonly groupKind: GroupKind;
}

/** A node of the topology as drawn. */
export interface NodeData {
  readonly id: string;
  readonly label: string;
  readonly kind: TopologyNode['kind'];
  readonly parent: string;
  /** Diameter in px: grows with the number of edges. */
  readonly size: number;
  /** The worst health of its edges (a ring on the node). */
  readonly health: Health;
}

/** An edge as drawn. */
export interface EdgeData {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly label: string;
  readonly protocol: 'tcp' | 'udp';
  /** Line width in px, from bytes/s. */
  readonly width: number;
  readonly health: Health;
  /** Bytes/s both ways; undefined when not measured. */
  readonly rate?: number;
  readonly idle: boolean;
}

/** Everything the map draws for one topology. */
export interface GraphModel {
  readonly groups: readonly GroupData[];
  readonly nodes: readonly NodeData[];
  readonly edges: readonly EdgeData[];
}

/** The group a node belongs to under `groupBy`. */
export function groupOf(node: TopologyNode, groupBy: GroupBy, hostname = ''): GroupData {
  switch (node.kind) {
    case 'process':
    case 'host':
      return { id: 'group:host', label: hostname ? `host · ${hostname}` : 'host', kind: 'group', groupKind: 'host' };
    case 'external':
      return { id: 'group:external', label: 'external', kind: 'group', groupKind: 'external' };
    case 'container': {
      const project = node.compose?.project;
      if (groupBy === 'compose' && project) return { id: `group:compose:${project}`, label: `compose · ${project}`, kind: 'group', groupKind: 'compose' };
      const net = primaryNetwork(node);
      return { id: `group:net:${net}`, label: `network · ${net}`, kind: 'group', groupKind: 'network' };
    }
  }
}

/** The network a container is drawn in: its first network, else its mode (`host`, `none`, `container:…`). */
export function primaryNetwork(node: ContainerNode): string {
  const first = node.networks[0]?.name;
  if (first) return first;
  return node.networkMode.startsWith('container:') ? `container:${node.networkMode.slice(10, 22)}` : node.networkMode;
}

/** Bytes per second both ways over an edge; undefined when not measured. */
export function edgeRate(e: TopologyEdge): number | undefined {
  const t = e.traffic;
  if (!t || (t.bytesSentPerSec === undefined && t.bytesReceivedPerSec === undefined)) return undefined;
  return (t.bytesSentPerSec ?? 0) + (t.bytesReceivedPerSec ?? 0);
}

/** Line width for a rate: 1.5 px idle, growing with log10 of bytes/s to 10 px. */
export function edgeWidth(rate: number | undefined): number {
  if (rate === undefined || rate <= 0) return 1.5;
  return Math.min(10, 1.5 + 1.4 * Math.log10(1 + rate / 256));
}

/** True when an edge moved no bytes since the previous sample (measured at 0 B/s). Unmeasured edges are not idle. */
export function isIdleEdge(e: TopologyEdge): boolean {
  return edgeRate(e) === 0;
}

/** `tcp/8080`, with the host port when reached through one, and the rate when it moves. */
export function edgeLabel(e: TopologyEdge): string {
  const published = e.publishedPorts && e.publishedPorts.length > 0 ? ` (:${e.publishedPorts.join(', :')})` : '';
  const rate = edgeRate(e);
  return `${e.protocol}/${e.port}${published}${rate ? ` · ${formatRate(rate)}` : ''}`;
}

/** What the map draws for a topology (pure). */
export function toGraphModel(topology: Topology, groupBy: GroupBy): GraphModel {
  const groups = new Map<string, GroupData>();
  const degree = new Map<string, number>();
  const health = new Map<string, Health>();
  const edges: EdgeData[] = topology.edges.map((e) => {
    const h = edgeHealth(e).level;
    for (const id of [e.from, e.to]) {
      degree.set(id, (degree.get(id) ?? 0) + 1);
      health.set(id, worseHealth(health.get(id) ?? 'unknown', h));
    }
    const rate = edgeRate(e);
    return {
      id: e.id, source: e.from, target: e.to, label: edgeLabel(e), protocol: e.protocol, width: edgeWidth(rate), health: h,
      ...(rate !== undefined ? { rate } : {}), idle: rate === 0,
    };
  });
  const nodes: NodeData[] = topology.nodes.map((n) => {
    const g = groupOf(n, groupBy, topology.hostname);
    groups.set(g.id, g);
    const d = degree.get(n.id) ?? 0;
    return { id: n.id, label: n.name, kind: n.kind, parent: g.id, size: Math.round(26 + Math.min(22, 5 * Math.log2(1 + d))), health: health.get(n.id) ?? 'unknown' };
  });
  return { groups: [...groups.values()].sort((a, b) => a.id.localeCompare(b.id)), nodes, edges };
}
