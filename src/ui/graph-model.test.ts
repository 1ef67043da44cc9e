import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { EdgeTraffic, TopologyEdge } from '../core/model/topology.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { edgeLabel, edgeWidth, isIdleEdge, toGraphModel } from './graph-model.js';

const topology = () => buildTopology(syntheticSnapshot());

/** An edge with these traffic figures and states. */
function edge(traffic: Partial<EdgeTraffic> | undefined, extra: Partial<TopologyEdge> = {}): TopologyEdge {
  return {
    id: 'a->b/tcp/80', from: 'a', to: 'b', protocol: 'tcp', port: 80, connections: 1, states: { ESTABLISHED: 1 }, via: ['socket'],
    ...(traffic ? { traffic: { bytesSent: 0, bytesReceived: 0, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0, ...traffic } } : {}),
    ...extra,
  };
}

describe('toGraphModel', () => {
  it('groups containers by compose project, the rest by network; host processes and external addresses apart', () => {
    const m = toGraphModel(topology(), 'compose');
    const parent = (id: string) => m.nodes.find((n) => n.id === id)?.parent;
    expect(parent(IDS.web)).toBe('group:compose:shop');
    expect(parent(IDS.db)).toBe('group:compose:shop');
    expect(parent(IDS.udpc)).toBe('group:net:bridge');
    expect(parent(IDS.hc)).toBe('group:net:host');
    // A `container:` sidecar has no network of its own: its group names the namespace's owner.
    expect(parent(IDS.side)).toBe(`group:net:container:${IDS.api.slice(0, 12)}`);
    expect(parent('process:agent')).toBe('group:host');
    expect(parent('host')).toBe('group:host');
    expect(parent('external:93.184.216.34')).toBe('group:external');
    expect(m.groups.map((g) => [g.id, g.label, g.groupKind])).toEqual(expect.arrayContaining([
      ['group:compose:shop', 'compose · shop', 'compose'], ['group:host', 'host · vm', 'host'], ['group:external', 'external', 'external'],
    ]));
    // Every node's group is drawn, and every group holds a node.
    expect(new Set(m.nodes.map((n) => n.parent))).toEqual(new Set(m.groups.map((g) => g.id)));
  });

  it('by network: compose containers go to their network', () => {
    const m = toGraphModel(topology(), 'network');
    expect(m.nodes.find((n) => n.id === IDS.web)?.parent).toBe('group:net:shop_net');
    expect(m.groups.find((g) => g.id === 'group:net:shop_net')?.label).toBe('network · shop_net');
  });

  it('edges keep the topology\'s ids and direction; nodes grow with their edges and carry their worst edge', () => {
    const t = topology();
    const m = toGraphModel(t, 'compose');
    expect(m.edges.map((e) => e.id)).toEqual(t.edges.map((e) => e.id));
    for (const e of m.edges) {
      const src = t.edges.find((x) => x.id === e.id);
      expect([e.source, e.target]).toEqual([src?.from, src?.to]);
    }
    const size = (id: string) => m.nodes.find((n) => n.id === id)?.size ?? 0;
    // api has 4 edges, the udp server 1: bigger.
    expect(size(IDS.api)).toBeGreaterThan(size(IDS.udps));
    const withBad = toGraphModel({ ...t, edges: [...t.edges, edge({ rttMaxMs: 500, rttMeanMs: 300, rttP95Ms: 500 }, { id: 'x', from: IDS.web, to: IDS.db })] }, 'compose');
    expect(withBad.nodes.find((n) => n.id === IDS.web)?.health).toBe('bad');
    expect(withBad.nodes.find((n) => n.id === IDS.udps)?.health).toBe('unknown');
  });
});

describe('edge looks', () => {
  it('width grows with bytes/s, from 1.5 px idle to at most 10 px', () => {
    const widths = [undefined, 0, 100, 10_000, 1_000_000, 1e9, 1e15].map(edgeWidth);
    expect(widths[0]).toBe(1.5);
    expect(widths[1]).toBe(1.5);
    for (let i = 2; i < widths.length - 1; i++) expect(widths[i + 1] ?? 0).toBeGreaterThanOrEqual(widths[i] ?? 0);
    expect(widths[3]).toBeGreaterThan(widths[2] ?? 0);
    expect(Math.max(...widths)).toBe(10);
  });

  it('labels: protocol/port, the host ports it was reached through, the rate when it moves', () => {
    expect(edgeLabel(edge(undefined))).toBe('tcp/80');
    expect(edgeLabel(edge(undefined, { publishedPorts: [18081, 18082] }))).toBe('tcp/80 (:18081, :18082)');
    expect(edgeLabel(edge({ bytesSentPerSec: 1024, bytesReceivedPerSec: 1024 }))).toBe('tcp/80 · 2.00 KB/s');
    expect(edgeLabel(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 0 }))).toBe('tcp/80');
  });

  it('idle: measured at 0 B/s; unmeasured edges are not idle', () => {
    expect(isIdleEdge(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 0 }))).toBe(true);
    expect(isIdleEdge(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 5 }))).toBe(false);
    expect(isIdleEdge(edge({}))).toBe(false);
    expect(isIdleEdge(edge(undefined))).toBe(false);
  });
});
