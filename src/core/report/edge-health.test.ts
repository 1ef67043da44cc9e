import { describe, expect, it } from 'vitest';
import type { EdgeRecentTraffic, EdgeTraffic, TopologyEdge } from '../model/topology.js';
import { edgeHealth, healthRuleText, worseHealth } from './edge-health.js';

const recent = (r: Partial<EdgeRecentTraffic>): EdgeRecentTraffic => ({
  windowSeconds: 60, segmentsOut: 0, retransmits: 0, retransmitsPerSec: 0, connectsAnswered: 1, connectsUnanswered: 0, flowsReplied: 0, flowsUnreplied: 0, ...r,
});
const traffic = (t: Partial<EdgeTraffic>): EdgeTraffic => ({ bytesSent: 0, bytesReceived: 0, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0, ...t });
const edge = (t: Partial<EdgeTraffic> | undefined, extra: Partial<TopologyEdge> = {}): Pick<TopologyEdge, 'protocol' | 'states' | 'traffic'> => ({
  protocol: 'tcp', states: { ESTABLISHED: 1 }, ...(t ? { traffic: traffic(t) } : {}), ...extra,
});
const retrans = (retransmits: number, segmentsOut: number) => recent({ retransmits, segmentsOut, retransmitRatio: retransmits / segmentsOut });

describe('edgeHealth', () => {
  it.each([
    ['measured, clean', edge({ rttP95Ms: 0.1, recent: retrans(0, 6000) }), 'ok'],
    ['measured, first sample (no window yet): lifetime retransmits are not judged', edge({ rttP95Ms: 0.1, retransmits: 40 }), 'ok'],
    // The case: one retransmit in 8.8 MB at 0.097 ms.
    ['1 retransmit in ~6,000 segments', edge({ rttP95Ms: 0.097, retransmits: 1, recent: retrans(1, 6000) }), 'ok'],
    ['2 of 10 segments retransmitted: too few to be a trend', edge({ recent: retrans(2, 10) }), 'ok'],
    ['3 of 200 (1.5 %)', edge({ recent: retrans(3, 200) }), 'slow'],
    ['30 of 500 (6 %)', edge({ recent: retrans(30, 500) }), 'bad'],
    ['RTT p95 120 ms', edge({ rttP95Ms: 120 }), 'slow'],
    ['RTT p95 800 ms', edge({ rttP95Ms: 800 }), 'bad'],
    ['connects unanswered, none answered', edge({ recent: recent({ connectsAnswered: 0, connectsUnanswered: 3 }) }), 'bad'],
    ['1 of 5 connects unanswered', edge({ recent: recent({ connectsAnswered: 4, connectsUnanswered: 1 }) }), 'slow'],
    ['not measured (/proc source), established', edge(undefined), 'unknown'],
    ['not measured, only SYN_SENT (no window): the current states stand in', edge(undefined, { states: { SYN_SENT: 2 } }), 'bad'],
    ['not measured, SYN_SENT among established', edge(undefined, { states: { SYN_SENT: 1, ESTABLISHED: 2 } }), 'unknown'],
    ['UDP, conntrack-counted, no window', edge({ measuredConnections: 0, conntrackConnections: 1, bytesSource: 'conntrack' }, { protocol: 'udp', states: { REPLIED: 1 } }), 'unknown'],
    ['UDP, some flows unreplied among replied', edge({ measuredConnections: 0, recent: recent({ connectsAnswered: 0, flowsReplied: 8, flowsUnreplied: 2 }) }, { protocol: 'udp', states: {} }), 'slow'],
    ['UDP, one-way (never replied)', edge({ measuredConnections: 0, recent: recent({ connectsAnswered: 0, flowsUnreplied: 4 }) }, { protocol: 'udp', states: {} }), 'unknown'],
  ])('%s → %s', (_what, e, level) => {
    expect(edgeHealth(e).level).toBe(level);
  });

  it('says why, with the window and the figures', () => {
    expect(edgeHealth(edge({ rttP95Ms: 812, recent: retrans(30, 500) })).reasons).toEqual([
      '6.0% of segments retransmitted in 60 s (30 of 500)', 'RTT p95 812 ms',
    ]);
    expect(edgeHealth(edge({ recent: recent({ windowSeconds: 12.4, connectsAnswered: 4, connectsUnanswered: 1 }) })).reasons).toEqual(['1 of 5 connects unanswered in 12 s']);
    expect(edgeHealth(edge({ rttP95Ms: 0.1, recent: retrans(0, 100) })).reasons).toEqual([]);
    expect(edgeHealth(edge({ measuredConnections: 0, recent: recent({ flowsUnreplied: 1 }) }, { protocol: 'udp', states: {} })).reasons[0]).toMatch(/one-way/);
  });

  it('without reasons: the same level, no text', () => {
    const e = edge({ rttP95Ms: 812, recent: retrans(30, 500) });
    expect(edgeHealth(e, false)).toEqual({ level: 'bad', reasons: [] });
  });

  it('worseHealth orders unknown < ok < slow < bad', () => {
    expect(worseHealth('unknown', 'ok')).toBe('ok');
    expect(worseHealth('bad', 'slow')).toBe('bad');
    expect(worseHealth('slow', 'ok')).toBe('slow');
  });

  it('the rule text names the window and every threshold', () => {
    expect(healthRuleText()).toMatch(/60 s.*5%.*500 ms.*1%.*3 segments.*100 ms/);
  });
});
