// The hub: keeps every host's latest document as the fleet's messages arrive (in stream order), renders the fleet
// with an injected merge (core's mergeFleet), and serves it through the Agent interface, so buildApp gives the
// hub the agent's API, streams, events, /metrics, map and `?at=` history. It does no I/O of its own: messages come
// in through accept() (hub-nats.ts feeds it from JetStream), history goes to an injected store.
import type { Logger } from 'pino';
import type { Agent, AgentState, AgentStatus, AgentUpdate } from '../agent/loop.js';
import type { HistoryStore } from '../agent/history.js';
import { createHistoryWriter } from '../agent/history-writer.js';
import type { Attribution } from '../core/attribute.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { Topology, TopologyDiff } from '../core/model/topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import type { EdgeBytes } from '../core/report/edge-bytes.js';
import { checkHostEvents, type HostEventLimits } from '../core/fleet/parse-host-events.js';
import { diffTopology, isEmptyDiff, sameIds } from '../core/topology/diff-topology.js';
import { applyPatch, type Json } from './doc-patch.js';
import type { EventsMessage, FleetMessage } from './wire.js';

/** One host as the hub knows it. */
export interface HubHost {
  /** The host's id (subject token of its Docker engine id). */
  readonly hostId: string;
  /** Its current document: the last full document with the latest diff applied. */
  readonly doc: Json;
  /** The agent run, epoch and diff sequence the document is at. */
  readonly run: string;
  readonly epoch: number;
  readonly seq: number;
  /** The agent's interval. */
  readonly intervalMs: number;
  /** When the stream stored the host's latest message (ms since the epoch, the NATS server's clock). */
  readonly lastSeenMs: number;
  /** The agent's own time of its latest state (its clock). */
  readonly publishedAtMs: number;
  /** True once the host missed `staleAfterIntervals` of its intervals. */
  readonly stale: boolean;
}

/** What the merge renders from the hosts: the topology, and optionally the agent-state parts the API serves. */
export interface FleetRendering {
  readonly topology: Topology;
  readonly snapshot?: Snapshot;
  readonly attribution?: Attribution;
  readonly traffic?: ReadonlyMap<string, ContainerTraffic>;
  readonly edgeBytes?: ReadonlyMap<string, EdgeBytes>;
}

/** Renders the fleet (core's mergeFleet over the hosts' documents). */
export type FleetRenderer = (hosts: readonly HubHost[], nowMs: number) => FleetRendering;

/** How the hub is doing (in /api/v1/status as `fleet`). */
export interface HubStatus {
  readonly hosts: number;
  readonly staleHosts: number;
  /** True once the hub has read the stream up to where it was when the hub started. */
  readonly rebuilt: boolean;
  /** ms from the hub's start to rebuilt. */
  readonly rebuildMs?: number;
  readonly messages: number;
  /** Messages refused (undecodable, a diff without its full document, a patch that did not fit). */
  readonly rejected: number;
  readonly lastRejection?: string;
  /** The agents' change events served (each with its host), and events refused (the rest of their batch kept). */
  readonly events: number;
  readonly eventsRefused: number;
  /** NATS consumer: connected or not. */
  readonly nats: 'connecting' | 'connected' | 'disconnected';
  readonly natsError?: string;
}

/** Settings and dependencies of the hub. */
export interface HubOptions {
  readonly render: FleetRenderer;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** A host is stale after this many of its intervals without a message (default 3). */
  readonly staleAfterIntervals?: number;
  /** A stale host's state is kept this long after its last message, then forgotten (default 24 h). */
  readonly retentionMs?: number;
  /** Messages within this many ms are rendered once (default 50). */
  readonly debounceMs?: number;
  /** How often staleness is looked at (default 1 s). */
  readonly tickMs?: number;
  readonly store?: HistoryStore;
  readonly now?: () => number;
  /**
   * Checks a host's document before the hub holds it (full documents, and documents after a diff); throws why not.
   * For a diff, `checked` is the full document it was applied to (checked before): what the diff left as it was
   * need not be checked again.
   */
  readonly check?: (hostId: string, doc: Json, checked?: Json) => void;
  /** Limits of the agents' event batches (core's DEFAULT_HOST_EVENT_LIMITS). */
  readonly eventLimits?: Partial<HostEventLimits>;
}

/** The hub, as buildApp and the composition root see it. */
export interface Hub extends Agent {
  /** Takes one message, stored by the stream at `storedAtMs`; returns why it was refused, or undefined. */
  accept(message: FleetMessage, storedAtMs: number): string | undefined;
  /** Counts a message that could not even be decoded. */
  reject(reason: string): void;
  /** Says the stream has been read up to where it was at start (the fleet is rebuilt). */
  markRebuilt(): void;
  setNats(state: HubStatus['nats'], error?: string): void;
  hosts(): readonly HubHost[];
  hubStatus(): HubStatus;
  /** Renders now (tests; the hub renders by itself after messages and on its tick). */
  renderNow(): void;
  start(): void;
  stop(): Promise<void>;
}

const EMPTY_ATTRIBUTION: Attribution = { containers: [], unclaimed: [] };

function emptySnapshot(takenAt: string, hostname: string): Snapshot {
  return {
    takenAt, hostname, issues: [], containers: [], netns: { host: 0, hostPid: 'self', containers: [] }, processes: [], sockets: [], netdev: [],
    conntrack: { status: 'unavailable', reason: 'a hub collects nothing itself: each host\'s agent reads its own conntrack table' },
  };
}

/** Deep equality of two JSON-like values, without building any text (the fleet's render compares thousands). */
export function sameValue(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > 64) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/**
 * The next topology with every node and edge equal to the previous one's replaced by that previous object: the
 * merge makes new objects each time, and what follows (diff, live views) compares by identity first, so the
 * fleet's unchanged thousands cost one comparison instead of several serialisations.
 */
export function internTopology(prev: Topology | undefined, next: Topology): Topology {
  if (!prev) return next;
  const reuse = <T extends { readonly id: string }>(before: readonly T[], after: readonly T[]): T[] => {
    // The same ids at the same places (the common case: both sorted, nothing added or removed): no map.
    if (sameIds(before, after)) return after.map((x, i) => { const old = before[i] as T; return sameValue(old, x) ? old : x; });
    const byId = new Map(before.map((x) => [x.id, x]));
    return after.map((x) => {
      const old = byId.get(x.id);
      return old !== undefined && sameValue(old, x) ? old : x;
    });
  };
  return { ...next, nodes: reuse(prev.nodes, next.nodes), edges: reuse(prev.edges, next.edges) };
}

/** Creates the hub (call start()). */
export function createHub(options: HubOptions & { readonly hostname: string }): Hub {
  const now = options.now ?? Date.now;
  const staleAfter = options.staleAfterIntervals ?? 3;
  const retentionMs = options.retentionMs ?? 86_400_000;
  const debounceMs = options.debounceMs ?? 50;
  const tickMs = options.tickMs ?? 1000;
  const startedAt = now();
  const hosts = new Map<string, HubHost>();
  const full = new Map<string, Json>();
  const listeners = new Set<(u: AgentUpdate) => void>();
  const history = options.store ? createHistoryWriter(options.store, options.logger, 3_600_000) : undefined;
  let state: AgentState | undefined;
  let renderTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let hub: HubStatus = { hosts: 0, staleHosts: 0, rebuilt: false, messages: 0, rejected: 0, events: 0, eventsRefused: 0, nats: 'connecting' };
  let status: AgentStatus = { started: false, intervalMs: tickMs, stale: true, staleReason: 'rebuilding the fleet from NATS', staleSince: new Date(startedAt).toISOString(), dockerReconnects: 0, collections: 0, failedCollections: 0, lastCollectionAtMs: 0 };

  const emit = (u: AgentUpdate) => {
    for (const l of listeners) {
      try {
        l(u);
      } catch (err) {
        options.logger.error({ err }, 'hub subscriber failed');
      }
    }
  };
  const setStatus = (next: AgentStatus) => {
    const changed = next.stale !== status.stale;
    status = next;
    if (changed) emit({ kind: 'status', status });
  };
  const refreshStatus = () => {
    const stale = !hub.rebuilt || hub.nats !== 'connected';
    const { staleReason: _r, staleSince: _s, ...rest } = status;
    setStatus(stale
      ? { ...rest, stale, staleReason: !hub.rebuilt ? 'rebuilding the fleet from NATS' : `NATS ${hub.nats}${hub.natsError ? `: ${hub.natsError}` : ''}`, staleSince: status.staleSince ?? new Date(now()).toISOString() }
      : { ...rest, stale });
  };

  /** Marks hosts stale or forgets them; true when anything changed. */
  function age(t: number): boolean {
    let changed = false;
    for (const [id, h] of hosts) {
      const silentMs = t - h.lastSeenMs;
      if (silentMs > retentionMs) {
        hosts.delete(id);
        full.delete(id);
        options.logger.info({ host: id }, 'host forgotten: nothing from it within the retention');
        changed = true;
        continue;
      }
      const stale = silentMs > staleAfter * h.intervalMs;
      if (stale !== h.stale) {
        hosts.set(id, { ...h, stale });
        if (stale) options.logger.warn({ host: id, silentMs }, 'host stale: its agent stopped publishing');
        else options.logger.info({ host: id }, 'host back');
        changed = true;
      }
    }
    return changed;
  }

  function render(): void {
    if (renderTimer) clearTimeout(renderTimer);
    renderTimer = undefined;
    const t = now();
    const t0 = performance.now();
    age(t);
    let r: FleetRendering;
    const tm = performance.now();
    try {
      r = options.render([...hosts.values()], t);
    } catch (err) {
      options.logger.error({ err }, 'fleet merge failed');
      status = { ...status, failedCollections: status.failedCollections + 1 };
      return;
    }
    const mergeMs = performance.now() - tm;
    const prev = state;
    const topology = internTopology(prev?.topology, r.topology);
    const next: AgentState = {
      seq: (prev?.seq ?? 0) + 1,
      // The hub's own name at the top of its reports (`host.hostname`); each container names its own host.
      snapshot: r.snapshot ? { ...r.snapshot, hostname: options.hostname } : emptySnapshot(topology.takenAt, options.hostname),
      attribution: r.attribution ?? EMPTY_ATTRIBUTION,
      topology,
      traffic: r.traffic ?? new Map(),
      edgeBytes: r.edgeBytes ?? new Map(),
      runs: [],
      durationMs: performance.now() - t0,
    };
    state = next;
    const stale = [...hosts.values()].filter((h) => h.stale).length;
    hub = { ...hub, hosts: hosts.size, staleHosts: stale };
    status = { ...status, collections: status.collections + 1, lastCollectionAtMs: t };
    history?.write(t, topology, next.traffic);
    let diff: TopologyDiff | undefined;
    if (prev) {
      const d = diffTopology(prev.topology, topology);
      if (!isEmptyDiff(d)) diff = d;
    }
    // The merge alone, as a run (in /metrics: portolan_collector_duration_seconds{collector="merge"}).
    emit({ kind: 'collection', runs: [{ name: 'merge', durationMs: mergeMs, ok: true }], durationMs: next.durationMs, accepted: true });
    // No events of its own: the hub serves the ones the agents publish (acceptEvents), each with its host.
    emit({ kind: 'state', state: next, ...(diff ? { diff } : {}), events: [] });
  }

  function schedule(): void {
    if (renderTimer || !hub.rebuilt) return;
    renderTimer = setTimeout(render, debounceMs);
    renderTimer.unref?.();
  }

  function refuse(reason: string): string {
    hub = { ...hub, rejected: hub.rejected + 1, lastRejection: reason };
    if (hub.rejected === 1 || hub.rejected % 1000 === 0) options.logger.warn({ reason, rejected: hub.rejected }, 'fleet message refused');
    return reason;
  }

  /**
   * An agent's batch of change events: each checked (hostile input), kept with its host and handed to subscribers
   * (the events journal of /api/v1/events) as it arrives, whether or not the fleet is rebuilt yet.
   */
  function acceptEvents(m: EventsMessage): string | undefined {
    let checked;
    // The host as the topology names it (its engine id, which the subject token may spell differently), once its
    // document is held; the hub reads events after the fleet's state is rebuilt, so a host still publishing is known.
    const engineId = (hosts.get(m.host)?.doc as { engineId?: unknown } | undefined)?.engineId;
    try {
      checked = checkHostEvents(typeof engineId === 'string' ? engineId : m.host, m.events, options.eventLimits);
    } catch (err) {
      return refuse(`events of ${m.host} refused: ${(err as Error).message}`);
    }
    hub = { ...hub, events: hub.events + checked.events.length, eventsRefused: hub.eventsRefused + checked.refused };
    if (checked.events.length > 0) emit({ kind: 'events', events: checked.events });
    if (checked.refused === 0) return undefined;
    // The batch is taken (its good events served): counted as refused events, not as a refused message.
    const reason = `${checked.refused} of ${m.events.length} events of ${m.host} refused, first: ${checked.reasons[0]?.message ?? ''}`;
    if (hub.eventsRefused === checked.refused) options.logger.warn({ reason }, 'fleet events refused (counted in eventsRefused)');
    hub = { ...hub, lastRejection: reason };
    return reason;
  }

  function accept(m: FleetMessage, storedAtMs: number): string | undefined {
    hub = { ...hub, messages: hub.messages + 1 };
    if (m.kind === 'events') return acceptEvents(m);
    const cur = hosts.get(m.host);
    const seen = Math.max(storedAtMs, cur?.lastSeenMs ?? 0);
    if (m.kind === 'full') {
      // Stream order is publish order; a full document of an older run than the one held is a leftover.
      if (cur && cur.run === m.run && m.epoch < cur.epoch) return refuse(`full document of ${m.host} epoch ${m.epoch} older than ${cur.epoch}`);
      if (cur && cur.run !== m.run && m.at < cur.publishedAtMs) return refuse(`full document of ${m.host} from an older agent run`);
      try {
        options.check?.(m.host, m.doc);
      } catch (err) {
        return refuse(`full document of ${m.host} refused: ${(err as Error).message}`);
      }
      full.set(m.host, m.doc);
      hosts.set(m.host, { hostId: m.host, doc: m.doc, run: m.run, epoch: m.epoch, seq: 0, intervalMs: m.intervalMs, lastSeenMs: seen, publishedAtMs: m.at, stale: cur?.stale ?? false });
    } else if (m.kind === 'diff') {
      const base = full.get(m.host);
      if (!cur || base === undefined || cur.run !== m.run || cur.epoch !== m.epoch) {
        return refuse(`diff of ${m.host} for a full document the hub does not hold (run ${m.run} epoch ${m.epoch})`);
      }
      if (m.seq <= cur.seq) return undefined;
      let doc: Json;
      try {
        doc = m.patch === null ? base : applyPatch(base, m.patch);
        if (m.patch !== null) options.check?.(m.host, doc, base);
      } catch (err) {
        return refuse(`diff of ${m.host} does not fit its full document: ${(err as Error).message}`);
      }
      hosts.set(m.host, { ...cur, doc, seq: m.seq, intervalMs: m.intervalMs, lastSeenMs: seen, publishedAtMs: m.at });
    } else {
      if (!cur || cur.run !== m.run) return refuse(`heartbeat of ${m.host} for a run the hub does not hold`);
      hosts.set(m.host, { ...cur, intervalMs: m.intervalMs, lastSeenMs: seen });
      // A heartbeat changes nothing shown unless the host was stale.
      if (!cur.stale) return undefined;
    }
    schedule();
    return undefined;
  }

  return {
    get intervalMs() { return tickMs; },
    history: options.store,
    current: () => state,
    status: () => ({ ...status, fleet: hub } as AgentStatus),
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    accept,
    reject(reason) { refuse(reason); hub = { ...hub, messages: hub.messages + 1 }; },
    markRebuilt() {
      if (hub.rebuilt) return;
      hub = { ...hub, rebuilt: true, rebuildMs: now() - startedAt };
      options.logger.info({ hosts: hosts.size, messages: hub.messages, rebuildMs: hub.rebuildMs }, 'fleet rebuilt from NATS');
      render();
      refreshStatus();
    },
    setNats(nats, error) {
      const { natsError: _e, ...rest } = hub;
      hub = { ...rest, nats, ...(error !== undefined ? { natsError: error } : {}) };
      refreshStatus();
    },
    hosts: () => [...hosts.values()],
    hubStatus: () => hub,
    renderNow: render,
    start() {
      if (tickTimer) return;
      status = { ...status, started: true };
      tickTimer = setInterval(() => {
        if (hub.rebuilt && age(now())) render();
      }, tickMs);
      tickTimer.unref?.();
    },
    async stop() {
      if (tickTimer) clearInterval(tickTimer);
      if (renderTimer) clearTimeout(renderTimer);
      tickTimer = undefined;
      renderTimer = undefined;
    },
  };
}
