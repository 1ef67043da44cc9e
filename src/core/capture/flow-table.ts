// Flows in flight: what capture remembers between a flow's NEW and its DESTROY (when it was read, in which
// namespace), so a DESTROY without kernel timestamps still has a duration, a flow seen in two namespaces (the
// host's and a container's where conntrack runs) counts once, and a resync after lost events (ENOBUFS) can tell
// which flows it missed; and, where the subscription follows TCP's closing states (conntrack UPDATE events to
// TIME_WAIT or CLOSE), when a TCP connection closed rather than when its entry expired (TIME_WAIT lasts 120 s).
// Bounded: past the limit the oldest entries go, and are counted. Pure: times are parameters.
import type { FlowRecord } from '../model/connection.js';
import type { ConntrackEvent } from '../model/conntrack.js';

/** Counters of the flow table. */
export interface FlowTableStats {
  readonly inFlight: number;
  readonly limit: number;
  /** NEWs of a flow already in flight from another namespace (the same flow seen twice): not counted again. */
  readonly duplicates: number;
  /** Entries dropped to stay under the limit (their DESTROY will have no observed opening). */
  readonly evicted: number;
  /** Flows a resync found open that no NEW announced (opened while events were lost). */
  readonly missedOpens: number;
  /** Flows in flight that a resync no longer found (closed while events were lost). */
  readonly missedCloses: number;
  /** Closed flows remembered (to know their copies in other namespaces): at most `limit`, and 5 minutes (+1 s). */
  readonly closedRemembered: number;
  /** TCP flows reported closed at their closing state (TIME_WAIT or CLOSE), before conntrack's DESTROY. */
  readonly closedAtState: number;
}

/**
 * When a TCP flow that reached TIME_WAIT or CLOSE (an UPDATE event) is reported closed:
 * - `state`: then (the close's own time; its later DESTROY, which carries the bytes with accounting on, is not reported);
 * - `destroy`: at its DESTROY, with the closing state's time as its close (accounting on: the bytes come only then);
 * - `off`: UPDATE events are ignored (a subscription without them), the DESTROY is the close as before.
 */
export type TcpCloseMode = 'state' | 'destroy' | 'off';

/** TCP states (as conntrack names them) in which a connection is over: the UPDATE to one of them is its close. */
export function isClosingTcpState(state: string | undefined): boolean {
  return state === 'TIME_WAIT' || state === 'CLOSE';
}

/** The table of flows in flight. */
export interface FlowTable {
  /**
   * Applies one NEW, UPDATE or DESTROY read from namespace `netns`; returns what it means, or undefined (a duplicate,
   * an update that closes nothing, a DESTROY already reported at its closing state).
   */
  apply(msg: ConntrackEvent, netns: number, receivedAtMs: number): FlowRecord | undefined;
  /** How TCP closes are reported from now on (default `off`: the subscription follows no UPDATE events). */
  setTcpCloseMode(mode: TcpCloseMode): void;
  /**
   * After lost events in `netns`: the table's dump there. Flows the dump holds that the table does not were opened
   * unseen (returned as `opened`); flows of that namespace the table holds that the dump does not were closed unseen
   * (returned as `closed`, without counters).
   */
  resync(netns: number, dump: readonly ConntrackEvent[], atMs: number): FlowRecord[];
  /** Forgets a namespace's flows (it is gone, or no longer followed). */
  dropNamespace(netns: number): void;
  stats(): FlowTableStats;
}

interface Entry {
  readonly netns: number;
  readonly openedAtMs: number;
  readonly id: number | undefined;
  /** When its TCP closing state was read (mode `destroy`: reported at the DESTROY with this time). */
  closedAtMs?: number;
}

/**
 * How long a closed flow is remembered, so that its copy in another namespace is known for the same flow when it
 * closes there later: Docker flushes the host's entries of a container it removes at once, while the copy in the
 * server's namespace (conntrack runs there for the embedded DNS rules) waits out TIME_WAIT (120 s by default).
 */
const CLOSED_MEMORY_MS = 300_000;
/** Closed flows older than CLOSED_MEMORY_MS are let go at most this often (ms), in one sweep. */
const SWEEP_EVERY_MS = 1_000;
/** A NEW of a closed flow from another namespace within this long is that flow's copy read late, not a new flow. */
const LATE_COPY_MS = 5_000;

/** The key of a flow across namespaces: protocol and original tuple (the same flow seen in two tables has it twice). */
export function flowKey(msg: ConntrackEvent): string {
  const o = msg.original;
  return `${msg.protocolNumber}|${o.src}|${o.sport ?? ''}|${o.dst}|${o.dport ?? ''}`;
}

/** Creates a flow table holding at most `limit` flows (default 200,000: ~40 s of 5,000 new connections a second). */
export function createFlowTable(limit = 200_000): FlowTable {
  // Insertion order is age order: eviction takes the first keys.
  const flows = new Map<string, Entry>();
  // Flows closed lately, by key: the namespace that had them in flight and when they closed (oldest first).
  const closed = new Map<string, { readonly netns: number; readonly atMs: number }>();
  let mode: TcpCloseMode = 'off';
  let closedAtState = 0;
  let duplicates = 0;
  let evicted = 0;
  let missedOpens = 0;
  let missedCloses = 0;

  function insert(key: string, e: Entry): void {
    flows.set(key, e);
    if (flows.size > limit) {
      const drop = Math.max(1, Math.floor(limit / 100));
      let n = 0;
      for (const k of flows.keys()) {
        if (n++ >= drop) break;
        flows.delete(k);
        evicted++;
      }
    }
  }

  // When the closed flows were last swept.
  let sweptAtMs = -Infinity;
  function rememberClosed(key: string, netns: number, atMs: number): void {
    closed.delete(key);
    closed.set(key, { netns, atMs });
    // Swept in batches — by age at most once a second, by number when past the limit, then 1 % under it — not at
    // every close: a Map walked from its start steps over the slots of the entries deleted before (until V8 rehashes
    // it), so a sweep per close cost time in proportion to the flows remembered (28 % of the table's time at
    // 200,000). Sooner or later makes no difference to what is answered: closedElsewhere compares the times itself.
    if (closed.size <= limit && atMs - sweptAtMs < SWEEP_EVERY_MS) return;
    sweptAtMs = atMs;
    const keep = closed.size > limit ? limit - Math.max(1, Math.floor(limit / 100)) : limit;
    for (const [k, c] of closed) {
      if (closed.size <= keep && atMs - c.atMs <= CLOSED_MEMORY_MS) break;
      closed.delete(k);
    }
  }

  /** A copy, seen from another namespace, of a flow that closed within `withinMs`. */
  function closedElsewhere(key: string, netns: number, atMs: number, withinMs: number): boolean {
    const c = closed.get(key);
    return c !== undefined && c.netns !== netns && atMs - c.atMs <= withinMs;
  }

  /** An UPDATE: a TCP flow that reached TIME_WAIT or CLOSE closed then; any other update means nothing here. */
  function applyClosingState(msg: ConntrackEvent, netns: number, atMs: number): FlowRecord | undefined {
    if (msg.protocol !== 'tcp' || !isClosingTcpState(msg.state)) return undefined;
    const key = flowKey(msg);
    const known = flows.get(key);
    // Its copy in another namespace, or a flow closed already (TIME_WAIT, then CLOSE on a reset): nothing new.
    if ((known && known.netns !== netns) || (!known && closed.has(key))) {
      if (known) duplicates++;
      return undefined;
    }
    if (mode === 'destroy') {
      if (known && known.closedAtMs === undefined) known.closedAtMs = atMs;
      return undefined;
    }
    if (known?.closedAtMs !== undefined) return undefined;
    closedAtState++;
    if (known) flows.delete(key);
    rememberClosed(key, netns, atMs);
    // A close whose opening was not seen (opened before the subscription, or evicted) is reported like its DESTROY
    // would have been: without an opening time.
    const asClose: ConntrackEvent = { ...msg, kind: 'destroy' };
    return known
      ? { kind: 'closed', msg: asClose, netns, receivedAtMs: atMs, openedAtMs: known.openedAtMs, closedAtMs: atMs }
      : { kind: 'closed', msg: asClose, netns, receivedAtMs: atMs, closedAtMs: atMs };
  }

  return {
    apply(msg, netns, receivedAtMs) {
      if (msg.kind === 'update') return mode === 'off' ? undefined : applyClosingState(msg, netns, receivedAtMs);
      if (msg.kind !== 'new' && msg.kind !== 'destroy') return undefined;
      const key = flowKey(msg);
      const known = flows.get(key);
      if (msg.kind === 'new') {
        if ((known && known.netns !== netns) || (!known && closedElsewhere(key, netns, receivedAtMs, LATE_COPY_MS))) {
          duplicates++;
          return undefined;
        }
        // The same tuple again in the same namespace: the old flow's DESTROY was lost or the tuple was reused; the new one wins.
        if (known) flows.delete(key);
        insert(key, { netns, openedAtMs: receivedAtMs, id: msg.id });
        return { kind: 'opened', msg, netns, receivedAtMs };
      }
      if ((known && known.netns !== netns) || (!known && closedElsewhere(key, netns, receivedAtMs, CLOSED_MEMORY_MS))) {
        duplicates++;
        return undefined;
      }
      // Reported at its closing state already: every TCP DESTROY in TIME_WAIT or CLOSE had its UPDATE to that state,
      // which took the flow out of the table. (Still in it: that UPDATE was not read, and this is the close.)
      if (mode === 'state' && !known && msg.protocol === 'tcp' && isClosingTcpState(msg.state)) return undefined;
      if (known) {
        flows.delete(key);
        rememberClosed(key, known.netns, receivedAtMs);
      }
      if (!known) return { kind: 'closed', msg, netns, receivedAtMs };
      return known.closedAtMs !== undefined
        ? { kind: 'closed', msg, netns, receivedAtMs, openedAtMs: known.openedAtMs, closedAtMs: known.closedAtMs }
        : { kind: 'closed', msg, netns, receivedAtMs, openedAtMs: known.openedAtMs };
    },
    setTcpCloseMode(m) {
      mode = m;
    },
    resync(netns, dump, atMs) {
      const out: FlowRecord[] = [];
      const live = new Set<string>();
      for (const d of dump) {
        const key = flowKey(d);
        live.add(key);
        const known = flows.get(key);
        // In flight and already over: its UPDATE to TIME_WAIT or CLOSE was among the events lost (and, reported at
        // that UPDATE, its DESTROY will not come): closed now.
        if (known && known.netns === netns && mode === 'state' && d.protocol === 'tcp' && isClosingTcpState(d.state)) {
          flows.delete(key);
          rememberClosed(key, netns, atMs);
          missedCloses++;
          out.push({ kind: 'closed', msg: { ...d, kind: 'destroy' }, netns, receivedAtMs: atMs, openedAtMs: known.openedAtMs, closedAtMs: atMs });
          continue;
        }
        // In flight, or closed lately in another namespace (the copy here waits out TIME_WAIT): not missed.
        if (known || closedElsewhere(key, netns, atMs, CLOSED_MEMORY_MS)) continue;
        // Following closing states: a TCP entry in TIME_WAIT or CLOSE is a connection over, not one opened unseen
        // (reported at its UPDATE, or, if that was lost too, at its DESTROY without an opening).
        if (mode !== 'off' && d.protocol === 'tcp' && isClosingTcpState(d.state)) continue;
        insert(key, { netns, openedAtMs: atMs, id: d.id });
        missedOpens++;
        out.push({ kind: 'opened', msg: { ...d, kind: 'new' }, netns, receivedAtMs: atMs });
      }
      for (const [key, e] of flows) {
        if (e.netns !== netns || live.has(key)) continue;
        flows.delete(key);
        missedCloses++;
        const [proto, src, sport, dst, dport] = key.split('|');
        const protocolNumber = Number(proto);
        const family = (src ?? '').includes(':') ? 'ipv6' as const : 'ipv4' as const;
        const t = { src: src ?? '', dst: dst ?? '', ...(sport ? { sport: Number(sport) } : {}), ...(dport ? { dport: Number(dport) } : {}) };
        out.push({
          kind: 'closed', netns, receivedAtMs: atMs, openedAtMs: e.openedAtMs,
          msg: {
            kind: 'destroy', family, protocol: protocolNumber === 6 ? 'tcp' : protocolNumber === 17 ? 'udp' : 'unknown', protocolNumber,
            ...(e.id !== undefined ? { id: e.id } : {}),
            // No NAT is known any more: the reply is taken as the original reversed.
            original: t, reply: { src: t.dst, dst: t.src, ...(t.dport !== undefined ? { sport: t.dport } : {}), ...(t.sport !== undefined ? { dport: t.sport } : {}) },
          },
        });
      }
      return out;
    },
    dropNamespace(netns) {
      for (const [k, e] of flows) if (e.netns === netns) flows.delete(k);
    },
    stats: () => ({ inFlight: flows.size, limit, duplicates, evicted, missedOpens, missedCloses, closedRemembered: closed.size, closedAtState }),
  };
}
