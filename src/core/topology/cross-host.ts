// What a map of a fleet with every host folded draws (pure): every node (the hosts' groups are built from them)
// and only the edges between two hosts. An edge whose ends are on one host is drawn only once that host is
// opened, and such edges are most of a fleet's bytes (100 hosts × 50 containers: 12,000 of 13,200 edges, 15 of
// 17 MB of JSON), so a map can draw the folded fleet first from this much and fetch the rest afterwards.
import type { Topology } from '../model/topology.js';

/** What a cross-host document says it left out. */
export interface PartialTopology {
  /** Only edges between two hosts were kept; `omittedEdges` edges within one host were left out. */
  readonly edges: 'cross-host';
  readonly omittedEdges: number;
}

/** A topology with the edges within one host left out, and what was left out. */
export interface CrossHostTopology {
  readonly topology: Topology;
  /** Absent when nothing was left out (one host, or no edge within a host): the topology is whole. */
  readonly partial?: PartialTopology;
}

/**
 * The topology with only its edges between two hosts (pure). Without `hosts` (one agent, not a fleet) it is the
 * topology itself. An edge with an end that names no node, or a node without a host, is kept: only what is
 * surely within one host is left out.
 */
export function toCrossHostTopology(t: Topology): CrossHostTopology {
  if (t.hosts === undefined) return { topology: t };
  const hostOf = new Map<string, string | undefined>();
  for (const n of t.nodes) hostOf.set(n.id, n.host);
  const edges = t.edges.filter((e) => {
    const a = hostOf.get(e.from);
    return a === undefined || a !== hostOf.get(e.to);
  });
  const omittedEdges = t.edges.length - edges.length;
  if (omittedEdges === 0) return { topology: t };
  return { topology: { ...t, edges }, partial: { edges: 'cross-host', omittedEdges } };
}
