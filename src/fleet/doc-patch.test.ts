import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPatch, diffPatch, PatchError, type Json, type Patch } from './doc-patch.js';

const node = (id: string, extra: Record<string, Json> = {}): Json => ({ id, kind: 'container', name: id, ...extra });

describe('diffPatch / applyPatch', () => {
  it('equal documents give no patch', () => {
    const doc = { a: 1, nodes: [node('x')] };
    expect(diffPatch(doc, structuredClone(doc))).toBeUndefined();
  });

  it('diffs arrays of id-keyed objects by id: one changed edge costs one edge', () => {
    const base = { takenAt: 't1', nodes: [node('a'), node('b'), node('c')] };
    const next = { takenAt: 't2', nodes: [node('a'), node('b', { name: 'B' }), node('c'), node('d')] };
    const p = diffPatch(base, next) as Patch;
    expect(p).toEqual({ o: { takenAt: { v: 't2' }, nodes: { a: { set: [node('b', { name: 'B' }), node('d')], del: [] } } } });
    expect(applyPatch(base, p)).toEqual(next);
  });

  it('keeps the new order when it is not the implied one, and deletes keys and elements', () => {
    const base = { x: 1, gone: true, nodes: [node('a'), node('b'), node('c')] };
    const next = { x: 1, nodes: [node('c'), node('a')] };
    const p = diffPatch(base, next) as Patch;
    expect(JSON.stringify(p)).toContain('"order"');
    expect(applyPatch(base, p)).toEqual(next);
  });

  it('does not modify the base', () => {
    const base = { nodes: [node('a')], n: { k: 1 } };
    const copy = structuredClone(base);
    applyPatch(base, diffPatch(base, { nodes: [node('b')], n: { k: 2 } }) as Patch);
    expect(base).toEqual(copy);
  });

  it('round-trips any pair of documents (property)', () => {
    const item = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), v: fc.integer({ min: 0, max: 3 }) });
    const doc = fc.record({
      t: fc.string({ maxLength: 3 }),
      nodes: fc.uniqueArray(item, { selector: (e) => e.id, maxLength: 5 }),
      plain: fc.array(fc.integer(), { maxLength: 3 }),
      nested: fc.option(fc.record({ a: fc.integer(), b: fc.option(fc.string()) })),
    }, { requiredKeys: ['t'] });
    fc.assert(fc.property(doc, doc, (a, b) => {
      const p = diffPatch(a as Json, b as Json);
      const out = p === undefined ? a : applyPatch(a as Json, p);
      expect(out).toEqual(b);
    }), { numRuns: 500, seed: 12 });
  });

  it.each<[string, Json, unknown]>([
    ['object patch on a number', 3, { o: { a: { v: 1 } } }],
    ['array patch on an object', {}, { a: { set: [], del: [] } }],
    ['array patch with an element without id', [node('a')], { a: { set: [{ x: 1 }], del: [] } }],
    ['order not listing the elements', [node('a'), node('b')], { a: { set: [], del: [], order: ['a', 'a'] } }],
    ['patch of a missing key', { a: 1 }, { o: { b: { o: {} } } }],
    ['unknown patch', { a: 1 }, { z: 1 }],
    ['not an object', { a: 1 }, 'v'],
    ['a __proto__ key', { a: 1 }, JSON.parse('{"o":{"__proto__":{"v":{"polluted":true}}}}')],
    ['deleted id not a string', [node('a')], { a: { set: [], del: [3] } }],
  ])('refuses a patch that does not fit: %s', (_name, base, patch) => {
    expect(() => applyPatch(base, patch as Patch)).toThrow(PatchError);
  });

  it('refuses patches nested deeper than the limit without blowing the stack', () => {
    let p: unknown = { v: 1 };
    let base: Json = 1;
    for (let i = 0; i < 10_000; i++) {
      p = { o: { k: p } };
      base = { k: base };
    }
    expect(() => applyPatch(base, p as Patch)).toThrow(/deeper/);
  });

  it('random patches either apply or throw PatchError, nothing else (fuzz)', () => {
    const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;
    const patch: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      p: fc.oneof(
        fc.record({ v: json }),
        fc.record({ d: fc.constant(1) }),
        fc.record({ o: fc.dictionary(fc.constantFrom('id', 'a', 'b', 'nodes'), tie('p'), { maxKeys: 3 }) }),
        fc.record({ a: fc.record({ set: fc.array(fc.oneof(json, fc.record({ id: fc.constantFrom('a', 'b') })), { maxLength: 3 }), del: fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 2 }), order: fc.option(fc.array(fc.constantFrom('a', 'b', 'c'))) }) }),
        json,
      ),
    })).p;
    const base = fc.oneof(json, fc.constant({ id: 'x', nodes: [{ id: 'a' }, { id: 'b' }] } as Json), fc.constant([{ id: 'a' }, { id: 'c' }] as Json));
    fc.assert(fc.property(base, patch, (b, p) => {
      try {
        const out = applyPatch(b, p as Patch);
        // Output is bounded by input: a patch cannot make more than it carries plus the base.
        expect(JSON.stringify(out ?? null).length).toBeLessThanOrEqual(JSON.stringify(b).length + JSON.stringify(p).length + 2);
      } catch (err) {
        expect(err).toBeInstanceOf(PatchError);
      }
    }), { numRuns: 3000, seed: 7 });
  });
});
