import { brotliCompressSync, constants } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, hostToken, MAX_DECODED_BYTES, MAX_MESSAGE_BYTES, parseSubject, stateSubject, WireError, type FleetMessage } from './wire.js';

const full: FleetMessage = { v: 1, kind: 'full', host: 'abc', epoch: 1, run: 'r1', at: 1000, intervalMs: 2000, doc: { nodes: [] } };
const br = (o: unknown) => brotliCompressSync(Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)));

describe('wire', () => {
  it('round-trips every kind', () => {
    const msgs: FleetMessage[] = [
      full,
      { v: 1, kind: 'diff', host: 'abc', epoch: 1, run: 'r1', seq: 2, at: 1, intervalMs: 2000, patch: { o: { a: { v: 1 } } } },
      { v: 1, kind: 'diff', host: 'abc', epoch: 1, run: 'r1', seq: 3, at: 1, intervalMs: 2000, patch: null },
      { v: 1, kind: 'hb', host: 'abc', epoch: 1, run: 'r1', at: 1, intervalMs: 2000 },
      { v: 1, kind: 'events', host: 'abc', at: 1, events: [{ kind: 'x' }] },
    ];
    for (const m of msgs) expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  it('compresses topology JSON well', () => {
    const doc = { nodes: Array.from({ length: 50 }, (_, i) => ({ id: `${i}`.padStart(64, 'a'), kind: 'container', name: `web-${i}`, image: 'nginx:1.25', networks: [{ name: 'bridge', ipv4: `172.17.0.${i + 2}` }] })) };
    const json = JSON.stringify({ ...full, doc }).length;
    expect(encodeMessage({ ...full, doc }).length).toBeLessThan(json / 5);
  });

  it('names subjects per host and parses them back; refuses ids that are not subject tokens', () => {
    expect(stateSubject('a-b', 'full')).toBe('portolan.fleet.a-b.full');
    expect(parseSubject('portolan.fleet.a-b.diff')).toEqual({ hostId: 'a-b', kind: 'diff' });
    expect(parseSubject('portolan.events.x')).toEqual({ hostId: 'x', kind: 'events' });
    expect(parseSubject('portolan.fleet.a.b.full')).toBeUndefined();
    expect(parseSubject('portolan.fleet.a.nope')).toBeUndefined();
    expect(hostToken('ABCD:EFGH:1234')).toBe('ABCD-EFGH-1234');
    expect(() => stateSubject('a.b', 'full')).toThrow(WireError);
    expect(() => stateSubject('*', 'full')).toThrow(WireError);
    expect(() => hostToken('')).toThrow(WireError);
  });

  it.each<[string, Uint8Array]>([
    ['not brotli', Buffer.from('hello')],
    ['not JSON', br('{nope')],
    ['no version', br({ ...full, v: 2 })],
    ['bad host', br({ ...full, host: 'a.b' })],
    ['bad time', br({ ...full, at: -1 })],
    ['unknown kind', br({ ...full, kind: 'zzz' })],
    ['full without doc', br({ v: 1, kind: 'full', host: 'a', epoch: 1, run: 'r', at: 1, intervalMs: 1 })],
    ['zero interval', br({ ...full, intervalMs: 0 })],
    ['diff without seq', br({ v: 1, kind: 'diff', host: 'a', epoch: 1, run: 'r', at: 1, intervalMs: 1, patch: null })],
    ['diff with a string patch', br({ v: 1, kind: 'diff', host: 'a', epoch: 1, run: 'r', seq: 1, at: 1, intervalMs: 1, patch: 'x' })],
    ['events not an array', br({ v: 1, kind: 'events', host: 'a', at: 1, events: {} })],
    ['an array', br([1])],
    ['too large', new Uint8Array(MAX_MESSAGE_BYTES + 1)],
  ])('refuses %s with a WireError', (_name, data) => {
    expect(() => decodeMessage(data)).toThrow(WireError);
  });

  it('stops a brotli bomb at the decoded-size limit', () => {
    const bomb = brotliCompressSync(Buffer.alloc(MAX_DECODED_BYTES + 1024, 0x20), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
    expect(bomb.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(() => decodeMessage(bomb)).toThrow(/brotli/);
  }, 30_000);

  it('random bytes and bit flips decode or throw WireError, nothing else (fuzz)', () => {
    const good = encodeMessage(full);
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const b = Uint8Array.from(good);
      b[i] = (b[i] as number) ^ x;
      return b;
    })), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
      }
    }), { numRuns: 2000, seed: 3 });
  });
});
