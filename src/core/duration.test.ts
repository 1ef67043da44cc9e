import { describe, expect, it } from 'vitest';
import { parseDuration, parseInstant } from './duration.js';

describe('parseDuration', () => {
  it.each([['30s', 30_000], ['15m', 900_000], ['7d', 604_800_000], ['1h30m', 5_400_000], ['500ms', 500], ['2w', 1_209_600_000]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '7', 'd', '7 days', '-5m', '1h x'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/bad duration/);
  });
});

describe('parseInstant', () => {
  const now = Date.parse('2026-11-21T06:00:00Z');
  it('ISO dates, unix seconds, relative times', () => {
    expect(parseInstant('2026-11-21T05:00:00Z', now)).toBe(Date.parse('2026-11-21T05:00:00Z'));
    expect(parseInstant('1763701200', now)).toBe(1_763_701_200_000);
    expect(parseInstant('1763701200.5', now)).toBe(1_763_701_200_500);
    expect(parseInstant('-5m', now)).toBe(now - 300_000);
  });
  it.each(['yesterday', '', '2026-13-45', 'Nov 21'])('rejects %j', (text) => {
    expect(() => parseInstant(text, now)).toThrow(/bad/);
  });
});

describe('hostile times (issue #11: a 500 with a stack trace each)', () => {
  const now = Date.parse('2026-11-21T06:00:00Z');
  it.each(['12345678901234567890123', '9'.repeat(400), '-99999999999w', '-1e400w', `-${'9'.repeat(60)}d`, '1'.repeat(65)])('rejects %j with a clear error', (text) => {
    expect(() => parseInstant(text, now)).toThrow(/bad (time|duration)/);
  });
  it('rejects durations no Date can add', () => {
    expect(() => parseDuration('99999999999w')).toThrow(/too long/);
    expect(() => parseDuration('1'.repeat(70) + 's')).toThrow(/longer than 64/);
  });
  it('every accepted instant is one a Date can print', () => {
    for (const t of ['8639999999999', '-14285714w', '0']) expect(new Date(parseInstant(t, now)).toISOString()).toMatch(/Z$/);
  });
});
