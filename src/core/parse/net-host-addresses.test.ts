import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { parseFibTrieLocal } from './net-fib-trie.js';
import { parseIfInet6 } from './net-if-inet6.js';

// Captured on this machine's host namespace (test/fixtures/proc/host-addresses).
const dir = new URL('../../../test/fixtures/proc/host-addresses/', import.meta.url);
const fibTrie = readFileSync(new URL('fib_trie', dir), 'utf8');
const ifInet6 = readFileSync(new URL('if_inet6', dir), 'utf8');

describe('parseFibTrieLocal (/proc/<pid>/net/fib_trie)', () => {
  it('lists the /32 host LOCAL leaves of a real capture once each (Main and Local tables both list them)', () => {
    expect(parseFibTrieLocal(fibTrie)).toEqual(['127.0.0.1', '172.17.0.1', '192.0.2.2']);
  });
  it('ignores routes that are not local addresses', () => {
    expect(parseFibTrieLocal('Main:\n  +-- 0.0.0.0/0 3 0 4\n     |-- 10.0.0.0\n        /8 link UNICAST\n     |-- 10.255.255.255\n        /32 link BROADCAST\n')).toEqual([]);
  });
  it.each([
    ['a LOCAL entry with no address above it', 'Local:\n   /32 host LOCAL\n', 2],
    ['garbage', 'Main:\n  |-- 10.0.0.1\n  rm -rf /\n', 3],
  ])('rejects %s with the line number', (_w, text, line) => {
    expect(() => parseFibTrieLocal(text)).toThrow(ParseError);
    try { parseFibTrieLocal(text); } catch (err) { expect((err as ParseError).line).toBe(line); }
  });
});

describe('parseIfInet6 (/proc/<pid>/net/if_inet6)', () => {
  it('reads a real capture: addresses, prefix, scope and interface', () => {
    const a = parseIfInet6(ifInet6);
    expect(a).toHaveLength(6);
    expect(a.filter((x) => x.scope === 0).map((x) => x.address)).toEqual(['fd00::2']);
    expect(a.find((x) => x.interface === 'lo')).toEqual({ address: '::1', prefixLength: 128, scope: 0x10, interface: 'lo' });
  });
  it.each([
    ['a short address', 'fe80 04 40 20 80 eth0'],
    ['a missing field', 'fd000000000000000000000000000002 04 40 00 82'],
    ['non-hex', 'zz000000000000000000000000000002 04 40 00 82 eth0'],
  ])('rejects %s', (_w, line) => {
    expect(() => parseIfInet6(line)).toThrow(/net\/if_inet6:1:/);
  });
});
