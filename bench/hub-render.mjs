// The hub's own work per message and per render, in one process (after `npm run build`): the hub of `portolan hub`
// (createHub with createFleetRenderer and checkFleetDocument, as src/cli/hub-run.ts builds it) fed the messages
// bench/fleet.mjs's publishers send, without NATS: 100 hosts (default) of the real lab document with the containers
// section (test/fixtures/fleet/plfn1-h3.json, made distinct per host), a full document each, then steps: before
// each render `--per-render` hosts (default 7: what the hub takes in one 50 ms debounce at 50 messages/s) send a
// diff against their full document as the publisher makes it (src/fleet/doc-patch.ts), one of them busy (one edge's
// byte counter), the others idle (takenAt only); every 60th step each of `--fulls` hosts (default 2) sends a new
// full document (the agents' 60 s period). Prints CPU (process.cpuUsage) per step (accepting the messages, then
// the render: merge, containers and sockets, interning, the stream's diff) median / p90 / p99 / max, and the
// heap after a forced GC (needs --expose-gc, else not printed).
//   node [--expose-gc] [--cpu-prof] bench/hub-render.mjs [--hosts 100] [--per-render 7] [--steps 600]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHub } from '../dist/fleet/hub.js';
import { checkFleetDocument, createFleetRenderer } from '../dist/fleet/hub-render.js';
import { diffPatch } from '../dist/fleet/doc-patch.js';
import { hostToken } from '../dist/fleet/wire.js';
import { containersOf } from './fleet-documents.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const HOSTS = arg('hosts', 100);
const PER_RENDER = arg('per-render', 7);
const STEPS = arg('steps', 600);
const FULLS = arg('fulls', 2);

const captured = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/fleet/plfn1-h3.json'), 'utf8'));
// The containers and traffic sections, as bench/fleet.mjs makes them.
Object.assign(captured, containersOf(captured));
const template = JSON.stringify(captured);
function hostText(k) {
  const engineId = `BNCH:${String(k).padStart(4, '0')}:${createHash('sha256').update(String(k)).digest('hex').slice(0, 24).toUpperCase()}`;
  return template.replace(/[0-9a-f]{64}/g, (id) => createHash('sha256').update(`${k}:${id}`).digest('hex'))
    .replaceAll(captured.engineId, engineId).replaceAll(captured.hostname, `bench-${k}`).replaceAll(captured.addresses[0], `10.200.${k >> 8}.${k & 255}`);
}

let now = Date.parse(captured.takenAt);
const quiet = { info() {}, warn() {}, error: (o, m) => console.error(m, o), debug() {} };
const hub = createHub({ hostname: 'bench', logger: quiet, render: createFleetRenderer({}), check: (hostId, doc, checked) => checkFleetDocument(hostId, doc, {}, checked), now: () => now, debounceMs: 1e9 });
let diffs = 0;
let lastDiff;
hub.subscribe((u) => { if (u.kind === 'state' && u.diff) { diffs++; lastDiff = u.diff; } });
// Each host's document as its publisher holds it (the full one, its text as the wire carries it, and its epoch).
const hosts = Array.from({ length: HOSTS }, (_, k) => {
  const text = hostText(k);
  const doc = JSON.parse(text);
  return { k, id: hostToken(doc.engineId), text, full: doc, epoch: 1, seq: 0 };
});
const message = (m) => JSON.parse(JSON.stringify(m)); // what decodeMessage gives: fresh objects from JSON text
for (const h of hosts) hub.accept(message({ v: 1, kind: 'full', host: h.id, epoch: 1, run: 'r', at: now, intervalMs: 2000, doc: h.full }), now);
hub.markRebuilt();

let counter = 0;
let missing = 0;
const cpu = [];
const cpuAccept = [];
const cpuRender = [];
let next = 0;
for (let step = 0; step < STEPS; step++) {
  now += 1000 / 7.5;
  const takenAt = new Date(now).toISOString();
  const msgs = [];
  for (let j = 0; j < PER_RENDER; j++) {
    const h = hosts[next++ % HOSTS];
    let topology = { ...h.full.topology, takenAt };
    if (j === 0) {
      const edge = h.full.topology.edges.find((e) => e.traffic);
      topology = { ...topology, edges: topology.edges.map((e) => (e === edge ? { ...e, traffic: { ...e.traffic, bytesSent: 1e12 + (++counter) } } : e)) };
    }
    const doc = { ...h.full, takenAt, topology };
    if (step % 60 === 0 && j < FULLS) {
      h.epoch++; h.seq = 0; h.full = JSON.parse(JSON.stringify(doc));
      msgs.push({ v: 1, kind: 'full', host: h.id, epoch: h.epoch, run: 'r', at: now, intervalMs: 2000, doc: h.full });
    } else msgs.push({ v: 1, kind: 'diff', host: h.id, epoch: h.epoch, run: 'r', seq: ++h.seq, at: now, intervalMs: 2000, patch: diffPatch(h.full, doc) ?? null });
  }
  const wire = msgs.map((m) => JSON.stringify(m));
  const c0 = process.cpuUsage();
  for (const w of wire) { const why = hub.accept(JSON.parse(w), now); if (why) throw new Error(why); }
  const c1 = process.cpuUsage();
  lastDiff = undefined;
  hub.renderNow();
  const c2 = process.cpuUsage();
  // The busy host's change must be in this render's diff (the caches must not hide it).
  if (!lastDiff?.edges.updated.some((e) => e.traffic?.bytesSent === 1e12 + counter)) missing++;
  if (step >= 30) {
    cpuAccept.push((c1.user + c1.system - c0.user - c0.system) / 1000);
    cpuRender.push((c2.user + c2.system - c1.user - c1.system) / 1000);
    cpu.push((c2.user + c2.system - c0.user - c0.system) / 1000);
  }
}
const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (xs) => `${q(xs, 0.5).toFixed(1)} / ${q(xs, 0.9).toFixed(1)} / ${q(xs, 0.99).toFixed(1)} / ${Math.max(...xs).toFixed(1)} ms`;
const s = hub.current();
console.log(`hub render: ${HOSTS} hosts (${s.topology.nodes.length} nodes, ${s.topology.edges.length} edges, ${s.attribution.containers.length} containers, ${s.attribution.containers.reduce((n, c) => n + c.sockets.length, 0)} sockets), ${PER_RENDER} messages per render, ${STEPS} renders (${diffs} diffs); load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`busy hosts' changes missing from their render's diff: ${missing} of ${STEPS}`);
console.log(`CPU per step, median / p90 / p99 / max: accept ${fmt(cpuAccept)}; render ${fmt(cpuRender)}; both ${fmt(cpu)}`);
if (globalThis.gc) { globalThis.gc(); console.log(`heap used after GC: ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB (RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB)`); }
