import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { durationMs, formatDuration, intervalSeconds, positiveInteger } from './common.js';
import { parseAt } from './graph.js';

describe('flag parsers', () => {
  it('intervals: seconds or a duration, at least 0.5 s', () => {
    const p = intervalSeconds();
    expect([p('2'), p('0.5'), p('500ms'), p('1m')]).toEqual([2, 0.5, 0.5, 60]);
    for (const bad of ['0.001', '0', '-1', 'abc', '100ms', '']) expect(() => p(bad), bad).toThrow(InvalidArgumentError);
    expect(() => p('0.001')).toThrow('must be at least 0.5 s');
  });

  it('durations: units required unless a unit is given for plain numbers, and a floor', () => {
    expect(durationMs(undefined, 60_000)('7d')).toBe(604_800_000);
    expect(() => durationMs(undefined, 60_000)('5')).toThrow(/use a number and a unit/);
    expect(() => durationMs(undefined, 60_000)('30s')).toThrow('must be at least 1m');
    expect(durationMs('ms', 0)('250')).toBe(250);
    expect(durationMs('ms', 0)('2s')).toBe(2000);
  });

  it('help shows defaults in the units users type', () => {
    expect([formatDuration(604_800_000), formatDuration(10_000), formatDuration(500), formatDuration(90_000)]).toEqual(['7d', '10s', '500ms', '90s']);
  });

  it('positive whole numbers', () => {
    expect(positiveInteger('30')).toBe(30);
    for (const bad of ['0', '1.5', '-3', 'x', '1e3']) expect(() => positiveInteger(bad), bad).toThrow(InvalidArgumentError);
  });

  it('--at: a bare duration is that long ago; instants pass as the agent reads them; garbage is refused here', () => {
    expect(parseAt('10m')).toBe('-10m');
    expect(parseAt('1h30m')).toBe('-1h30m');
    expect(parseAt('-5m')).toBe('-5m');
    expect(parseAt('2026-11-21T05:00:00Z')).toBe('2026-11-21T05:00:00Z');
    expect(parseAt('1763701200')).toBe('1763701200');
    expect(() => parseAt('yesterday')).toThrow(/bad time "yesterday".*e\.g\. 10m \(ago\)/);
  });
});
