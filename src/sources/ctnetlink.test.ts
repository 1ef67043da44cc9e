// The event socket's read size against real event datagrams: every datagram read is one allocation of that size in
// the netlink module, so it is kept small, and a real event must still fit whole (a larger one would arrive
// truncated and cost a resync).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closingStateFilter, dumpFilterAttributes, EVENT_DATAGRAM_SIZE } from './ctnetlink.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/ctnetlink');

describe('conntrack event read size', () => {
  it('is a few KiB, not the 64 KiB a dump datagram needs', () => {
    expect(EVENT_DATAGRAM_SIZE).toBeLessThanOrEqual(8192);
  });

  it('holds every captured event datagram (accounting and timestamps on: the largest) with room to spare', () => {
    // dump-*.hex are dump datagrams (many messages each, read 64 KiB at a time), not events.
    const sizes = readdirSync(DIR).filter((f) => f.endsWith('.hex') && !f.startsWith('dump-')).flatMap((f) =>
      readFileSync(path.join(DIR, f), 'utf8').split('\n').filter(Boolean).map((l) => l.length / 2));
    expect(sizes.length).toBeGreaterThan(10);
    // IPv6 adds 24 bytes per tuple address, labels/helper/secctx a few dozen more: 8 times the largest still fits.
    expect(Math.max(...sizes) * 8).toBeLessThanOrEqual(EVENT_DATAGRAM_SIZE);
  });
});

describe('dump filter request attributes', () => {
  // Netlink attribute headers are host order (little-endian here), CTA_STATUS values big-endian, CTA_FILTER's flags
  // host order (NLA_U32): what nf_conntrack_netlink.c's ctnetlink_alloc_filter reads.
  it('none without a filter', () => {
    expect(dumpFilterAttributes(undefined).length).toBe(0);
    expect(dumpFilterAttributes({ family: 'ipv4' }).length).toBe(0);
  });

  it('status value and mask as CTA_STATUS (3) and CTA_STATUS_MASK (26), big-endian', () => {
    expect(dumpFilterAttributes({ status: { value: 32, mask: 48 } }).toString('hex')).toBe('08000300' + '00000020' + '08001a00' + '00000030');
  });

  it('a protocol as CTA_FILTER (25, nested) with ORIG_FLAGS = PROTO_NUM, and CTA_TUPLE_ORIG > CTA_TUPLE_PROTO > CTA_PROTO_NUM', () => {
    expect(dumpFilterAttributes({ family: 'ipv4', protocol: 17 }).toString('hex')).toBe(
      '0c001980' + '08000100' + '08000000' + // CTA_FILTER { CTA_FILTER_ORIG_FLAGS: 1 << 3 }
      '10000180' + '0c000280' + '05000100' + '11000000', // CTA_TUPLE_ORIG { CTA_TUPLE_PROTO { CTA_PROTO_NUM: 17 } }
    );
  });
});

describe('the closing-state socket filter (its effect on the kernel: test/integration/conntrack-closing-filter.test.ts)', () => {
  it('reads the message type and flags where the host\'s byte order puts them; every jump lands inside the program on a return', () => {
    for (const drop of [false, true]) {
      for (const le of [true, false]) {
        const p = closingStateFilter(drop, le);
        expect(p[0]).toMatchObject({ code: 0x30, k: le ? 4 : 5 });
        expect(p[2]).toMatchObject({ code: 0x30, k: le ? 7 : 6 });
        expect(p.at(-1)).toEqual({ code: 0x06, jt: 0, jf: 0, k: 0xffffffff });
        expect(p.at(-2)).toEqual({ code: 0x06, jt: 0, jf: 0, k: 0 });
        p.forEach((ins, i) => {
          if ((ins.code & 0x07) !== 0x05) return; // BPF_JMP class only
          expect(i + 1 + ins.jt).toBeLessThan(p.length);
          expect(i + 1 + ins.jf).toBeLessThan(p.length);
        });
      }
    }
    // Dropping the closed connections' DESTROYs costs a second look-up of the state, only then.
    expect(closingStateFilter(true).length).toBeGreaterThan(closingStateFilter(false).length);
  });
});
