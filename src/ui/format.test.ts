import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatEndpoint, formatMs, formatRate, formatTime, plainAddress } from './format.js';

describe('format', () => {
  it.each([[0, '0 B'], [812, '812 B'], [1024, '1.00 KB'], [1240, '1.21 KB'], [38_400_000, '36.6 MB'], [200 * 1024 ** 3, '200 GB'], [-1, '–'], [Number.NaN, '–']])('formatBytes(%d) = %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it('rates, RTTs and endpoints', () => {
    expect(formatRate(2048)).toBe('2.00 KB/s');
    expect(formatRate(undefined)).toBe('–');
    expect(formatRate(null)).toBe('–');
    expect([0.06, 4.24, 312.4, undefined].map(formatMs)).toEqual(['0.06 ms', '4.2 ms', '312 ms', '–']);
    expect(formatEndpoint({ address: '::ffff:172.18.0.3', port: 8080 })).toBe('172.18.0.3:8080');
    expect(formatEndpoint({ address: 'fd00::3', port: 53 })).toBe('[fd00::3]:53');
    expect(plainAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(plainAddress('::ffff:abcd')).toBe('::ffff:abcd');
  });

  it('times: the time of day today, the date otherwise; coarse ages', () => {
    const now = new Date(2026, 10, 21, 14, 3, 27).getTime();
    expect(formatTime(now - 5000, now)).toBe('14:03:22');
    expect(formatTime(new Date(2026, 10, 20, 9, 5, 0).getTime(), now)).toBe('2026-11-20 09:05');
    expect([formatAgo(now - 12_000, now), formatAgo(now - 5 * 60_000, now), formatAgo(now - 3 * 3_600_000, now)]).toEqual(['12 s ago', '5 min ago', '3 h ago']);
  });
});
