import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNetTcp } from './net-tcp.js';
import { parseNetUdp } from './net-udp.js';
import { decodeProcAddress } from './proc-net-inet.js';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/proc/bridge-ipv6/${name}`, import.meta.url), 'utf8');

describe('decodeProcAddress', () => {
  it.each([
    ['0100007F', 'ipv4', '127.0.0.1'],
    ['0B00007F', 'ipv4', '127.0.0.11'],
    ['00000000', 'ipv4', '0.0.0.0'],
    ['020012AC', 'ipv4', '172.18.0.2'],
    ['00000000000000000000000000000000', 'ipv6', '::'],
    ['00000000000000000000000001000000', 'ipv6', '::1'],
    ['0000000000000000FFFF0000020012AC', 'ipv6', '::ffff:172.18.0.2'],
    ['577E00FD000001000000000002000000', 'ipv6', 'fd00:7e57:1::2'],
  ] as const)('%s (%s) → %s', (hex, family, expected) => {
    expect(decodeProcAddress(hex, family)).toBe(expected);
  });

  it('decodes big-endian hosts without reversing', () => {
    expect(decodeProcAddress('7F000001', 'ipv4', false)).toBe('127.0.0.1');
  });

  it.each([['7F00001', 'ipv4'], ['ZZ000001', 'ipv4'], ['0100007F', 'ipv6']] as const)('rejects %s as %s', (hex, family) => {
    expect(() => decodeProcAddress(hex, family)).toThrow(/bad/);
  });
});

describe('parseNetTcp', () => {
  it('parses a real tcp6 table captured from a container (listener, v4-mapped and v6 connections)', () => {
    const { records, errors } = parseNetTcp(fixture('tcp6'), '/proc/1/net/tcp6', 'ipv6');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { protocol: 'tcp', family: 'ipv6', state: 'LISTEN', local: { address: '::', port: 8080 }, remote: { address: '::', port: 0 }, inode: 12156, uid: 0, txQueue: 0, rxQueue: 0 },
      { protocol: 'tcp', family: 'ipv6', state: 'ESTABLISHED', local: { address: '::ffff:172.18.0.2', port: 8080 }, remote: { address: '::ffff:172.18.0.3', port: 43526 }, inode: 12157, uid: 0, txQueue: 0, rxQueue: 0xd42a0 },
      { protocol: 'tcp', family: 'ipv6', state: 'ESTABLISHED', local: { address: 'fd00:7e57:1::2', port: 8080 }, remote: { address: 'fd00:7e57:1::3', port: 45010 }, inode: 12328, uid: 0, txQueue: 0, rxQueue: 0x1fe4 },
    ]);
  });

  it('parses the embedded-DNS listener of a user-defined network', () => {
    const { records } = parseNetTcp(fixture('tcp'), 'tcp', 'ipv4');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ state: 'LISTEN', local: { address: '127.0.0.11', port: 0x9a75 }, inode: 10738 });
  });

  it('parses short TIME_WAIT lines with inode 0', () => {
    const text = 'sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   3: 0100007F:1F90 0100007F:C350 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n';
    const { records, errors } = parseNetTcp(text, 'tcp', 'ipv4');
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ state: 'TIME_WAIT', inode: 0, remote: { address: '127.0.0.1', port: 50000 } });
  });

  it('reports each malformed line with file and line number, and keeps the good ones', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0',
      'garbage line',
      '   1: 0100007F:1F90 00000000:0000 0A 00000000 00:00000000 00000000     0        0 112 1 0',
      '   2: 0100007F:XYZW 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 113 1 0',
      '   3: 0100007F:1F90 00000000:0000 FF 00000000:00000000 00:00000000 00000000     0        0 114 1 0',
      '   4: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18446744073709551615 1 0',
      '   5: 0100007F:1F92 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 115 1 0',
    ].join('\n');
    const { records, errors } = parseNetTcp(text, '/proc/9/net/tcp', 'ipv4');
    expect(records.map((r) => r.inode)).toEqual([111, 115]);
    expect(errors.map((e) => [e.file, e.line])).toEqual([
      ['/proc/9/net/tcp', 3], ['/proc/9/net/tcp', 4], ['/proc/9/net/tcp', 5], ['/proc/9/net/tcp', 6], ['/proc/9/net/tcp', 7],
    ]);
    expect(errors[0]?.message).toMatch(/^\/proc\/9\/net\/tcp:3: expected at least 10 fields/);
    expect(errors[3]?.message).toMatch(/unknown TCP state code 255/);
    expect(errors[4]?.message).toMatch(/exceeds 2\^53/);
  });

  it('returns nothing for an empty table', () => {
    expect(parseNetTcp('', 'tcp', 'ipv4')).toEqual({ records: [], errors: [] });
  });
});

describe('parseNetUdp', () => {
  it('maps state 07 to UNCONN (a real udp table with the embedded DNS socket)', () => {
    const { records, errors } = parseNetUdp(fixture('udp'), 'udp', 'ipv4');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { protocol: 'udp', family: 'ipv4', state: 'UNCONN', local: { address: '127.0.0.11', port: 0x9a71 }, remote: { address: '0.0.0.0', port: 0 }, inode: 10737, uid: 0, txQueue: 0, rxQueue: 0 },
    ]);
  });

  it('maps state 01 to ESTABLISHED (connected UDP) and rejects other states', () => {
    const head = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
    const text = head +
      ' 100: 0100007F:14E9 0100007F:0035 01 00000000:00000000 00:00000000 00000000  1000        0 7 2 0 0\n' +
      ' 101: 0100007F:14EA 0100007F:0035 0A 00000000:00000000 00:00000000 00000000  1000        0 8 2 0 0\n';
    const { records, errors } = parseNetUdp(text, 'udp', 'ipv4');
    expect(records).toMatchObject([{ state: 'ESTABLISHED', uid: 1000, inode: 7, local: { port: 5353 }, remote: { port: 53 } }]);
    expect(errors.map((e) => e.line)).toEqual([3]);
  });

  it('parses an empty udp6 table (header only)', () => {
    expect(parseNetUdp(fixture('udp6'), 'udp6', 'ipv6')).toEqual({ records: [], errors: [] });
  });
});
