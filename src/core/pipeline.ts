// The one pipeline: snapshot → attribution → container traffic → topology → edge traffic, as a pure function.
// The agent, the hub and every command call it; nobody assembles these steps by hand (lint cannot see that, the
// review can: `attributeSockets`, `containersTraffic`, `buildTopology` and `edgesTraffic` are called here only).
import { attributeSockets, type Attribution } from './attribute.js';
import type { Snapshot } from './model/snapshot.js';
import type { Topology } from './model/topology.js';
import type { ContainerTraffic } from './model/traffic.js';
import type { EdgeBytes } from './report/edge-bytes.js';
import { buildTopology, type TopologyOptions } from './topology/build-topology.js';
import { containersTraffic, type TrafficSample } from './traffic/container-traffic.js';
import { edgesTraffic, withEdgeTraffic, type EdgeTrafficState } from './traffic/edge-traffic.js';

/**
 * What the pipeline keeps from one run to the next, so that repeated runs (the agent, `top`) have rates: the
 * previous interface counters of each container and the accumulated per-edge byte counters. Opaque to callers:
 * hand back what the last run returned, or nothing for a one-shot run.
 */
export interface PipelineMemory {
  readonly samples: ReadonlyMap<string, TrafficSample>;
  readonly edges?: EdgeTrafficState;
}

/** Options of the pipeline: how the topology is built. */
export type PipelineOptions = TopologyOptions;

/** What a snapshot's sockets say: who holds each socket, and each container's interface counters and rates. */
export interface SocketsView {
  readonly snapshot: Snapshot;
  readonly attribution: Attribution;
  /** Per container id: interface counters, with rates when the memory had a previous sample. */
  readonly traffic: ReadonlyMap<string, ContainerTraffic>;
  readonly memory: PipelineMemory;
}

/** Everything the pipeline renders from one snapshot. */
export interface PipelineResult extends SocketsView {
  /** Who talks to whom, each edge with its traffic (bytes, rates, RTT, retransmits). */
  readonly topology: Topology;
  /** Per edge id: bytes carried since the memory began (only ever grows; for Prometheus counters). */
  readonly edgeBytes: ReadonlyMap<string, EdgeBytes>;
}

/**
 * The first half of the pipeline: attribution and container traffic, for what needs no topology (`ps`, whose
 * cost at 100,000 sockets is mostly here).
 */
export function renderSockets(snapshot: Snapshot, memory?: PipelineMemory): SocketsView {
  const attribution = attributeSockets(snapshot);
  const t = containersTraffic(snapshot, memory?.samples ?? new Map());
  return { snapshot, attribution, traffic: t.traffic, memory: { samples: t.samples, ...(memory?.edges ? { edges: memory.edges } : {}) } };
}

/** The whole pipeline (pure): sockets, then the topology and each edge's traffic against the memory's counters. */
export function runPipeline(snapshot: Snapshot, memory?: PipelineMemory, options: PipelineOptions = {}): PipelineResult {
  const sockets = renderSockets(snapshot, memory);
  const built = buildTopology(snapshot, options, sockets.attribution);
  const edges = edgesTraffic(built, sockets.attribution, memory?.edges, snapshot.conntrack);
  return {
    ...sockets,
    topology: withEdgeTraffic(built, edges.traffic),
    edgeBytes: edges.state.counters.totals,
    memory: { samples: sockets.memory.samples, edges: edges.state },
  };
}
