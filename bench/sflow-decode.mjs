#!/usr/bin/env node
// What it measures: the sFlow receive path of `portolan serve --sflow`, on one core (Node's main thread, as in
// the agent), without the socket. For each datagram, what the UDP source's callback does: decode it and fold it
// into the accumulator (core/sflow/accumulate). Then, every INTERVAL seconds' worth of datagrams at RATE
// (a collection of the agent), what the pipeline does: drain the accumulator, attribute the sampled flows to
// containers and estimate the edges (core/sflow/estimate), merge them into the topology (withSflowEstimates).
// Prints datagrams decoded and attributed per second of CPU-bound wall time (the target is 50,000/s), flow samples
// per second, the per-collection cost, and memory (RSS, V8 heap) while running at that volume.
// Input: datagrams built like pmacctd's sfprobe sends them (~1,250 bytes: 7 flow samples 0:1, each an extended
// switch record and a 128-byte Ethernet/IPv4/TCP header) between C containers over F connections at sampling
// rate 10, every 20th datagram replaced by one of hsflowd's real datagrams (test/fixtures/sflow: expanded
// samples, entities, counters of its host and containers).
// Not measured: the kernel and libuv handing datagrams to the socket (at high rates watch
// portolan_sflow_kernel_dropped_datagrams_total and raise net.core.rmem_max).
// Usage: npm run build && node bench/sflow-decode.mjs [SECONDS=10] [RATE=50000] [C=200] [F=4000] [INTERVAL=2]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { attributeSockets } from '../dist/core/attribute.js';
import { createSflowAccumulator } from '../dist/core/sflow/accumulate.js';
import { applySflow } from '../dist/core/sflow/merge.js';
import { buildTopology } from '../dist/core/topology/build-topology.js';

const SECONDS = Number(process.argv[2] ?? 10);
const RATE = Number(process.argv[3] ?? 50_000);
const C = Number(process.argv[4] ?? 200);
const F = Number(process.argv[5] ?? 4000);
const INTERVAL = Number(process.argv[6] ?? 2);

const ip = (i) => [172, 17, ((i + 2) >> 8) & 255, (i + 2) & 255];
const mac = (i) => [0x02, 0x42, 0xac, 0x11, ((i + 2) >> 8) & 255, (i + 2) & 255];
const id = (i) => (i + 1).toString(16).padStart(64, '0');

// The inventory: C containers on one bridge, with their addresses and MACs.
const containers = Array.from({ length: C }, (_, i) => ({
  id: id(i), name: `c${i}`, image: 'img', networkMode: { kind: 'bridge', name: 'bridge' }, pid: 1000 + i,
  networks: [{ name: 'bridge', ipv4: ip(i).join('.'), gateway: '172.17.0.1', macAddress: mac(i).map((b) => b.toString(16).padStart(2, '0')).join(':') }],
  ports: [], labels: {},
}));
const base = {
  hostname: 'bench', issues: [], containers, processes: [], sockets: [], netdev: [],
  netns: { host: 1, hostPid: 1, containers: containers.map((c, i) => ({ containerId: c.id, netns: 10_000 + i, pid: c.pid })) },
  conntrack: { status: 'ok', netns: 1, entries: [], accounting: 'on' },
};

// A pmacctd-like datagram: header, then 7 flow samples, each an extended switch record and a raw header.
function pmacctdDatagram(seq, flowBase) {
  // 28-byte header; each sample: format and length (8), the flow sample's 8 words (32), the switch record
  // (8 + 16) and the raw header record (8 + 16 + 128).
  const b = Buffer.alloc(28 + 7 * (8 + 32 + 24 + 152));
  let o = 0;
  const u32 = (n) => { b.writeUInt32BE(n >>> 0, o); o += 4; };
  u32(5); u32(1); b.set([127, 0, 0, 1], o); o += 4; u32(1); u32(seq); u32(seq * 10); u32(7);
  for (let s = 0; s < 7; s++) {
    const f = (flowBase + s * 7919) % F;
    const client = (f * 2) % C;
    const server = (client + 1) % C;
    const back = s % 2 === 1;
    const [src, dst] = back ? [server, client] : [client, server];
    const [sport, dport] = back ? [8080, 32768 + (f % 28000)] : [32768 + (f % 28000), 8080];
    const frame = 66 + ((f * 37 + s * 101) % 1448);
    u32(1); u32(32 + 24 + 152);
    u32(seq * 7 + s); u32(1); u32(10); u32((seq * 7 + s) * 10); u32(0); u32(0x3fffffff); u32(0x3fffffff); u32(2);
    u32(1001); u32(16); u32(0); u32(0); u32(0); u32(0);
    u32(1); u32(144); u32(1); u32(frame + 4); u32(4); u32(128);
    const h = o;
    b.set(mac(dst), h); b.set(mac(src), h + 6); b.writeUInt16BE(0x0800, h + 12);
    b[h + 14] = 0x45; b.writeUInt16BE(frame - 14, h + 16); b[h + 22] = 64; b[h + 23] = 6;
    b.set(ip(src), h + 26); b.set(ip(dst), h + 30);
    b.writeUInt16BE(sport, h + 34); b.writeUInt16BE(dport, h + 36); b[h + 46] = 0x50; b[h + 47] = 0x10;
    o += 128;
  }
  return b;
}

// hsflowd's real datagrams from the fixture pcap (Ethernet, IPv4, UDP to 6343).
function hsflowdDatagrams() {
  const f = readFileSync(new URL('../test/fixtures/sflow/hsflowd-docker.pcap', import.meta.url));
  const out = [];
  for (let o = 24; o + 16 <= f.length;) {
    const cap = f.readUInt32LE(o + 8);
    const d = f.subarray(o + 16, o + 16 + cap);
    o += 16 + cap;
    const p = 14 + (d[14] & 15) * 4;
    out.push(Buffer.from(d.subarray(p + 8, p + d.readUInt16BE(p + 4))));
  }
  return out;
}

const POOL = 4096;
const pool = Array.from({ length: POOL }, (_, i) => pmacctdDatagram(i + 1, i * 13));
const real = hsflowdDatagrams();
const perInterval = Math.round(RATE * INTERVAL);
const intervals = Math.max(1, Math.round(SECONDS / INTERVAL));

const load = os.loadavg();
const acc = createSflowAccumulator('0.0.0.0:6343');
let state;
let seq = 0;
let hseq = 0;
let decodeMs = 0;
let attributeMs = 0;
let samples = 0;
let edges = 0;
let flows = 0;
let maxRss = 0;
let maxHeap = 0;
let clock = Date.parse('2026-11-29T00:00:00Z');
const sizes = [];

// A warm-up interval (JIT), not counted.
for (let round = -1; round < intervals; round++) {
  const t0 = performance.now();
  for (let i = 0; i < perInterval; i++) {
    let d;
    if (i % 20 === 19) {
      d = real[hseq++ % real.length];
      // Keep hsflowd's sequence numbers moving, as a live agent's would (no false restarts or reordering).
      d.writeUInt32BE(hseq, 20);
    } else {
      d = pool[seq % POOL];
      seq++;
      d.writeUInt32BE(seq, 16);
    }
    acc.add(d, '127.0.0.1', clock + (i * INTERVAL * 1000) / perInterval);
  }
  const t1 = performance.now();
  clock += INTERVAL * 1000;
  const part = acc.drain(clock);
  const snapshot = { ...base, takenAt: new Date(clock).toISOString(), sflow: part };
  const attribution = attributeSockets(snapshot);
  const merged = applySflow(buildTopology(snapshot, {}, attribution), snapshot, attribution, state);
  state = merged.state;
  const t2 = performance.now();
  if (round < 0) continue;
  decodeMs += t1 - t0;
  attributeMs += t2 - t1;
  sizes.push(t2 - t1);
  flows = part.flows.length;
  edges = merged.topology.edges.length;
  samples = part.agents.reduce((n, a) => n + a.flowSamples, 0);
  const m = process.memoryUsage();
  maxRss = Math.max(maxRss, m.rss);
  maxHeap = Math.max(maxHeap, m.heapUsed);
}

const total = perInterval * intervals;
const seconds = (decodeMs + attributeMs) / 1000;
const mib = (n) => `${(n / 1048576).toFixed(0)} MiB`;
const status = acc.drain(clock).agents;
console.log(`load average before: ${load.map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs (figures are lower on a busy machine)`);
console.log(`sFlow receive path, one core (node ${process.version}): ${intervals} collections of ${perInterval} datagrams (${RATE}/s × ${INTERVAL} s), ${C} containers, ${F} connections`);
console.log(`  datagrams decoded + accumulated:      ${Math.round(total / (decodeMs / 1000)).toLocaleString('en')}/s (${(decodeMs * 1000 / total).toFixed(2)} µs each)`);
console.log(`  decoded, accumulated and attributed:  ${Math.round(total / seconds).toLocaleString('en')}/s  <- target 50,000/s`);
console.log(`  flow samples:                         ${Math.round(samples / seconds).toLocaleString('en')}/s (${samples.toLocaleString('en')} in all, rejected: ${JSON.stringify(acc.drain(clock).receiver.rejected)})`);
console.log(`  per collection: drain + attribute + merge ${Math.min(...sizes).toFixed(1)}-${Math.max(...sizes).toFixed(1)} ms for ${flows.toLocaleString('en')} flows -> ${edges} edges`);
console.log(`  CPU used at ${RATE.toLocaleString('en')}/s: ${((seconds / (intervals * INTERVAL)) * 100).toFixed(0)} % of one core`);
console.log(`  memory while running: RSS max ${mib(maxRss)}, V8 heap used max ${mib(maxHeap)}`);
console.log(`  agents: ${status.map((a) => `${a.agent}/${a.subAgentId} ${a.datagrams} datagrams, ${a.lostDatagrams} lost`).join('; ')}`);
