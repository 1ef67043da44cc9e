#!/usr/bin/env node
// Re-runs the attacks of issue #11 ("safe on a hostile host") against the built agent and prints what each
// costs now: request latency, agent RSS, CPU, reconnects, log lines. Needs `npm run build`, root, and a Docker
// engine (only for the glob attack, which starts one labelled container and removes it). Every other attack
// runs against a fake Docker engine on a unix socket in /tmp, or in-process. All traffic stays on loopback.
//
//   node bench/attacks.mjs [glob|host|replay|docker-big|docker-noline|docker-403|table]...
//
// What each measures:
//   glob          GET /api/v1/sockets?container=<backtracking globs> on `portolan serve`: latency of each request,
//                 and the worst /healthz latency while they run; plus the worst request the caps allow
//                 (16 globs of 128 characters) over 300 synthetic containers, in-process.
//   host          GET with `Host: evil.example`, a cross-site Origin: the status codes; and the small ones:
//   replay        500 clients of /api/v1/events?lastEventId=<another run> reading ~2 kB/s each, over a journal
//                 of 6,800 events (~4.3 MB), against the real agent loop at a 1 s interval (in-process, clients
//                 in a child process): agent RSS (peak, end), the longest gap between collections, /api/v1/status
//                 latency, clients dropped; then one client that reads as fast as it can replays a 10,000-event
//                 journal (~6.4 MB, more than the old 4 MiB cut-off) to the end.
//   docker-big    `portolan serve` against a fake engine whose /containers/json is 400 MB: agent peak RSS (VmHWM),
//                 alive or not, the error it reports, /healthz latency.
//   docker-noline a fake engine whose /events sends bytes without a newline at ~8 MB/s: agent CPU over 15 s,
//                 /api/v1/status latency, /events requests, log lines.
//   docker-403    a fake engine (like a read-only socket proxy) answering 403 to /events: /events requests and
//                 agent log lines over 30 s.
//                 ?at= with 23 digits and -99999999999w, HEAD on both streams, other methods, an unknown method.
//   table         rendering a ps table of 130,000 rows (the old renderer overflowed the stack).
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const dist = (p) => import(path.join(ROOT, 'dist', p));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function procStatus(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Starts `portolan serve ARGS` on a free loopback port; resolves with its base URL, pid and output. */
function serve(args, env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--no-dns', ...args], { env: { ...process.env, ...env } });
    let out = '';
    let done = false;
    const on = (d) => {
      out += d.toString();
      const m = /"listen":"([^"]+)".*"msg":"portolan agent serving"/.exec(out);
      if (m && !done) {
        done = true;
        resolve({ base: `http://${m[1]}`, pid: proc.pid, proc, output: () => out, stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) });
      }
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', (code) => { if (!done) reject(new Error(`serve exited ${code}: ${out}`)); });
  });
}

async function timed(url, init) {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
    const body = await res.text();
    return { ms: performance.now() - t0, status: res.status, body };
  } catch (err) {
    return { ms: performance.now() - t0, status: 0, body: String(err) };
  }
}

/** Polls `url` every 100 ms until stopped; returns the worst latency and the statuses seen. */
function probe(url) {
  let stop = false;
  let worst = 0;
  const statuses = new Set();
  const loop = (async () => {
    while (!stop) {
      const r = await timed(url);
      worst = Math.max(worst, r.ms);
      statuses.add(r.status);
      await sleep(100);
    }
  })();
  return { async end() { stop = true; await loop; return { worstMs: worst, statuses: [...statuses] }; } };
}

function row(label, value) {
  console.log(`  ${label.padEnd(58)} ${value}`);
}

// ---------------------------------------------------------------- glob
async function globAttack() {
  console.log('\n== 1. container globs (backtracking RegExp: 0.67 s / 5.0 s / 28 s / 12.4 s before)');
  const image = execFileSync('bash', [path.join(ROOT, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
  const name = `x${'a'.repeat(56)}`;
  spawnSync('docker', ['rm', '-f', name]);
  execFileSync('docker', ['run', '-d', '--name', name, '--label', 'org.portolan.test=1', '--label', 'org.portolan.bench=attacks', image, 'sleep', '600']);
  const agent = await serve(['--no-history', '--interval', '1']);
  try {
    for (let i = 0; i < 100; i++) {
      const t = await timed(`${agent.base}/api/v1/containers`);
      if (t.status === 200 && t.body.includes(name)) break;
      await sleep(200);
    }
    const health = probe(`${agent.base}/healthz`);
    const attacks = [
      ['5 pairs  *?*?*?*?*?!', '*?*?*?*?*?!'],
      ['6 pairs  *?*?*?*?*?*?!', '*?*?*?*?*?*?!'],
      ['7 pairs  *?*?*?*?*?*?*?! (58-byte request)', '*?*?*?*?*?*?*?!'],
      ['20 pairs', `${'*?'.repeat(20)}!`],
      ['*a*a*a*a*a*a*a*a*b vs x + 56 × a', '*a*a*a*a*a*a*a*a*b'],
      ['*a × 60 then *b vs x + 56 × a', `${'*a'.repeat(60)}*b`],
      ['16 globs of 128 characters (the caps)', Array.from({ length: 16 }, () => `${'*a'.repeat(63)}*b`)],
    ];
    // Each 10 times (the host is shared: the median says more than one sample); the unfiltered document first,
    // for comparison: it is what every request costs before any glob.
    for (const [label, glob] of [['no filter (for comparison)', []], ...attacks]) {
      const q = (Array.isArray(glob) ? glob : [glob]).map((g) => `container=${encodeURIComponent(g)}`).join('&');
      const times = [];
      let status = 0;
      for (let i = 0; i < 10; i++) {
        const r = await timed(`${agent.base}/api/v1/sockets?${q}`);
        times.push(r.ms);
        status = r.status;
      }
      times.sort((x, y) => x - y);
      row(label, `median ${times[5].toFixed(1)} ms, max ${times[9].toFixed(1)} ms, HTTP ${status}`);
    }
    const over = await timed(`${agent.base}/api/v1/sockets?container=${'*'.repeat(129)}`);
    row('a 129-character glob', `HTTP ${over.status} ${JSON.parse(over.body).code}`);
    const h = await health.end();
    row('/healthz while they ran: worst latency, statuses', `${h.worstMs.toFixed(1)} ms, ${h.statuses.join(',')}`);
  } finally {
    await agent.stop();
    spawnSync('docker', ['rm', '-f', name]);
  }
  // The worst the caps allow, over many containers, in-process (no Docker needed).
  const { toPsReport } = await dist('core/report/ps.js');
  const containers = Array.from({ length: 300 }, (_, i) => ({ container: { id: i.toString(16).padStart(64, 'a'), name: `${'a'.repeat(60)}-${i}` }, sockets: [] }));
  const snapshot = { takenAt: '', hostname: 'h', issues: [], containers: containers.map((c) => c.container) };
  const globs = Array.from({ length: 16 }, () => `${'*?'.repeat(63)}!!`);
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    toPsReport(snapshot, { containers, unclaimed: [] }, { containers: globs });
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  row('in-process: 16 × 128-char globs over 300 containers', `median ${times[3].toFixed(1)} ms, max ${times[6].toFixed(1)} ms`);
}

// ---------------------------------------------------------------- host / small
async function hostAttack() {
  console.log('\n== 2. DNS rebinding and cross-site requests (Host: evil.example answered 200 before)');
  const agent = await serve(['--no-history', '--interval', '5']);
  try {
    await sleep(1500);
    const port = new URL(agent.base).port;
    const raw = (text) => new Promise((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write(text));
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('close', () => resolve(out));
      s.setTimeout(3000, () => { s.destroy(); resolve(`${out}<<no end>>`); });
    });
    const status = (t) => t.split('\r\n')[0];
    row('Host: evil.example', status(await raw('GET /api/v1/topology HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')));
    row(`Host: 127.0.0.1:${port}, Origin: http://evil.example`, status(await raw(`GET /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n`)));
    row(`Host: 127.0.0.1:${port}, Sec-Fetch-Site: cross-site`, status(await raw(`GET /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n`)));
    row(`Host: 127.0.0.1:${port} (the CLI, curl, the web map)`, status(await raw(`GET /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)));
    console.log('\n== 9. small ones');
    for (const at of ['12345678901234567890123', '-99999999999w']) {
      const r = await timed(`${agent.base}/api/v1/topology?at=${at}`);
      row(`?at=${at}`, `HTTP ${r.status} ${JSON.parse(r.body).code}`);
    }
    for (const p of ['/api/v1/topology/stream', '/api/v1/events']) {
      const t0 = performance.now();
      const r = await raw(`HEAD ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      row(`HEAD ${p}`, `${status(r)}, complete in ${(performance.now() - t0).toFixed(1)} ms${r.includes('<<no end>>') ? ' (NOT ended)' : ''}`);
    }
    row('POST /api/v1/topology', status(await raw(`POST /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)));
    const foo = await raw(`FOO / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    row('FOO / (unknown method)', `${status(foo)} ${foo.slice(foo.indexOf('{'))}`);
    const bad = await raw(`GET /%zz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    row('GET /%zz', `${status(bad)} ${bad.slice(bad.indexOf('{'))}`);
  } finally {
    await agent.stop();
  }
}

// ---------------------------------------------------------------- replay
function event(i) {
  return {
    type: 'connection.opened', at: new Date().toISOString(),
    connection: {
      edge: `${'a'.repeat(64)}->${'b'.repeat(64)}/tcp/8080`, from: 'a'.repeat(64), to: 'b'.repeat(64), fromName: 'web', toName: 'api',
      protocol: 'tcp', client: { address: '172.18.0.2', port: 1024 + (i % 60000) }, server: { address: '172.18.0.3', port: 8080 }, via: 'socket', state: 'ESTABLISHED',
    },
  };
}

async function replayAttack() {
  console.log('\n== 3. 500 slow replaying clients (RSS 209 MB → 4.0 GB, API unresponsive > 30 s before)');
  const { createAgent } = await dist('agent/loop.js');
  const { buildApp } = await dist('server/app.js');
  const { buildTopology } = await dist('core/topology/build-topology.js');
  const { diffTopology, isEmptyDiff } = await dist('core/topology/diff-topology.js');
  const pino = (await import('pino')).pino;
  const snapshot = () => ({
    takenAt: new Date().toISOString(), hostname: 'bench', issues: [], containers: [], netns: { host: 0, hostPid: 1, containers: [] },
    processes: [], sockets: [], netdev: [], conntrack: { status: 'unavailable', reason: 'bench' },
  });
  const real = createAgent({
    collection: { collect: async () => ({ snapshot: snapshot(), runs: [{ name: 'docker', ok: true, durationMs: 1 }] }) },
    topology: { build: (s, a) => buildTopology(s, {}, a), diff: diffTopology, isEmpty: isEmptyDiff },
    logger: pino({ level: 'silent' }), intervalMs: 1000,
  });
  const ticks = [];
  real.subscribe((u) => { if (u.kind === 'collection') ticks.push(performance.now()); });
  // The agent as the app sees it, plus a way to feed the journal as collections with many changes would.
  const listeners = new Set();
  real.subscribe((u) => { for (const l of listeners) l(u); });
  const agent = { intervalMs: 1000, history: undefined, current: real.current, status: real.status, subscribe: (l) => { listeners.add(l); return () => listeners.delete(l); } };
  real.start();
  await real.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false }, logger: pino({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = app.server.address().port;
  const feed = (n, from) => {
    for (let i = from; i < from + n; i += 400) {
      const events = Array.from({ length: Math.min(400, from + n - i) }, (_, k) => event(i + k));
      for (const l of listeners) l({ kind: 'state', state: real.current(), events });
    }
  };
  feed(6800, 0);
  const rss0 = process.memoryUsage().rss;
  ticks.length = 0;
  const clients = spawn(process.execPath, [fileURLToPath(import.meta.url), '--clients', String(port), '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let peak = rss0;
  let statusWorst = 0;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();
  const timeline = [];
  while (performance.now() - t0 < 30_000) {
    await sleep(500);
    peak = Math.max(peak, process.memoryUsage().rss);
    const r = await timed(`http://127.0.0.1:${port}/api/v1/status`);
    statusWorst = Math.max(statusWorst, r.ms);
    if (process.env.BENCH_VERBOSE) timeline.push(`${((performance.now() - t0) / 1000).toFixed(1)}s status ${r.ms.toFixed(0)}ms rss ${mb(process.memoryUsage().rss)}`);
  }
  lag.disable();
  if (process.env.BENCH_VERBOSE) console.log(timeline.join('\n'));
  const stats = JSON.parse((await timed(`http://127.0.0.1:${port}/api/v1/status`)).body).live;
  const gaps = ticks.slice(1).map((t, i) => t - ticks[i]);
  row('agent RSS before the clients', mb(rss0));
  row('agent RSS peak over 30 s with 500 slow clients', mb(peak));
  row('agent RSS at the end', mb(process.memoryUsage().rss));
  row('bytes buffered for clients (live stats), budget', `${mb(stats.bufferedBytes)} of ${mb(stats.budgetBytes)} + 500 × 32 KiB floors`);
  row('clients open / dropped', `${stats.clients.events} / ${JSON.stringify(stats.dropped)}`);
  row('collections in 30 s at a 1 s interval; longest gap', `${ticks.length}; ${Math.max(...gaps).toFixed(0)} ms`);
  row('/api/v1/status worst latency meanwhile', `${statusWorst.toFixed(1)} ms`);
  row('event-loop delay: p50, p99, max', `${(lag.percentile(50) / 1e6).toFixed(1)} ms, ${(lag.percentile(99) / 1e6).toFixed(1)} ms, ${(lag.max / 1e6).toFixed(1)} ms`);
  clients.kill('SIGTERM');
  await new Promise((r) => clients.once('exit', r));
  // A full replay of a journal larger than the old 4 MiB cut-off, to a client that reads.
  feed(3200, 6800);
  const full = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /api/v1/events?lastEventId=zzzz-1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    let bytes = 0;
    let count = 0;
    let tail = '';
    const t1 = performance.now();
    s.setEncoding('latin1');
    s.on('data', (d) => {
      bytes += d.length;
      const text = tail + d;
      for (let i = text.indexOf('event: connection.opened'); i >= 0; i = text.indexOf('event: connection.opened', i + 1)) count++;
      tail = text.slice(-30);
      if (count >= 10_000) { s.destroy(); resolve({ bytes, count, ms: performance.now() - t1 }); }
    });
    setTimeout(() => { s.destroy(); resolve({ bytes, count, ms: performance.now() - t1 }); }, 60_000);
  });
  row('one fast client, full replay of 10,000 events', `${full.count} events, ${mb(full.bytes)} in ${full.ms.toFixed(0)} ms`);
  await app.close();
  await real.stop();
}

/** Child mode: N clients replaying the events journal, each reading ~2 kB/s. */
async function runClients(port, n) {
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /api/v1/events?lastEventId=zzzz-1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    s.on('error', () => undefined);
    s.pause();
    sockets.push(s);
  }
  setInterval(() => { for (const s of sockets) s.read(1000); }, 500);
  await new Promise(() => undefined);
}

// ---------------------------------------------------------------- fake Docker engine
/** Child mode: a fake engine on a unix socket; `mode` picks what it does wrong. Counts /events requests. */
function fakeEngine(sock, mode) {
  let events = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/_ping') {
      res.writeHead(200, { 'Api-Version': '1.41', 'Content-Type': 'text/plain' });
      res.end('OK');
      return;
    }
    const p = req.url.replace(/^\/v\d+\.\d+/, '').split('?')[0];
    if (p === '/events') {
      events++;
      process.stdout.write(`events ${events}\n`);
      if (mode === 'docker-403') {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('Forbidden: this socket proxy allows no /events');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (mode === 'docker-noline') {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const t = setInterval(() => { if (!res.destroyed) res.write(chunk); }, 8);
        res.on('close', () => clearInterval(t));
      }
      return;
    }
    if (p === '/containers/json' && mode === 'docker-big') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const item = Buffer.from(`{"Id":"${'a'.repeat(64)}","Names":["/x"],"Labels":{"pad":"${'p'.repeat(900)}"}},`);
      const chunk = Buffer.concat(Array.from({ length: 1024 }, () => item));
      let sent = 0;
      res.write('[');
      const more = () => {
        while (sent < 400 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', more); return; }
        }
        if (!res.destroyed) res.end(`{"Id":"${'b'.repeat(64)}"}]`);
      };
      more();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('[]');
  });
  server.listen(sock);
}

async function withFakeEngine(mode, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-fake-docker-'));
  const sock = path.join(dir, 'docker.sock');
  const engine = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fake-engine', sock, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let eventsRequests = 0;
  engine.stdout.on('data', (d) => { eventsRequests += (d.toString().match(/^events /gm) ?? []).length; });
  for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await sleep(100);
  try {
    return await fn(`unix://${sock}`, () => eventsRequests);
  } finally {
    const exited = new Promise((r) => engine.once('exit', r));
    engine.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const logLines = (out, level) => out.split('\n').filter((l) => l.includes(`"level":${level}`)).length;

async function dockerBig() {
  console.log('\n== 5a. a 400 MB /containers/json (V8 heap out of memory after 48 s before)');
  await withFakeEngine('docker-big', async (host) => {
    const agent = await serve(['--no-history', '--interval', '2', '--docker-host', host]);
    const health = probe(`${agent.base}/healthz`);
    let error = '';
    const t0 = performance.now();
    while (performance.now() - t0 < 20_000 && !error) {
      await sleep(500);
      const s = await timed(`${agent.base}/api/v1/status`);
      if (s.status === 200) error = JSON.parse(s.body).runs?.find((r) => r.name === 'docker' && !r.ok)?.error ?? JSON.parse(s.body).staleReason ?? '';
    }
    await sleep(5000);
    const h = await health.end();
    const alive = agent.proc.exitCode === null;
    row('agent alive after 25 s', String(alive));
    row('agent peak RSS (VmHWM)', alive ? mb(procStatus(agent.pid).hwm) : '-');
    row('what it reports', error.slice(0, 160));
    row('/healthz worst latency meanwhile, statuses', `${h.worstMs.toFixed(1)} ms, ${h.statuses.join(',')}`);
    await agent.stop();
  });
}

async function dockerNoLine() {
  console.log('\n== 5b. an /events stream without newlines (about one core, /status 3.8 s, nothing logged before)');
  await withFakeEngine('docker-noline', async (host, events) => {
    const agent = await serve(['--no-history', '--interval', '2', '--docker-host', host]);
    await sleep(3000);
    const cpu0 = cpuSeconds(agent.pid);
    const out0 = agent.output().length;
    const ev0 = events();
    const status = probe(`${agent.base}/api/v1/status`);
    await sleep(15_000);
    const s = await status.end();
    row('agent CPU over 15 s', `${((cpuSeconds(agent.pid) - cpu0) / 15 * 100).toFixed(1)} % of a core`);
    row('/api/v1/status worst latency', `${s.worstMs.toFixed(1)} ms`);
    row('/events requests in 15 s (reconnects)', String(events() - ev0));
    const out = agent.output().slice(out0);
    row('log lines in 15 s (warn, error)', `${logLines(out, 40)}, ${logLines(out, 50)}`);
    const said = agent.output().split('\n').filter((l) => /"level":(40|50)/.test(l)).map((l) => JSON.parse(l));
    for (const l of said.slice(0, 4)) row(`  logged (${l.level === 40 ? 'warn' : 'error'})`, `${l.msg}: ${String(l.error ?? '').slice(0, 90)}`);
    await agent.stop();
  });
}

async function docker403() {
  console.log('\n== 6. a socket proxy answering 403 to /events (~4 reconnects/s, 7.7 log lines/s, ~5 % CPU before)');
  await withFakeEngine('docker-403', async (host, events) => {
    const agent = await serve(['--no-history', '--interval', '2', '--docker-host', host]);
    const cpu0 = cpuSeconds(agent.pid);
    const ev0 = events();
    await sleep(30_000);
    row('/events requests in 30 s', String(events() - ev0));
    row('log lines in 30 s (info, warn, error)', `${logLines(agent.output(), 30)}, ${logLines(agent.output(), 40)}, ${logLines(agent.output(), 50)}`);
    for (const l of agent.output().split('\n').filter((x) => /"level":(40|50)/.test(x)).map((x) => JSON.parse(x))) {
      row(`  logged (${l.level === 40 ? 'warn' : 'error'})`, `${l.msg}: ${String(l.error ?? '').slice(0, 90)}`);
    }
    row('agent CPU over 30 s (collecting every 2 s included)', `${((cpuSeconds(agent.pid) - cpu0) / 30 * 100).toFixed(1)} % of a core`);
    await agent.stop();
  });
}

async function table() {
  console.log('\n== 8. ps with 130,000 rows (RangeError: Maximum call stack size exceeded before)');
  const { renderTable } = await dist('core/report/text-table.js');
  const rows = Array.from({ length: 130_000 }, (_, i) => ['api', 'tcp', 'ESTABLISHED', '0', '0', `10.0.0.1:${i % 65536}`, '10.0.0.2:80', `node/${i}`]);
  const t0 = performance.now();
  const out = renderTable(['CONTAINER', 'PROTO', 'STATE', 'RECV-Q', 'SEND-Q', 'LOCAL', 'REMOTE', 'PROCESS'], rows);
  row('renderTable of 130,000 rows', `${(performance.now() - t0).toFixed(0)} ms, ${mb(out.length)}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--clients') await runClients(Number(argv[1]), Number(argv[2]));
else if (argv[0] === '--fake-engine') fakeEngine(argv[1], argv[2]);
else {
  if (!fs.existsSync(CLI)) throw new Error('build first: npm run build');
  const all = { glob: globAttack, host: hostAttack, replay: replayAttack, 'docker-big': dockerBig, 'docker-noline': dockerNoLine, 'docker-403': docker403, table };
  const chosen = argv.length > 0 ? argv : Object.keys(all);
  console.log(`portolan attacks of issue #11, ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores`);
  for (const name of chosen) {
    if (!all[name]) throw new Error(`unknown attack ${name}: one of ${Object.keys(all).join(', ')}`);
    await all[name]();
  }
  process.exit(0);
}
