import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads bytes and units', () => {
    expect(['1048576', '64MiB', '64m', '10MB', '1.5KiB', '2 GiB', '0'].map(parseByteSize)).toEqual([1048576, 64 * 1024 ** 2, 64 * 1024 ** 2, 10_000_000, 1536, 2 * 1024 ** 3, 0]);
    expect(formatByteSize(64 * 1024 ** 2)).toBe('64 MiB');
    expect(formatByteSize(1000)).toBe('1000 B');
  });
  it('refuses the rest', () => {
    for (const bad of ['', 'MiB', '-1', '10 TB', '1e9', '9'.repeat(16), 'x'.repeat(100)]) expect(() => parseByteSize(bad)).toThrow(/size/);
  });
});
