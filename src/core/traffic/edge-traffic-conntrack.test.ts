// Edge bytes from conntrack accounting: UDP flows and TCP connections that closed unseen by tcp_info, on a real
// capture of /proc/net/nf_conntrack with net.netfilter.nf_conntrack_acct=1 (test/fixtures/proc/conntrack-acct).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { attributeSockets, type Attribution, type AttributedSocket } from '../attribute.js';
import type { ConntrackEntry, ConntrackTable } from '../model/conntrack.js';
import type { SocketState, TcpInfo } from '../model/socket.js';
import type { ConnectionDetail, FlowState, Topology, TopologyEdge } from '../model/topology.js';
import { parseNfConntrack } from '../parse/nf-conntrack.js';
import { toTopEdges } from '../report/top.js';
import { buildTopology } from '../topology/build-topology.js';
import { edgesTraffic, withEdgeTraffic } from './edge-traffic.js';

const FILE = new URL('../../../test/fixtures/proc/conntrack-acct/nf_conntrack', import.meta.url);
const entries = (): ConntrackEntry[] => {
  const { records, errors } = parseNfConntrack(readFileSync(FILE, 'utf8'), 'nf_conntrack');
  expect(errors).toEqual([]);
  return records;
};
const table = (es: ConntrackEntry[], accounting: 'on' | 'off' = 'on'): ConntrackTable => ({ status: 'ok', netns: 1, entries: es, accounting });
/** The captured entry whose client port is `sport`, with its counters replaced when asked. */
const entry = (sport: number, counts?: { sent: number; received: number }): ConntrackEntry => {
  const e = entries().find((x) => x.original.sport === sport);
  if (!e) throw new Error(`no captured entry from port ${sport}`);
  return counts ? { ...e, original: { ...e.original, bytes: counts.sent }, reply: { ...e.reply, bytes: counts.received } } : e;
};
const bytesOf = (sport: number) => ({ sent: entry(sport).original.bytes ?? -1, received: entry(sport).reply.bytes ?? -1 });

const CLIENT = '10.99.0.2';
const SERVER = '10.99.0.3';
const info = (bytesSent: number, bytesReceived: number, rttMs = 0.2): TcpInfo => ({
  bytesSent, bytesReceived, bytesRetrans: 0, bytesAcked: bytesSent + 1, rttMs, rttVarMs: 0.1, minRttMs: rttMs, retransmits: 1,
  deliveryRateBps: 1, segsOut: 1, segsIn: 1, lastSendMs: 0, lastReceiveMs: 0,
});
const sock = (cport: number, state: SocketState, tcp?: TcpInfo): AttributedSocket => ({
  protocol: 'tcp', family: 'ipv4', state, local: { address: CLIENT, port: cport }, remote: { address: SERVER, port: 8080 },
  inode: state === 'TIME_WAIT' ? 0 : cport, uid: 0, txQueue: 0, rxQueue: 0, processes: [], ...(tcp ? { tcp } : {}),
});
const attr = (sockets: AttributedSocket[]): Attribution => ({ containers: [], unclaimed: [{ netns: 1, sockets }] });
const detail = (cport: number, sport: number, state: FlowState): ConnectionDetail => ({
  state, via: 'socket', client: { address: CLIENT, port: cport }, server: { address: SERVER, port: sport }, clientPids: [], serverPids: [],
});
const edge = (protocol: 'tcp' | 'udp', port: number, details: ConnectionDetail[], from = 'a'): TopologyEdge => ({
  id: `${from}->b/${protocol}/${port}`, from, to: 'b', protocol, port, connections: details.length,
  states: {}, via: ['socket'], details,
});
const topo = (seconds: number, edges: TopologyEdge[]): Topology => ({
  takenAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString(), hostname: 'h', warnings: [], nodes: [], edges,
});

const UDP_SENDTO = 37393; // 10 datagrams of 100 bytes, never answered
const UDP_ANSWERED = 45000; // 3 × 40 bytes, answered by 3 × 200
const TCP_CLOSED = 50002; // 5000 bytes, 300 back, closed: TIME_WAIT
const TCP_OPEN = 50001; // 1000 bytes, still open
const TCP_RESET = 50003; // 700 bytes then RST: CLOSE

const udpEdges = () => [edge('udp', 5353, [detail(UDP_SENDTO, 5353, 'UNREPLIED')]), edge('udp', 8125, [detail(UDP_ANSWERED, 8125, 'REPLIED')])];

describe('edge traffic from conntrack accounting', () => {
  it('the capture holds what was sent: conntrack counts IP-level bytes (IPv4 UDP: payload + 28 a datagram)', () => {
    expect(bytesOf(UDP_SENDTO)).toEqual({ sent: 10 * (100 + 28), received: 0 });
    expect(bytesOf(UDP_ANSWERED)).toEqual({ sent: 3 * (40 + 28), received: 3 * (200 + 28) });
    expect(bytesOf(TCP_CLOSED).sent).toBeGreaterThan(5000);
    expect(entry(TCP_CLOSED).state).toBe('TIME_WAIT');
    expect(entry(TCP_RESET).state).toBe('CLOSE');
  });

  it('UDP edges get conntrack\'s bytes, original direction = client → server, and no RTT or retransmits', () => {
    const { traffic } = edgesTraffic(topo(0, udpEdges()), attr([]), undefined, table(entries()));
    expect(traffic.get('a->b/udp/5353')).toEqual({ bytesSent: 1280, bytesReceived: 0, bytesSource: 'conntrack', measuredConnections: 0, conntrackConnections: 1 });
    expect(traffic.get('a->b/udp/8125')).toEqual({ bytesSent: 204, bytesReceived: 684, bytesSource: 'conntrack', measuredConnections: 0, conntrackConnections: 1 });
  });

  it('a UDP peer the topology calls the server that spoke first: the counters swap', () => {
    const reversed = edge('udp', UDP_ANSWERED, [{ ...detail(8125, UDP_ANSWERED, 'REPLIED'), client: { address: SERVER, port: 8125 }, server: { address: CLIENT, port: UDP_ANSWERED } }]);
    const { traffic } = edgesTraffic(topo(0, [reversed]), attr([]), undefined, table(entries()));
    expect(traffic.get(reversed.id)).toMatchObject({ bytesSent: 684, bytesReceived: 204 });
  });

  it('a TCP connection closed unseen by tcp_info counts from conntrack, an open one from tcp_info: the edge is mixed', () => {
    const t = topo(0, [edge('tcp', 8080, [detail(TCP_OPEN, 8080, 'ESTABLISHED'), detail(TCP_CLOSED, 8080, 'TIME_WAIT')])]);
    const a = attr([sock(TCP_OPEN, 'ESTABLISHED', info(1000, 0, 0.3)), sock(TCP_CLOSED, 'TIME_WAIT')]);
    const { traffic, state } = edgesTraffic(t, a, undefined, table(entries()));
    const closed = bytesOf(TCP_CLOSED);
    expect(traffic.get('a->b/tcp/8080')).toEqual({
      bytesSent: 1000 + closed.sent, bytesReceived: closed.received, bytesSource: 'mixed',
      rttMinMs: 0.3, rttMeanMs: 0.3, rttMaxMs: 0.3, rttP50Ms: 0.3, rttP95Ms: 0.3, retransmits: 1, measuredConnections: 1, conntrackConnections: 1,
    });
    expect(state.counters.totals.get('a->b/tcp/8080')).toEqual({ sent: 1000 + closed.sent, received: closed.received, retransmits: 1 });
  });

  it('an entry lingering over several samples counts once; UDP rates come from its growing counters', () => {
    const t = (s: number) => topo(s, [...udpEdges(), edge('tcp', 8080, [detail(TCP_OPEN, 8080, 'ESTABLISHED'), detail(TCP_CLOSED, 8080, 'TIME_WAIT')])]);
    const a = (sent: number) => attr([sock(TCP_OPEN, 'ESTABLISHED', info(sent, 0)), sock(TCP_CLOSED, 'TIME_WAIT')]);
    const first = edgesTraffic(t(0), a(1000), undefined, table(entries()));
    // 2 s later: 10 more datagrams (1280 bytes), 2000 more payload bytes on the open connection; TIME_WAIT unchanged.
    const grown = entries().map((e) => (e.original.sport === UDP_SENDTO ? entry(UDP_SENDTO, { sent: 2560, received: 0 }) : e));
    const second = edgesTraffic(t(2), a(3000), first.state, table(grown));
    expect(second.traffic.get('a->b/udp/5353')).toMatchObject({ bytesSent: 2560, bytesSentPerSec: 640, bytesReceivedPerSec: 0 });
    const closed = bytesOf(TCP_CLOSED);
    expect(second.state.counters.totals.get('a->b/tcp/8080')).toEqual({ sent: 3000 + closed.sent, received: closed.received, retransmits: 1 });
    expect(second.traffic.get('a->b/tcp/8080')).toMatchObject({ bytesSentPerSec: 1000, bytesReceivedPerSec: 0 });
    // And again: nothing new anywhere, nothing added.
    const third = edgesTraffic(t(4), a(3000), second.state, table(grown));
    expect(third.state.counters.totals).toEqual(second.state.counters.totals);
    expect(third.traffic.get('a->b/tcp/8080')).toMatchObject({ bytesSentPerSec: 0, bytesReceivedPerSec: 0 });
  });

  it('a reused tuple (counters went down) restarts from what the new entry counted', () => {
    const first = edgesTraffic(topo(0, udpEdges()), attr([]), undefined, table(entries()));
    const reused = entries().map((e) => (e.original.sport === UDP_SENDTO ? entry(UDP_SENDTO, { sent: 256, received: 0 }) : e));
    const next = edgesTraffic(topo(2, udpEdges()), attr([]), first.state, table(reused));
    expect(next.state.counters.totals.get('a->b/udp/5353')).toEqual({ sent: 1280 + 256, received: 0 });
    expect(next.traffic.get('a->b/udp/5353')).toMatchObject({ bytesSent: 256, bytesSentPerSec: 128 });
  });

  it('a connection tcp_info saw open is not counted again from its conntrack entry once it closed', () => {
    const open = edgesTraffic(topo(0, [edge('tcp', 8080, [detail(TCP_CLOSED, 8080, 'ESTABLISHED')])]),
      attr([sock(TCP_CLOSED, 'ESTABLISHED', info(5000, 300))]), undefined, table([]));
    expect(open.state.counters.totals.get('a->b/tcp/8080')).toEqual({ sent: 5000, received: 300, retransmits: 1 });
    const closedTopo = (s: number) => topo(s, [edge('tcp', 8080, [detail(TCP_CLOSED, 8080, 'TIME_WAIT')])]);
    const closed = edgesTraffic(closedTopo(2), attr([sock(TCP_CLOSED, 'TIME_WAIT')]), open.state, table(entries()));
    expect(closed.state.counters.totals.get('a->b/tcp/8080')).toEqual({ sent: 5000, received: 300, retransmits: 1 });
    expect(closed.traffic.get('a->b/tcp/8080')).toBeUndefined();
    // Still remembered while its TIME_WAIT socket is listed, forgotten once it is not.
    const later = edgesTraffic(closedTopo(4), attr([sock(TCP_CLOSED, 'TIME_WAIT')]), closed.state, table(entries()));
    expect(later.state.counters.totals.get('a->b/tcp/8080')).toEqual({ sent: 5000, received: 300, retransmits: 1 });
    expect(later.state.counters.tcpInfoSeen.size).toBe(1);
    const gone = edgesTraffic(topo(6, [edge('tcp', 8080, [detail(TCP_OPEN, 8080, 'ESTABLISHED')])]), attr([sock(TCP_OPEN, 'ESTABLISHED', info(10, 0))]), later.state, table(entries()));
    expect([...gone.state.counters.tcpInfoSeen]).toEqual([`a->b/tcp/8080#${CLIENT}|${TCP_OPEN}>${SERVER}|8080`]);
  });

  it('open TCP entries count nothing (tcp_info counts those), nor entries without counters (accounting off)', () => {
    // The /proc source: an open connection without tcp_info, whose entry has counters.
    const procSource = edgesTraffic(topo(0, [edge('tcp', 8080, [detail(TCP_OPEN, 8080, 'ESTABLISHED')])]), attr([sock(TCP_OPEN, 'ESTABLISHED')]), undefined, table(entries()));
    expect(procSource.traffic.size).toBe(0);
    const noCounters = entries().map((e) => ({ ...e, original: { ...e.original, packets: undefined, bytes: undefined }, reply: { ...e.reply, packets: undefined, bytes: undefined } }));
    const off = edgesTraffic(topo(0, udpEdges()), attr([]), undefined, table(noCounters, 'off'));
    expect(off.traffic.size).toBe(0);
    expect(off.state.counters.totals.size).toBe(0);
    // No table at all (the callers that do not pass one): tcp_info only, as before.
    expect(edgesTraffic(topo(0, udpEdges()), attr([]), undefined).traffic.size).toBe(0);
  });

  it('an entry counts for one connection only, even when two edges could claim it', () => {
    const both = [edge('udp', 5353, [detail(UDP_SENDTO, 5353, 'UNREPLIED')]), edge('udp', UDP_SENDTO, [{ ...detail(5353, UDP_SENDTO, 'REPLIED'), client: { address: SERVER, port: 5353 }, server: { address: CLIENT, port: UDP_SENDTO } }], 'c')];
    const { traffic } = edgesTraffic(topo(0, both), attr([]), undefined, table(entries()));
    expect([...traffic.keys()]).toEqual(['a->b/udp/5353']);
  });

  it('top rows of a UDP edge show its rates and no retransmits (null, not 0)', () => {
    const first = edgesTraffic(topo(0, udpEdges()), attr([]), undefined, table(entries()));
    const grown = entries().map((e) => (e.original.sport === UDP_SENDTO ? entry(UDP_SENDTO, { sent: 2560, received: 0 }) : e));
    const second = edgesTraffic(topo(2, udpEdges()), attr([]), first.state, table(grown));
    const rows = toTopEdges(withEdgeTraffic(topo(2, udpEdges()), second.traffic));
    expect(rows[0]).toMatchObject({ id: 'a->b/udp/5353', bytesSentPerSec: 640, rttMeanMs: null, retransmits: null });
  });
});

describe('through buildTopology: the sendto UDP edge of the synthetic host', () => {
  it('gets the bytes of the conntrack entry it was built from', () => {
    const s = syntheticSnapshot();
    if (s.conntrack.status !== 'ok') throw new Error('synthetic conntrack');
    const counted = s.conntrack.entries.map((e) => (e.protocol === 'udp' && e.original.dport === 5353
      ? { ...e, original: { ...e.original, packets: 7, bytes: 7 * 32 }, reply: { ...e.reply, packets: 0, bytes: 0 } } : e));
    const snapshot = { ...s, conntrack: { ...s.conntrack, entries: counted } };
    const attribution = attributeSockets(snapshot);
    const t = buildTopology(snapshot, {}, attribution);
    const { traffic } = edgesTraffic(t, attribution, undefined, snapshot.conntrack);
    expect(traffic.get(`${IDS.udpc}->${IDS.udps}/udp/5353`)).toEqual({ bytesSent: 224, bytesReceived: 0, bytesSource: 'conntrack', measuredConnections: 0, conntrackConnections: 1 });
  });
});
