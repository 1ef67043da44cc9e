import { describe, expect, it } from 'vitest';
import type { TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, FlowState, Topology } from '../model/topology.js';
import { indexSocketsTcpInfo } from '../report/edge-bytes.js';
import { advanceEdgeWindow, type EdgeWindowState } from './edge-window.js';

const EDGE = 'a->b/tcp/80';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const info = (segsOut: number, retransmits: number): TcpInfo => ({
  bytesSent: 0, bytesReceived: 0, bytesRetrans: 0, bytesAcked: 0, rttMs: 0.1, rttVarMs: 0, minRttMs: 0.1, retransmits,
  deliveryRateBps: 0, segsOut, segsIn: 0, lastSendMs: 0, lastReceiveMs: 0,
});
const detail = (cport: number, state: FlowState = 'ESTABLISHED'): ConnectionDetail => ({
  state, via: 'socket', client: { address: '10.0.0.1', port: cport }, server: { address: '10.0.0.2', port: 80 }, clientPids: [], serverPids: [],
});
const topo = (details: ConnectionDetail[], protocol: 'tcp' | 'udp' = 'tcp'): Topology => ({
  takenAt: '', hostname: 'h', warnings: [], nodes: [],
  edges: [{ id: EDGE, from: 'a', to: 'b', protocol, port: 80, connections: details.length, states: {}, via: ['socket'], details }],
});
/** Sockets of connections by client port: the client's (segs, retrans) and optionally the server's. */
const tcp = (conns: Record<number, { client?: [number, number]; server?: [number, number] }>) => indexSocketsTcpInfo(Object.entries(conns).flatMap(([port, c]) => [
  ...(c.client ? [{ local: { address: '10.0.0.1', port: Number(port) }, remote: { address: '10.0.0.2', port: 80 }, tcp: info(...c.client) }] : []),
  ...(c.server ? [{ local: { address: '10.0.0.2', port: 80 }, remote: { address: '10.0.0.1', port: Number(port) }, tcp: info(...c.server) }] : []),
]));

/** Runs samples (seconds after T0, details, sockets) through the window; returns the last recent figures and state. */
function run(samples: [number, ConnectionDetail[], ReturnType<typeof tcp>][], protocol: 'tcp' | 'udp' = 'tcp') {
  let state: EdgeWindowState | undefined;
  let recent;
  for (const [s, details, sockets] of samples) {
    const r = advanceEdgeWindow(state, topo(details, protocol), sockets, T0 + s * 1000);
    state = r.state;
    recent = r.recent.get(EDGE);
  }
  return { recent, state };
}

describe('advanceEdgeWindow: segments and retransmits', () => {
  it('the first sample is a baseline: nothing recent yet, lifetime counters ignored', () => {
    expect(run([[0, [detail(1000)], tcp({ 1000: { client: [5000, 40] } })]]).recent).toBeUndefined();
  });

  it('sums what both ends sent and retransmitted since the window\'s first sample', () => {
    const { recent } = run([
      [0, [detail(1000)], tcp({ 1000: { client: [100, 1], server: [200, 0] } })],
      [2, [detail(1000)], tcp({ 1000: { client: [150, 1], server: [400, 2] } })],
      [4, [detail(1000)], tcp({ 1000: { client: [250, 2], server: [600, 4] } })],
    ]);
    expect(recent).toEqual({
      windowSeconds: 4, segmentsOut: 550, retransmits: 5, retransmitsPerSec: 1.25, retransmitRatio: 5 / 550,
      connectsAnswered: 1, connectsUnanswered: 0, flowsReplied: 0, flowsUnreplied: 0,
    });
  });

  it('one retransmit long ago leaves the window: the issue\'s "amber for the life of the connection"', () => {
    // A bulk connection: one retransmit in its first second, then ~6,000 clean segments a minute for two minutes.
    const samples: [number, ConnectionDetail[], ReturnType<typeof tcp>][] = [[0, [detail(1000)], tcp({ 1000: { client: [10, 0] } })]];
    for (let s = 2; s <= 120; s += 2) samples.push([s, [detail(1000)], tcp({ 1000: { client: [10 + s * 100, 1] } })]);
    const { recent } = run(samples);
    expect(recent?.windowSeconds).toBe(60);
    expect(recent?.retransmits).toBe(0);
    expect(recent?.retransmitRatio).toBe(0);
    expect(recent?.segmentsOut).toBe(6000);
  });

  it('a connection that closed counts up to its last sample; one opened since counts all it sent', () => {
    const { recent } = run([
      [0, [detail(1000)], tcp({ 1000: { client: [100, 0] } })],
      [2, [detail(1000)], tcp({ 1000: { client: [300, 3] } })],
      [4, [detail(1001)], tcp({ 1001: { client: [50, 1] } })],
    ]);
    expect(recent).toMatchObject({ segmentsOut: 250, retransmits: 4 });
  });

  it('a counter that went down (4-tuple reused) counts from zero, never negative', () => {
    const { recent } = run([
      [0, [detail(1000)], tcp({ 1000: { client: [1000, 10] } })],
      [2, [detail(1000)], tcp({ 1000: { client: [30, 0] } })],
    ]);
    expect(recent).toMatchObject({ segmentsOut: 30, retransmits: 0 });
  });

  it('no segment sent: no ratio; a clock step back starts the window again', () => {
    expect(run([[0, [detail(1000)], tcp({ 1000: { client: [5, 0] } })], [2, [detail(1000)], tcp({ 1000: { client: [5, 0] } })]]).recent?.retransmitRatio).toBeUndefined();
    expect(run([[10, [detail(1000)], tcp({ 1000: { client: [5, 0] } })], [5, [detail(1000)], tcp({ 1000: { client: [9, 0] } })]]).recent).toBeUndefined();
  });

  it('edges gone from the topology are forgotten', () => {
    const { state } = run([[0, [detail(1000)], tcp({ 1000: { client: [5, 0] } })]]);
    const next = advanceEdgeWindow(state, { ...topo([]), edges: [] }, new Map(), T0 + 2000);
    expect(next.state.series.size + next.state.sockets.size + next.state.attempts.size).toBe(0);
  });
});

describe('advanceEdgeWindow: connects and flows', () => {
  const none = tcp({});

  it('a SYN_SENT seen once and still there is not counted yet (it may be answered a moment later)', () => {
    const { recent } = run([[0, [detail(1000)], none], [2, [detail(1000), detail(1001, 'SYN_SENT')], none]]);
    expect(recent).toMatchObject({ connectsAnswered: 1, connectsUnanswered: 0 });
  });

  it('pending at samples a second or more apart, or gone without an answer: unanswered', () => {
    const { recent } = run([
      [0, [detail(1001, 'SYN_SENT'), detail(1002, 'SYN_SENT')], none],
      [1, [detail(1001, 'SYN_SENT')], none],
    ]);
    expect(recent).toMatchObject({ connectsAnswered: 0, connectsUnanswered: 2 });
  });

  it('answered after being pending: answered', () => {
    const { recent } = run([[0, [detail(1001, 'SYN_SENT')], none], [2, [detail(1001, 'ESTABLISHED')], none]]);
    expect(recent).toMatchObject({ connectsAnswered: 1, connectsUnanswered: 0 });
  });

  it('unanswered connects older than the window are forgotten', () => {
    const { recent } = run([[0, [detail(1001, 'SYN_SENT')], none], [2, [detail(1001, 'SYN_SENT')], none], [40, [detail(1000)], none], [70, [detail(1000)], none]]);
    expect(recent).toMatchObject({ connectsAnswered: 1, connectsUnanswered: 0 });
  });

  it('UDP flows: replied, and unreplied for a second or more', () => {
    const { recent } = run([
      [0, [detail(5000, 'REPLIED'), detail(5001, 'UNREPLIED')], none],
      [2, [detail(5000, 'REPLIED'), detail(5001, 'UNREPLIED')], none],
    ], 'udp');
    expect(recent).toMatchObject({ flowsReplied: 1, flowsUnreplied: 1, connectsAnswered: 0, connectsUnanswered: 0, segmentsOut: 0 });
  });

  it('a SYN storm costs bounded memory', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => detail(10_000 + i, 'SYN_SENT'));
    const { state } = run([[0, many, none], [2, many, none]]);
    expect(state?.attempts.get(EDGE)?.size).toBeLessThanOrEqual(4096);
  });
});
