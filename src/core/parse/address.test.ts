import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6 } from './address.js';

/** 16 bytes from eight 16-bit groups written the long way, e.g. '2001:0db8:0:0:0:0:0:1'. */
function v6(groups: string): Uint8Array {
  const parts = groups.split(':');
  expect(parts).toHaveLength(8);
  const out = new Uint8Array(16);
  parts.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

describe('formatIpv4', () => {
  it.each([
    [[0, 0, 0, 0], '0.0.0.0'],
    [[127, 0, 0, 1], '127.0.0.1'],
    [[172, 18, 0, 3], '172.18.0.3'],
    [[255, 255, 255, 255], '255.255.255.255'],
    [[10, 0, 10, 100], '10.0.10.100'],
  ])('%j -> %s', (bytes, text) => {
    expect(formatIpv4(Uint8Array.from(bytes))).toBe(text);
    expect(formatIpv4(Buffer.from(bytes))).toBe(text);
  });

  it('reads at an offset (inet_diag_msg keeps the source address at byte 8)', () => {
    expect(formatIpv4(Buffer.from([9, 9, 192, 168, 1, 20, 9]), 2)).toBe('192.168.1.20');
  });

  it('rejects fewer than 4 bytes', () => {
    expect(() => formatIpv4(Uint8Array.from([1, 2, 3]))).toThrow(RangeError);
    expect(() => formatIpv4(Uint8Array.from([1, 2, 3, 4]), 1)).toThrow(/needs 4 bytes at offset 1/);
    expect(() => formatIpv4(Uint8Array.from([1, 2, 3, 4]), -1)).toThrow(RangeError);
  });
});

describe('formatIpv6 (RFC 5952)', () => {
  it.each([
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fd00:0:0:0:0:0:0:3', 'fd00::3'],
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'], // 4.1: no leading zeros
    ['2001:0DB8:AC10:FE01:0:0:0:0', '2001:db8:ac10:fe01::'], // 4.3: lower case
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2: one zero group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3: the longest run is shortened
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3: on a tie, the first run
    ['fe80:0:0:0:1:2:3:4', 'fe80::1:2:3:4'],
    ['1:2:3:4:5:6:0:0', '1:2:3:4:5:6::'],
    ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['0:0:0:0:0:ffff:ac12:3', '::ffff:172.18.0.3'], // 5: IPv4-mapped in mixed notation, as dual-stack listeners show peers
    ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
    ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
    ['0:0:0:0:0:0:102:304', '::102:304'], // deprecated IPv4-compatible: plain hex
    ['0:0:0:0:ffff:0:102:304', '::ffff:0:102:304'], // not mapped (SIIT translated): plain hex
    ['0:0:0:0:1:ffff:102:304', '::1:ffff:102:304'],
    ['64:ff9b:0:0:0:0:ac12:3', '64:ff9b::ac12:3'],
  ])('%s -> %s', (groups, text) => {
    expect(formatIpv6(v6(groups))).toBe(text);
    expect(formatIpv6(Buffer.from(v6(groups)))).toBe(text);
  });

  it('reads at an offset (inet_diag_msg keeps the destination address at byte 24)', () => {
    const msg = new Uint8Array(40);
    msg.set(v6('fd00:0:0:0:0:0:0:3'), 24);
    expect(formatIpv6(msg, 24)).toBe('fd00::3');
  });

  it('rejects fewer than 16 bytes', () => {
    expect(() => formatIpv6(new Uint8Array(15))).toThrow(RangeError);
    expect(() => formatIpv6(new Uint8Array(16), 1)).toThrow(/needs 16 bytes at offset 1/);
  });

  it('agrees with the WHATWG URL serializer on random addresses rich in zero groups', () => {
    // The URL serializer also compresses the first longest run of 2+ zero groups; it never uses mixed
    // notation, so ::ffff:a.b.c.d addresses are left out. A fixed-seed generator keeps failures reproducible.
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let n = 0; n < 5000; n++) {
      const bytes = new Uint8Array(16);
      for (let g = 0; g < 8; g++) {
        const r = next();
        const value = r % 3 === 0 ? 0 : r % 3 === 1 ? (r >>> 8) & 0xffff : (r >>> 8) & 0xff; // many zeros, short groups
        bytes[2 * g] = value >> 8;
        bytes[2 * g + 1] = value & 0xff;
      }
      const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      if (mapped) continue;
      const groups = Array.from({ length: 8 }, (_, g) => ((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16)).join(':');
      const viaUrl = new URL(`http://[${groups}]/`).hostname.slice(1, -1);
      expect(formatIpv6(bytes), groups).toBe(viaUrl);
    }
  });
});
