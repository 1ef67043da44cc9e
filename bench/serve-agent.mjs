#!/usr/bin/env node
// Figures of `portolan serve` over N running containers (half servers, half clients holding connections):
//   1. the agent's CPU (% of one core) and RSS over SECONDS at a 1 s interval (targets: < 3 %, < 150 MB);
//   2. GET / (the outpost drop-in) latency (target < 20 ms in total; outpost needed ~110 ms per container);
//   3. load: LOAD_CLIENTS concurrent clients on /api/v1/topology for LOAD_SECONDS (autocannon): errors, p99,
//      and whether the collection loop kept its interval meanwhile.
// Usage: npm run build && node bench/serve-agent.mjs [N=50] [SECONDS=60] [LOAD_CLIENTS=200] [LOAD_SECONDS=30]
// LOAD_SECONDS=0 skips the load, GET_REQUESTS=0 the GET / latency. PROFILE=DIR writes the agent's V8 CPU profile there and prints where its
// time went (self time by function), to find what to make cheaper.
// Creates N labelled containers and removes them after; the agent listens on loopback only.
// OWN_DOCKERD=1 runs the containers on a Docker host of the bench's own (scripts/second-dockerd.sh: a dockerd in its
// own network namespace), with the agent pointed at it (--docker-host, --host-pid): what it measures is then the
// agent over that host alone, undisturbed by other containers starting and stopping on this machine's engine
// (processes started elsewhere on the machine are still seen and walked, as on any real host).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 50);
const seconds = Number(process.argv[3] ?? 60);
const loadClients = Number(process.argv[4] ?? 200);
const loadSeconds = Number(process.argv[5] ?? 30);
// RUN_PREFIX: the start of the containers' org.portolan.run label (default bench).
const run = `${process.env.RUN_PREFIX ?? 'bench'}-${randomBytes(3).toString('hex')}`;
const labels = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${run}`];
const image = execFileSync('bash', [path.join(root, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
const ownDockerd = process.env.OWN_DOCKERD === '1';
const dockerdName = `pb${randomBytes(2).toString('hex')}`;
const second = ownDockerd ? startOwnDockerd() : undefined;
const dockerEnv = second ? { ...process.env, DOCKER_HOST: second.DOCKER_HOST } : process.env;
const docker = (...a) => execFileSync('docker', a, { encoding: 'utf8', env: dockerEnv }).trim();
// AGENT_ARGS: more flags for the agent, e.g. AGENT_ARGS=--no-capture to see what capture costs.
const agentArgs = [...(second ? ['--docker-host', second.DOCKER_HOST, '--host-pid', second.PID] : []), ...(process.env.AGENT_ARGS ?? '').split(' ').filter(Boolean)];

function startOwnDockerd() {
  const out = execFileSync('bash', [path.join(root, 'scripts/second-dockerd.sh'), 'start', dockerdName, process.env.OWN_DOCKERD_OCTET ?? '250'], { encoding: 'utf8' });
  const vars = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')).map(([k, ...v]) => [k, v.join('=')]));
  execFileSync('bash', [path.join(root, 'scripts/second-dockerd.sh'), 'load', dockerdName, image], { stdio: 'inherit' });
  console.log(`own Docker host ${dockerdName}: ${vars.DOCKER_HOST}, dockerd pid ${vars.PID}`);
  return vars;
}
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-bench-'));
let agent;

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (agent && agent.exitCode === null) agent.kill('SIGTERM');
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${run}`).split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { env: dockerEnv });
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (second) spawnSync('bash', [path.join(root, 'scripts/second-dockerd.sh'), 'stop', dockerdName], { stdio: 'inherit' });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

console.log(`starting ${n} containers…`);
const servers = Math.ceil(n / 2);
const ips = [];
for (let i = 0; i < servers; i++) {
  docker('run', '-d', '--name', `${run}-s${i}`, ...labels, '-p', '127.0.0.1::8080', image, 'node', '/opt/peer.mjs', 'tcp-server', '8080');
  ips.push(docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', `${run}-s${i}`));
}
for (let i = 0; i < n - servers; i++) {
  docker('run', '-d', '--name', `${run}-c${i}`, ...labels, image, 'node', '/opt/peer.mjs', 'tcp-client', ips[i % ips.length], '8080', '100', '2');
}

const profileDir = process.env.PROFILE;
agent = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(process.env.AGENT_ROOT ?? root, 'dist/cli/main.js'), 'serve', '--listen', '127.0.0.1:0', '--interval', '1', '--data', dataDir, ...agentArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let out = '';
  agent.stdout.on('data', (d) => {
    out += d;
    const m = /"listen":"([^"]+)".*"msg":"portolan agent serving"/.exec(out);
    if (m) resolve(`http://${m[1]}`);
  });
  agent.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
});
agent.stdout.resume();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const json = async (p) => (await fetch(base + p)).json();
while ((await fetch(`${base}/readyz`)).status !== 200) await sleep(200);
// Let connections establish and the first collections settle.
await sleep(5000);
const seen = (await json('/api/v1/containers')).containers.filter((c) => c.name.startsWith(run)).length;
console.log(`agent at ${base}, pid ${agent.pid}, sees ${seen}/${n} bench containers`);

// 1. CPU and RSS.
const clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const cpuTicks = () => {
  const f = fs.readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
/** User and system ticks of the agent process and of each of its threads (by thread name), exited threads included in the process's. */
const cpuDetail = () => {
  const f = fs.readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const threads = {};
  for (const tid of fs.readdirSync(`/proc/${agent.pid}/task`)) {
    try {
      const text = fs.readFileSync(`/proc/${agent.pid}/task/${tid}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const g = text.split(') ')[1].split(' ');
      threads[name] = (threads[name] ?? 0) + Number(g[11]) + Number(g[12]);
    } catch { /* a thread that ended between readdir and read: its time is in the process's total */ }
  }
  return { user: Number(f[11]), sys: Number(f[12]), threads };
};
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${agent.pid}/status`, 'utf8'))[1]) / 1024;
const s0 = await json('/api/v1/status');
const d0 = cpuDetail();
const c0 = cpuTicks();
const t0 = performance.now();
const rss = [];
for (let i = 0; i < seconds; i++) {
  await sleep(1000);
  rss.push(rssMb());
}
const cpuPct = ((cpuTicks() - c0) / clkTck) / ((performance.now() - t0) / 1000) * 100;
const d1 = cpuDetail();
const pct = (ticks) => `${((ticks / clkTck) / ((performance.now() - t0) / 1000) * 100).toFixed(2)} %`;
const byThread = Object.entries(d1.threads).map(([k, v]) => [k, v - (d0.threads[k] ?? 0)]).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
const s1 = await json('/api/v1/status');
const ticks = s1.collections - s0.collections;
const mean = rss.reduce((a, b) => a + b, 0) / rss.length;
console.log(`idle ${seconds} s at 1 s interval: CPU ${cpuPct.toFixed(2)} % of one core (target < 1 % at 50 containers, < 3 % at 200), RSS mean ${mean.toFixed(0)} MB, max ${Math.max(...rss).toFixed(0)} MB (target < 150 MB), ${ticks} collections (${(ticks / seconds).toFixed(2)}/s)`);
console.log(`  of which user ${pct(d1.user - d0.user)}, system (kernel work for the agent: /proc reads, netlink dumps) ${pct(d1.sys - d0.sys)}; by thread still alive: ${byThread.map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
const metrics = await (await fetch(`${base}/metrics`)).text();
const sum = Number(/^portolan_collection_duration_seconds_sum (\S+)/m.exec(metrics)?.[1]);
const count = Number(/^portolan_collection_duration_seconds_count (\S+)/m.exec(metrics)?.[1]);
console.log(`collection duration: mean ${(sum / count * 1000).toFixed(1)} ms over ${count} collections`);

// 2. GET / latency (sequential; some requests land on a fresh state and render it).
const getRequests = Number(process.env.GET_REQUESTS ?? 300);
const lat = [];
for (let i = 0; i < getRequests; i++) {
  const t = performance.now();
  const r = await fetch(`${base}/`);
  await r.text();
  lat.push(performance.now() - t);
  await sleep(10);
}
lat.sort((a, b) => a - b);
const p = (q) => lat.length === 0 ? 'n/a' : lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2);
const outpostCount = (await json('/')).length;
if (getRequests > 0) console.log(`GET / over ${outpostCount} containers, ${getRequests} requests: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms (target < 20 ms; outpost ~${(outpostCount * 110 / 1000).toFixed(1)} s)`);

// 3. Load.
if (loadSeconds <= 0) {
  await stopAndProfile();
  cleanup();
  process.exit(0);
}
const l0 = await json('/api/v1/status');
const result = await autocannon({ url: `${base}/api/v1/topology`, connections: loadClients, duration: loadSeconds });
const l1 = await json('/api/v1/status');
const loadTicks = l1.collections - l0.collections;
const errors = result.errors + result.timeouts + result.non2xx;
console.log(`load: ${loadClients} clients on /api/v1/topology for ${loadSeconds} s: ${result.requests.total} requests (${result.requests.average.toFixed(0)}/s), ` +
  `errors ${errors} (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}), latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
console.log(`loop during load: ${loadTicks} collections in ${loadSeconds} s (${(loadTicks / loadSeconds).toFixed(2)}/s at a 1 s interval), failed ${l1.failedCollections - l0.failedCollections}`);
await stopAndProfile();
cleanup();
process.exit(0);

/** With PROFILE: stops the agent (V8 writes the profile on exit) and prints the top self times. */
async function stopAndProfile() {
  if (!profileDir) return;
  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
  const file = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profileDir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (!file) return console.log(`no profile in ${profileDir}`);
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const self = new Map();
  let total = 0;
  for (const node of prof.nodes) {
    const us = dt.get(node.id) ?? 0;
    total += us;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const idle = self.get('(idle) :0') ?? 0;
  console.log(`profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(2)} s busy; top self time:`);
  for (const [k, us] of [...self].filter(([k]) => k !== '(idle) :0').sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms  ${(100 * us / (total - idle)).toFixed(1).padStart(5)} %  ${k}`);
  }
}
