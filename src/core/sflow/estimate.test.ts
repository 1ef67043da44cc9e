import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import { attributeSockets } from '../attribute.js';
import type { SflowFlow, SflowPart } from '../model/sflow.js';
import type { Snapshot } from '../model/snapshot.js';
import type { EdgeSflow, Topology, TopologyEdge } from '../model/topology.js';
import { buildTopology } from '../topology/build-topology.js';
import { estimateSflowEdges, serverByPorts, type SflowEdgeState } from './estimate.js';
import { applySflow, withSflowEstimates } from './merge.js';

const T0 = Date.parse('2026-11-29T06:00:00.000Z');

function flow(src: string, dst: string, protocol: 'tcp' | 'udp', bytes: number, extra: Partial<SflowFlow> = {}): SflowFlow {
  const split = (e: string) => { const i = e.lastIndexOf(':'); return [e.slice(0, i).replace(/^\[|\]$/g, ''), Number(e.slice(i + 1))] as const; };
  const [srcIp, srcPort] = split(src);
  const [dstIp, dstPort] = split(dst);
  return {
    agent: '10.0.0.9', subAgentId: 0, protocol, srcIp, dstIp, srcPort, dstPort, samples: 1, sampledBytes: bytes / 10, bytes, packets: 10,
    syn: false, samplingRates: [10], ...extra,
  };
}

function part(flows: SflowFlow[], fromMs: number, toMs: number): SflowPart {
  return {
    fromMs, toMs, flows, counters: [], agents: [],
    receiver: { listen: '0.0.0.0:6343', datagrams: 0, bytes: 0, rejected: {}, flowTableOverflow: 0, counterTableOverflow: 0, queueDropped: 0 },
  };
}

/** The synthetic host (web, api, db…; a host `agent` listening on 7000) with MACs, collected at `atMs` with these flows. */
function snapshotWith(flows: SflowFlow[], atMs = T0 + 2000, fromMs = atMs - 2000, change: (s: Snapshot) => Snapshot = (s) => s): Snapshot {
  const base = syntheticSnapshot();
  const containers = base.containers.map((c) => c.id === IDS.web
    ? { ...c, networks: c.networks.map((n) => ({ ...n, macAddress: '02:42:ac:12:00:02' })) }
    : c);
  return change({ ...base, containers, takenAt: new Date(atMs).toISOString(), sflow: part(flows, fromMs, atMs) });
}

function run(s: Snapshot, prev?: SflowEdgeState, options = {}): { topology: Topology; state: SflowEdgeState; before: Topology } {
  const attribution = attributeSockets(s);
  const before = buildTopology(s, {}, attribution);
  const { topology, state } = applySflow(before, s, attribution, prev, options);
  return { topology, state, before };
}

const edge = (t: Topology, from: string, to: string, protocol: string, port: number): TopologyEdge | undefined =>
  t.edges.find((e) => e.from === from && e.to === to && e.protocol === protocol && e.port === port);
const est = (e: TopologyEdge | undefined) => e?.sflow as EdgeSflow | undefined;

describe('estimateSflowEdges / withSflowEstimates', () => {
  it('a sampled connection the sockets know goes on their edge, beside (not into) what the collectors say', () => {
    const { topology, before } = run(snapshotWith([
      flow('172.18.0.2:50000', '172.18.0.3:8080', 'tcp', 1000),
      flow('172.18.0.3:8080', '172.18.0.2:50000', 'tcp', 5000, { packets: 5, samples: 2 }),
    ]));
    const e = edge(topology, IDS.web, IDS.api, 'tcp', 8080);
    const { sflow: _s, ...rest } = e ?? ({} as TopologyEdge);
    expect(rest).toEqual(edge(before, IDS.web, IDS.api, 'tcp', 8080));
    expect(est(e)).toMatchObject({
      bytesSource: 'sflow', bytesSent: 1000, bytesReceived: 5000, packetsSent: 10, packetsReceived: 5, samples: 3,
      bytesSentPerSec: 500, bytesReceivedPerSec: 2500, samplingRates: [10], agents: ['10.0.0.9'], errorPercent: 113.16,
    });
    expect(topology.edges).toHaveLength(before.edges.length);
  });

  it('a connection the sockets did not see: resolved by address, the server by its listening socket', () => {
    // api listens on 8080; its port is lower than web's 1234 would suggest only by the listener, not by the ports.
    const { topology } = run(snapshotWith([flow('172.18.0.3:8080', '172.18.0.2:1234', 'tcp', 700)]));
    expect(est(edge(topology, IDS.web, IDS.api, 'tcp', 8080))).toMatchObject({ bytesSent: 0, bytesReceived: 700 });
  });

  it('the gateway is the host, and a host process listening on the port is that process', () => {
    const { topology } = run(snapshotWith([
      flow('172.18.0.2:41999', '172.18.0.1:7000', 'tcp', 100),
      flow('172.18.0.2:42001', '172.18.0.1:7001', 'tcp', 50),
    ]));
    expect(est(edge(topology, IDS.web, 'process:agent', 'tcp', 7000))).toMatchObject({ bytesSent: 100 });
    const host = edge(topology, IDS.web, 'host', 'tcp', 7001);
    expect(host).toMatchObject({ connections: 0, states: {}, via: [] });
    expect(host?.details).toBeUndefined();
    expect(topology.nodes.some((n) => n.id === 'host' && n.kind === 'host')).toBe(true);
  });

  it('addresses portolan does not know are external nodes: container → external, and external ↔ external', () => {
    const { topology } = run(snapshotWith([
      flow('172.18.0.2:40000', '203.0.113.9:53', 'udp', 80),
      flow('198.51.100.1:51000', '198.51.100.2:443', 'tcp', 9000),
    ]));
    expect(est(edge(topology, IDS.web, 'external:203.0.113.9', 'udp', 53))).toMatchObject({ bytesSent: 80 });
    expect(est(edge(topology, 'external:198.51.100.1', 'external:198.51.100.2', 'tcp', 443))).toMatchObject({ bytesSent: 9000 });
    expect(topology.nodes.filter((n) => n.kind === 'external').map((n) => n.id)).toEqual(
      expect.arrayContaining(['external:203.0.113.9', 'external:198.51.100.1', 'external:198.51.100.2']));
  });

  it('with no listener known: a SYN names the client, else the port outside the ephemeral range is the server', () => {
    const { topology } = run(snapshotWith([
      flow('198.51.100.5:2000', '198.51.100.6:3000', 'tcp', 10, { syn: true }),
      flow('198.51.100.7:45000', '198.51.100.8:9100', 'tcp', 10),
      flow('198.51.100.9:33000', '198.51.100.10:40000', 'udp', 10),
    ]));
    expect(edge(topology, 'external:198.51.100.5', 'external:198.51.100.6', 'tcp', 3000)).toBeDefined();
    expect(edge(topology, 'external:198.51.100.7', 'external:198.51.100.8', 'tcp', 9100)).toBeDefined();
    expect(edge(topology, 'external:198.51.100.10', 'external:198.51.100.9', 'udp', 33000)).toBeDefined();
  });

  it('an address Docker does not list (IPv6 link-local) is its container by MAC', () => {
    const { topology } = run(snapshotWith([flow('[fe80::42:acff:fe12:2]:40000', '[fe80::1]:53', 'udp', 90, { srcMac: '02:42:AC:12:00:02' })]));
    expect(est(edge(topology, IDS.web, 'external:fe80::1', 'udp', 53))).toMatchObject({ bytesSent: 90 });
  });

  it('accumulates over collections (rates per interval), and an edge leaves after the TTL or with its container', () => {
    const f = flow('172.18.0.2:40000', '203.0.113.9:53', 'udp', 400);
    const id = `${IDS.web}->external:203.0.113.9/udp/53`;
    const first = run(snapshotWith([f], T0 + 2000));
    const second = run(snapshotWith([f, f], T0 + 4000), first.state);
    expect(est(second.topology.edges.find((e) => e.id === id))).toMatchObject({
      bytesSent: 1200, packetsSent: 30, samples: 3, bytesSentPerSec: 400, firstSampleAt: new Date(T0 + 2000).toISOString(), lastSampleAt: new Date(T0 + 4000).toISOString(),
    });
    const quiet = run(snapshotWith([], T0 + 100_000), second.state);
    expect(est(quiet.topology.edges.find((e) => e.id === id))).toMatchObject({ bytesSent: 1200, bytesSentPerSec: 0 });
    const gone = run(snapshotWith([], T0 + 125_000), quiet.state);
    expect(gone.topology.edges.find((e) => e.id === id)).toBeUndefined();
    const stopped = run(snapshotWith([], T0 + 6000, T0 + 4000, (s) => ({ ...s, netns: { ...s.netns, containers: s.netns.containers.filter((c) => c.containerId !== IDS.web) } })), second.state);
    expect(stopped.state.edges.has(id)).toBe(false);
  });

  it('edges between external addresses are capped; what the cap leaves out is counted and said', () => {
    const { topology, state } = run(snapshotWith([
      flow('198.51.100.1:40000', '198.51.100.2:443', 'tcp', 1),
      flow('198.51.100.3:40000', '198.51.100.4:443', 'tcp', 1),
      flow('172.18.0.2:40000', '198.51.100.4:443', 'tcp', 1),
    ]), undefined, { maxExternalEdges: 1 });
    expect(topology.edges.filter((e) => e.sflow && e.connections === 0)).toHaveLength(2);
    expect(state.droppedExternalEdges).toBe(1);
    expect(topology.warnings.at(-1)).toMatch(/^sflow: 1 edges between external addresses left out/);
  });

  it('without sFlow the topology is returned as it was', () => {
    const s = { ...syntheticSnapshot() };
    const attribution = attributeSockets(s);
    const t = buildTopology(s, {}, attribution);
    const { estimates, state } = estimateSflowEdges(s, attribution, t, undefined);
    expect(withSflowEstimates(t, estimates)).toBe(t);
    expect(state.edges.size).toBe(0);
  });
});

describe('serverByPorts', () => {
  it.each([
    [45000, 8080, 'b'], [8080, 45000, 'a'], [53, 1024, 'a'], [40000, 50000, 'a'], [60000, 33000, 'b'], [123, 123, 'a'],
  ] as const)('%i ↔ %i: server %s', (a, b, server) => {
    expect(serverByPorts(a, b)).toBe(server);
  });
});
