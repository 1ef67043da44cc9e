// The fleet's figures: N simulated hosts (default 100) publishing into one hub through a 3-node NATS JetStream
// cluster on loopback, each replaying a real host document captured from the lab (test/fixtures/fleet/plfn1-h3.json:
// 50 containers, 24 connections; captured with bench/fleet-capture.mjs), made distinct per host (engine id, hostname,
// container ids, host address). Every host runs portolan's own publisher (dist/fleet/publisher.js: full document,
// brotli diffs against it, heartbeats) at a 2 s interval; `--busy` of them (default 10) change one edge's byte
// counter every interval, the others only their takenAt (an idle host, as a real agent publishes it).
// Prints:
//   - p50/p99/max from a busy host's publisher offer() to the hub's /api/v1/topology/stream `diff` that carries it;
//   - an idle host's publish traffic: bytes its NATS connection sent (nats-server /connz in_bytes: protocol,
//     headers and payload) and received (JetStream acks) per second, mean over the idle hosts;
//   - the hub's RSS and CPU (from /proc) over the measurement window;
//   - the hub killed (SIGKILL) and restarted: time from its spawn to /api/v1/status fleet.rebuilt with all hosts,
//     and the hub's own rebuildMs; no host publishes a full document meanwhile (the hosts keep sending diffs and
//     heartbeats, which need the documents already in the stream).
//   - the hub's time per render over the window, from its /metrics: the merge alone (collector "merge") and the whole
//     render (merge, then every node and edge equal to the previous render's replaced by that object);
// Each document carries the `containers` and `traffic` sections an agent publishes (`--no-containers`: without them,
// as an older agent's), made from the captured topology: per container a LISTEN socket on 7000 (the lab's servers)
// and one ESTABLISHED socket per connection end it holds, its process, interface counters and tcp_info summary.
//   node bench/fleet.mjs [--hosts 100] [--busy 10] [--seconds 30] [--ports 19370] [--no-containers]  (after npm run build; needs nats-server;
//   --ports BASE: NATS clients BASE+1..3, routes BASE+11..13, monitoring BASE+21..23, the hub BASE+29)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { createPublisher } from '../dist/fleet/publisher.js';
import { hostToken } from '../dist/fleet/wire.js';
import { checkHostDocument } from '../dist/core/fleet/parse-host-document.js';
import { containersOf } from './fleet-documents.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const HOSTS = arg('hosts', 100);
const BUSY = arg('busy', 10);
const SECONDS = arg('seconds', 30);
const INTERVAL = 2000;
const BASE = arg('ports', 19370);
const HUB = BASE + 29;
// Extra node flags for the hub (e.g. PORTOLAN_BENCH_HUB_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile it).
const HUB_NODE_ARGS = (process.env.PORTOLAN_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-fleet-bench-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quiet = { info() {}, warn() {}, error: (o, m) => console.error('publisher:', m, o?.err?.message ?? ''), debug() {} };

function startNats(k) {
  const routes = [1, 2, 3].filter((j) => j !== k).map((j) => `nats://127.0.0.1:${BASE + 10 + j}`).join(',');
  const p = spawn('nats-server', ['-n', `bench-n${k}`, '-a', '127.0.0.1', '-p', String(BASE + k), '-m', String(BASE + 20 + k), '-js', '-sd', path.join(dir, `n${k}`),
    '--cluster_name', 'bench', '--cluster', `nats://127.0.0.1:${BASE + 10 + k}`, '--routes', routes], { stdio: 'ignore' });
  children.push(p);
  return p;
}
const getJson = (url) => new Promise((resolve, reject) => {
  http.get(url, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } }); }).on('error', reject);
});
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { const v = await fn(); if (v) return v; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}
function startHub() {
  const p = spawn(process.execPath, [...HUB_NODE_ARGS, path.join(ROOT, 'dist/cli/main.js'), 'hub', '--nats', [1, 2, 3].map((k) => `nats://127.0.0.1:${BASE + k}`).join(','),
    '--listen', `127.0.0.1:${HUB}`, '--name', 'bench', '--no-history', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(p);
  return p;
}
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

// A distinct host from the captured one: its engine id, hostname, address and container ids are its own.
const captured = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/fleet/plfn1-h3.json'), 'utf8'));
const CONTAINERS = !process.argv.includes('--no-containers');
if (CONTAINERS) Object.assign(captured, containersOf(captured));
checkHostDocument(captured);
const template = JSON.stringify(captured);

function hostDoc(k) {
  const engineId = `BNCH:${String(k).padStart(4, '0')}:${createHash('sha256').update(String(k)).digest('hex').slice(0, 24).toUpperCase()}`;
  let text = template.replace(/[0-9a-f]{64}/g, (id) => createHash('sha256').update(`${k}:${id}`).digest('hex'))
    .replaceAll(captured.engineId, engineId).replaceAll(captured.hostname, `bench-${k}`).replaceAll(captured.addresses[0], `10.200.${k >> 8}.${k & 255}`);
  const doc = JSON.parse(text);
  text = undefined;
  return doc;
}

try {
  for (const k of [1, 2, 3]) startNats(k);
  for (const k of [1, 2, 3]) await until(() => getJson(`http://127.0.0.1:${BASE + 20 + k}/healthz`).then((h) => h.status === 'ok'), 30_000, `NATS node ${k}`);
  let hub = startHub();
  await until(() => getJson(`http://127.0.0.1:${HUB}/api/v1/status`).then((s) => s.fleet?.rebuilt), 30_000, 'the hub');

  // The publishers: one NATS connection each, as one agent per host has.
  const hosts = [];
  for (let k = 0; k < HOSTS; k++) {
    const doc = hostDoc(k);
    const nc = await connect({ servers: [1, 2, 3].map((j) => `127.0.0.1:${BASE + 1 + ((k + j) % 3)}`), name: `bench-host-${k}` });
    const js = nc.jetstream();
    const pub = createPublisher({ hostId: hostToken(doc.engineId), logger: quiet, intervalMs: INTERVAL,
      publish: async (subject, data, msgID) => { await js.publish(subject, data, { msgID, timeout: 10_000 }); } });
    pub.start();
    const edge = doc.topology.edges.find((e) => e.traffic);
    hosts.push({ k, doc, nc, pub, edge, busy: k < BUSY, cid: nc.info?.client_id });
  }
  const sent = new Map();
  const latencies = [];
  let counter = 0;
  let measuring = false;
  // The hub's live stream: a busy host's marker (its edge's bytesSent) arriving in a diff.
  http.get(`http://127.0.0.1:${HUB}/api/v1/topology/stream`, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!block.startsWith('event: diff')) continue;
        const now = performance.now();
        const diff = JSON.parse(/^data: (.*)$/m.exec(block)[1]);
        for (const e of [...diff.edges.added, ...diff.edges.updated]) {
          const t = sent.get(e.traffic?.bytesSent);
          if (t !== undefined) { if (measuring) latencies.push(now - t); sent.delete(e.traffic.bytesSent); }
        }
      }
    });
  });
  const tick = (h) => {
    const takenAt = new Date().toISOString();
    let topology = { ...h.doc.topology, takenAt };
    if (h.busy && h.edge) {
      const marker = 1e12 + (++counter);
      topology = { ...topology, edges: topology.edges.map((e) => (e === h.edge ? { ...e, traffic: { ...e.traffic, bytesSent: marker } } : e)) };
      sent.set(marker, performance.now());
    }
    h.pub.offer({ ...h.doc, takenAt, topology });
  };
  const timers = hosts.map((h) => { const t0 = setTimeout(() => { tick(h); h.timer = setInterval(() => tick(h), INTERVAL); }, Math.random() * INTERVAL); return t0; });
  await until(() => getJson(`http://127.0.0.1:${HUB}/api/v1/status`).then((s) => s.fleet?.hosts === HOSTS), 60_000, `the hub to hold ${HOSTS} hosts`);
  await sleep(5000);

  const connz = async () => new Map((await Promise.all([1, 2, 3].map((k) => getJson(`http://127.0.0.1:${BASE + 20 + k}/connz?limit=1024`))))
    .flatMap((c) => c.connections).map((c) => [c.name, c]));
  const renderTimes = async () => {
    const text = await new Promise((resolve, reject) => http.get(`http://127.0.0.1:${HUB}/metrics`, (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c) => { b += c; }); res.on('end', () => resolve(b)); }).on('error', reject));
    const value = (re) => Number(re.exec(text)?.[1] ?? NaN);
    return {
      mergeSum: value(/^portolan_collector_duration_seconds_sum\{collector="merge"\} (\S+)$/m), mergeCount: value(/^portolan_collector_duration_seconds_count\{collector="merge"\} (\S+)$/m),
      renderSum: value(/^portolan_collection_duration_seconds_sum (\S+)$/m), renderCount: value(/^portolan_collection_duration_seconds_count (\S+)$/m),
    };
  };
  const c0 = await connz();
  const r0 = await renderTimes();
  const cpu0 = cpuTicks(hub.pid);
  const t0 = performance.now();
  let rssMax = 0;
  measuring = true;
  const rssTimer = setInterval(() => { rssMax = Math.max(rssMax, rssMiB(hub.pid)); }, 500);
  await sleep(SECONDS * 1000);
  measuring = false;
  clearInterval(rssTimer);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = (cpuTicks(hub.pid) - cpu0) / 100 / elapsed;
  const c1 = await connz();
  const r1 = await renderTimes();
  const idle = hosts.filter((h) => !h.busy).map((h) => {
    const a = c0.get(`bench-host-${h.k}`); const b = c1.get(`bench-host-${h.k}`);
    return a && b ? { in: (b.in_bytes - a.in_bytes) / elapsed, out: (b.out_bytes - a.out_bytes) / elapsed } : undefined;
  }).filter(Boolean);
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const status = await getJson(`http://127.0.0.1:${HUB}/api/v1/status`);
  const docBytes = JSON.stringify(hosts[0].doc).length;

  console.log(`fleet bench: ${HOSTS} hosts × ${captured.topology.nodes.filter((n) => n.kind === 'container').length} containers (${captured.topology.edges.length} edges each, document ${docBytes} bytes JSON), interval ${INTERVAL / 1000} s, ${BUSY} busy, 3-node NATS JetStream (R3) on loopback, ${os.cpus().length} cores`);
  console.log(`publish → hub stream diff (busy hosts, ${latencies.length} samples over ${elapsed.toFixed(0)} s): p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms (p90 ${pct(latencies, 90).toFixed(0)}, p95 ${pct(latencies, 95).toFixed(0)}, over 500 ms: ${latencies.filter((x) => x > 500).length})`);
  console.log(`idle host publish traffic (mean of ${idle.length}): ${mean(idle.map((x) => x.in)).toFixed(0)} B/s sent to NATS, ${mean(idle.map((x) => x.out)).toFixed(0)} B/s of acks back`);
  console.log(`hub: RSS ${rssMiB(hub.pid).toFixed(0)} MiB (max ${rssMax.toFixed(0)}), CPU ${(cpu * 100).toFixed(0)} % of one core; ${status.fleet.messages} messages, ${status.fleet.rejected} refused, ${status.collections} renders`);

  const perRender = (sum, count) => (count > 0 ? `${((sum / count) * 1000).toFixed(1)} ms` : 'n/a');
  console.log(`hub per render (mean over the window, /metrics): merge ${perRender(r1.mergeSum - r0.mergeSum, r1.mergeCount - r0.mergeCount)}, whole render ${perRender(r1.renderSum - r0.renderSum, r1.renderCount - r0.renderCount)}, ${r1.renderCount - r0.renderCount} renders; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

  // Restart: the fleet comes back from the stream alone.
  // A profiled hub is stopped with SIGTERM, so that node writes its profile (the restart then follows a clean stop).
  hub.kill(HUB_NODE_ARGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
  await new Promise((r) => hub.once('exit', r));
  const fullBefore = hosts.reduce((s, h) => s + h.pub.status().publishedByKind.full, 0);
  const t1 = performance.now();
  hub = startHub();
  const rebuilt = await until(() => getJson(`http://127.0.0.1:${HUB}/api/v1/status`).then((s) => (s.fleet?.rebuilt && s.fleet.hosts === HOSTS ? s : undefined)), 60_000, 'the rebuild');
  const wall = performance.now() - t1;
  const fullAfter = hosts.reduce((s, h) => s + h.pub.status().publishedByKind.full, 0);
  console.log(`hub restart: ${HOSTS} hosts back ${(wall / 1000).toFixed(2)} s after the hub's spawn (process start included); rebuild itself ${(rebuilt.fleet.rebuildMs / 1000).toFixed(2)} s; full documents published meanwhile: ${fullAfter - fullBefore}`);

  for (const h of hosts) { clearInterval(h.timer); await h.pub.stop(0); await h.nc.close(); }
  for (const t of timers) clearTimeout(t);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await sleep(500);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
