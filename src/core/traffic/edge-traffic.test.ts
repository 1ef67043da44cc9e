import { describe, expect, it } from 'vitest';
import type { Attribution, AttributedSocket } from '../attribute.js';
import type { TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, Topology } from '../model/topology.js';
import { edgesTraffic, withEdgeTraffic } from './edge-traffic.js';

const info = (bytesSent: number, bytesReceived: number, rttMs: number, retransmits = 0): TcpInfo => ({
  bytesSent, bytesReceived, bytesRetrans: 0, bytesAcked: bytesSent + 1, rttMs, rttVarMs: 0.1, minRttMs: rttMs, retransmits,
  deliveryRateBps: 1, segsOut: 1, segsIn: 1, lastSendMs: 0, lastReceiveMs: 0,
});
const sock = (lport: number, rport: number, tcp?: TcpInfo): AttributedSocket => ({
  protocol: 'tcp', family: 'ipv4', state: 'ESTABLISHED', local: { address: '10.0.0.1', port: lport }, remote: { address: '10.0.0.2', port: rport },
  inode: lport, uid: 0, txQueue: 0, rxQueue: 0, processes: [], ...(tcp ? { tcp } : {}),
});
const detail = (cport: number): ConnectionDetail => ({
  state: 'ESTABLISHED', via: 'socket', client: { address: '10.0.0.1', port: cport }, server: { address: '10.0.0.2', port: 80 }, clientPids: [], serverPids: [],
});
const topo = (takenAt: string, ports: number[]): Topology => ({
  takenAt, hostname: 'h', warnings: [], nodes: [],
  edges: [{ id: 'a->b/tcp/80', from: 'a', to: 'b', protocol: 'tcp', port: 80, connections: ports.length, states: { ESTABLISHED: ports.length }, via: ['socket'], details: ports.map(detail) }],
});
const attr = (sockets: AttributedSocket[]): Attribution => ({ containers: [], unclaimed: [{ netns: 1, sockets }] });

describe('edgesTraffic', () => {
  const t0 = topo('2026-01-01T00:00:00.000Z', [1000, 1001]);
  const a0 = attr([sock(1000, 80, info(100, 1000, 0.5)), sock(1001, 80, info(200, 2000, 1.5, 3))]);
  const first = edgesTraffic(t0, a0, undefined);

  it('sums bytes each way, RTT min/mean/max and retransmits over the edge\'s connections', () => {
    expect(first.traffic.get('a->b/tcp/80')).toEqual({ bytesSent: 300, bytesReceived: 3000, bytesSource: 'tcp_info', rttMinMs: 0.5, rttMeanMs: 1, rttMaxMs: 1.5, rttP50Ms: 0.5, rttP95Ms: 1.5, retransmits: 3, measuredConnections: 2, conntrackConnections: 0 });
  });

  it('gives rates from the previous sample, counting a connection that closed up to its last sample', () => {
    // 2 s later: connection 1000 grew by 1000/10000 bytes, connection 1001 closed.
    const t1 = topo('2026-01-01T00:00:02.000Z', [1000]);
    const next = edgesTraffic(t1, attr([sock(1000, 80, info(1100, 11000, 0.5))]), first.state);
    expect(next.traffic.get('a->b/tcp/80')).toMatchObject({ bytesSent: 1100, bytesReceived: 11000, bytesSentPerSec: 500, bytesReceivedPerSec: 5000 });
  });

  it('uses the server socket, directions swapped, when the client socket is not seen', () => {
    const server: AttributedSocket = { ...sock(80, 1000, info(7, 5, 2)), local: { address: '10.0.0.2', port: 80 }, remote: { address: '10.0.0.1', port: 1000 } };
    expect(edgesTraffic(topo('2026-01-01T00:00:00.000Z', [1000]), attr([server]), undefined).traffic.get('a->b/tcp/80')).toMatchObject({ bytesSent: 5, bytesReceived: 7 });
  });

  it('gives no traffic to an edge without tcp_info, and attaches traffic to edges', () => {
    const none = edgesTraffic(t0, attr([sock(1000, 80), sock(1001, 80)]), undefined);
    expect(none.traffic.size).toBe(0);
    expect(withEdgeTraffic(t0, first.traffic).edges[0]?.traffic?.bytesSent).toBe(300);
    expect(withEdgeTraffic(t0, none.traffic).edges[0]?.traffic).toBeUndefined();
  });

  it('RTT percentiles over the connections (nearest rank), and the recent window from the second sample', () => {
    const ports = Array.from({ length: 20 }, (_, i) => 2000 + i);
    const t = topo('2026-01-01T00:00:00.000Z', ports);
    const a = attr(ports.map((p, i) => sock(p, 80, info(10, 10, i + 1))));
    const one = edgesTraffic(t, a, undefined);
    expect(one.traffic.get('a->b/tcp/80')).toMatchObject({ rttMinMs: 1, rttP50Ms: 10, rttP95Ms: 19, rttMaxMs: 20 });
    expect(one.traffic.get('a->b/tcp/80')?.recent).toBeUndefined();
    const two = edgesTraffic({ ...t, takenAt: '2026-01-01T00:00:02.000Z' }, a, one.state);
    expect(two.traffic.get('a->b/tcp/80')?.recent).toMatchObject({ windowSeconds: 2, segmentsOut: 0, retransmits: 0, connectsAnswered: 20 });
  });
});

describe('edgesTraffic on a very busy edge', () => {
  it('gives RTT min/max over 200,000 connections (Math.min(...rtts) overflowed the stack at ~130,000)', () => {
    const ports = Array.from({ length: 200_000 }, (_, i) => 1024 + i);
    const sockets = ports.map((p, i) => sock(p, 80, info(1, 1, 1 + (i % 7))));
    const r = edgesTraffic(topo('2026-01-01T00:00:00.000Z', ports), attr(sockets), undefined);
    expect(r.traffic.get('a->b/tcp/80')).toMatchObject({ rttMinMs: 1, rttMaxMs: 7, measuredConnections: 200_000 });
    // A test of correctness at size, not of speed: on a loaded 2-core machine 200,000 connections take longer than
    // vitest's default 5 s (bench/ measures speed).
  }, 60_000);
});
