// A bounded cache whose entries expire: least recently used entries go first when it is full. The clock is
// the caller's (every call takes `nowMs`), so the cache itself stays deterministic and testable.

/** A size-bounded LRU map with a time-to-live per entry. */
export interface TtlCache<K, V> {
  /** The value if present and not expired at `nowMs` (and marks it recently used); expired entries are dropped. */
  get(key: K, nowMs: number): V | undefined;
  /** True when `key` holds a live value at `nowMs` (does not touch recency). */
  has(key: K, nowMs: number): boolean;
  /** Stores a value living `ttlMs` from `nowMs`, evicting the least recently used entries beyond the bound. */
  set(key: K, value: V, ttlMs: number, nowMs: number): void;
  delete(key: K): boolean;
  /** Number of entries held (expired ones included until touched or evicted). */
  readonly size: number;
  readonly maxEntries: number;
}

/** Creates a TtlCache holding at most `maxEntries` entries (at least 1). */
export function createTtlCache<K, V>(maxEntries: number): TtlCache<K, V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  // Map iteration order is insertion order: re-inserting on use keeps the least recently used first.
  const map = new Map<K, { value: V; expiresAt: number }>();
  return {
    get(key, nowMs) {
      const e = map.get(key);
      if (!e) return undefined;
      map.delete(key);
      if (e.expiresAt <= nowMs) return undefined;
      map.set(key, e);
      return e.value;
    },
    has(key, nowMs) {
      const e = map.get(key);
      return e !== undefined && e.expiresAt > nowMs;
    },
    set(key, value, ttlMs, nowMs) {
      map.delete(key);
      map.set(key, { value, expiresAt: nowMs + ttlMs });
      while (map.size > maxEntries) {
        const oldest = map.keys().next();
        if (oldest.done) break;
        map.delete(oldest.value);
      }
    },
    delete: (key) => map.delete(key),
    get size() { return map.size; },
    maxEntries,
  };
}
