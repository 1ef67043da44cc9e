// The fleet merge alone, full against incremental (after `npm run build`): N hosts (default 100) made from the real
// lab host document test/fixtures/fleet/plfn1-h3.json (50 containers, 24 connections; made distinct per host as
// bench/fleet.mjs does), then R renders (default 200), before each of which `--changed` hosts (default 10: about what
// the hub takes between two renders in bench/fleet.mjs) get a new document (takenAt, one edge's byte counter).
// Prints, per render, wall and CPU time (process.cpuUsage: less sensitive to other load on the machine) of
// mergeFleetReport (everything again) and of mergeFleetIncremental (unchanged hosts' parts kept), median / p90 / max,
// and whether every render's reports were equal (they must be).
//   node bench/fleet-merge.mjs [--hosts 100] [--changed 10] [--renders 200]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createFleetMergeMemory, mergeFleetIncremental, mergeFleetReport } from '../dist/core/fleet/merge-fleet.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const HOSTS = arg('hosts', 100);
const CHANGED = arg('changed', 10);
const RENDERS = arg('renders', 200);

const template = readFileSync(path.join(ROOT, 'test/fixtures/fleet/plfn1-h3.json'), 'utf8');
const captured = JSON.parse(template);
function hostDoc(k) {
  const engineId = `BNCH:${String(k).padStart(4, '0')}:${createHash('sha256').update(String(k)).digest('hex').slice(0, 24).toUpperCase()}`;
  return JSON.parse(template.replace(/[0-9a-f]{64}/g, (id) => createHash('sha256').update(`${k}:${id}`).digest('hex'))
    .replaceAll(captured.engineId, engineId).replaceAll(captured.hostname, `bench-${k}`).replaceAll(captured.addresses[0], `10.200.${k >> 8}.${k & 255}`));
}

let now = Date.parse(captured.takenAt);
let states = Array.from({ length: HOSTS }, (_, k) => ({ document: hostDoc(k), lastSeenMs: now }));
let memory = createFleetMergeMemory();
const timed = (f) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { out, wall, cpu: (c.user + c.system) / 1000 };
};
const full = { wall: [], cpu: [] };
const inc = { wall: [], cpu: [] };
let equal = true;
for (let r = 0; r < RENDERS; r++) {
  now += 200;
  states = states.map((s, k) => {
    if ((((k - r * CHANGED) % HOSTS) + HOSTS) % HOSTS >= CHANGED) return s; // hosts r*CHANGED … r*CHANGED+CHANGED-1, round the fleet
    const d = s.document;
    const takenAt = new Date(now).toISOString();
    const edge = d.topology.edges.find((e) => e.traffic);
    const edges = d.topology.edges.map((e) => (e === edge ? { ...e, traffic: { ...e.traffic, bytesSent: e.traffic.bytesSent + r + 1 } } : e));
    return { document: { ...d, takenAt, topology: { ...d.topology, takenAt, edges } }, lastSeenMs: now };
  });
  const a = timed(() => mergeFleetReport(states, now));
  const b = timed(() => mergeFleetIncremental(states, now, {}, memory));
  memory = b.out.memory;
  if (r >= 5) { // the first renders warm the JIT (and fill the memory)
    full.wall.push(a.wall); full.cpu.push(a.cpu); inc.wall.push(b.wall); inc.cpu.push(b.cpu);
  }
  if (r % 10 === 0 && !isDeepStrictEqual(a.out, b.out.report)) equal = false;
}
const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (xs) => `${q(xs, 0.5).toFixed(1)} / ${q(xs, 0.9).toFixed(1)} / ${Math.max(...xs).toFixed(1)} ms`;
const t = mergeFleetReport(states, now).topology;
console.log(`fleet merge: ${HOSTS} hosts (${t.nodes.length} nodes, ${t.edges.length} edges merged), ${CHANGED} changed before each of ${RENDERS} renders; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${os.cpus().length} cores`);
console.log(`full merge (mergeFleetReport: every host's part made again, as the hub did before)         wall ${fmt(full.wall)}, CPU ${fmt(full.cpu)} (median / p90 / max)`);
console.log(`incremental (mergeFleetIncremental)   wall ${fmt(inc.wall)}, CPU ${fmt(inc.cpu)}`);
console.log(`reports equal (every 10th render compared): ${equal ? 'yes' : 'NO'}`);
