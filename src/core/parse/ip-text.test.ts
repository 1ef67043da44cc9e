import { describe, expect, it } from 'vitest';
import { canonicalIp, isLoopbackIp, isUnspecifiedIp, parseIpv4Text, parseIpv6Text } from './ip-text.js';

describe('canonicalIp', () => {
  it.each([
    ['172.18.0.3', '172.18.0.3'],
    ['010.001.000.001', '10.1.0.1'],
    // /proc/net/nf_conntrack prints IPv6 with %pI6: eight uncompressed groups.
    ['fd00:7e57:0000:0000:0000:0000:0000:0002', 'fd00:7e57::2'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['FD00:7E57::2', 'fd00:7e57::2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    // Dual-stack listeners show IPv4 peers as IPv4-mapped IPv6: matching needs the plain IPv4.
    ['::ffff:172.18.0.3', '172.18.0.3'],
    ['0000:0000:0000:0000:0000:ffff:ac12:0003', '172.18.0.3'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['not-an-ip', 'not-an-ip'],
    ['', ''],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });
});

describe('parseIpv4Text / parseIpv6Text reject garbage', () => {
  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '1.2.3.-4'])('IPv4 %s', (t) => {
    expect(parseIpv4Text(t)).toBeUndefined();
  });
  it.each(['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '::1.2.3.256', '1:2:3:4:5:6:7::8'])('IPv6 %s', (t) => {
    expect(parseIpv6Text(t)).toBeUndefined();
  });
  it('accepts :: and full forms', () => {
    expect([...(parseIpv6Text('::') ?? [])]).toEqual(new Array(16).fill(0));
    expect(parseIpv6Text('1:2:3:4:5:6:7:8')?.[15]).toBe(8);
  });
});

describe('address classes', () => {
  it('loopback and unspecified', () => {
    expect(isLoopbackIp('127.0.0.11')).toBe(true);
    expect(isLoopbackIp('::1')).toBe(true);
    expect(isLoopbackIp('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackIp('172.17.0.1')).toBe(false);
    expect(isUnspecifiedIp('0.0.0.0')).toBe(true);
    expect(isUnspecifiedIp('::')).toBe(true);
    expect(isUnspecifiedIp('::1')).toBe(false);
  });
});
