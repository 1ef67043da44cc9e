#!/usr/bin/env node
// Render benchmark of the web map: serves the built UI (dist/ui) with a synthetic topology — 200 containers in
// 10 compose projects (one network each), a few host processes and external addresses, 1,000 edges with
// traffic and per-connection details — and a live stream sending a diff every second (traffic of ~80 edges,
// and every 5 s a container added or removed with its edges). Opens it in Debian's Chromium (playwright-core)
// and prints: time to first render (navigation → map drawn), the first layout's time, the time diffs take to
// apply, and frame times (median / p95 / max from requestAnimationFrame) while panning and zooming and while
// diffs arrive. Figures only, no assertions.
// Usage: npm run build && node bench/ui-render.mjs [CONTAINERS=200] [EDGES=1000] [SECONDS=8]
// Set SCREENSHOT=file.png to also save what the map looks like once first drawn.
/* global window, requestAnimationFrame, PerformanceObserver */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const C = Number(process.argv[2] ?? 200);
const E = Number(process.argv[3] ?? 1000);
const SECONDS = Number(process.argv[4] ?? 8);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UI = path.join(ROOT, 'dist/ui');
if (!fs.existsSync(path.join(UI, 'index.html'))) {
  console.error('dist/ui is missing: run npm run build first');
  process.exit(2);
}

// ---- a deterministic synthetic topology ---------------------------------------------------------------
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const PROJECTS = ['shop', 'billing', 'auth', 'search', 'media', 'mail', 'analytics', 'chat', 'inventory', 'gateway'];
const ROLES = ['api', 'web', 'worker', 'db', 'cache', 'queue'];
const PORTS = { api: 8080, web: 80, worker: 9000, db: 5432, cache: 6379, queue: 5672 };
const hex = (i) => i.toString(16).padStart(64, '0');

function container(i, project = PROJECTS[i % PROJECTS.length]) {
  const role = ROLES[Math.floor(i / PROJECTS.length) % ROLES.length];
  const n = Math.floor(i / (PROJECTS.length * ROLES.length)) + 1;
  const p = PROJECTS.indexOf(project);
  return {
    kind: 'container', id: hex(i + 1), name: `${project}-${role}-${n}`, image: `example/${role}:1.${n}`,
    compose: { project, service: role }, networkMode: `${project}_net`,
    networks: [{ name: `${project}_net`, ipv4: `172.${20 + p}.0.${(i % 250) + 2}` }],
    ports: role === 'web' ? [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8000 + i }] : [], pid: 10_000 + i,
  };
}

const nodes = [];
for (let i = 0; i < C; i++) nodes.push(container(i));
for (const cmd of ['sshd', 'prometheus', 'node_exporter']) nodes.push({ kind: 'process', id: `process:${cmd}`, name: cmd, command: cmd, pids: [500 + nodes.length] });
for (let i = 0; i < 8; i++) {
  const address = `203.0.113.${10 + i}`;
  nodes.push({ kind: 'external', id: `external:${address}`, name: i < 4 ? `api${i}.example.net` : address, address, ...(i < 4 ? { dnsName: `api${i}.example.net` } : {}) });
}
nodes.push({ kind: 'host', id: 'host', name: 'bench-host' });

function traffic() {
  const r = rand();
  const rate = r < 0.3 ? 0 : Math.round(10 ** (1 + rand() * 6));
  const rtt = 0.05 + rand() * (rand() < 0.05 ? 300 : 5);
  return {
    bytesSent: Math.round(rate * 300), bytesReceived: Math.round(rate * 600), bytesSentPerSec: rate, bytesReceivedPerSec: rate * 2, bytesSource: 'tcp_info',
    rttMinMs: rtt / 2, rttMeanMs: rtt, rttMaxMs: rtt * 1.5, retransmits: rand() < 0.05 ? Math.round(rand() * 40) : 0, measuredConnections: 1, conntrackConnections: 0,
  };
}

function edge(from, to) {
  const role = to.compose?.service ?? 'api';
  const port = to.kind === 'container' ? PORTS[role] : to.kind === 'external' ? 443 : 9100;
  const n = 1 + Math.floor(rand() * 3);
  const ipOf = (x) => x.networks?.[0]?.ipv4 ?? x.address ?? '10.0.0.1';
  const details = Array.from({ length: n }, (_, k) => ({
    state: 'ESTABLISHED', via: 'socket', client: { address: ipOf(from), port: 40_000 + k + Math.floor(rand() * 20_000) }, server: { address: ipOf(to), port },
    clientPids: [from.pid ?? 1], serverPids: [to.pid ?? 1],
  }));
  return {
    id: `${from.id}->${to.id}/tcp/${port}`, from: from.id, to: to.id, protocol: 'tcp', port, connections: n, states: { ESTABLISHED: n }, via: ['socket'],
    details, traffic: traffic(),
  };
}

const containers = nodes.filter((n) => n.kind === 'container');
const others = nodes.filter((n) => n.kind !== 'container');
const edges = new Map();
let guard = 0;
while (edges.size < E && guard++ < E * 50) {
  const from = pick(containers);
  // Mostly within the project, some to another project's API, a few to external addresses and from host processes.
  const r = rand();
  let e;
  if (r < 0.85) e = edge(from, pick(containers.filter((c) => c.compose.project === from.compose.project && c !== from)));
  else if (r < 0.95) e = edge(from, pick(containers.filter((c) => c.compose.service === 'api' && c.compose.project !== from.compose.project)));
  else if (r < 0.97) e = edge(from, pick(others.filter((n) => n.kind === 'external')));
  else e = edge(pick(others.filter((n) => n.kind === 'process')), from);
  if (e.from !== e.to) edges.set(e.id, e);
}
let topology = { takenAt: new Date().toISOString(), hostname: 'bench-host', warnings: [], nodes, edges: [...edges.values()] };

// ---- the diffs the stream sends -----------------------------------------------------------------------
let tick = 0;
let extra = C;
function nextDiff() {
  tick++;
  const to = new Date().toISOString();
  const updated = [];
  for (let i = 0; i < 80; i++) {
    const e = pick(topology.edges);
    updated.push({ ...e, traffic: traffic() });
  }
  const uniq = [...new Map(updated.map((e) => [e.id, e])).values()];
  const diff = { from: topology.takenAt, to, nodes: { added: [], updated: [], removed: [] }, edges: { added: [], updated: uniq, removed: [] } };
  if (tick % 5 === 0) {
    // A container comes (with 5 edges) or the last one added goes.
    if (tick % 10 === 5) {
      const c = container(extra++, pick(PROJECTS));
      const es = Array.from({ length: 5 }, () => edge(c, pick(containers)));
      diff.nodes.added.push(c);
      diff.edges.added.push(...new Map(es.map((e) => [e.id, e])).values());
    } else {
      const last = topology.nodes.filter((n) => n.kind === 'container').at(-1);
      if (last && Number.parseInt(last.id, 16) > C) {
        diff.nodes.removed.push(last.id);
        diff.edges.removed.push(...topology.edges.filter((e) => e.from === last.id || e.to === last.id).map((e) => e.id));
      }
    }
  }
  const removedEdges = new Set(diff.edges.removed);
  const removedNodes = new Set(diff.nodes.removed);
  const upd = new Map(uniq.map((e) => [e.id, e]));
  topology = {
    ...topology, takenAt: to,
    nodes: [...topology.nodes.filter((n) => !removedNodes.has(n.id)), ...diff.nodes.added],
    edges: [...topology.edges.filter((e) => !removedEdges.has(e.id)).map((e) => upd.get(e.id) ?? e), ...diff.edges.added],
  };
  return diff;
}

// ---- the server ---------------------------------------------------------------------------------------
const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.html': 'text/html' };
const streams = new Set();
let streaming = false;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(fs.readFileSync(path.join(UI, 'index.html')));
  } else if (url.pathname.startsWith('/ui/')) {
    const file = path.join(UI, path.normalize(url.pathname.slice(4)).replace(/^(\.\.[/\\])+/, ''));
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  } else if (url.pathname === '/api/v1/topology') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...topology, stale: false }));
  } else if (url.pathname === '/api/v1/topology/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`retry: 2000\n\nevent: topology\ndata: ${JSON.stringify({ ...topology, stale: false })}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  } else if (url.pathname === '/api/v1/containers') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ takenAt: topology.takenAt, stale: false, containers: [] }));
  } else if (url.pathname === '/api/v1/sockets') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ takenAt: topology.takenAt, containers: [] }));
  } else if (url.pathname === '/api/v1/history') {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, code: 'no_history', message: 'bench: no history' }));
  } else {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, code: 'not_found', message: 'bench' }));
  }
});
const diffTimer = setInterval(() => {
  if (!streaming) return;
  const d = nextDiff();
  for (const s of streams) s.write(`event: diff\ndata: ${JSON.stringify(d)}\n\n`);
}, 1000);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// ---- the browser --------------------------------------------------------------------------------------
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), max: s.at(-1) ?? NaN };
};
const fmt = (s) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.n} frames)`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const t0 = Date.now();
  await page.goto(base);
  await page.waitForFunction(() => (window.portolan?.stats().renders ?? 0) >= 1, null, { timeout: 120_000 });
  const firstRenderMs = Date.now() - t0;
  const first = await page.evaluate(() => window.portolan.stats().lastRender);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  const counts = await page.evaluate(() => ({ nodes: window.portolan.cy.nodes('[kind != "group"]').length, edges: window.portolan.cy.edges().length }));

  const recordFrames = (ms) => page.evaluate((duration) => new Promise((resolve) => {
    const deltas = [];
    let last = performance.now();
    const end = last + duration;
    const loop = (now) => {
      deltas.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(loop);
      else resolve(deltas.slice(1));
    };
    requestAnimationFrame(loop);
  }), ms);

  // Pan and zoom: drag across the map and wheel in and out, while frames are recorded.
  const panZoom = (async () => {
    await page.mouse.move(800, 500);
    for (let round = 0; round < 3; round++) {
      await page.mouse.down();
      for (let i = 0; i < 20; i++) await page.mouse.move(800 + i * 10, 500 + i * 5);
      await page.mouse.up();
      for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -120);
      for (let i = 0; i < 6; i++) await page.mouse.wheel(0, 120);
    }
  })();
  const panFrames = await recordFrames(SECONDS * 1000 / 2);
  await panZoom;

  // Diffs: start the stream's diffs and record frames and the time each diff took to render.
  const positions = () => page.evaluate(() => Object.fromEntries(window.portolan.cy.nodes('[kind != "group"]').map((n) => [n.id(), { ...n.position() }])));
  const before = await positions();
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(Math.round(e.duration)); }).observe({ type: 'longtask' });
  });
  streaming = true;
  const rendersBefore = await page.evaluate(() => window.portolan.stats().renders);
  const diffFrames = await recordFrames(SECONDS * 1000);
  const after = await page.evaluate(() => window.portolan.stats());
  streaming = false;
  await page.waitForTimeout(1000);
  const afterPos = await positions();
  const moved = Object.entries(afterPos).map(([id, p]) => (before[id] ? Math.hypot(p.x - before[id].x, p.y - before[id].y) : 0));
  if (process.env.DEBUG_MOVES) console.log(Object.entries(afterPos).filter(([id]) => before[id]).map(([id, p]) => `${id.slice(-6)} ${(p.x - before[id].x).toFixed(1)},${(p.y - before[id].y).toFixed(1)}`).filter((t) => !t.endsWith(' 0.0,0.0')).slice(0, 30).join('\n'));
  const diffs = after.renders - rendersBefore;

  console.log(`web map render benchmark (Chromium ${browser.version()}, 1600×1000, ${process.env.CHROMIUM ?? '/usr/bin/chromium'})`);
  console.log(`topology: ${counts.nodes} nodes (${C} containers), ${counts.edges} edges`);
  console.log(`time to first render: ${firstRenderMs} ms (navigation → map drawn), of which sync ${first.syncMs.toFixed(0)} ms, first layout (fCoSE) ${first.layoutMs.toFixed(0)} ms`);
  console.log(`pan/zoom frames: ${fmt(stats(panFrames))}`);
  console.log(`while diffs arrive (${diffs} diffs in ${SECONDS} s, ~80 edges each, a container added/removed every 5 s): ${fmt(stats(diffFrames))}`);
  console.log(`existing nodes moved by diffs: max ${Math.max(...moved).toFixed(2)} px over ${moved.length} nodes`);
  const longTasks = await page.evaluate(() => window.longTasks);
  console.log(`long tasks (> 50 ms) while diffs arrive: ${longTasks.length ? longTasks.join(', ') + ' ms' : 'none'}`);
  const recent = after.recent.slice(-diffs);
  const withNew = recent.filter((r) => r.placed > 0);
  console.log(`applying a diff (JS time per diff): sync ${fmt(stats(recent.map((r) => r.syncMs + r.layoutMs))).replace(/ \(.*/, '')}`);
  if (withNew.length > 0) console.log(`diffs adding a container (placed + fCoSE with every other node fixed): ${fmt(stats(withNew.map((r) => r.syncMs + r.layoutMs))).replace(/ \(.*/, '')} over ${withNew.length}`);
} finally {
  clearInterval(diffTimer);
  for (const s of streams) s.end();
  await browser.close();
  server.close();
}
