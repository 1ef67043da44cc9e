import { describe, expect, it } from 'vitest';
import { freeSpot, placeNodes, type Point } from './placement.js';

const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

describe('placeNodes', () => {
  const positions = new Map<string, Point>([['a', { x: 0, y: 0 }], ['b', { x: 80, y: 0 }], ['c', { x: 500, y: 300 }]]);
  const groups = new Map([['a', 'g1'], ['b', 'g1'], ['c', 'g2']]);

  it('puts a new node of a group near its neighbour, clear of every node', () => {
    const placed = placeNodes([{ id: 'n', group: 'g1', neighbours: ['b'] }], { positions, groups });
    const p = placed.get('n');
    if (!p) throw new Error('not placed');
    for (const q of positions.values()) expect(dist(p, q)).toBeGreaterThanOrEqual(76);
    // Nearer its neighbour b than the other group.
    expect(dist(p, { x: 80, y: 0 })).toBeLessThan(200);
    expect(placed.has('a')).toBe(false);
  });

  it('gives a node seen before its old place', () => {
    const placed = placeNodes([{ id: 'old', group: 'g1', neighbours: ['c'] }], { positions, groups, remembered: new Map([['old', { x: -300, y: 40 }]]) });
    expect(placed.get('old')).toEqual({ x: -300, y: 40 });
  });

  it('starts a new group in a column right of everything, at its neighbours\' height', () => {
    const placed = placeNodes([
      { id: 'x1', group: 'g3', neighbours: ['c'] },
      { id: 'x2', group: 'g3', neighbours: [] },
    ], { positions, groups });
    const x1 = placed.get('x1');
    const x2 = placed.get('x2');
    expect(x1?.x).toBeGreaterThan(500);
    expect(x1?.y).toBe(300);
    // The second member joins the first, not the column's top.
    expect(dist(x1 ?? { x: 0, y: 0 }, x2 ?? { x: 0, y: 0 })).toBeLessThan(200);
    expect(dist(x1 ?? { x: 0, y: 0 }, x2 ?? { x: 0, y: 0 })).toBeGreaterThanOrEqual(76);
  });

  it('places many new nodes without overlaps', () => {
    const nodes = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, group: 'g1', neighbours: ['a'] }));
    const placed = [...placeNodes(nodes, { positions, groups }).values()];
    const all = [...positions.values(), ...placed];
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(dist(all[i] as Point, all[j] as Point)).toBeGreaterThanOrEqual(75);
  });
});

describe('freeSpot', () => {
  it('is the start when free, else the free ring point nearest the target', () => {
    expect(freeSpot({ x: 0, y: 0 }, { x: 0, y: 0 }, [], 50)).toEqual({ x: 0, y: 0 });
    const p = freeSpot({ x: 0, y: 0 }, { x: 100, y: 0 }, [{ x: 0, y: 0 }], 50);
    expect(p.x).toBeCloseTo(50);
    expect(p.y).toBeCloseTo(0);
  });
});
