import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { edgeConnections, nodeConnections } from './connections.js';
import type { TcpInfo } from '../core/model/socket.js';
import type { SocketRow } from './types.js';

const t = buildTopology(syntheticSnapshot());
const edge = (id: string) => {
  const e = t.edges.find((x) => x.id === id);
  if (!e) throw new Error(id);
  return e;
};
const mapped = (a: string) => (a.includes(':') ? a : `::ffff:${a}`);
type Figures = Pick<TcpInfo, 'bytesSent' | 'bytesReceived' | 'rttMs' | 'retransmits'>;
const info = (f: Figures): TcpInfo => ({
  bytesRetrans: 0, bytesAcked: f.bytesSent, rttVarMs: 0, minRttMs: f.rttMs, deliveryRateBps: 0, segsOut: 1, segsIn: 1, lastSendMs: 0, lastReceiveMs: 0, ...f,
});
const sock = (local: string, lport: number, remote: string, rport: number, tcp: Figures | undefined, command = 'node', pid = 1): SocketRow => ({
  protocol: 'tcp', state: 'ESTABLISHED', local: { address: local, port: lport }, remote: { address: remote, port: rport }, processes: [{ pid, command }], ...(tcp ? { tcp: info(tcp) } : {}),
});

describe('edgeConnections', () => {
  it('joins each connection with the client\'s socket (bytes, RTT, retransmits: core\'s rule) and the server\'s process', () => {
    const e = edge(`${IDS.web}->${IDS.db}/tcp/5432`);
    const d = e.details?.[0];
    if (!d) throw new Error('no detail');
    const sockets = [
      sock(d.client.address, d.client.port, d.server.address, d.server.port, { bytesSent: 100, bytesReceived: 2000, rttMs: 0.5, retransmits: 1 }, 'web', 11),
      // The server's socket (an accepted IPv4 one on a dual-stack listener reads as IPv4-mapped IPv6).
      sock(mapped(d.server.address), d.server.port, mapped(d.client.address), d.client.port, { bytesSent: 2000, bytesReceived: 100, rttMs: 0.4, retransmits: 2 }, 'postgres', 22),
    ];
    expect(edgeConnections(e, sockets)).toEqual([{
      edgeId: e.id, state: d.state, via: d.via, client: d.client, server: d.server,
      clientProcess: 'web/11', serverProcess: 'postgres/22', bytesToServer: 100, bytesToClient: 2000, rttMs: 0.5, retransmits: 1,
    }]);
  });

  it('without sockets: the details alone, pids for processes', () => {
    const e = edge(`${IDS.web}->${IDS.api}/tcp/8080`);
    const rows = edgeConnections(e, []);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.bytesToServer).toBeUndefined();
    expect(rows[0]?.clientProcess).toMatch(/^pid \d+/);
  });

  it('only the server side read: bytes from it, each way swapped', () => {
    const e = edge(`${IDS.side}->${IDS.db}/tcp/5432`);
    const d = e.details?.[0];
    if (!d) throw new Error('no detail');
    const rows = edgeConnections(e, [sock(d.server.address, d.server.port, d.client.address, d.client.port, { bytesSent: 7, bytesReceived: 3, rttMs: 1, retransmits: 0 })]);
    expect(rows[0]).toMatchObject({ bytesToServer: 3, bytesToClient: 7, rttMs: 1 });
  });

  it('through a published port the client\'s socket names the host port', () => {
    const e = edge(`${IDS.hc}->${IDS.api}/tcp/8080`);
    const d = e.details?.[0];
    if (!d?.published) throw new Error('no published detail');
    const rows = edgeConnections(e, [sock(d.client.address, d.client.port, d.published.address, d.published.port, { bytesSent: 5, bytesReceived: 6, rttMs: 2, retransmits: 0 })]);
    expect(rows[0]).toMatchObject({ bytesToServer: 5, bytesToClient: 6, published: d.published });
  });

  it('a UDP flow known from conntrack names its processes by command, though its unconnected sockets do not join', () => {
    const e = edge(`${IDS.udpc}->${IDS.udps}/udp/5353`);
    const d = e.details?.[0];
    if (!d) throw new Error('no detail');
    const unconnected = (port: number, command: string, pid: number): SocketRow => ({
      protocol: 'udp', state: 'UNCONN', local: { address: '0.0.0.0', port }, remote: { address: '0.0.0.0', port: 0 }, processes: [{ pid, command }],
    });
    const rows = edgeConnections(e, [unconnected(d.client.port, 'dig', d.clientPids[0] ?? 0), unconnected(d.server.port, 'dnsd', d.serverPids[0] ?? 0)]);
    expect(rows[0]).toMatchObject({ clientProcess: `dig/${d.clientPids[0]}`, serverProcess: `dnsd/${d.serverPids[0]}` });
    expect(rows[0]?.bytesToServer).toBeUndefined();
  });
});

describe('nodeConnections', () => {
  it('lists a node\'s connections both ways, outgoing first, with the peer\'s name and its own process', () => {
    const rows = nodeConnections(t, IDS.api, []);
    expect(rows.map((r) => `${r.direction} ${r.peerName} ${r.protocol}/${r.port}`)).toEqual([
      'in hc tcp/8080', 'in vm tcp/8080', 'in web tcp/8080', 'in web tcp/8080', 'in web udp/8125',
    ]);
    const web = nodeConnections(t, IDS.web, []);
    expect(web[0]?.direction).toBe('out');
    expect(web.every((r) => r.process === r.clientProcess)).toBe(true);
  });
});
