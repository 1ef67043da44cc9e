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
  /** The last run: its inputs and what was rendered from them, kept while they stay the same (see runPipeline). */
  readonly last?: LastRun;
}

/** What runPipeline keeps of its last run. */
interface LastRun {
  readonly snapshot: Snapshot;
  readonly options: PipelineOptions;
  readonly attribution: Attribution;
  /** The topology before edge traffic was attached. */
  readonly built: Topology;
  readonly result: PipelineResult;
  /** No edge had a non-zero rate in `result`. */
  readonly atRest: boolean;
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

/**
 * The whole pipeline (pure): sockets, then the topology and each edge's traffic against the memory's counters.
 *
 * Repeating collections hand back the very same part objects while nothing was read again (see the collectors'
 * `repeat`), so a run whose parts are those of the last run keeps the last attribution and topology (neither
 * depends on interface counters); and when no edge had a rate then, the last edge traffic too (it depends only on
 * the sockets and conntrack, which are the same). Container traffic is always computed again from the interface
 * counters: its samples must carry this read's time. An idle host thus costs almost nothing.
 */
export function runPipeline(snapshot: Snapshot, memory?: PipelineMemory, options: PipelineOptions = {}): PipelineResult {
  const last = memory?.last;
  if (last && sameOptions(last.options, options) && sameInputs(last.snapshot, snapshot)) {
    const t = containersTraffic(snapshot, memory.samples);
    const edgesState = memory.edges;
    if (last.atRest && edgesState) {
      const topology = { ...last.result.topology, takenAt: snapshot.takenAt };
      const edges: EdgeTrafficState = { ...edgesState, takenAtMs: Date.parse(snapshot.takenAt) };
      return remember({ snapshot, attribution: last.attribution, traffic: t.traffic, topology, edgeBytes: last.result.edgeBytes, memory: { samples: t.samples, edges } }, last.built);
    }
    return finish(snapshot, { snapshot, attribution: last.attribution, traffic: t.traffic, memory: { samples: t.samples, ...(edgesState ? { edges: edgesState } : {}) } }, { ...last.built, takenAt: snapshot.takenAt }, memory);
  }
  const sockets = renderSockets(snapshot, memory);
  return finish(snapshot, sockets, buildTopology(snapshot, options, sockets.attribution), memory);

  function finish(s: Snapshot, sockets: SocketsView, built: Topology, before: PipelineMemory | undefined): PipelineResult {
    const edges = edgesTraffic(built, sockets.attribution, before?.edges, s.conntrack);
    return remember({
      ...sockets,
      topology: withEdgeTraffic(built, edges.traffic),
      edgeBytes: edges.state.counters.totals,
      memory: { samples: sockets.memory.samples, edges: edges.state },
    }, built);
  }

  function remember(result: Omit<PipelineResult, 'memory'> & { memory: Omit<PipelineMemory, 'last'> }, built: Topology): PipelineResult {
    const out: { -readonly [K in keyof PipelineResult]: PipelineResult[K] } = { ...result, memory: result.memory };
    out.memory = { ...result.memory, last: { snapshot, options, attribution: result.attribution, built, result: out, atRest: atRest(out) } };
    return out;
  }
}

function sameOptions(a: PipelineOptions, b: PipelineOptions): boolean {
  return a.loopback === b.loopback && a.details === b.details && a.names === b.names;
}

/** True when two snapshots hold the same facts for the topology: the same part objects and equal issues. */
function sameInputs(a: Snapshot, b: Snapshot): boolean {
  return a.containers === b.containers && a.netns === b.netns && a.processes === b.processes && a.sockets === b.sockets &&
    a.conntrack === b.conntrack && a.hostname === b.hostname && sameIssues(a, b);
}

function sameIssues(a: Snapshot, b: Snapshot): boolean {
  if (a.issues.length !== b.issues.length) return false;
  return a.issues.every((x, i) => {
    const y = b.issues[i];
    return y !== undefined && x.source === y.source && x.message === y.message && x.count === y.count;
  });
}

/** No edge moving: a later run over the same sockets and conntrack renders the same edge traffic (no rates). */
function atRest(r: PipelineResult): boolean {
  for (const e of r.topology.edges) if ((e.traffic?.bytesSentPerSec ?? 0) !== 0 || (e.traffic?.bytesReceivedPerSec ?? 0) !== 0) return false;
  return true;
}
