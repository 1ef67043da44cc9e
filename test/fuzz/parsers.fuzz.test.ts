// Fuzzing every parser of untrusted input: /proc files, conntrack lines, netlink sock_diag messages, Docker's
// inspect JSON and events lines. The contract: a parser returns, or rejects with its documented error
// (ParseError, or records plus ParseErrors for multi-line formats); it never throws anything else, never
// loops, and what it returns is in range.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toAgentEvent } from '../../src/collectors/docker-events.js';
import { LIST_FILE, toContainerInfo, toContainerInfoFromList } from '../../src/core/docker/containers.js';
import { ParseError, type ParseResult } from '../../src/core/errors.js';
import { parseDuration, parseInstant } from '../../src/core/duration.js';
import { compileGlob } from '../../src/core/glob.js';
import { parseNetDev } from '../../src/core/parse/net-dev.js';
import { parseNetTcp } from '../../src/core/parse/net-tcp.js';
import { parseNetUdp } from '../../src/core/parse/net-udp.js';
import { parseNfConntrack } from '../../src/core/parse/nf-conntrack.js';
import { parsePidCgroup, parseSocketLink } from '../../src/core/parse/pid-cgroup.js';
import { parseSockDiagDump } from '../../src/core/parse/sock-diag.js';
import { sockstatActivity } from '../../src/core/parse/sockstat.js';
import { escapeTerminal } from '../../src/core/report/terminal-text.js';
import { createLineSplitter } from '../../src/sources/docker-api.js';
import { fuzz, FUZZ_TIMEOUT_MS, mutatedLines, withEdits } from './harness.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const lines = (file: string) => fs.readFileSync(path.join(FIXTURES, file), 'utf8').split('\n').filter((l) => l !== '');

/** Checks a multi-line parse result: only ParseErrors, and records in range. */
function checkResult<T>(r: ParseResult<T>, check: (record: T) => void): void {
  for (const e of r.errors) expect(e).toBeInstanceOf(ParseError);
  for (const rec of r.records) check(rec);
}

const port = (p: number) => expect(Number.isInteger(p) && p >= 0 && p <= 65535, `port ${p}`).toBe(true);
const count = (n: number) => expect(Number.isFinite(n) && n >= 0, `count ${n}`).toBe(true);

describe('fuzz: /proc files', () => {
  it('net/tcp, net/tcp6, net/udp, net/udp6', async () => {
    const all = [...lines('proc/bridge-ipv6/tcp'), ...lines('proc/bridge-ipv6/tcp6'), ...lines('proc/bridge-ipv6/udp'), ...lines('proc/bridge-ipv6/udp6')];
    await fuzz('proc-net-inet', fc.tuple(mutatedLines(all), fc.constantFrom('ipv4', 'ipv6'), fc.boolean()), ([text, family, tcp]) => {
      const r = tcp ? parseNetTcp(text, 'tcp', family as 'ipv4' | 'ipv6') : parseNetUdp(text, 'udp', family as 'ipv4' | 'ipv6');
      checkResult(r, (s) => {
        port(s.local.port);
        port(s.remote.port);
        count(s.rxQueue);
        count(s.txQueue);
        expect(typeof s.local.address).toBe('string');
      });
    }, 300);
  }, FUZZ_TIMEOUT_MS);

  it('net/dev', async () => {
    await fuzz('proc-net-dev', mutatedLines(lines('proc/netdev/dev')), (text) => {
      checkResult(parseNetDev(text, 'dev'), (c) => {
        expect(typeof c.name).toBe('string');
        count(c.rxBytes);
        count(c.txBytes);
      });
    }, 300);
  }, FUZZ_TIMEOUT_MS);

  it('pid/cgroup, fd links and sockstat never throw', async () => {
    const cgroupLines = ['0::/system.slice/docker-' + 'a'.repeat(64) + '.scope', '12:memory:/docker/' + 'b'.repeat(64), '1:name=systemd:/', '0::/'];
    await fuzz('proc-pid', fc.tuple(mutatedLines(cgroupLines), fc.string({ maxLength: 40 }), mutatedLines(['sockets: used 29', 'TCP: inuse 1 orphan 0 tw 4 alloc 3 mem 200', 'UDP: inuse 2 mem 0'])),
      ([cgroup, link, sockstat]) => {
        const id = parsePidCgroup(cgroup);
        if (id !== undefined) expect(id).toMatch(/^[0-9a-f]{64}$/);
        const inode = parseSocketLink(link);
        if (inode !== undefined) expect(Number.isSafeInteger(inode)).toBe(true);
        expect(typeof sockstatActivity(sockstat)).toBe('string');
      }, 300);
  }, FUZZ_TIMEOUT_MS);
});

describe('fuzz: conntrack', () => {
  it('nf_conntrack lines', async () => {
    await fuzz('nf-conntrack', mutatedLines(lines('proc/conntrack-acct/nf_conntrack')), (text) => {
      checkResult(parseNfConntrack(text, 'nf_conntrack'), (e) => {
        // Ports only for protocols that have them (ICMP and unknown protocols print none).
        for (const t of [e.original, e.reply]) for (const p of [t.sport, t.dport]) if (p !== undefined) port(p);
        if (e.protocol === 'tcp' || e.protocol === 'udp') port(e.original.sport ?? -1);
      });
    }, 400);
  }, FUZZ_TIMEOUT_MS);
});

describe('fuzz: netlink sock_diag messages', () => {
  const capture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sock-diag/loopback.json'), 'utf8')) as { dumps: { protocol: number; payloads: string[] }[] };
  const real = capture.dumps.flatMap((d) => d.payloads);
  // A real payload with bytes overwritten, cut or extended; or random bytes. Hex strings, to survive JSON.
  const payload = fc.oneof(
    fc.tuple(fc.constantFrom(...real), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat({ max: 600 }), fc.boolean())
      .map(([hex, edits, cut, doCut]) => {
        const b = Buffer.from(hex, 'hex');
        for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
        return (doCut ? b.subarray(0, cut % (b.length + 1)) : b).toString('hex');
      }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('hex')),
  );
  it('inet_diag_msg with rtattrs and tcp_info', async () => {
    await fuzz('sock-diag', fc.tuple(fc.array(payload, { maxLength: 6 }), fc.constantFrom('tcp', 'udp'), fc.boolean()), ([payloads, protocol, le]) => {
      const r = parseSockDiagDump(payloads.map((h) => Buffer.from(h, 'hex')), protocol as 'tcp' | 'udp', le);
      checkResult(r, (s) => {
        port(s.local.port);
        port(s.remote.port);
        count(s.inode);
        if (s.tcp) for (const v of Object.values(s.tcp)) expect(Number.isFinite(v), `tcp_info ${v}`).toBe(true);
      });
    }, 500);
  }, FUZZ_TIMEOUT_MS);
});

describe('fuzz: Docker', () => {
  const docs = fs.readdirSync(path.join(FIXTURES, 'docker')).map((f) => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'docker', f), 'utf8')) as unknown);
  /** A real inspect document with values at random paths replaced by random JSON. */
  const mutatedDoc = fc.tuple(fc.constantFrom(...docs), fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }))
    .map(([doc, edits]) => {
      return withEdits(doc, edits);
    });
  it('container inspect JSON maps or is a ParseError naming the path', async () => {
    await fuzz('docker-inspect', fc.oneof(mutatedDoc, fc.jsonValue({ maxDepth: 3 })), (doc) => {
      try {
        const c = toContainerInfo(doc);
        expect(c.id).toMatch(/^[0-9a-f]{64}$/);
        expect(Number.isSafeInteger(c.pid)).toBe(true);
        for (const p of c.ports) port(p.containerPort);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }, 400);
  }, FUZZ_TIMEOUT_MS);

  it('container list entries map, are left to the inspect (undefined) or are a ParseError of the list', async () => {
    // The e2e tree's recorded list (every network mode, a published port), mutated the same way.
    const list = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'e2e/tree/docker/containers.json'), 'utf8')) as unknown[];
    const mutatedEntry = fc.tuple(fc.constantFrom(...list), fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }))
      .map(([entry, edits]) => withEdits(entry, edits));
    await fuzz('docker-list', fc.tuple(fc.oneof(mutatedEntry, fc.jsonValue({ maxDepth: 3 })), fc.oneof(fc.integer(), fc.double())), ([entry, pid]) => {
      try {
        const c = toContainerInfoFromList(entry, pid);
        if (c === undefined) return;
        expect(c.id).toMatch(/^[0-9a-f]{64}$/);
        expect(c.pid).toBe(pid);
        expect(c.pid).toBeGreaterThan(0);
        expect(c.name).not.toContain('/');
        expect(c.image.startsWith('sha256:')).toBe(false);
        for (const p of c.ports) {
          port(p.containerPort);
          port(p.hostPort);
        }
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        expect(err.file).toBe(LIST_FILE);
      }
    }, 400);
  }, FUZZ_TIMEOUT_MS);

  it('events: any JSON value reduces to an event or nothing', async () => {
    const eventish = fc.record({
      Type: fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()), Action: fc.oneof(fc.string(), fc.jsonValue()),
      Actor: fc.oneof(fc.jsonValue(), fc.record({ ID: fc.oneof(fc.string(), fc.jsonValue()), Attributes: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.string())) })),
      time: fc.oneof(fc.double(), fc.integer(), fc.jsonValue()), timeNano: fc.oneof(fc.double(), fc.integer(), fc.jsonValue()),
    }, { requiredKeys: [] });
    await fuzz('docker-events', eventish, (e) => {
      const r = toAgentEvent(e as never);
      if (r) {
        expect(typeof r.id).toBe('string');
        expect(typeof r.timeNano).toBe('bigint');
      }
    }, 400);
  }, FUZZ_TIMEOUT_MS);

  it('events lines: split the same however the stream is chunked, and cut at the cap', async () => {
    const text = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constant('\n'), fc.constant('\n\n')), { maxLength: 20 }).map((p) => p.join(''));
    await fuzz('docker-event-lines', fc.tuple(text, fc.array(fc.nat({ max: 40 }), { maxLength: 10 }), fc.integer({ min: 1, max: 40 })), ([t, cuts, cap]) => {
      const splitter = createLineSplitter(cap);
      const got: string[] = [];
      let over = false;
      let at = 0;
      for (const c of [...cuts, t.length]) {
        const piece = t.slice(at, at + c);
        at += piece.length;
        const out = splitter.push(piece);
        if (out === undefined) { over = true; break; }
        got.push(...out);
        if (at >= t.length) break;
      }
      const want = t.split('\n');
      const rest = want.pop() ?? '';
      if (want.some((l) => l.length > cap) || rest.length > cap) {
        // Over the cap: it must have said so (a line past the cap is never returned).
        expect(over || got.every((l) => l.length <= cap)).toBe(true);
        return;
      }
      expect(over).toBe(false);
      expect(got).toEqual(want);
      expect(splitter.end()).toBe(rest);
    }, 500);
  }, FUZZ_TIMEOUT_MS);
});

describe('fuzz: what users type', () => {
  it('times, durations, globs and terminal text', async () => {
    await fuzz('user-text', fc.tuple(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 70 }), fc.stringMatching(/^-?\d{0,30}(\.\d{0,5})?(ms|s|m|h|d|w)?$/)), fc.string({ unit: fc.constantFrom('*', '?', 'a', 'b', 'é'), maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 60 })),
      ([time, glob, text]) => {
        for (const f of [() => parseInstant(time, 1_800_000_000_000), () => parseDuration(time)]) {
          try {
            const ms = f();
            expect(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15).toBe(true);
            expect(() => new Date(ms).toISOString()).not.toThrow();
          } catch (err) {
            expect((err as Error).message).toMatch(/^bad (time|duration)/);
          }
        }
        try {
          const g = compileGlob(glob);
          expect(typeof g.test(text)).toBe('boolean');
        } catch (err) {
          expect((err as Error).message).toMatch(/glob longer than/);
        }
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        expect(escapeTerminal(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      }, 500);
  }, FUZZ_TIMEOUT_MS);
});
