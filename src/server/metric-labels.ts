// Labels that name things in /metrics, one way for every family: a container is `container` (its name) and `id`
// (12 hex digits, as `docker ps` shows); an edge end is `<end>` (a name), `<end>_id` (stable) and `<end>_kind`.
import { formatNetworkMode, type ContainerInfo } from '../core/model/container.js';
import type { TopologyEdge, TopologyNode } from '../core/model/topology.js';

/** A container id as label value: the 12 hex digits `docker ps` shows. */
export const shortId = (id: string): string => id.slice(0, 12);

/**
 * Label names of an edge series: both ends by name, id and kind, the protocol and the server port; in a fleet
 * also each end's host (`from_host`, `to_host`: the host's name), absent for one host.
 */
export const EDGE_LABELS = ['from', 'from_id', 'from_kind', 'to', 'to_id', 'to_kind', 'protocol', 'port', 'from_host', 'to_host'] as const;

/** Labels of an edge series (see EDGE_LABELS); the host labels only in a fleet. */
export type EdgeLabels = Record<Exclude<(typeof EDGE_LABELS)[number], 'from_host' | 'to_host'>, string> & { from_host?: string; to_host?: string };

/** Host names by host id, for the `host` labels of a fleet; undefined for one host. */
export function hostNames(t: { readonly hosts?: readonly { readonly id: string; readonly name: string }[] }): ReadonlyMap<string, string> | undefined {
  return t.hosts ? new Map(t.hosts.map((h) => [h.id, h.name])) : undefined;
}

/**
 * An edge end's name, id and kind. Names are what stays: a container's name, a host process's command, the
 * host's name, an external node's address — not its reverse-DNS name, which can come and go and would split
 * the series. Ids: a container's short id, else the node id (`process:<command>`, `host`, `external:<ip>`).
 */
function end(n: TopologyNode | undefined, id: string): { name: string; id: string; kind: string } {
  if (!n) return { name: id, id, kind: 'unknown' };
  switch (n.kind) {
    case 'container': return { name: n.name, id: shortId(n.id), kind: 'container' };
    case 'external': return { name: n.address, id: n.id, kind: 'external' };
    default: return { name: n.name, id: n.id, kind: n.kind };
  }
}

/** The labels of an edge's series, its ends looked up in `nodes`. */
export function edgeLabels(nodes: ReadonlyMap<string, TopologyNode>, e: Pick<TopologyEdge, 'from' | 'to' | 'protocol' | 'port'>, hosts?: ReadonlyMap<string, string>): EdgeLabels {
  const fromNode = nodes.get(e.from);
  const toNode = nodes.get(e.to);
  const from = end(fromNode, e.from);
  const to = end(toNode, e.to);
  const hostOf = (n: TopologyNode | undefined) => (n?.host !== undefined ? hosts?.get(n.host) ?? n.host : '');
  return {
    from: from.name, from_id: from.id, from_kind: from.kind, to: to.name, to_id: to.id, to_kind: to.kind,
    protocol: e.protocol, port: String(e.port),
    ...(hosts ? { from_host: hostOf(fromNode), to_host: hostOf(toNode) } : {}),
  };
}

/**
 * A container's network mode as label value: `docker inspect`'s spelling, with a `container:` owner's id cut to
 * 12 hex digits so that it joins the owner's `id` label.
 */
export function networkModeLabel(c: Pick<ContainerInfo, 'networkMode'>): string {
  return c.networkMode.kind === 'container' ? `container:${shortId(c.networkMode.containerId)}` : formatNetworkMode(c.networkMode);
}
