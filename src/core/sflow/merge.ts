// The one place sFlow estimates enter a topology (pure): beside the exact counters, never mixed into them.
import type { Attribution } from '../attribute.js';
import type { Snapshot } from '../model/snapshot.js';
import type { NodeKind, Topology, TopologyEdge } from '../model/topology.js';
import { estimateSflowEdges, type SflowEdgeState, type SflowEstimateOptions, type SflowEstimates } from './estimate.js';

const KIND_ORDER: Record<NodeKind, number> = { container: 0, process: 1, host: 2, external: 3 };

/**
 * The topology with sFlow's estimates (pure): an edge the collectors found gets its estimate as `sflow` (its
 * `traffic` untouched); an edge only sFlow saw is added with `connections: 0`, no states, no via and only
 * `sflow`, with the nodes it needs (external addresses, the host, host processes). An estimate whose container
 * is not on the map is left out. Nodes and edges stay in buildTopology's order.
 */
export function withSflowEstimates(topology: Topology, estimates: SflowEstimates): Topology {
  if (estimates.edges.size === 0 && estimates.droppedExternalEdges === 0) return topology;
  const nodes = new Map(topology.nodes.map((n) => [n.id, n]));
  let added = false;
  const edges: TopologyEdge[] = topology.edges.map((e) => {
    const est = estimates.edges.get(e.id);
    return est ? { ...e, sflow: est.sflow } : e;
  });
  const present = new Set(topology.edges.map((e) => e.id));
  for (const est of estimates.edges.values()) {
    if (present.has(est.id)) continue;
    const ends = [est.from, est.to].map((id) => nodes.get(id) ?? estimates.nodes.get(id));
    if (ends.some((n) => n === undefined)) continue;
    for (const n of ends) if (n && !nodes.has(n.id)) nodes.set(n.id, n);
    edges.push({ id: est.id, from: est.from, to: est.to, protocol: est.protocol, port: est.port, connections: 0, states: {}, via: [], sflow: est.sflow });
    added = true;
  }
  const warnings = estimates.droppedExternalEdges > 0
    ? [...topology.warnings, `sflow: ${estimates.droppedExternalEdges} edges between external addresses left out since the start (more than the map keeps); their samples are counted in the agents' status only`]
    : topology.warnings;
  if (!added) return { ...topology, warnings, edges };
  const nodeList = [...nodes.values()].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const nameOf = (id: string) => nodes.get(id)?.name ?? id;
  edges.sort((a, b) =>
    nameOf(a.from).localeCompare(nameOf(b.from)) || nameOf(a.to).localeCompare(nameOf(b.to)) ||
    a.protocol.localeCompare(b.protocol) || a.port - b.port || a.id.localeCompare(b.id));
  return { ...topology, warnings, nodes: nodeList, edges };
}

/**
 * One pipeline step: the estimate from this snapshot's sFlow part and the previous state, merged into the
 * topology built from the same snapshot (pure; see estimateSflowEdges and withSflowEstimates).
 */
export function applySflow(
  topology: Topology, snapshot: Snapshot, attribution: Attribution, prev: SflowEdgeState | undefined, options?: SflowEstimateOptions,
): { topology: Topology; state: SflowEdgeState; estimates: SflowEstimates } {
  const { estimates, state } = estimateSflowEdges(snapshot, attribution, topology, prev, options);
  return { topology: withSflowEstimates(topology, estimates), state, estimates };
}

