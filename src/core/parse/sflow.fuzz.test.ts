// Fuzzing the sFlow decoder: random bytes, every truncation of real and synthetic datagrams, length and count
// fields that lie, and bit flips. The decoder must either decode or throw an SflowParseError (counted by the
// accumulator), never anything else, and never return more than a bounded amount per input byte (a length it
// believed would show up as output it made up). An input that breaks this is saved under
// test/fixtures/sflow/regressions/ and replayed on every run from then on. Seeded: runs are reproducible
// (FUZZ_SEED=n to explore others, FUZZ_SCALE=n for more cases).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  counterSample, datagram, flowSample, genericInterface, hostDescr, netIo, packet, rawHeader, xdr,
} from '../../../test/fixtures/sflow/encode.js';
import { readPcap, udpPayloads } from '../../../test/fixtures/sflow/pcap.js';
import { createSflowAccumulator } from '../sflow/accumulate.js';
import { parseSflowDatagram, SflowParseError } from './sflow.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sflow');
const REGRESSIONS = path.join(FIXTURES, 'regressions');
const SEED = Number(process.env.FUZZ_SEED ?? 16);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** Most JSON characters of decoded output per input byte (the richest record, a counter table, gives ~6). */
const MAX_OUTPUT_PER_BYTE = 32;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one input did: decoded (with its output size), rejected, or broke the contract. */
function check(bytes: Uint8Array): 'decoded' | 'rejected' | string {
  try {
    const d = parseSflowDatagram(bytes);
    const size = JSON.stringify(d).length;
    if (size > MAX_OUTPUT_PER_BYTE * bytes.length + 256) return `output of ${size} characters from ${bytes.length} bytes`;
    return 'decoded';
  } catch (err) {
    if (err instanceof SflowParseError) return 'rejected';
    return `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
}

const failures: string[] = [];
function run(bytes: Uint8Array, outcome: Record<string, number>): void {
  const r = check(bytes);
  if (r === 'decoded' || r === 'rejected') {
    outcome[r] = (outcome[r] ?? 0) + 1;
    return;
  }
  const name = `${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.bin`;
  mkdirSync(REGRESSIONS, { recursive: true });
  writeFileSync(path.join(REGRESSIONS, name), bytes);
  failures.push(`${name}: ${r}`);
}

function seeds(): Uint8Array[] {
  const payloads = udpPayloads(readPcap(readFileSync(path.join(FIXTURES, 'hsflowd-docker.pcap'))), 6343).map((p) => p.payload);
  // A flow datagram, the host's counters (11 record kinds), the bridge's and the containers' counters.
  const real = [payloads[0], payloads[16], payloads[23], payloads[27]].filter((p): p is Uint8Array => p !== undefined);
  const synthetic = datagram({
    agent: 'fd00::1', subAgentId: 2, sequence: 9, samples: [
      flowSample({
        sequence: 1, sourceIndex: 3, samplingRate: 10, records: [
          rawHeader(packet({ vlan: 7, srcIp: 'fd00::2', dstIp: 'fd00::3', protocol: 'udp', srcPort: 1, dstPort: 2, ipv6Extensions: [0] })),
          { format: 1001, body: xdr().u32(1).u32(2).u32(3).u32(4) },
          { format: 2210, body: xdr().u32(3).u32(5).u32(3).u32(6) },
        ],
      }),
      counterSample({
        expanded: true, sequence: 1, sourceType: 3, sourceIndex: 5, records: [
          { format: 2000, body: hostDescr('web', 'e2cbf989d49bb6554018212a12eaf7e5') },
          { format: 2001, body: xdr().u32(1).u32(4).u32(2).mac('02:42:ac:12:00:04').mac('02:42:ac:12:00:05') },
          { format: 2104, body: netIo({ bytesIn: 1, pktsIn: 2, bytesOut: 3, pktsOut: 4 }) },
          { format: 1, body: genericInterface({ ifIndex: 4, inOctets: 5, outOctets: 6 }) },
          { format: 1005, body: xdr().string('docker0') },
        ],
      }),
    ],
  });
  return [...real, synthetic];
}

describe('sFlow decoder fuzzing', () => {
  it('replays every saved regression case', () => {
    const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(check(readFileSync(path.join(REGRESSIONS, f))), f).toMatch(/^(decoded|rejected)$/);
  });

  it('survives random bytes, truncations, lying lengths and bit flips', () => {
    const rnd = mulberry32(SEED);
    const outcome: Record<string, number> = {};
    const all = seeds();
    const int = (n: number) => Math.floor(rnd() * n);

    // Random bytes, and random bytes behind a valid v5 / IPv4 header so that decoding gets past the first checks.
    for (let i = 0; i < 2000 * SCALE; i++) {
      const b = new Uint8Array(int(1500));
      for (let j = 0; j < b.length; j++) b[j] = int(256);
      run(b, outcome);
      if (b.length >= 8) {
        b.set([0, 0, 0, 5, 0, 0, 0, 1]);
        // A small sample count, so the samples are tried rather than refused at once.
        if (b.length >= 28) b.set([0, 0, 0, int(4)], 24);
        run(b, outcome);
      }
    }
    // Every truncation of every seed.
    for (const s of all) for (let n = 0; n < s.length; n++) run(s.subarray(0, n), outcome);
    // Lying length and count fields: every 32-bit word of every seed set to values that are just off or absurd.
    for (const s of all) {
      for (let o = 0; o + 4 <= s.length; o += 4) {
        for (const value of [0, 1, 3, 4, s.length - o, s.length - o + 1, s.length, 0x7fffffff, 0x7ffffffd, 0x80000000, 0xfffffffc, 0xffffffff, int(0x100000000)]) {
          const copy = Uint8Array.from(s);
          new DataView(copy.buffer).setUint32(o, value >>> 0);
          run(copy, outcome);
        }
      }
    }
    // Bit flips, one to four at a time.
    for (let i = 0; i < 5000 * SCALE; i++) {
      const s = all[int(all.length)] ?? new Uint8Array();
      const copy = Uint8Array.from(s);
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(copy.length);
        copy[at] = (copy[at] ?? 0) ^ (1 << int(8));
      }
      run(copy, outcome);
    }
    expect(failures, `saved to ${REGRESSIONS}`).toEqual([]);
    // Both outcomes occurred plenty: the cases reached past the header checks.
    expect(outcome.decoded ?? 0).toBeGreaterThan(1000);
    expect(outcome.rejected ?? 0).toBeGreaterThan(1000);
    // ~1-2 s alone; vitest's 5 s default was exceeded on this 2-core machine with integration tests beside it.
  }, 30_000);

  it('the accumulator counts every bad datagram and never throws', () => {
    const rnd = mulberry32(SEED + 1);
    const acc = createSflowAccumulator('test:6343');
    const all = seeds();
    let sent = 0;
    for (let i = 0; i < 3000 * SCALE; i++) {
      const s = all[Math.floor(rnd() * all.length)] ?? new Uint8Array();
      const copy = Uint8Array.from(s.subarray(0, Math.floor(rnd() * (s.length + 1))));
      if (copy.length > 0 && rnd() < 0.5) {
        const at = Math.floor(rnd() * copy.length);
        copy[at] = (copy[at] ?? 0) ^ 0xff;
      }
      acc.add(copy, '192.0.2.1', 1000 + i);
      sent++;
    }
    const part = acc.drain(10_000);
    const rejected = Object.values(part.receiver.rejected).reduce((a, b) => a + (b ?? 0), 0);
    const accepted = part.agents.reduce((n, a) => n + a.datagrams, 0);
    expect(part.receiver.datagrams).toBe(sent);
    expect(rejected + accepted).toBe(sent);
    expect(rejected).toBeGreaterThan(0);
    expect(part.receiver.lastRejected?.from).toBe('192.0.2.1');
  });
});
