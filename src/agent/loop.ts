// The agent: collects on a tick and on Docker events, renders each snapshot with core's one pipeline, keeps the
// latest state, records history and tells subscribers what changed. It only schedules, stores and emits;
// everything it touches is injected (collection, renderer, clock, store, events follower), so it runs against
// fakes in tests.
import type { Logger } from 'pino';
import { isFatal, type CollectorRun } from '../collectors/collector.js';
import type { Attribution } from '../core/attribute.js';
import type { CaptureStatus } from '../core/model/connection.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { Topology, TopologyDiff } from '../core/model/topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import { runPipeline, type PipelineMemory, type PipelineResult } from '../core/pipeline.js';
import type { EdgeBytes } from '../core/report/edge-bytes.js';
import { toChangeEvents, type ChangeEvent } from '../core/report/changes.js';
import { diffTopology, isEmptyDiff } from '../core/topology/diff-topology.js';
import type { DockerEventsFollower } from '../collectors/docker-events.js';
import { createCollectorLog } from './collector-log.js';
import type { HistoryStore } from './history.js';
import { createHistoryWriter } from './history-writer.js';

/** What the agent collects with: one call returns a snapshot and how each collector did. */
export interface AgentCollection {
  collect(): Promise<{ snapshot: Snapshot; runs: CollectorRun[] }>;
  /**
   * Told what the Docker events stream says: an event (something changed), connected (watching from now on) or
   * lost (not watching). A collection that knows may skip asking Docker while nothing changed.
   */
  dockerEvents?(news: 'event' | 'connected' | 'lost', containerId?: string, action?: string): void;
}

/** Renders a snapshot: core's pipeline, possibly wrapped (the agent adds reverse-DNS names of external nodes). */
export type Renderer = (snapshot: Snapshot, memory: PipelineMemory | undefined) => PipelineResult;

/** The clock the loop waits on (injected so tests can drive time). */
export interface AgentClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Everything the agent knows after one accepted collection. */
export interface AgentState {
  /** Increments with every accepted collection. */
  readonly seq: number;
  readonly snapshot: Snapshot;
  readonly attribution: Attribution;
  readonly topology: Topology;
  /** Per container id: interface counters and rates since the previous collection. */
  readonly traffic: ReadonlyMap<string, ContainerTraffic>;
  /** Per edge id: bytes carried since the agent started (tcp_info of TCP connections; conntrack accounting for UDP flows and connections closed between samples), and TCP retransmits. */
  readonly edgeBytes: ReadonlyMap<string, EdgeBytes>;
  readonly runs: readonly CollectorRun[];
  readonly durationMs: number;
}

/** How the agent is doing right now (changes without a new collection). */
export interface AgentStatus {
  readonly started: boolean;
  readonly intervalMs: number;
  /** True while Docker is away: the state served is the last one collected before. */
  readonly stale: boolean;
  readonly staleReason?: string;
  readonly staleSince?: string;
  /** Whether the Docker events stream is connected (undefined: no follower). */
  readonly dockerEvents?: 'connected' | 'disconnected';
  readonly dockerEventsError?: string;
  /** Times the events stream was re-established after a break. */
  readonly dockerReconnects: number;
  readonly collections: number;
  readonly failedCollections: number;
  /** Wall-clock ms of the last collection's end (0 before the first). */
  readonly lastCollectionAtMs: number;
  /** What capture (conntrack events) does; absent when the agent has no capture. */
  readonly capture?: CaptureStatus;
}

/** What subscribers hear. */
export type AgentUpdate =
  /** A collection was accepted: the new state, its topology diff (absent for the first or an empty diff) and events. */
  | { readonly kind: 'state'; readonly state: AgentState; readonly diff?: TopologyDiff; readonly events: readonly ChangeEvent[] }
  /** A collection ran (accepted or not): for metrics. */
  | { readonly kind: 'collection'; readonly runs: readonly CollectorRun[]; readonly durationMs: number; readonly accepted: boolean }
  /** Connection events captured from the kernel as they happened (between collections): for the events journal. */
  | { readonly kind: 'events'; readonly events: readonly ChangeEvent[] }
  /** The status changed (stale, events stream). */
  | { readonly kind: 'status'; readonly status: AgentStatus };

/** The running agent, as outputs see it. */
export interface Agent {
  readonly intervalMs: number;
  /** The latest accepted state; undefined before the first. */
  current(): AgentState | undefined;
  status(): AgentStatus;
  /** History, when one is kept. */
  readonly history: HistoryStore | undefined;
  /** Listens to updates; returns the unsubscribe function. */
  subscribe(listener: (update: AgentUpdate) => void): () => void;
}

/** The agent with its controls (for the composition root and tests). */
export interface RunningAgent extends Agent {
  start(): void;
  /** Stops the loop and the follower, waits for a running collection to end. */
  stop(): Promise<void>;
  /** Asks for a collection soon (debounced), e.g. on a Docker event. */
  trigger(reason: string): void;
  /** Runs one collection now (outside the tick); resolves with the state after it. */
  collectNow(): Promise<AgentState | undefined>;
  /** Hands events captured between collections (connection.opened / closed) to subscribers (the events journal). */
  publish(events: readonly ChangeEvent[]): void;
}

/** Dependencies of createAgent. */
export interface AgentDeps {
  readonly collection: AgentCollection;
  /** Default: core's runPipeline with default options. */
  readonly render?: Renderer;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  readonly intervalMs: number;
  readonly clock?: AgentClock;
  readonly store?: HistoryStore;
  readonly events?: DockerEventsFollower;
  /** Collectors without which a snapshot is no news (default `docker`): when one fails the state goes stale. */
  readonly essential?: readonly string[];
  /** How capture is doing, read at each status() call (absent: no capture). */
  readonly captureStatus?: () => CaptureStatus;
  /** Events within this many ms are folded into one collection (default 50). */
  readonly debounceMs?: number;
  /** How often history is pruned (default hourly). */
  readonly pruneEveryMs?: number;
  /**
   * Called once with an error after which the process must not carry on (see collectors' isFatal); the loop has
   * stopped by then. The composition root exits. Default: rethrown as an unhandled rejection.
   */
  readonly onFatal?: (err: unknown) => void;
}

const systemClock: AgentClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Creates the agent (not started). */
export function createAgent(deps: AgentDeps): RunningAgent {
  const clock = deps.clock ?? systemClock;
  const essential = new Set(deps.essential ?? ['docker']);
  const debounceMs = deps.debounceMs ?? 50;
  const pruneEveryMs = deps.pruneEveryMs ?? 3_600_000;
  const listeners = new Set<(u: AgentUpdate) => void>();
  const render: Renderer = deps.render ?? ((snapshot, memory) => runPipeline(snapshot, memory));
  let state: AgentState | undefined;
  let memory: PipelineMemory | undefined;
  let status: AgentStatus = {
    started: false, intervalMs: deps.intervalMs, stale: false, dockerReconnects: 0, collections: 0, failedCollections: 0, lastCollectionAtMs: 0,
    ...(deps.events ? { dockerEvents: 'disconnected' as const } : {}),
  };
  let stopped = true;
  let loop: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let triggered = false;
  let wake: (() => void) | undefined;
  // Ends the current wait at once (stop).
  let resume: (() => void) | undefined;
  let everConnected = false;
  const collectorLog = createCollectorLog(deps.logger);
  const history = deps.store ? createHistoryWriter(deps.store, deps.logger, pruneEveryMs) : undefined;

  const emit = (u: AgentUpdate) => {
    for (const l of listeners) {
      try {
        l(u);
      } catch (err) {
        deps.logger.error({ err }, 'agent subscriber failed');
      }
    }
  };
  const setStatus = (patch: Partial<AgentStatus>) => {
    const next = { ...status, ...patch };
    const changed = next.stale !== status.stale || next.dockerEvents !== status.dockerEvents;
    status = next;
    if (changed) emit({ kind: 'status', status });
  };

  async function collectOnce(): Promise<void> {
    const t0 = clock.now();
    let result: { snapshot: Snapshot; runs: CollectorRun[] };
    try {
      result = await deps.collection.collect();
    } catch (err) {
      if (isFatal(err)) throw err;
      // runCollectors throws only what is fatal; an injected collection might throw anything: count it, keep the last state.
      deps.logger.error({ err }, 'collection failed');
      setStatus({ failedCollections: status.failedCollections + 1, collections: status.collections + 1, stale: true, staleReason: String(err), staleSince: status.staleSince ?? new Date(t0).toISOString(), lastCollectionAtMs: clock.now() });
      emit({ kind: 'collection', runs: [], durationMs: clock.now() - t0, accepted: false });
      return;
    }
    const { snapshot, runs } = result;
    const durationMs = clock.now() - t0;
    collectorLog.report(runs, clock.now());
    const failedEssential = runs.find((r) => !r.ok && essential.has(r.name));
    if (failedEssential) {
      // Without the inventory the snapshot would say "no containers": keep serving the last state, marked stale.
      setStatus({
        collections: status.collections + 1, failedCollections: status.failedCollections + 1, lastCollectionAtMs: clock.now(),
        stale: true, staleReason: `${failedEssential.name}: ${failedEssential.error ?? 'failed'}`, staleSince: status.staleSince ?? new Date(t0).toISOString(),
      });
      emit({ kind: 'collection', runs, durationMs, accepted: false });
      return;
    }
    const rendered = render(snapshot, memory);
    memory = rendered.memory;
    const { attribution, topology, traffic, edgeBytes } = rendered;
    const prev = state;
    const next: AgentState = { seq: (prev?.seq ?? 0) + 1, snapshot, attribution, topology, traffic, edgeBytes, runs, durationMs };
    state = next;
    const { staleReason: _r, staleSince: _s, ...rest } = status;
    status = { ...rest, stale: status.stale };
    setStatus({ collections: status.collections + 1, lastCollectionAtMs: clock.now(), stale: false });
    // Never throws: a failed write marks history broken and is retried at the next collection (history-writer.ts).
    history?.write(clock.now(), topology, traffic);
    let diff: TopologyDiff | undefined;
    if (prev) {
      const d = diffTopology(prev.topology, topology);
      if (!isEmptyDiff(d)) diff = d;
    }
    emit({ kind: 'collection', runs, durationMs, accepted: true });
    // Changes between two collections, then the connections capture saw as they happened (however short).
    const changes = toChangeEvents(prev?.topology, topology);
    const events = rendered.captured && rendered.captured.length > 0 ? [...changes, ...rendered.captured] : changes;
    emit({ kind: 'state', state: next, ...(diff ? { diff } : {}), events });
  }

  /** Runs one collection, never two at once: a caller arriving during one waits for it and runs another. */
  async function collectSerial(): Promise<void> {
    while (running) await running;
    running = collectOnce().finally(() => { running = undefined; });
    await running;
  }

  /** Waits `ms`; a trigger cuts the wait short to the debounce, a stop ends it at once. */
  function wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let handle: unknown;
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clock.clearTimeout(handle);
        wake = undefined;
        resume = undefined;
        resolve();
      };
      handle = clock.setTimeout(done, Math.max(0, ms));
      resume = done;
      wake = () => {
        clock.clearTimeout(handle);
        // Fold a burst of events (connect, start…) into one collection, timed from the first.
        handle = clock.setTimeout(done, debounceMs);
        wake = undefined;
      };
      if (stopped) done();
      else if (triggered) wake();
    });
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const started = clock.now();
      triggered = false;
      await collectSerial();
      if (stopped) break;
      // Fixed rate: the next tick is one interval after this one started; a late tick runs at once.
      await wait(started + deps.intervalMs - clock.now());
    }
  }

  const agent: RunningAgent = {
    intervalMs: deps.intervalMs,
    history: deps.store,
    current: () => state,
    status: () => (deps.captureStatus ? { ...status, capture: deps.captureStatus() } : status),
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    start() {
      if (!stopped) return;
      stopped = false;
      setStatus({ started: true });
      loop = run().catch((err: unknown) => {
        stopped = true;
        if (!deps.onFatal) throw err;
        deps.onFatal(err);
      });
      deps.events?.start({
        onEvent: (e) => {
          deps.logger.debug({ event: e }, 'docker event');
          deps.collection.dockerEvents?.('event', e.container ?? (e.type === 'container' ? e.id : undefined), `${e.type} ${e.action}`);
          agent.trigger(`${e.type} ${e.action}`);
        },
        onConnected: () => {
          if (everConnected) setStatus({ dockerReconnects: status.dockerReconnects + 1 });
          everConnected = true;
          const { dockerEventsError: _e, ...rest } = status;
          status = rest;
          setStatus({ dockerEvents: 'connected' });
          deps.collection.dockerEvents?.('connected');
          // Whatever happened while the stream was down: look again.
          agent.trigger('events connected');
        },
        onDisconnected: (err) => {
          setStatus({ dockerEvents: 'disconnected', dockerEventsError: err.message });
          deps.collection.dockerEvents?.('lost');
          agent.trigger('events lost');
        },
      });
    },
    async stop() {
      stopped = true;
      resume?.();
      await deps.events?.stop();
      await loop;
      while (running) await running;
    },
    trigger(reason) {
      deps.logger.debug({ reason }, 'collection triggered');
      triggered = true;
      wake?.();
    },
    async collectNow() {
      await collectSerial();
      return state;
    },
    publish(events) {
      if (events.length > 0) emit({ kind: 'events', events });
    },
  };
  return agent;
}
