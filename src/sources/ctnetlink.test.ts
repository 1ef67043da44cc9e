// The event socket's read size against real event datagrams: every datagram read is one allocation of that size in
// the netlink module, so it is kept small, and a real event must still fit whole (a larger one would arrive
// truncated and cost a resync).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_DATAGRAM_SIZE } from './ctnetlink.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/ctnetlink');

describe('conntrack event read size', () => {
  it('is a few KiB, not the 64 KiB a dump datagram needs', () => {
    expect(EVENT_DATAGRAM_SIZE).toBeLessThanOrEqual(8192);
  });

  it('holds every captured event datagram (accounting and timestamps on: the largest) with room to spare', () => {
    const sizes = readdirSync(DIR).filter((f) => f.endsWith('.hex')).flatMap((f) =>
      readFileSync(path.join(DIR, f), 'utf8').split('\n').filter(Boolean).map((l) => l.length / 2));
    expect(sizes.length).toBeGreaterThan(10);
    // IPv6 adds 24 bytes per tuple address, labels/helper/secctx a few dozen more: 8 times the largest still fits.
    expect(Math.max(...sizes) * 8).toBeLessThanOrEqual(EVENT_DATAGRAM_SIZE);
  });
});
