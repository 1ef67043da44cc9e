import { describe, expect, it } from 'vitest';
import { pairsMap, projectsMap } from '../../test/fixtures/topology/synthetic-map.mjs';
import { aggregateView, buildHierarchy, chooseOpen } from './aggregate.js';
import { layeredLayout, METRICS, placeNewNodes, rankNodes, type LayoutBox, type LayoutEdge, type LayoutNode, type Point, type Rect } from './layered-layout.js';

const n = (id: string, parent?: string, pin?: string): LayoutNode => ({ id, ...(parent ? { parent } : {}), ...(pin ? { pin } : {}) });
const e = (source: string, target: string): LayoutEdge => ({ source, target });
const overlap = (a: Rect, b: Rect) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

/** The layout of a topology's view as the map computes it. */
function viewLayout(budget: number) {
  const t = projectsMap();
  const h = buildHierarchy(t, 'compose');
  const v = aggregateView(t, h, chooseOpen(h, budget));
  const boxes: LayoutBox[] = v.boxes.map((b) => ({ id: b.id, ...(b.parent ? { parent: b.parent } : {}) }));
  const nodes: LayoutNode[] = v.units.map((u) => n(u.id, u.parent));
  const edges = v.edges.map((x) => e(x.source, x.target));
  return { v, layout: layeredLayout(boxes, nodes, edges), edges };
}

describe('rankNodes', () => {
  it('clients left of the servers they call, tier by tier', () => {
    const r = rankNodes([n('web'), n('api'), n('db'), n('cache'), n('lb')], [e('lb', 'web'), e('web', 'api'), e('api', 'db'), e('web', 'cache')]);
    expect(Object.fromEntries(r)).toEqual({ lb: 0, web: 1, api: 2, cache: 2, db: 3 });
  });

  it('cycles are broken, not looped on; a long chain does not overflow the stack', () => {
    const r = rankNodes([n('a'), n('b'), n('c')], [e('a', 'b'), e('b', 'c'), e('c', 'a')]);
    expect([...r.values()].sort()).toEqual([0, 1, 2]);
    const chain = Array.from({ length: 20_000 }, (_, i) => n(`n${i}`));
    const ranks = rankNodes(chain, chain.slice(1).map((x, i) => e(`n${i}`, x.id)));
    expect(ranks.get('n19999')).toBe(19_999);
  });

  it('a pinned node (a `container:` sidecar) takes its anchor\'s rank', () => {
    const r = rankNodes([n('api'), n('side', undefined, 'api'), n('db'), n('web')], [e('web', 'api'), e('side', 'db')]);
    expect(r.get('side')).toBe(r.get('api'));
  });
});

describe('layeredLayout', () => {
  it('every edge between ranks of one box points right; no two nodes share a slot', () => {
    const { layout, edges, v } = viewLayout(80);
    const parent = new Map(v.units.map((u) => [u.id, u.parent]));
    for (const x of edges.filter((y) => parent.get(y.source) === parent.get(y.target))) {
      const rs = layout.ranks.get(x.source) ?? 0;
      const rt = layout.ranks.get(x.target) ?? 0;
      if (rs < rt) expect(layout.positions.get(x.source)?.x ?? 0).toBeLessThan(layout.positions.get(x.target)?.x ?? 0);
    }
    const slots = [...layout.positions.values()].map((p) => `${p.x},${p.y}`);
    expect(new Set(slots).size).toBe(slots.length);
    const ps = [...layout.positions.values()];
    for (let i = 0; i < ps.length; i++) {
      for (let j = i + 1; j < ps.length; j++) {
        const a = ps[i] as Point;
        const b = ps[j] as Point;
        expect(Math.abs(a.x - b.x) >= METRICS.colWidth || Math.abs(a.y - b.y) >= METRICS.rowHeight).toBe(true);
      }
    }
  });

  it('boxes never overlap (titles included) and hold their children; the map keeps near the window\'s shape', () => {
    const t = pairsMap();
    const h = buildHierarchy(t, 'compose');
    const v = aggregateView(t, h, new Set(h.aggregates.keys()));
    const layout = layeredLayout(v.boxes.map((b) => ({ id: b.id, ...(b.parent ? { parent: b.parent } : {}) })), v.units.map((u) => n(u.id, u.parent)), v.edges.map((x) => e(x.source, x.target)), METRICS, { width: 1500, height: 800 });
    const rects = [...layout.boxes];
    for (let i = 0; i < rects.length; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const [ia, a] = rects[i] as [string, Rect];
        const [ib, b] = rects[j] as [string, Rect];
        const pa = h.aggregates.get(ia)?.parent;
        const pb = h.aggregates.get(ib)?.parent;
        if (pa === ib || pb === ia) continue;
        expect(overlap(a, b), `${ia} / ${ib}`).toBe(false);
      }
    }
    for (const u of v.units) {
      const p = layout.positions.get(u.id) as Point;
      const r = layout.boxes.get(u.parent ?? '');
      if (r) expect(p.x > r.x1 && p.x < r.x2 && p.y > r.y1 && p.y < r.y2).toBe(true);
    }
  });

  it('a sidecar sits right under the container it shares, in the same column', () => {
    const l = layeredLayout([{ id: 'g' }], [n('web', 'g'), n('api', 'g'), n('side', 'g', 'api'), n('db', 'g')], [e('web', 'api'), e('api', 'db'), e('side', 'db')]);
    const api = l.positions.get('api') as Point;
    const side = l.positions.get('side') as Point;
    expect(side.x).toBe(api.x);
    expect(side.y - api.y).toBe(METRICS.rowHeight);
  });

  it('a row of riders (replicas pinned one under the other) stays whole and in order', () => {
    const l = layeredLayout([], [n('a'), n('b', undefined, 'a'), n('c', undefined, 'b'), n('d', undefined, 'c'), n('x')], [e('x', 'a')]);
    const ys = ['a', 'b', 'c', 'd'].map((id) => l.positions.get(id));
    expect(ys.every((p) => p !== undefined)).toBe(true);
    expect(new Set(ys.map((p) => p?.x)).size).toBe(1);
    for (let i = 1; i < ys.length; i++) expect(ys[i]?.y ?? 0).toBeGreaterThan(ys[i - 1]?.y ?? 0);
  });

  it('a rider follows its anchor also when neither has an edge inside their box', () => {
    const l = layeredLayout([{ id: 'g' }], [n('x', 'g'), n('y', 'g'), n('c1', 'g'), n('c2', 'g', 'c1')], [e('x', 'y'), e('c1', 'out'), e('c2', 'out')]);
    expect(l.positions.get('c2')?.x).toBe(l.positions.get('c1')?.x);
  });

  it('a crowded column wraps into sub-columns at the window\'s height instead of one endless column', () => {
    const clients = Array.from({ length: 100 }, (_, i) => n(`c${i}`, 'g'));
    const limits = { width: 1500, height: 800 };
    const l = layeredLayout([{ id: 'g' }], [...clients, n('s', 'g')], clients.map((c) => e(c.id, 's')), METRICS, limits);
    const h = l.bounds.y2 - l.bounds.y1;
    expect(h).toBeLessThan(800 + METRICS.rowHeight + METRICS.titleHeight + 2 * METRICS.boxPad);
    expect(l.positions.get('s')?.x).toBeGreaterThan(Math.max(...clients.map((c) => l.positions.get(c.id)?.x ?? 0)));
  });

  it('is deterministic', () => {
    const a = viewLayout(60).layout;
    const b = viewLayout(60).layout;
    expect([...a.positions]).toEqual([...b.positions]);
  });

  it('more tiers than the window has columns fold together, in order', () => {
    const chain = Array.from({ length: 30 }, (_, i) => n(`t${i}`));
    const l = layeredLayout([], chain, chain.slice(1).map((x, i) => e(`t${i}`, x.id)), METRICS, { width: 1400, height: 800 });
    expect(l.bounds.x2 - l.bounds.x1).toBeLessThanOrEqual(1400 + METRICS.colWidth);
    for (let i = 1; i < 30; i++) expect(l.positions.get(`t${i}`)?.x ?? 0).toBeGreaterThanOrEqual(l.positions.get(`t${i - 1}`)?.x ?? 0);
  });

  it('a box is at least as wide as its title', () => {
    const l = layeredLayout([{ id: 'g', titleWidth: 600 }], [n('a', 'g')], []);
    const r = l.boxes.get('g') as Rect;
    expect(r.x2 - r.x1).toBeGreaterThanOrEqual(600);
  });
});

describe('placeNewNodes', () => {
  const placed = new Map<string, Point>([['web', { x: 88, y: 37 }], ['api', { x: 320, y: 37 }], ['db', { x: 552, y: 37 }], ['other', { x: 88, y: 400 }]]);
  const parents = new Map<string, string | undefined>([['web', 'g'], ['api', 'g'], ['db', 'g'], ['other', 'h']]);

  it('a new server of api goes right of it, in its band, on a free slot; nothing placed moves', () => {
    const p = placeNewNodes([{ id: 'cache', parent: 'g', clients: ['api'], servers: [] }], placed, parents).get('cache') as Point;
    expect(p.x).toBeGreaterThan(320);
    expect(p.y).toBeLessThan(400 - METRICS.rowHeight);
    for (const q of placed.values()) expect(Math.abs(q.x - p.x) >= METRICS.colWidth * 0.9 || Math.abs(q.y - p.y) >= METRICS.rowHeight * 0.9).toBe(true);
  });

  it('a new client goes left of what it calls; two new nodes do not share a slot', () => {
    const out = placeNewNodes([{ id: 'lb', parent: 'g', clients: [], servers: ['web'] }, { id: 'lb2', parent: 'g', clients: [], servers: ['web'] }], placed, parents);
    expect(out.get('lb')?.x).toBeLessThan(88);
    expect(out.get('lb')).not.toEqual(out.get('lb2'));
  });

  it('a box grows only where it runs into no other box: a new client of api goes to a free slot inside its box rather than left into its neighbour', () => {
    const pos = new Map<string, Point>([['web', { x: 300, y: 37 }], ['api', { x: 532, y: 37 }], ['db', { x: 764, y: 37 }], ['w2', { x: 300, y: 111 }], ['p', { x: 88, y: 37 }]]);
    const par = new Map<string, string | undefined>([['web', 'g'], ['api', 'g'], ['db', 'g'], ['w2', 'g'], ['p', 'h']]);
    const boxes = new Map([['g', { rect: { x1: 198, y1: -24, x2: 866, y2: 162 } }], ['h', { rect: { x1: -14, y1: -24, x2: 190, y2: 88 } }]]);
    const p = placeNewNodes([{ id: 'late', parent: 'g', clients: [], servers: ['api'] }], pos, par, boxes).get('late') as Point;
    expect(p.x - METRICS.colWidth / 2 - METRICS.boxPad).toBeGreaterThanOrEqual(190);
    expect(p.x === 300 && (p.y === 37 || p.y === 111)).toBe(false);
  });

  it('a node of a new box goes under everything', () => {
    expect(placeNewNodes([{ id: 'n', parent: 'new', clients: [], servers: [] }], placed, parents).get('n')?.y).toBeGreaterThan(400);
  });
});
