// One host's part of a fleet topology (pure), for `?host=` on the API.
import { isCapturedEvent, type ChangeEvent } from '../report/changes.js';
import type { FleetHost, Topology } from '../model/topology.js';

/**
 * The host `key` names in a topology: a fleet host by id or name (the id wins), or for one host its hostname
 * (undefined id). Returns `unknown` when nothing matches.
 */
export function findHost(t: Pick<Topology, 'hosts' | 'hostname'>, key: string): { readonly id: string | undefined } | 'unknown' {
  if (!t.hosts) return key === t.hostname ? { id: undefined } : 'unknown';
  const h = t.hosts.find((x) => x.id === key) ?? t.hosts.find((x) => x.name === key);
  return h ? { id: h.id } : 'unknown';
}

/**
 * The part of a fleet topology that concerns one host: its nodes, its edges (an edge to or from another host
 * included, with the node at that end) and the hosts those nodes are on.
 */
export function topologyOfHost(t: Topology, hostId: string): Topology {
  const mine = new Set(t.nodes.filter((n) => n.host === hostId).map((n) => n.id));
  const edges = t.edges.filter((e) => mine.has(e.from) || mine.has(e.to));
  const keep = new Set(mine);
  for (const e of edges) { keep.add(e.from); keep.add(e.to); }
  const nodes = t.nodes.filter((n) => keep.has(n.id));
  const hostIds = new Set<string>([hostId]);
  for (const n of nodes) if (n.host !== undefined) hostIds.add(n.host);
  const hosts: FleetHost[] = (t.hosts ?? []).filter((h) => hostIds.has(h.id));
  return { ...t, nodes, edges, hosts };
}

/** Ids of the containers on one host of a fleet topology. */
export function containerIdsOfHost(t: Topology, hostId: string): Set<string> {
  return new Set(t.nodes.filter((n) => n.kind === 'container' && n.host === hostId).map((n) => n.id));
}

/**
 * True when a change event concerns the host: on a hub, the host whose agent published it (`host`); otherwise its
 * container is there, or one end of its connection is; a captured connection (every connection however short)
 * names the Docker host it was captured on.
 */
export function eventOnHost(e: ChangeEvent, hostId: string): boolean {
  // On a hub: the host whose agent published it.
  if (e.host !== undefined) return e.host === hostId;
  if (isCapturedEvent(e)) return e.flow.host === hostId;
  if ('container' in e) return e.container.host === hostId;
  return e.connection.fromHost === hostId || e.connection.toHost === hostId;
}
