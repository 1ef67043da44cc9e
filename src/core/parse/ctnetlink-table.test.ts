// The table from a ctnetlink dump against the text of /proc/net/nf_conntrack read at the same moment (a real
// capture, test/fixtures/ctnetlink/dump-acct.*): the same entries, so the collection's answer does not depend on
// which was read.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConntrackEntry } from '../model/conntrack.js';
import { isConntrackEntryUsed } from '../topology/conntrack-index.js';
import { conntrackEntriesOfDump } from './ctnetlink-table.js';
import { parseNfConntrack } from './nf-conntrack.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/ctnetlink');
const datagrams = readFileSync(path.join(DIR, 'dump-acct.hex'), 'utf8').split('\n').filter(Boolean).map((l) => new Uint8Array(Buffer.from(l, 'hex')));
const text = readFileSync(path.join(DIR, 'dump-acct.txt'), 'utf8');

// Timeouts tick between the two reads (a second apart at most): compared apart.
const withoutTimeout = ({ timeout: _t, ...rest }: ConntrackEntry) => ({ ...rest, original: { ...rest.original }, reply: { ...rest.reply } });
const key = (e: ConntrackEntry) => `${e.protocol} ${e.original.src}:${e.original.sport} ${e.original.dst}:${e.original.dport}`;
const byKey = (entries: readonly ConntrackEntry[]) => [...entries].sort((a, b) => key(a).localeCompare(key(b)));

describe('conntrackEntriesOfDump', () => {
  const fromText = parseNfConntrack(text, 'dump-acct.txt');

  it('a real dump gives the entries the text gives, field for field (timeouts within a second)', () => {
    expect(fromText.errors).toEqual([]);
    const all = conntrackEntriesOfDump(datagrams, () => true);
    expect(all.errors).toBe(0);
    const dumped = byKey(all.entries);
    const texted = byKey(fromText.records);
    expect(dumped.length).toBe(texted.length);
    expect(dumped.length).toBeGreaterThan(20);
    expect(dumped.map(withoutTimeout)).toEqual(texted.map(withoutTimeout));
    dumped.forEach((e, i) => expect(Math.abs((e.timeout ?? -9) - (texted[i]?.timeout ?? 9))).toBeLessThanOrEqual(1));
    // What the fixture was made for: counters, both closing states, [UNREPLIED] and NAT are all in it.
    expect(dumped.filter((e) => e.state === 'TIME_WAIT' && e.original.bytes !== undefined)).not.toHaveLength(0);
    expect(dumped.filter((e) => e.state === 'CLOSE')).not.toHaveLength(0);
    expect(dumped.filter((e) => e.unreplied && e.protocol === 'udp')).toHaveLength(1);
    expect(dumped.filter((e) => e.reply.src !== e.original.dst)).not.toHaveLength(0);
  });

  it('keeps what `keep` accepts: the used entries are the same either way', () => {
    const used = conntrackEntriesOfDump(datagrams, isConntrackEntryUsed).entries;
    expect(byKey(used).map(withoutTimeout)).toEqual(byKey(fromText.records.filter(isConntrackEntryUsed)).map(withoutTimeout));
    // DNAT'd (open and closed), UDP (2), TCP closed with counters (TIME_WAIT and CLOSE, direct).
    expect(used.map((e) => `${e.protocol} ${e.state ?? ''} ${e.original.dport}`).sort()).toEqual([
      'tcp CLOSE 19401', 'tcp CLOSE 8080', 'tcp ESTABLISHED 19401', 'tcp ESTABLISHED 19401', 'tcp ESTABLISHED 19401', 'tcp ESTABLISHED 19401',
      'tcp TIME_WAIT 8080', 'udp  9090', 'udp  9090', 'udp  9091',
    ]);
  });

  it('hostile bytes: truncated and garbled datagrams are counted, never thrown', () => {
    const first = datagrams[0]!;
    const cut = first.subarray(0, Math.floor(first.length / 2));
    const garbled = Uint8Array.from(first);
    // The first message's first attribute claims more than its message holds.
    garbled[20] = 0xff;
    garbled[21] = 0x7f;
    const r = conntrackEntriesOfDump([cut, garbled, new Uint8Array(3)], () => true);
    expect(r.errors).toBeGreaterThanOrEqual(2);
    expect(r.firstError).toMatch(/outside/);
  });
});

describe('conntrackEntriesOfDump under fuzzing', () => {
  it('bit flips and cuts of the real dump: never a throw, every entry whole, errors counted', () => {
    let seed = Number(process.env.FUZZ_SEED ?? 7) >>> 0;
    const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296);
    let errors = 0;
    const bad: string[] = [];
    for (let i = 0; i < 500; i++) {
      const src = datagrams[i % datagrams.length]!;
      const bytes = Uint8Array.from(src.subarray(0, rand() < 0.3 ? Math.floor(rand() * src.length) : src.length));
      for (let f = 0; f < 1 + Math.floor(rand() * 8); f++) {
        const at = Math.floor(rand() * bytes.length);
        bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(rand() * 8));
      }
      const r = conntrackEntriesOfDump([bytes], isConntrackEntryUsed);
      errors += r.errors;
      for (const e of r.entries) {
        if (typeof e.original.src !== 'string' || typeof e.reply.dst !== 'string' || (e.protocol !== 'tcp' && e.protocol !== 'udp')) bad.push(JSON.stringify(e));
      }
    }
    expect(bad).toEqual([]);
    expect(errors).toBeGreaterThan(0);
  });
});

describe('isConntrackEntryUsed', () => {
  const tuple = (src: string, sport: number, dst: string, dport: number, bytes?: number) => ({ src, sport, dst, dport, ...(bytes !== undefined ? { packets: 1, bytes } : {}) });
  const entry = (over: Partial<ConntrackEntry>): ConntrackEntry => ({
    family: 'ipv4', protocol: 'tcp', protocolNumber: 6, state: 'ESTABLISHED', unreplied: false, assured: true,
    original: tuple('10.0.0.1', 40000, '10.0.0.2', 80), reply: tuple('10.0.0.2', 80, '10.0.0.1', 40000), ...over,
  });
  it('UDP always; TCP when NATed or over with counters; nothing else', () => {
    expect(isConntrackEntryUsed(entry({}))).toBe(false);
    expect(isConntrackEntryUsed(entry({ state: 'TIME_WAIT' }))).toBe(false);
    expect(isConntrackEntryUsed(entry({ state: 'ESTABLISHED', original: tuple('10.0.0.1', 40000, '10.0.0.2', 80, 5), reply: tuple('10.0.0.2', 80, '10.0.0.1', 40000, 5) }))).toBe(false);
    expect(isConntrackEntryUsed(entry({ state: 'CLOSE', original: tuple('10.0.0.1', 40000, '10.0.0.2', 80, 5), reply: tuple('10.0.0.2', 80, '10.0.0.1', 40000, 5) }))).toBe(true);
    expect(isConntrackEntryUsed(entry({ reply: tuple('172.17.0.2', 8080, '10.0.0.1', 40000) }))).toBe(true);
    expect(isConntrackEntryUsed(entry({ reply: tuple('10.0.0.2', 80, '172.17.0.1', 40000) }))).toBe(true);
    expect(isConntrackEntryUsed(entry({ protocol: 'udp', protocolNumber: 17, state: undefined }))).toBe(true);
    expect(isConntrackEntryUsed(entry({ protocol: 'icmp', protocolNumber: 1, state: undefined, reply: tuple('9.9.9.9', 0, '1.1.1.1', 0) }))).toBe(false);
  });
});
