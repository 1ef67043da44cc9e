// What each edge did over the last minute of samples (pure): segments sent and retransmitted, connects answered
// or not, UDP flows replied or not. Health is judged on these (report/edge-health.ts), not on connections'
// lifetime counters: one retransmit early in a long connection must not colour its edge for ever.
import { EDGE_WINDOW_MS, type ConnectionDetail, type EdgeRecentTraffic, type Topology } from '../model/topology.js';
import type { TcpInfo } from '../model/socket.js';
import { connectionSockets } from '../report/edge-bytes.js';

/** Cumulative segment counters of an edge at one sample. */
interface WindowPoint {
  readonly atMs: number;
  readonly segmentsOut: number;
  readonly retransmits: number;
}

/** How one connection (or UDP flow) was seen over the window. */
interface Attempt {
  readonly udp: boolean;
  /** First and last sample that saw it waiting for an answer (SYN_SENT, conntrack UNREPLIED). */
  readonly firstPendingMs?: number;
  readonly lastPendingMs?: number;
  /** Last sample that saw it answered (any later TCP state; conntrack REPLIED). */
  readonly answeredMs?: number;
  readonly lastSeenMs: number;
}

/** What the window keeps between samples. */
export interface EdgeWindowState {
  readonly atMs: number;
  /** Per socket of a connection (`<edge>#<client>><server>#c|s`): its last `segs_out` and `total_retrans`. */
  readonly sockets: ReadonlyMap<string, { readonly segsOut: number; readonly retrans: number }>;
  /** Per edge: its cumulative counters at each sample of the window, oldest first. */
  readonly series: ReadonlyMap<string, readonly WindowPoint[]>;
  /** Per edge: the connections and flows seen in the window, by `<client>><server>`. */
  readonly attempts: ReadonlyMap<string, ReadonlyMap<string, Attempt>>;
}

/** Most samples an edge's series keeps (a 0.25 s interval still covers the minute). */
const MAX_POINTS = 256;
/** Most connections an edge tracks for connects (a SYN storm costs bounded memory; the oldest go first). */
const MAX_ATTEMPTS = 4096;
/** An unanswered SYN is retransmitted after 1 s (the kernel's initial RTO): pending that long is unanswered. */
const UNANSWERED_AFTER_MS = 1000;

const PENDING = new Set(['SYN_SENT', 'UNREPLIED']);
const endpoint = (e: { address: string; port: number }) => `${e.address}|${e.port}`;
const connKey = (d: ConnectionDetail) => `${endpoint(d.client)}>${endpoint(d.server)}`;

/**
 * Advances the window by one sample (pure) and gives each edge's recent figures once the window holds two
 * samples of it. A socket first seen after the first sample counts all it sent (it opened since); on the first
 * sample everything is a baseline. Edges gone from the topology are forgotten.
 */
export function advanceEdgeWindow(
  prev: EdgeWindowState | undefined, topology: Topology, tcp: ReadonlyMap<string, TcpInfo>, atMs: number,
): { state: EdgeWindowState; recent: Map<string, EdgeRecentTraffic> } {
  const sockets = new Map<string, { segsOut: number; retrans: number }>();
  const series = new Map<string, WindowPoint[]>();
  const attempts = new Map<string, Map<string, Attempt>>();
  const recent = new Map<string, EdgeRecentTraffic>();
  const since = atMs - EDGE_WINDOW_MS;
  // A sample at or before the previous one (a clock step back) starts the window again rather than divide by ≤ 0.
  const ordered = prev !== undefined && atMs > prev.atMs;
  for (const e of topology.edges) {
    const before = ordered ? prev.series.get(e.id) : undefined;
    const last = before?.at(-1);
    let segmentsOut = last?.segmentsOut ?? 0;
    let retransmits = last?.retransmits ?? 0;
    const seen = new Map(ordered ? prev.attempts.get(e.id) : undefined);
    for (const d of e.details ?? []) {
      const k = connKey(d);
      if (e.protocol === 'tcp') {
        const ends = connectionSockets(d, tcp);
        for (const [side, info] of [['c', ends.client], ['s', ends.server]] as const) {
          if (!info) continue;
          const sk = `${e.id}#${k}#${side}`;
          const was = ordered ? prev.sockets.get(sk) : undefined;
          sockets.set(sk, { segsOut: info.segsOut, retrans: info.retransmits });
          if (!ordered) continue;
          // A counter that went down is a new connection on a reused 4-tuple: it counts from zero.
          segmentsOut += was && info.segsOut >= was.segsOut ? info.segsOut - was.segsOut : info.segsOut;
          retransmits += was && info.retransmits >= was.retrans ? info.retransmits - was.retrans : info.retransmits;
        }
      }
      const old = seen.get(k);
      const pending = PENDING.has(d.state);
      seen.delete(k); // re-inserted last: the map stays ordered by last sighting, oldest first, for eviction
      seen.set(k, {
        udp: e.protocol === 'udp',
        firstPendingMs: pending ? (old?.firstPendingMs ?? atMs) : old?.firstPendingMs,
        lastPendingMs: pending ? atMs : old?.lastPendingMs,
        answeredMs: pending ? old?.answeredMs : atMs,
        lastSeenMs: atMs,
      });
    }
    for (const [k, a] of seen) {
      if (a.lastSeenMs >= since && seen.size <= MAX_ATTEMPTS) break;
      seen.delete(k);
    }
    const points = [...(before ?? []).filter((p) => p.atMs >= since), { atMs, segmentsOut, retransmits }].slice(-MAX_POINTS);
    series.set(e.id, points);
    if (seen.size > 0) attempts.set(e.id, seen);
    const first = points[0];
    if (!first || points.length < 2) continue;
    recent.set(e.id, recentFigures(first, { atMs, segmentsOut, retransmits }, seen, atMs));
  }
  return { state: { atMs, sockets, series, attempts }, recent };
}

function recentFigures(first: WindowPoint, now: WindowPoint, seen: ReadonlyMap<string, Attempt>, atMs: number): EdgeRecentTraffic {
  const seconds = (now.atMs - first.atMs) / 1000;
  const segmentsOut = now.segmentsOut - first.segmentsOut;
  const retransmits = now.retransmits - first.retransmits;
  let connectsAnswered = 0;
  let connectsUnanswered = 0;
  let flowsReplied = 0;
  let flowsUnreplied = 0;
  for (const a of seen.values()) {
    const answered = a.answeredMs !== undefined;
    // Pending at one sample only, and still there: it may be answered a moment later, so not counted yet.
    const unanswered = !answered && a.firstPendingMs !== undefined &&
      ((a.lastPendingMs ?? a.firstPendingMs) - a.firstPendingMs >= UNANSWERED_AFTER_MS || a.lastSeenMs < atMs);
    if (a.udp) {
      if (answered) flowsReplied++;
      else if (unanswered) flowsUnreplied++;
    } else if (answered) {
      connectsAnswered++;
    } else if (unanswered) {
      connectsUnanswered++;
    }
  }
  return {
    windowSeconds: seconds,
    segmentsOut,
    retransmits,
    retransmitsPerSec: seconds > 0 ? retransmits / seconds : 0,
    ...(segmentsOut > 0 ? { retransmitRatio: retransmits / segmentsOut } : {}),
    connectsAnswered, connectsUnanswered, flowsReplied, flowsUnreplied,
  };
}
