#!/usr/bin/env node
// Render benchmark of the web map: serves the built UI (dist/ui) with a synthetic topology
// (test/fixtures/topology/synthetic-map.mjs) and a live stream, opens it in Debian's Chromium (playwright-core)
// and prints figures, no assertions:
// - time to first render: from navigation start to the first animation frame after the map was drawn, in the
//   page's own clock (performance.now()); when the first topology arrived (page, bundle, the stream's first
//   event and its JSON.parse), the JS handling it (planning the view — aggregation, layout — and drawing it);
// - frame times (requestAnimationFrame deltas: median / p95 / max) while panning and zooming;
// - a live diff: the JS time from the stream's message to the map updated (apply the diff, rebuild the view,
//   update cytoscape's elements), and frame times while diffs arrive (cytoscape redraws in the next frame);
// - how far nodes already on the map moved while diffs arrived (0 px expected).
// Scenarios: `projects` — 200 containers in 10 compose projects, 1,000 edges; `fleet` — 5,000 containers in
// 100 hosts (~13,000 edges, hosts folded); `fleet-merged` — the same size made as a hub makes it: 100 host
// documents (bench/fleet-documents.mjs, with 12 published-port connections per host seen from both ends) merged
// by core/fleet's mergeFleet (its time printed too), hosts folded; `pairs` — the issue's 200 containers (90 client/server pairs + 20).
// Diffs every second: traffic of ~80 edges, and every 5 s a container added (with 5 edges) or removed.
// Usage: npm run build && node bench/ui-render.mjs [projects|fleet|fleet-merged|pairs] [SECONDS=8] [WIDTHxHEIGHT=1440x900]
// A fleet is drawn first from the stream's cross-host document (?edges=cross-host), then the whole topology is
// fetched: the time it came in is printed too (the pan/zoom frames below may include its fetch and parse).
// Set SCREENSHOT=file.png to also save what the map looks like once first drawn; CROSS=n (fleet-merged) sets the
// cross-host connections per host (default 12).
/* global window, requestAnimationFrame, PerformanceObserver */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startMapServer } from '../test/fixtures/topology/map-server.mjs';
import { fleetMap, pairsMap, projectsMap, seeded } from '../test/fixtures/topology/synthetic-map.mjs';
import { mergeFleetReport } from '../dist/core/fleet/merge-fleet.js';
import { fleetDocuments } from './fleet-documents.mjs';

const SCENARIO = process.argv[2] ?? 'projects';
const SECONDS = Number(process.argv[3] ?? 8);
const [W, H] = (process.argv[4] ?? '1440x900').split('x').map(Number);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The fleet as a hub serves it: 100 hosts' documents (50 containers each) merged by core/fleet, host 7 stale. */
function mergedFleet() {
  // CROSS=n: cross-host connections per host (default 12; 0 draws no line between folded hosts).
  const docs = fleetDocuments({ hosts: 100, perHost: 50, ...(process.env.CROSS !== undefined ? { cross: Number(process.env.CROSS) } : {}) });
  const now = Date.parse(docs[0].takenAt);
  const states = docs.map((document, h) => ({ document, lastSeenMs: h === 7 ? now - 60_000 : now }));
  const t0 = performance.now();
  const report = mergeFleetReport(states, now);
  const ms = performance.now() - t0;
  const bytes = docs.reduce((s, d) => s + JSON.stringify(d).length, 0);
  console.log(`merge: ${docs.length} documents (${(bytes / 1e6).toFixed(1)} MB of JSON), ${report.joinedConnections} cross-host connections joined, in ${ms.toFixed(0)} ms (mergeFleet, one core)`);
  return report.topology;
}
const make = { projects: () => projectsMap(), fleet: () => fleetMap(), pairs: () => pairsMap(), 'fleet-merged': mergedFleet }[SCENARIO];
if (!make) {
  console.error(`unknown scenario ${SCENARIO}: projects, fleet, fleet-merged or pairs`);
  process.exit(2);
}

let topology = make();
const r = seeded(99);

// ---- the diffs the stream sends -----------------------------------------------------------------------
let tick = 0;
const added = [];
function nextDiff() {
  tick++;
  const to = new Date(Date.parse(topology.takenAt) + 1000).toISOString();
  const updated = new Map();
  for (let i = 0; i < 80; i++) {
    const e = r.pick(topology.edges);
    const rate = Math.round(10 ** (1 + r.rand() * 5));
    updated.set(e.id, { ...e, traffic: { ...(e.traffic ?? { bytesSent: 0, bytesReceived: 0, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0 }), bytesSentPerSec: rate, bytesReceivedPerSec: rate * 2 } });
  }
  const diff = { from: topology.takenAt, to, nodes: { added: [], updated: [], removed: [] }, edges: { added: [], updated: [...updated.values()], removed: [] } };
  if (tick % 5 === 0) {
    const containers = topology.nodes.filter((n) => n.kind === 'container');
    if (tick % 10 === 5) {
      const like = r.pick(containers);
      const c = { ...like, id: `${like.id.slice(0, 50)}${String(tick).padStart(14, '0')}`, name: `${like.name}-late${tick}` };
      const es = new Map();
      for (let k = 0; k < 5; k++) {
        const to2 = r.pick(containers.filter((x) => x.host === c.host));
        const port = 8000 + k;
        es.set(`${c.id}->${to2.id}/tcp/${port}`, { id: `${c.id}->${to2.id}/tcp/${port}`, from: c.id, to: to2.id, protocol: 'tcp', port, connections: 1, states: { ESTABLISHED: 1 }, via: ['socket'] });
      }
      diff.nodes.added.push(c);
      diff.edges.added.push(...es.values());
      added.push(c.id);
    } else if (added.length > 0) {
      const gone = added.shift();
      diff.nodes.removed.push(gone);
      diff.edges.removed.push(...topology.edges.filter((e) => e.from === gone || e.to === gone).map((e) => e.id));
    }
  }
  const removedEdges = new Set(diff.edges.removed);
  const removedNodes = new Set(diff.nodes.removed);
  topology = {
    ...topology, takenAt: to,
    nodes: [...topology.nodes.filter((n) => !removedNodes.has(n.id)), ...diff.nodes.added],
    edges: [...topology.edges.filter((e) => !removedEdges.has(e.id)).map((e) => updated.get(e.id) ?? e), ...diff.edges.added],
  };
  return diff;
}

// ---- the browser --------------------------------------------------------------------------------------
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), max: s.at(-1) ?? NaN };
};
const fmt = (s, unit = 'frames') => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.n} ${unit})`;

// UI_DIR=dir serves another build of the page (e.g. `npx vite build --config src/ui/vite.config.ts --minify false --outDir dir` for a readable profile).
const server = await startMapServer({ ui: process.env.UI_DIR ? path.resolve(process.env.UI_DIR) : path.join(ROOT, 'dist/ui'), topology });
let timer;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: W, height: H } });
  // PROFILE=file.cpuprofile: the page's CPU profile from navigation to the first map frame (read it with bench/cpuprofile.mjs --skip 0).
  const cdp = process.env.PROFILE ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  await page.goto(server.base);
  // Polled every 100 ms, not every frame: stats() builds maps of every node, which would land in the frame measured.
  await page.waitForFunction(() => window.portolan?.stats().firstFrameAt !== undefined, null, { timeout: 120_000, polling: 100 });
  const first = await page.evaluate(() => window.portolan.stats());
  // Where the time before the first topology went (the page's marks and resource timings, ms since navigation start).
  const marks = await page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
    const nav = performance.getEntriesByType('navigation')[0];
    const script = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.js'));
    return { html: nav?.responseEnd, script: script?.responseEnd, open: at('portolan:stream-open'), message: at('portolan:topology-message'), parsed: at('portolan:topology-parsed') };
  });
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    (await import('node:fs')).writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  }
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  if (process.env.DUMP) (await import('node:fs')).writeFileSync(process.env.DUMP, JSON.stringify(await page.evaluate(() => ({ elements: window.portolan.cy.json().elements, style: window.portolan.cy.style().json(), zoom: window.portolan.cy.zoom(), pan: window.portolan.cy.pan() }))));
  const counts = await page.evaluate(() => ({ drawn: window.portolan.cy.nodes('[kind != "box"]').length, boxes: window.portolan.cy.nodes('[kind = "box"]').length, edges: window.portolan.cy.edges().length, zoom: window.portolan.cy.zoom() }));

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

  // Pan and zoom: drag across the map and wheel out and back in (not far enough in to open anything).
  const panZoom = (async () => {
    await page.mouse.move(W / 2, H / 2);
    for (let round = 0; round < 3; round++) {
      await page.mouse.down();
      for (let i = 0; i < 20; i++) await page.mouse.move(W / 2 + i * 10, H / 2 + i * 5);
      await page.mouse.up();
      for (let i = 0; i < 4; i++) await page.mouse.wheel(0, 120);
      for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -120);
    }
  })();
  const panFrames = await recordFrames((SECONDS * 1000) / 2);
  await panZoom;

  const positions = () => page.evaluate(() => Object.fromEntries(window.portolan.cy.nodes('[kind != "box"]').map((n) => [n.id(), { ...n.position() }])));
  const before = await positions();
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(Math.round(e.duration)); }).observe({ type: 'longtask' });
  });
  timer = setInterval(() => {
    const d = nextDiff();
    server.send(d, topology);
  }, 1000);
  const diffFrames = await recordFrames(SECONDS * 1000);
  clearInterval(timer);
  await page.waitForTimeout(600);
  const after = await page.evaluate(() => window.portolan.stats());
  const afterPos = await positions();
  const moved = Object.entries(afterPos).map(([id, p]) => (before[id] ? Math.hypot(p.x - before[id].x, p.y - before[id].y) : 0));
  const longTasks = await page.evaluate(() => window.longTasks);
  const containers = topology.nodes.filter((n) => n.kind === 'container').length;

  console.log(`web map render benchmark: ${SCENARIO} (Chromium ${browser.version()}, ${W}×${H}, ${process.env.CHROMIUM ?? '/usr/bin/chromium'}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs)`);
  console.log(`topology: ${containers} containers, ${topology.nodes.length} nodes, ${topology.edges.length} edges${topology.hosts ? `, ${topology.hosts.length} hosts` : ''}; drawn: ${counts.drawn} nodes in ${counts.boxes} boxes, ${counts.edges} edges, at zoom ${counts.zoom.toFixed(2)}`);
  console.log(`time to first render: ${first.firstFrameAt.toFixed(0)} ms (navigation start → first map frame): the first topology received (page, bundle, stream, JSON.parse) at ${first.firstTopologyAt.toFixed(0)} ms, handled in ${first.firstMs.toFixed(0)} ms (planning the view ${first.planMs.toFixed(0)} ms, the rest drawing it), then the frame`);
  const ms = (x) => (x === undefined ? '?' : x.toFixed(0));
  console.log(`before it: page in at ${ms(marks.html)} ms, bundle in at ${ms(marks.script)}, stream asked for at ${ms(marks.open)}, its first document's message at ${ms(marks.message)}, parsed at ${ms(marks.parsed)}`);
  if (first.wholeAt !== undefined && first.wholeAt !== first.firstTopologyAt) {
    console.log(`drawn first from the stream's cross-host document; the whole topology in at ${first.wholeAt.toFixed(0)} ms`);
  } else if (first.wholeAt === undefined) {
    await page.waitForFunction(() => window.portolan.stats().whole, null, { timeout: 120_000, polling: 100 });
    console.log(`drawn first from the stream's cross-host document; the whole topology in at ${(await page.evaluate(() => window.portolan.stats().wholeAt)).toFixed(0)} ms`);
  }
  if (first.hiddenLines > 0) console.log(`lines between folded groups: ${first.lines - first.hiddenLines} of ${first.lines} drawn (LINE_BUDGET)`);
  console.log(`pan/zoom frames: ${fmt(stats(panFrames))}; late (> 20 ms): ${panFrames.filter((f) => f > 20).length}`);
  const diffMs = after.diffMs;
  console.log(`a live diff (JS: apply, rebuild the view, update the map; ~80 edges, a container every 5 s): ${fmt(stats(diffMs), 'diffs')}`);
  // Diff n (from 1) adds or removes a container when n % 5 = 0; the page records every diff it drew, in order.
  if (diffMs.length === tick && tick >= 5) {
    console.log(`  of which a container added or removed: ${diffMs.filter((_, i) => (i + 1) % 5 === 0).map((x) => x.toFixed(0)).join(', ')} ms; traffic only: ${fmt(stats(diffMs.filter((_, i) => (i + 1) % 5 !== 0)), 'diffs')}`);
  }
  // A frame is late when it took more than one refresh (16.7 ms at 60 Hz; 20 ms leaves room for timer jitter).
  console.log(`frames while diffs arrive: ${fmt(stats(diffFrames))}; late (> 20 ms): ${diffFrames.filter((f) => f > 20).length}`);
  console.log(`long tasks (> 50 ms) while diffs arrive: ${longTasks.length ? longTasks.join(', ') + ' ms' : 'none'}`);
  console.log(`nodes already on the map moved by diffs: max ${Math.max(0, ...moved).toFixed(2)} px over ${moved.length} nodes`);
} finally {
  clearInterval(timer);
  await browser.close();
  await server.close();
}
