// The conntrack table as the collector reads it (filtered ctnetlink dumps, src/collectors/conntrack.ts) against the
// kernel's own listing (`conntrack -L -o extended`) on the real engine: every entry something in portolan reads
// (UDP, NATed, TCP closed with counters) is there with the same tuples and counters, and the TCP entries without NAT
// or counters, which nothing reads, are not. The text path (/proc/<pid>/net/nf_conntrack) gives the same.
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyParts } from '../../src/collectors/collector.js';
import { createConntrackCollector, type ConntrackDump } from '../../src/collectors/conntrack.js';
import type { ConntrackEntry } from '../../src/core/model/conntrack.js';
import { dumpConntrack } from '../../src/sources/ctnetlink.js';
import { createProcfs } from '../../src/sources/procfs.js';
import { cleanup, docker, inspect, run, testImage, waitFor } from './harness.js';

const P = '/opt/peer.mjs';
const PUBLISHED = 19441;
const ipOf = (n: string) => inspect(n).NetworkSettings.Networks['bridge']?.IPAddress ?? '';

/** One flow as the kernel lists it: protocol, state, both tuples and counters, in one comparable line. */
interface KernelFlow { line: string; protocol: string; state: string; nat: boolean; counted: boolean; involves: string[] }

function conntrackList(): KernelFlow[] {
  const r = spawnSync('conntrack', ['-L', '-o', 'extended'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`conntrack -L: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => /^ipv[46] /.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    const protocol = f[2] ?? '';
    const state = protocol === 'tcp' ? (f[5] ?? '') : '';
    const kv = (k: string) => [...l.matchAll(new RegExp(`\\b${k}=(\\S+)`, 'g'))].map((m) => m[1] ?? '');
    const [src, src2] = kv('src');
    const [dst, dst2] = kv('dst');
    const [sport, sport2] = kv('sport');
    const [dport, dport2] = kv('dport');
    const bytes = kv('bytes');
    const nat = src2 !== dst || sport2 !== dport || dst2 !== src || dport2 !== sport;
    return {
      line: `${protocol} ${state} ${src}:${sport}>${dst}:${dport} ${src2}:${sport2}>${dst2}:${dport2} bytes=${bytes.join('/')}`,
      protocol, state, nat, counted: bytes.length === 2, involves: [src ?? '', dst ?? '', src2 ?? '', dst2 ?? ''],
    };
  });
}

const lineOf = (e: ConntrackEntry) => `${e.protocol} ${e.state ?? ''} ${e.original.src}:${e.original.sport}>${e.original.dst}:${e.original.dport} ` +
  `${e.reply.src}:${e.reply.sport}>${e.reply.dst}:${e.reply.dport} bytes=${[e.original.bytes, e.reply.bytes].filter((b) => b !== undefined).join('/')}`;

const procfs = createProcfs('/proc');
const hostNetns = Number(/\d+/.exec(readlinkSync('/proc/self/ns/net'))?.[0]);
const dumps = { calls: 0, failures: [] as string[] };
const countingDump: ConntrackDump = async (nsPath, timeoutMs, filter) => {
  dumps.calls++;
  try {
    return await dumpConntrack(nsPath, timeoutMs, filter);
  } catch (err) {
    dumps.failures.push(String(err));
    throw err;
  }
};

async function collected(dump: ConntrackDump | undefined): Promise<ConntrackEntry[]> {
  // Dumps whatever the table's size (the agent reads a table under DUMP_FROM_ENTRIES as text).
  const c = createConntrackCollector(procfs, dump ? { dump, dumpFromEntries: 0 } : {});
  const r = await c.collect({ signal: AbortSignal.timeout(20_000), parts: { ...emptyParts(), netns: { host: hostNetns, hostPid: 'self', containers: [] } } });
  if (r.conntrack.status !== 'ok') throw new Error(`table unavailable: ${r.conntrack.reason}`);
  expect(r.issues ?? []).toEqual([]);
  return [...r.conntrack.entries];
}

let srvIp = '';
const held: net.Socket[] = [];

beforeAll(async () => {
  testImage();
  run('ctsrv', ['-p', `${PUBLISHED}:8080`], ['sh', '-c', `node ${P} tcp-server 8080 & exec node ${P} udp-server 5353`]);
  srvIp = ipOf('ctsrv');
  // Without NAT: three open TCP connections from another container (read by nothing) and UDP datagrams (read).
  run('ctdirect', [], ['node', P, 'tcp-client', srvIp, '8080', '100', '3']);
  run('ctudp', [], ['node', P, 'udp-send', srvIp, '5353', '200']);
  // DNAT'd: this process to the published port at the bridge's gateway (nat OUTPUT, DOCKER chain).
  const gateway = JSON.parse(docker('network', 'inspect', 'bridge'))[0].IPAM.Config[0].Gateway as string;
  await waitFor(() => docker('logs', inspect('ctsrv').Id).includes('listening'), 30_000, 'the server');
  for (let i = 0; i < 2; i++) {
    held.push(await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(PUBLISHED, gateway, () => resolve(s));
      s.once('error', reject);
    }));
  }
}, 180_000);

afterAll(() => {
  for (const s of held) s.destroy();
  cleanup();
});

describe('conntrack table by dumps on the real engine', () => {
  it('holds exactly the kernel\'s used entries of the test\'s flows; the text path agrees', async () => {
    const mine = (involves: readonly string[]) => involves.includes(srvIp);
    const mineOf = (entries: ConntrackEntry[]) => entries.filter((e) => mine([e.original.src, e.original.dst, e.reply.src, e.reply.dst])).map(lineOf).sort();
    let kernelUsed: string[] = [];
    let kernelUnused: string[] = [];
    let byDump: string[] = [];
    let byText: string[] = [];
    // The two listings are not one atomic read: retried until the flows (all up by now) agree, for at most 20 s.
    const until = Date.now() + 20_000;
    for (;;) {
      const kernel = conntrackList().filter((f) => mine(f.involves));
      kernelUsed = kernel.filter((f) => f.protocol === 'udp' || (f.protocol === 'tcp' && (f.nat || (f.counted && (f.state === 'TIME_WAIT' || f.state === 'CLOSE'))))).map((f) => f.line).sort();
      kernelUnused = kernel.filter((f) => !kernelUsed.includes(f.line)).map((f) => f.line);
      byDump = mineOf(await collected(countingDump));
      byText = mineOf(await collected(undefined));
      const ready = kernel.filter((f) => f.protocol === 'tcp' && f.nat).length >= 2 && kernel.some((f) => f.protocol === 'udp') &&
        kernel.filter((f) => f.protocol === 'tcp' && !f.nat && f.state === 'ESTABLISHED').length >= 3;
      if (ready && JSON.stringify(byDump) === JSON.stringify(kernelUsed) && JSON.stringify(byText) === JSON.stringify(kernelUsed)) break;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(byDump).toEqual(kernelUsed);
    expect(byText).toEqual(kernelUsed);
    // The dumps were read, not the text behind a failure.
    expect(dumps.failures).toEqual([]);
    expect(dumps.calls).toBeGreaterThanOrEqual(4);
    // What the flows were: two DNAT'd TCP connections and UDP kept, the three direct TCP connections left out.
    expect(byDump.filter((l) => l.startsWith('tcp ESTABLISHED') && l.includes(`:${PUBLISHED} ${srvIp}:8080>`))).toHaveLength(2);
    expect(byDump.filter((l) => l.startsWith('udp ') && l.includes(`>${srvIp}:5353`)).length).toBeGreaterThanOrEqual(1);
    expect(kernelUnused.filter((l) => l.startsWith('tcp ESTABLISHED') && l.includes(`>${srvIp}:8080 `)).length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
