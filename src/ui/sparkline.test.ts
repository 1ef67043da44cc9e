import { describe, expect, it } from 'vitest';
import { mergeRates, samplesToRates, sparklinePaths } from './sparkline.js';

const sample = (atMs: number, rx: number, tx: number) => ({ atMs, rxBytes: rx, txBytes: tx, rxBytesPerSec: null, txBytesPerSec: null });

describe('sparkline', () => {
  it('rates from stored counters: bytes over the time between samples; a counter going back starts over', () => {
    expect(samplesToRates([sample(0, 0, 0), sample(30_000, 30_000, 3000), sample(60_000, 30_000, 6000), sample(90_000, 10, 10), sample(120_000, 3010, 10)])).toEqual([
      { atMs: 30_000, rx: 1000, tx: 100 }, { atMs: 60_000, rx: 0, tx: 100 }, { atMs: 120_000, rx: 100, tx: 0 },
    ]);
    expect(samplesToRates([sample(0, 0, 0)])).toEqual([]);
  });

  it('merges stored and live points by time within the window', () => {
    const merged = mergeRates(1000, [{ atMs: 500, rx: 1, tx: 1 }, { atMs: 2000, rx: 2, tx: 2 }], [{ atMs: 1500, rx: 3, tx: 3 }, { atMs: 2000, rx: 4, tx: 4 }]);
    expect(merged).toEqual([{ atMs: 1500, rx: 3, tx: 3 }, { atMs: 2000, rx: 4, tx: 4 }]);
  });

  it('paths span the width and scale to the larger maximum', () => {
    const p = sparklinePaths([{ atMs: 0, rx: 0, tx: 50 }, { atMs: 100, rx: 100, tx: 0 }], 0, 100, 200, 42);
    expect(p.max).toBe(100);
    expect(p.rx).toBe('M0.0,41.0 L200.0,1.0');
    expect(p.tx).toBe('M0.0,21.0 L200.0,41.0');
    expect(sparklinePaths([], 0, 1, 10, 10)).toEqual({ rx: '', tx: '', max: 1 });
  });
});
