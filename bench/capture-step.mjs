#!/usr/bin/env node
// Times the capture step (core/capture/apply-capture: records → attributed connection events → edge counts) alone,
// as a collection at 2 s sees 5,000 connections a second: per run, 10,000 `opened` and 10,000 `closed` records of
// a host → container flow (the bench/capture.mjs load). Prints µs per record (median of RUNS runs), pure CPU.
// Usage: npm run build && node bench/capture-step.mjs [PER_RUN=10000] [RUNS=15]
import { applyCapture } from '../dist/core/capture/apply-capture.js';

const PER_RUN = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 15);
const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const SERVER = { id: 'a'.repeat(64), name: 'srv', image: 'node', networkMode: { kind: 'bridge', name: 'bridge' }, pid: 100,
  networks: [{ name: 'bridge', ipv4: '172.17.0.2', gateway: '172.17.0.1' }], ports: [], labels: {} };
const status = { state: 'running', namespaces: 1, events: 0, eventsPerSec: 0, dropped: 0, parseErrors: 0, resyncs: 0, mayHaveMissed: 0,
  inFlight: 0, inFlightLimit: 200_000, timestamps: 'off', accounting: 'off' };
const msg = (kind, sport, dport) => ({
  kind, family: 'ipv4', protocol: 'tcp', protocolNumber: 6, id: sport, status: kind === 'destroy' ? 0xe : 0x8, state: kind === 'destroy' ? 'CLOSE' : 'SYN_SENT',
  original: { src: '172.17.0.1', dst: '172.17.0.2', sport, dport }, reply: { src: '172.17.0.2', dst: '172.17.0.1', sport: dport, dport: sport },
});

let memory;
const times = [];
let port = 0;
for (let run = 0; run < RUNS; run++) {
  const at = T0 + run * 2000;
  const records = [];
  for (let i = 0; i < PER_RUN; i++) {
    const sport = 20000 + (port++ % 40000);
    const dport = 19423 + (i % 4);
    records.push({ kind: 'opened', msg: msg('new', sport, dport), netns: 1, receivedAtMs: at - 2000 + (i * 2000) / PER_RUN });
    records.push({ kind: 'closed', msg: msg('destroy', sport, dport), netns: 1, receivedAtMs: at - 1000 + (i * 1000) / PER_RUN, openedAtMs: at - 2000 + (i * 2000) / PER_RUN });
  }
  const snapshot = { hostname: 'bench', takenAt: new Date(at).toISOString(), containers: [SERVER], capture: { status, records } };
  const topology = { hostname: 'bench', nodes: [], edges: [] };
  const t = process.cpuUsage();
  const r = applyCapture(topology, snapshot, memory);
  const d = process.cpuUsage(t);
  memory = r.memory;
  if (r.events.length !== 2 * PER_RUN) throw new Error(`expected ${2 * PER_RUN} events, got ${r.events.length}`);
  times.push((d.user + d.system) / (2 * PER_RUN));
}
const sorted = [...times].slice(2).sort((a, b) => a - b);
const edge = [...memory.edges.values()].reduce((n, e) => n + e.connections, 0);
console.log(`capture step: ${2 * PER_RUN} records a run, ${RUNS} runs (first 2 left out): median ${sorted[sorted.length >> 1].toFixed(2)} µs of CPU per record ` +
  `(min ${sorted[0].toFixed(2)}, max ${sorted[sorted.length - 1].toFixed(2)}); ${edge} connections counted on ${memory.edges.size} edges`);
