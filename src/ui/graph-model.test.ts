import { describe, expect, it } from 'vitest';
import { pairsMap, projectsMap } from '../../test/fixtures/topology/synthetic-map.mjs';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { EdgeSflow, EdgeTraffic, Topology, TopologyEdge } from '../core/model/topology.js';
import { formatRate } from './format.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { aggregateView, buildHierarchy } from './aggregate.js';
import { aggregatedEdgeLabel, budgetLines, edgeLabel, edgeWidth, fade, fitsAt, isIdleEdge, planView, shortName, toGraphModel, type EdgeData, type GraphModel, type NodeData } from './graph-model.js';

const topology = () => buildTopology(syntheticSnapshot());

/** An edge with these traffic figures and states. */
function edge(traffic: Partial<EdgeTraffic> | undefined, extra: Partial<TopologyEdge> = {}): TopologyEdge {
  return {
    id: 'a->b/tcp/80', from: 'a', to: 'b', protocol: 'tcp', port: 80, connections: 1, states: { ESTABLISHED: 1 }, via: ['socket'],
    ...(traffic ? { traffic: { bytesSent: 0, bytesReceived: 0, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0, ...traffic } } : {}),
    ...extra,
  };
}

/** The model of everything open. */
function openModel(t: Topology, now = Date.parse(t.takenAt)) {
  const h = buildHierarchy(t, 'compose');
  return toGraphModel(aggregateView(t, h, new Set(h.aggregates.keys())), h, now);
}

describe('toGraphModel', () => {
  it('everything open: the topology\'s nodes and edges, in their boxes, direction kept', () => {
    const t = topology();
    const m = openModel(t);
    expect(m.nodes.map((n) => n.id).sort()).toEqual(t.nodes.map((n) => n.id).sort());
    expect(m.edges.map((e) => e.id).sort()).toEqual(t.edges.map((e) => e.id).sort());
    for (const e of m.edges) {
      const src = t.edges.find((x) => x.id === e.id);
      expect([e.source, e.target]).toEqual([src?.from, src?.to]);
    }
    expect(m.nodes.find((n) => n.id === IDS.web)?.parent).toBe('group:compose:shop');
    expect(m.boxes.map((b) => b.label)).toEqual(expect.arrayContaining(['compose · shop', 'host · vm', 'external']));
    // Every node's box is drawn.
    const boxes = new Set(m.boxes.map((b) => b.id));
    for (const n of m.nodes) expect(boxes.has(n.parent ?? '')).toBe(true);
  });

  it('nodes grow with their edges and carry their worst edge\'s health; a sidecar is tied to its namespace\'s owner', () => {
    const t = topology();
    const size = (m: ReturnType<typeof openModel>, id: string) => m.nodes.find((n) => n.id === id)?.size ?? 0;
    const m = openModel(t);
    expect(size(m, IDS.api)).toBeGreaterThan(size(m, IDS.udps));
    const withBad = openModel({ ...t, edges: [...t.edges, edge({ rttP95Ms: 900 }, { id: 'x', from: IDS.web, to: IDS.db })] });
    expect(withBad.nodes.find((n) => n.id === IDS.web)?.health).toBe('bad');
    expect(withBad.nodes.find((n) => n.id === IDS.udps)?.health).toBe('unknown');
    expect(m.nodes.find((n) => n.id === IDS.side)?.pin).toBe(IDS.api);
    expect(m.netns).toEqual([{ id: `netns:${IDS.side}`, source: IDS.side, target: IDS.api }]);
  });

  it('folded: an aggregate node labelled with what it holds; its edges summed, labelled by ports and count', () => {
    const t = pairsMap();
    const h = buildHierarchy(t, 'compose');
    const m = toGraphModel(aggregateView(t, h, new Set(['group:net:pairs'])), h, Date.parse(t.takenAt));
    const clients = m.nodes.find((n) => n.label.startsWith('pair-*-client'));
    expect(clients).toMatchObject({ kind: 'aggregate', aggKind: 'service', count: 90, label: 'pair-*-client ×90', parent: 'group:net:pairs' });
    const between = m.edges.find((e) => e.source === clients?.id);
    expect(between).toMatchObject({ aggregated: true, count: 90, protocol: 'tcp' });
    expect(between?.label).toMatch(/^tcp\/7000 ×90/);
    const shop = toGraphModel(aggregateView(t, h, new Set()), h, 0).nodes.find((n) => n.id === 'group:compose:shop');
    expect(shop?.label).toBe('compose · shop\n6 containers');
  });

  it('recently closed edges and exited containers fade with age; gone for longer stays at the faintest', () => {
    const t = topology();
    const now = Date.parse(t.takenAt);
    const at = (s: number) => new Date(now - s * 1000).toISOString();
    const closed = (s: number) => openModel({ ...t, edges: t.edges.map((e) => (e.from === IDS.web && e.to === IDS.db ? { ...e, closedAt: at(s) } : e)) }).edges.find((e) => e.source === IDS.web && e.target === IDS.db);
    expect(closed(0)).toMatchObject({ closed: true, opacity: 0.75 });
    expect(closed(150)?.opacity).toBeCloseTo(0.5, 2);
    expect(closed(3600)?.opacity).toBe(0.25);
    const exited = openModel({ ...t, nodes: t.nodes.map((n) => (n.id === IDS.db && n.kind === 'container' ? { ...n, exitedAt: at(60) } : n)) }).nodes.find((n) => n.id === IDS.db);
    expect(exited).toMatchObject({ gone: true, label: 'db · exited' });
    expect(exited?.opacity).toBeLessThan(0.8);
    expect(fade(0, 1, 0.2)).toBe(1);
  });
});

describe('planView', () => {
  const viewport = { width: 1400, height: 760 };

  it('a small host: everything open', () => {
    const t = topology();
    const p = planView(t, 'compose', { viewport, zoom: 0.92, margin: 24, nowMs: 0 });
    expect(p.view.units.every((u) => u.kind === 'node')).toBe(true);
    expect(fitsAt(p.layout, viewport, 0.92, 24)).toBe(true);
  });

  it('200 containers and 1,000 edges: folded until the layout fits the window at a readable zoom', () => {
    for (const vp of [viewport, { width: 1024, height: 540 }]) {
      const p = planView(projectsMap(), 'compose', { viewport: vp, zoom: 0.92, margin: 24, nowMs: 0 });
      expect(fitsAt(p.layout, vp, 0.92, 24)).toBe(true);
      expect(p.view.units.some((u) => u.kind === 'aggregate')).toBe(true);
    }
  });

  it('given an open set, draws exactly that', () => {
    const t = pairsMap();
    const p = planView(t, 'compose', { viewport, zoom: 0.92, margin: 24, nowMs: 0, open: new Set() });
    expect(p.open.size).toBe(0);
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

  it('labels: protocol/port, the host ports it was reached through, the rate when it moves; aggregated: ports, count, rate', () => {
    expect(edgeLabel(edge(undefined))).toBe('tcp/80');
    expect(edgeLabel(edge(undefined, { publishedPorts: [18081, 18082] }))).toBe('tcp/80 (:18081, :18082)');
    expect(edgeLabel(edge({ bytesSentPerSec: 1024, bytesReceivedPerSec: 1024 }))).toBe('tcp/80 · 2.00 KB/s');
    expect(edgeLabel(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 0 }))).toBe('tcp/80');
    expect(aggregatedEdgeLabel([edge(undefined), edge(undefined, { port: 443 }), edge(undefined, { port: 9000, protocol: 'udp' })])).toBe('tcp/443, tcp/80 +1 ×3');
  });

  it('idle: measured at 0 B/s; unmeasured edges are not idle', () => {
    expect(isIdleEdge(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 0 }))).toBe(true);
    expect(isIdleEdge(edge({ bytesSentPerSec: 0, bytesReceivedPerSec: 5 }))).toBe(false);
    expect(isIdleEdge(edge({}))).toBe(false);
    expect(isIdleEdge(edge(undefined))).toBe(false);
  });

  it('long names are cut in the middle, keeping both ends', () => {
    expect(shortName('short')).toBe('short');
    const s = shortName('a-very-long-container-name-from-some-orchestrator-42');
    expect(s.length).toBe(40);
    expect(s).toMatch(/^a-very-long.*….*-42$/);
  });
});

describe('sFlow edges on the map', () => {
  const sflow: EdgeSflow = {
    bytesSource: 'sflow', agents: ['10.0.0.9'], samplingRates: [10], bytesSent: 10_000, bytesReceived: 90_000, packetsSent: 10, packetsReceived: 60,
    bytesSentPerSec: 1000, bytesReceivedPerSec: 9000, samples: 7, errorPercent: 74.08, firstSampleAt: '', lastSampleAt: '',
  };
  const between = (e: TopologyEdge): TopologyEdge => {
    const t = topology();
    const [a, b] = t.nodes.filter((n) => n.kind === 'container');
    return { ...e, id: `${a?.id}->${b?.id}/tcp/80`, from: a?.id ?? '', to: b?.id ?? '' };
  };
  const only = between(edge(undefined, { connections: 0, states: {}, via: [], sflow }));

  it('an edge only sFlow saw is sflowOnly, sized and labelled by its estimate, and never idle', () => {
    const m = openModel({ ...topology(), edges: [only] });
    const e = m.edges.find((x) => x.id === only.id);
    expect(e).toMatchObject({ sflowOnly: true, idle: false, width: edgeWidth(10_000) });
    expect(e?.rate).toBeUndefined();
    expect(edgeLabel(only)).toBe(`tcp/80 · ~${formatRate(10_000)} sFlow`);
  });

  it('an edge the sockets know keeps its own look; sFlow read back from history has no estimate', () => {
    const known = between(edge({ bytesSentPerSec: 5, bytesReceivedPerSec: 5 }, { sflow }));
    expect(openModel({ ...topology(), edges: [known] }).edges.find((x) => x.id === known.id)).toMatchObject({ sflowOnly: false, rate: 10 });
    const fromHistory = between(edge(undefined, { connections: 0, states: {}, via: [], sflow: { bytesSource: 'sflow', agents: ['10.0.0.9'], samplingRates: [10] } }));
    expect(edgeLabel(fromHistory)).toBe('tcp/80 · sFlow');
    expect(openModel({ ...topology(), edges: [fromHistory] }).edges.find((x) => x.id === fromHistory.id)).toMatchObject({ sflowOnly: true, width: 1.5 });
  });
});

describe('budgetLines', () => {
  // Ten folded hosts, a line between each pair of neighbours (rates 1..9 B/s, one unmeasured), plus one
  // container drawn as itself with an edge to a host and an edge between two containers, and a folded service
  // inside an open box with a line to a host (none of these three budgeted).
  const node = (id: string, kind: 'aggregate' | 'container'): NodeData => ({ id, kind, label: id, size: 40, health: 'unknown', opacity: 1 });
  const line = (i: number, rate: number | undefined, extra: Partial<EdgeData> = {}): EdgeData => ({
    id: `agg:h${i}->h${i + 1}`, source: `h${i}`, target: `h${i + 1}`, label: '', protocol: 'tcp', width: 2, health: 'ok',
    ...(rate !== undefined ? { rate } : {}), idle: false, count: 1, aggregated: true, closed: false, opacity: 0.6, sflowOnly: false, ...extra,
  });
  const hosts = Array.from({ length: 10 }, (_, i) => node(`h${i}`, 'aggregate'));
  const model: GraphModel = {
    boxes: [], netns: [],
    nodes: [...hosts, node('c1', 'container'), node('c2', 'container'), { ...node('svc', 'aggregate'), parent: 'h0-box' }],
    edges: [
      ...Array.from({ length: 9 }, (_, i) => line(i, i === 4 ? undefined : i + 1)),
      line(22, 0, { id: 'agg:svc->h5', source: 'svc', target: 'h5' }),
      line(20, 5, { id: 'agg:c1->h3', source: 'c1', target: 'h3' }),
      line(21, 9, { id: 'c1->c2/tcp/80', source: 'c1', target: 'c2', aggregated: false }),
    ],
  };
  const ids = (m: GraphModel) => m.edges.map((e) => e.id).sort();

  it('draws every line when there are no more than the budget', () => {
    const b = budgetLines(model, 9);
    expect(b.model).toBe(model);
    expect(b).toMatchObject({ hidden: 0, lines: 9 });
  });

  it('keeps the busiest lines between folded aggregates and every other edge, counting the rest', () => {
    const b = budgetLines(model, 3);
    expect(b.hidden).toBe(6);
    expect(b.lines).toBe(9);
    // Rates 9, 8, 7 (h8->h9, h7->h8, h6->h7); the lines from a container and from inside an open box, and the
    // edge between containers, stay.
    expect(ids(b.model)).toEqual(['agg:c1->h3', 'agg:h6->h7', 'agg:h7->h8', 'agg:h8->h9', 'agg:svc->h5', 'c1->c2/tcp/80']);
    // The unmeasured line ranks last.
    expect(ids(budgetLines(model, 8).model)).not.toContain('agg:h4->h5');
  });

  it('draws every line of the selected node, and the selected line, beyond the budget', () => {
    const b = budgetLines(model, 3, { keep: new Set(['h1']) });
    expect(ids(b.model)).toEqual(expect.arrayContaining(['agg:h0->h1', 'agg:h1->h2', 'agg:h6->h7', 'agg:h7->h8', 'agg:h8->h9']));
    expect(b.hidden).toBe(4);
    expect(ids(budgetLines(model, 3, { keep: new Set(['agg:h4->h5']) }).model)).toContain('agg:h4->h5');
  });

  it('keeps a line drawn before while it ranks within twice the budget, so shifting rates do not swap lines every second', () => {
    // h3->h4 (rate 4) ranks 5th of 9: within 2 × 3, drawn before, so it stays in place of the third busiest.
    const b = budgetLines(model, 3, { previous: new Set(['agg:h3->h4']) });
    expect(ids(b.model)).toEqual(['agg:c1->h3', 'agg:h3->h4', 'agg:h7->h8', 'agg:h8->h9', 'agg:svc->h5', 'c1->c2/tcp/80']);
    // h0->h1 (rate 1) ranks 8th: beyond 2 × 3, it goes.
    expect(ids(budgetLines(model, 3, { previous: new Set(['agg:h0->h1']) }).model)).not.toContain('agg:h0->h1');
  });
});
