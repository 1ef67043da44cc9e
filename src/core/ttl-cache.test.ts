import { describe, expect, it } from 'vitest';
import { createTtlCache } from './ttl-cache.js';

describe('createTtlCache', () => {
  it('returns values until they expire', () => {
    const c = createTtlCache<string, string>(10);
    c.set('a', 'x', 1000, 0);
    expect(c.get('a', 999)).toBe('x');
    expect(c.has('a', 999)).toBe(true);
    expect(c.get('a', 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const c = createTtlCache<string, number>(2);
    c.set('a', 1, 1000, 0);
    c.set('b', 2, 1000, 0);
    expect(c.get('a', 1)).toBe(1);
    c.set('c', 3, 1000, 2);
    expect(c.get('b', 3)).toBeUndefined();
    expect(c.get('a', 3)).toBe(1);
    expect(c.get('c', 3)).toBe(3);
    expect(c.size).toBe(2);
  });

  it('stays bounded under a flood of keys', () => {
    const c = createTtlCache<number, number>(100);
    for (let i = 0; i < 100_000; i++) c.set(i, i, 60_000, i);
    expect(c.size).toBe(100);
    expect(c.get(99_999, 100_000)).toBe(99_999);
    expect(c.get(0, 100_000)).toBeUndefined();
  });

  it('overwriting refreshes value and ttl; delete removes', () => {
    const c = createTtlCache<string, string>(3);
    c.set('a', 'x', 10, 0);
    c.set('a', 'y', 100, 5);
    expect(c.get('a', 50)).toBe('y');
    expect(c.delete('a')).toBe(true);
    expect(c.has('a', 50)).toBe(false);
  });

  it('rejects a bound below 1', () => {
    expect(() => createTtlCache(0)).toThrow(RangeError);
  });
});
