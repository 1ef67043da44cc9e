// The one pipeline: snapshot → attribution → container traffic → topology → edge traffic, as a pure function.
// The agent, the hub and every command call it; nobody assembles these steps by hand (lint cannot see that, the
// review can: `attributeSockets`, `containersTraffic`, `buildTopology` and `edgesTraffic` are called here only).
import { attributeSockets, type Attribution } from './attribute.js';
import { applyCapture, type CaptureMemory } from './capture/apply-capture.js';
import type { ConnectionEvent } from './model/connection.js';
import type { Snapshot } from './model/snapshot.js';
import type { Topology } from './model/topology.js';
import type { ContainerTraffic } from './model/traffic.js';
import type { EdgeBytes } from './report/edge-bytes.js';
import type { SflowEdgeState } from './sflow/estimate.js';
import { applySflow } from './sflow/merge.js';
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
  /** sFlow's per-edge estimates carried from one run to the next (with `serve --sflow`). */
  readonly sflow?: SflowEdgeState;
  /** The last run: its inputs and what was rendered from them, kept while they stay the same (see runPipeline). */
  readonly last?: LastRun;
  /** Capture's address history and per-edge counts of captured connections (see core/capture/apply-capture.ts). */
  readonly capture?: CaptureMemory;
}

/** What runPipeline keeps of its last run. */
interface LastRun {
  readonly snapshot: Snapshot;
  readonly options: PipelineOptions;
  readonly attribution: Attribution;
  /** The topology before edge traffic was attached. */
  readonly built: Topology;
  /** The topology with edge traffic, before sFlow's estimates. */
  readonly withTraffic: Topology;
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
  /** Connection events of the flows capture read since the previous run (empty without capture). */
  readonly captured: readonly ConnectionEvent[];
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
  const base = renderBase(snapshot, memory, options);
  // Capture last: past containers named, captured counts on edges, recently closed edges kept (a no-op without either).
  const c = applyCapture(base.topology, snapshot, memory?.capture);
  return { ...base, topology: c.topology, captured: c.events, memory: { ...base.memory, capture: c.memory } };
}

function renderBase(snapshot: Snapshot, memory: PipelineMemory | undefined, options: PipelineOptions): PipelineResult {
  const last = memory?.last;
  if (last && sameOptions(last.options, options) && sameInputs(last.snapshot, snapshot)) {
    const t = containersTraffic(snapshot, memory.samples);
    const sockets: SocketsView = { snapshot, attribution: last.attribution, traffic: t.traffic, memory: { samples: t.samples } };
    const edgesState = memory.edges;
    if (last.atRest && edgesState) {
      const edges: EdgeTrafficState = { ...edgesState, takenAtMs: Date.parse(snapshot.takenAt) };
      return finish(sockets, last.built, { ...last.withTraffic, takenAt: snapshot.takenAt }, edges, last.result.edgeBytes);
    }
    return measure(sockets, { ...last.built, takenAt: snapshot.takenAt });
  }
  const sockets = renderSockets(snapshot, memory);
  return measure(sockets, buildTopology(snapshot, options, sockets.attribution));

  /** Edge traffic against the memory's counters. */
  function measure(sockets: SocketsView, built: Topology): PipelineResult {
    const edges = edgesTraffic(built, sockets.attribution, memory?.edges, snapshot.conntrack);
    return finish(sockets, built, withEdgeTraffic(built, edges.traffic), edges.state, edges.state.counters.totals);
  }

  /** sFlow's estimates beside the exact counters (nothing without sFlow), and what the next run keeps. */
  function finish(sockets: SocketsView, built: Topology, withTraffic: Topology, edges: EdgeTrafficState, edgeBytes: ReadonlyMap<string, EdgeBytes>): PipelineResult {
    const sflowing = snapshot.sflow !== undefined || memory?.sflow !== undefined;
    const sflow = sflowing ? applySflow(withTraffic, snapshot, sockets.attribution, memory?.sflow) : undefined;
    const result: { -readonly [K in keyof PipelineResult]: PipelineResult[K] } = {
      snapshot, attribution: sockets.attribution, traffic: sockets.traffic, topology: sflow?.topology ?? withTraffic, edgeBytes,
      memory: { samples: sockets.memory.samples }, captured: [],
    };
    result.memory = {
      samples: sockets.memory.samples, edges, ...(sflow ? { sflow: sflow.state } : {}),
      last: { snapshot, options, attribution: sockets.attribution, built, withTraffic, result, atRest: atRest(withTraffic) },
    };
    return result;
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
function atRest(topology: Topology): boolean {
  for (const e of topology.edges) if ((e.traffic?.bytesSentPerSec ?? 0) !== 0 || (e.traffic?.bytesReceivedPerSec ?? 0) !== 0) return false;
  return true;
}
