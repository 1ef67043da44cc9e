import { describe, expect, it } from 'vitest';
import { utf8Chunks } from './utf8-chunks.js';

describe('utf8Chunks', () => {
  const pieces = ['{"a":', '"é€😀"', ',', '"\ud800"', '}', 'x'.repeat(70), '', 'ü'.repeat(40)];
  const text = pieces.join('');

  it.each([1, 8, 64, 1 << 20])('gives the text as Buffer.from gives it, each buffer whole UTF-8, at most max(%i, the biggest piece) bytes', (size) => {
    const chunks = [...utf8Chunks(pieces, size)];
    expect(Buffer.concat(chunks).equals(Buffer.from(text))).toBe(true);
    // Each buffer decodes alone: no character is cut between two.
    expect(chunks.map((c) => c.toString('utf8')).join('')).toBe(Buffer.from(text).toString('utf8'));
    const biggest = Math.max(...pieces.map((p) => Buffer.byteLength(p)));
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(Math.max(size, biggest * 3));
    if (size === 1 << 20) expect(chunks).toHaveLength(1);
  });

  it('yields nothing for no text, and new buffers every time (a consumer may keep them)', () => {
    expect([...utf8Chunks([])]).toEqual([]);
    expect([...utf8Chunks(['', ''])]).toEqual([]);
    // All taken first, read after: none was overwritten by a later one.
    const chunks = [...utf8Chunks(['abcd', 'efgh', 'ijkl'], 8)];
    expect(chunks.map(String)).toEqual(['abcd', 'efgh', 'ijkl']);
  });
});
