// An edge's health, judged on what happened recently (pure): the retransmit ratio and unanswered connects over
// the last minute of samples (EdgeTraffic.recent) and the RTT percentiles of its connections now — never on
// lifetime counters, which keep one old retransmit on a long connection for ever. The web map colours edges
// by it, its legend and the README state this rule.
import { EDGE_WINDOW_MS, type TopologyEdge } from '../model/topology.js';

/** `ok`; `slow` (degraded); `bad` (failing); `unknown` (not measured: UDP, the /proc source, history). */
export type HealthLevel = 'ok' | 'slow' | 'bad' | 'unknown';

/** An edge's health and why. */
export interface EdgeHealth {
  readonly level: HealthLevel;
  /** What made it slow or bad (or what cannot be judged), one short sentence each; empty when ok. */
  readonly reasons: readonly string[];
}

/** The thresholds of the rule. */
export const EDGE_HEALTH_RULE = {
  /** The window retransmits and connects are counted over, in seconds. */
  windowSeconds: EDGE_WINDOW_MS / 1000,
  /** Retransmitted / sent segments over the window from which an edge is slow, and bad … */
  slowRetransmitRatio: 0.01,
  badRetransmitRatio: 0.05,
  /** … counting only from this many retransmitted segments in the window (one lost segment is not a trend). */
  minRetransmits: 3,
  /** 95th percentile of the connections' smoothed RTT from which an edge is slow, and bad (ms). */
  slowRttP95Ms: 100,
  badRttP95Ms: 500,
} as const;

const RANK: Record<HealthLevel, number> = { unknown: 0, ok: 1, slow: 2, bad: 3 };

/** The worse of two levels (unknown counts as best). */
export function worseHealth(a: HealthLevel, b: HealthLevel): HealthLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

// Client socket states after the server answered the SYN (SYN_RECV: the server's socket, its SYN-ACK sent).
const ANSWERED = ['ESTABLISHED', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'] as const;

const percent = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const ms = (x: number) => `${x >= 10 ? Math.round(x) : x.toFixed(1)} ms`;

/**
 * Health of an edge (pure), the worst of:
 * - connects: TCP connects unanswered over the window (pending a second or more, or gone unanswered) with none
 *   answered → bad; some unanswered among answered ones → slow. Without a window (a one-shot collection,
 *   history) the current SYN_SENT connections with none established stand in;
 * - retransmits: at least `minRetransmits` retransmitted segments in the window and a ratio to segments sent
 *   ≥ 5 % → bad, ≥ 1 % → slow;
 * - RTT: the connections' smoothed RTT, 95th percentile ≥ 500 ms → bad, ≥ 100 ms → slow;
 * - UDP: some flows unreplied among replied ones in the window → slow (requests lost); only unreplied flows
 *   stay unknown, as one-way protocols (statsd, syslog) never reply.
 * `ok` needs tcp_info on some connection (RTT and retransmits measured); otherwise `unknown` unless flagged.
 * `withReasons: false` skips writing the reasons (a map colouring thousands of edges a second needs only levels).
 */
export function edgeHealth(e: Pick<TopologyEdge, 'protocol' | 'states' | 'traffic'>, withReasons = true): EdgeHealth {
  const reasons: string[] = [];
  let level: HealthLevel = 'unknown';
  const flag = (l: HealthLevel, why: () => string) => {
    level = worseHealth(level, l);
    if (withReasons) reasons.push(why());
  };
  const t = e.traffic;
  const recent = t?.recent;
  const window = () => `${Math.round(recent?.windowSeconds ?? EDGE_HEALTH_RULE.windowSeconds)} s`;
  if (t && t.measuredConnections > 0) level = 'ok';

  if (e.protocol === 'tcp') {
    const answered = recent ? recent.connectsAnswered : ANSWERED.reduce((n, s) => n + (e.states[s] ?? 0), 0);
    const unanswered = recent ? recent.connectsUnanswered : answered === 0 ? e.states.SYN_SENT ?? 0 : 0;
    if (unanswered > 0 && answered === 0) flag('bad', () => `${unanswered} connect${unanswered === 1 ? '' : 's'} never answered${recent ? ` in ${window()}` : ''}, none answered`);
    else if (unanswered > 0) flag('slow', () => `${unanswered} of ${unanswered + answered} connects unanswered in ${window()}`);
  } else if (recent) {
    if (recent.flowsUnreplied > 0 && recent.flowsReplied > 0) flag('slow', () => `${recent.flowsUnreplied} of ${recent.flowsUnreplied + recent.flowsReplied} flows unreplied in ${window()}`);
    else if (recent.flowsUnreplied > 0 && withReasons) reasons.push('no reply seen: normal for one-way protocols (statsd, syslog), not for request/reply ones (DNS)');
  }

  if (recent && recent.retransmits >= EDGE_HEALTH_RULE.minRetransmits && recent.retransmitRatio !== undefined) {
    const r = recent.retransmitRatio;
    const why = () => `${percent(r)} of segments retransmitted in ${window()} (${recent.retransmits} of ${recent.segmentsOut})`;
    if (r >= EDGE_HEALTH_RULE.badRetransmitRatio) flag('bad', why);
    else if (r >= EDGE_HEALTH_RULE.slowRetransmitRatio) flag('slow', why);
  }

  const p95 = t?.rttP95Ms;
  if (p95 !== undefined) {
    if (p95 >= EDGE_HEALTH_RULE.badRttP95Ms) flag('bad', () => `RTT p95 ${ms(p95)}`);
    else if (p95 >= EDGE_HEALTH_RULE.slowRttP95Ms) flag('slow', () => `RTT p95 ${ms(p95)}`);
  }
  return { level, reasons };
}

/** One line stating the rule, for legends and help texts. */
export function healthRuleText(): string {
  const r = EDGE_HEALTH_RULE;
  return `Over the last ${r.windowSeconds} s: bad when connects go unanswered with none answered, ≥ ${r.badRetransmitRatio * 100}% of segments ` +
    `retransmitted, or RTT p95 ≥ ${r.badRttP95Ms} ms; slow when some connects go unanswered, ≥ ${r.slowRetransmitRatio * 100}% retransmitted ` +
    `(at least ${r.minRetransmits} segments), RTT p95 ≥ ${r.slowRttP95Ms} ms, or some UDP flows get no reply.`;
}
