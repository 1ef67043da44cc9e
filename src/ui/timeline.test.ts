import { describe, expect, it } from 'vitest';
import { covered, stepChange } from './timeline.js';

describe('time slider steps', () => {
  const changes = [1000, 2000, 5000];
  it.each([
    [3000, -1, 2000], [2000, -1, 1000], [1000, -1, undefined], [6000, -1, 5000],
    [3000, 1, 5000], [1000, 1, 2000], [5000, 1, undefined], [0, 1, 1000],
  ] as const)('from %d, %d → %s', (at, dir, want) => {
    expect(stepChange(changes, at, dir)).toBe(want);
  });

  it('covered: only while a run was collecting', () => {
    const h = { runs: [{ startMs: 0, lastMs: 10 }, { startMs: 50, lastMs: 60 }] };
    expect([0, 10, 30, 55, 61].map((t) => covered(h, t))).toEqual([true, true, false, true, false]);
  });
});
