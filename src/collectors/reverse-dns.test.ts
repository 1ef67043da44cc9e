import { describe, expect, it } from 'vitest';
import type { ReverseDns } from '../sources/reverse-dns.js';
import { createNameResolver } from './reverse-dns.js';

/** A fake resolver: answers from a table after the test releases them. */
function fakeDns(table: Record<string, string[] | Error>) {
  const pending: { address: string; resolve: (v: string[]) => void; reject: (e: Error) => void }[] = [];
  let calls = 0;
  let cancelled = 0;
  const dns: ReverseDns = {
    reverse: (address) => new Promise((resolve, reject) => { calls++; pending.push({ address, resolve, reject }); }),
    cancel: () => { cancelled++; for (const p of pending.splice(0)) p.reject(Object.assign(new Error('cancelled'), { code: 'ECANCELLED' })); },
  };
  const release = async () => {
    for (const p of pending.splice(0)) {
      const a = table[p.address] ?? [];
      if (a instanceof Error) p.reject(a); else p.resolve(a);
    }
    await new Promise((r) => setImmediate(r));
  };
  return { dns, release, calls: () => calls, cancelled: () => cancelled, pending: () => pending.length };
}

describe('createNameResolver', () => {
  it('never waits: names() returns only what is known, request() queues lookups in the background', async () => {
    let t = 0;
    const f = fakeDns({ '93.184.216.34': ['example.net'], '10.0.0.9': [] });
    const r = createNameResolver({ dns: f.dns, now: () => t });
    r.request(['93.184.216.34', '10.0.0.9', '93.184.216.34']);
    expect(r.names(['93.184.216.34'])).toEqual(new Map());
    expect(f.calls()).toBe(2);
    await f.release();
    expect(r.names(['93.184.216.34', '10.0.0.9'])).toEqual(new Map([['93.184.216.34', 'example.net']]));
    // Cached (also the negative answer): no new lookups until the TTLs pass.
    r.request(['93.184.216.34', '10.0.0.9']);
    expect(f.calls()).toBe(2);
    t = 61_000;
    r.request(['93.184.216.34', '10.0.0.9']);
    expect(f.calls()).toBe(3);
    t = 601_000;
    r.request(['93.184.216.34']);
    expect(f.calls()).toBe(4);
  });

  it('is bounded: queue, lookups in flight and cache', async () => {
    const f = fakeDns({});
    const r = createNameResolver({ dns: f.dns, maxQueued: 10, concurrency: 3, maxEntries: 5 });
    r.request(Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`));
    expect(r.stats()).toMatchObject({ inFlight: 3, queued: 10, dropped: 987 });
    for (let i = 0; i < 10; i++) await f.release();
    expect(r.stats()).toMatchObject({ inFlight: 0, queued: 0, cached: 5 });
  });

  it('failures are cached as "no name" and counted; settle() waits at most its timeout; close() cancels', async () => {
    const f = fakeDns({ '10.0.0.1': Object.assign(new Error('timeout'), { code: 'ETIMEOUT' }) });
    const r = createNameResolver({ dns: f.dns });
    r.request(['10.0.0.1']);
    await f.release();
    expect(r.stats().failed).toBe(1);
    expect(r.names(['10.0.0.1']).size).toBe(0);
    r.request(['10.0.0.2']);
    const t0 = Date.now();
    await r.settle(50);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(f.pending()).toBe(1);
    r.close();
    expect(f.cancelled()).toBe(1);
    await r.settle(1000);
    expect(r.stats().inFlight).toBe(0);
  });
});
