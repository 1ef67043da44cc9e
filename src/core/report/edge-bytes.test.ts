import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { attributeSockets } from '../attribute.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TcpInfo } from '../model/socket.js';
import { buildTopology } from '../topology/build-topology.js';
import type { ConnectionDetail } from '../model/topology.js';
import type { Attribution } from '../attribute.js';
import type { ConntrackTable } from '../model/conntrack.js';
import type { Topology } from '../model/topology.js';
import { connectionTcp, indexConntrackBytes, indexSocketsTcpInfo, indexTcpInfo, measureEdges, type EdgeByteCounters } from './edge-bytes.js';

/** What each edge's connections carried, added to the previous counters (measureEdges over the snapshot's indexes). */
const accumulateEdgeBytes = (prev: EdgeByteCounters | undefined, t: Topology, a: Attribution, conntrack?: ConntrackTable): EdgeByteCounters =>
  measureEdges(prev, t, indexTcpInfo(a), indexConntrackBytes(conntrack)).counters;

const info = (sent: number, received: number, retransmits = 0): TcpInfo => ({
  bytesSent: sent, bytesRetrans: 0, bytesReceived: received, bytesAcked: sent, rttMs: 1, rttVarMs: 0, minRttMs: 1, retransmits,
  deliveryRateBps: 0, segsOut: 1, segsIn: 1, lastSendMs: 0, lastReceiveMs: 0,
});
// web's two connections to api (client sockets 101, 102) carry tcp_info.
function withBytes(s: Snapshot, a: [number, number, number?], b: [number, number, number?]): Snapshot {
  return { ...s, sockets: s.sockets.map((t) => ({ ...t, sockets: t.sockets.map((x) => (x.inode === 101 ? { ...x, tcp: info(...a) } : x.inode === 102 ? { ...x, tcp: info(...b) } : x)) })) };
}
const edgeId = `${IDS.web}->${IDS.api}/tcp/8080`;

describe('accumulateEdgeBytes', () => {
  it('adds what each connection carried since the last sample; counters never go down', () => {
    const s1 = withBytes(syntheticSnapshot(), [100, 1000], [10, 20]);
    const c1 = accumulateEdgeBytes(undefined, buildTopology(s1), attributeSockets(s1));
    expect(c1.totals.get(edgeId)).toEqual({ sent: 110, received: 1020, retransmits: 0 });
    const s2 = withBytes(syntheticSnapshot(), [150, 1500], [10, 20]);
    const c2 = accumulateEdgeBytes(c1, buildTopology(s2), attributeSockets(s2));
    expect(c2.totals.get(edgeId)).toEqual({ sent: 160, received: 1520, retransmits: 0 });
    // The second connection's 4-tuple reused by a new connection: its counts restart from what it carried.
    const s3 = withBytes(syntheticSnapshot(), [150, 1500], [5, 5]);
    const c3 = accumulateEdgeBytes(c2, buildTopology(s3), attributeSockets(s3));
    expect(c3.totals.get(edgeId)).toEqual({ sent: 165, received: 1525, retransmits: 0 });
  });

  it('retransmits accumulate like bytes: all of a connection first seen, then what grew; a reused 4-tuple restarts', () => {
    const s1 = withBytes(syntheticSnapshot(), [100, 1000, 3], [10, 20, 0]);
    const c1 = accumulateEdgeBytes(undefined, buildTopology(s1), attributeSockets(s1));
    expect(c1.totals.get(edgeId)?.retransmits).toBe(3);
    const s2 = withBytes(syntheticSnapshot(), [100, 1000, 5], [10, 20, 1]);
    const c2 = accumulateEdgeBytes(c1, buildTopology(s2), attributeSockets(s2));
    expect(c2.totals.get(edgeId)?.retransmits).toBe(6);
    const s3 = withBytes(syntheticSnapshot(), [100, 1000, 5], [10, 20, 0]);
    const c3 = accumulateEdgeBytes(c2, buildTopology(s3), attributeSockets(s3));
    expect(c3.totals.get(edgeId)?.retransmits).toBe(6);
    // The connection closed: the counter keeps what it counted.
    const s4 = withBytes(syntheticSnapshot(), [100, 1000, 5], [10, 20, 0]);
    const gone = { ...s4, sockets: s4.sockets.map((t) => ({ ...t, sockets: t.sockets.map((x) => (x.inode === 101 ? { ...x, tcp: undefined } : x)) })) } as Snapshot;
    const c4 = accumulateEdgeBytes(c3, buildTopology(gone), attributeSockets(gone));
    expect(c4.totals.get(edgeId)?.retransmits).toBe(6);
  });

  it('edges without tcp_info get no entry', () => {
    const s = syntheticSnapshot();
    const c = accumulateEdgeBytes(undefined, buildTopology(s), attributeSockets(s));
    expect(c.totals.size).toBe(0);
  });
});

describe('connectionTcp', () => {
  const d: ConnectionDetail = { state: 'ESTABLISHED', via: 'socket', client: { address: '172.18.0.2', port: 50000 }, server: { address: '172.18.0.3', port: 8080 }, clientPids: [], serverPids: [] };
  const sock = (local: string, lport: number, remote: string, rport: number, tcp: TcpInfo) => ({ local: { address: local, port: lport }, remote: { address: remote, port: rport }, tcp });

  it('prefers the client\'s socket', () => {
    const index = indexSocketsTcpInfo([sock('172.18.0.2', 50000, '172.18.0.3', 8080, info(1, 2)), sock('172.18.0.3', 8080, '172.18.0.2', 50000, info(20, 10))]);
    expect(connectionTcp(d, index)).toMatchObject({ sent: 1, received: 2 });
  });

  it('falls back to the server\'s socket, directions swapped, also when it reads IPv4-mapped (dual-stack listener)', () => {
    const index = indexSocketsTcpInfo([sock('::ffff:172.18.0.3', 8080, '::ffff:172.18.0.2', 50000, info(20, 10))]);
    expect(connectionTcp(d, index)).toMatchObject({ sent: 10, received: 20 });
  });

  it('is undefined when neither socket was read', () => {
    expect(connectionTcp(d, indexSocketsTcpInfo([sock('172.18.0.9', 1, '172.18.0.3', 8080, info(1, 1))]))).toBeUndefined();
  });
});
