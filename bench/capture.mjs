#!/usr/bin/env node
// How many new connections per second `portolan serve` follows with capture on, at what CPU and memory.
// Needs `npm run build`, root and Docker. The servers run in a container the bench starts (node:20-bookworm-slim on
// the default bridge, labelled org.portolan.run=capfast-bench, removed at the end); the generator connects to it
// from the host through docker0, so conntrack in the host namespace sees one NEW and one DESTROY event per
// connection, and the agent counts them on the edge host -> container (a flow with no container at either end,
// e.g. loopback in the host namespace, is an event but no edge: it cannot be counted from the topology).
//
//   node bench/capture.mjs [rate ...]        (default: 0 1000 2500 5000 connections per second, 10 s each; 0 = idle baseline)
//   PROFILE=DIR node bench/capture.mjs ...  (the agent runs with --cpu-prof into DIR; read it with bench/cpuprofile.mjs)
//   BENCH_CLI=/other/dist/cli/main.js       (another build, e.g. a before worktree's, measured the same way)
//   BENCH_LABEL=org.portolan.run=NAME      (the label of the servers' container)
//
// What is measured, per rate:
//   - the load: a generator (this process) opens `rate` TCP connections a second to four servers in the container and
//     resets each as soon as it is connected (RST: conntrack keeps the entry 10 s in CLOSE, not 120 s in
//     TIME_WAIT, so DESTROY events come within the run and ports are not exhausted);
//   - followed: connections the agent counted on the edges to those servers (captured.connections in
//     /api/v1/topology, after the phase and one more collection) against the connections made;
//   - events: conntrack events the agent read in the window (NEW and DESTROY: twice the connections when none is lost);
//   - agent CPU: utime+stime of the agent process from /proc/<pid>/stat over the phase and until it has read
//     everything the phase caused (window), as % of one core (includes its collections at a 2 s interval, the HTTP
//     server idle); µs/conn: that CPU less the idle phase's rate over the window, per connection made; %@rate: the
//     idle rate plus µs/conn at the rate asked for, the figure to hold against "under 5 % of one core" (it does not
//     depend on whether a loaded machine let the agent keep up during the 10 s);
//   - agent memory: VmRSS at the end of the phase, and VmHWM (peak) of the whole run.
// The agent runs with --no-history --no-dns --interval 2 on 127.0.0.1:19420.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.BENCH_CLI ?? path.join(ROOT, 'dist/cli/main.js');
const rates = process.argv.slice(2).map(Number).filter((n) => n >= 0);
const RATES = rates.length > 0 ? rates : [0, 1000, 2500, 5000];
const PHASE_MS = 10_000;
const PORT = 19420;
const SERVER_PORTS = [19423, 19424, 19425, 19426];
const IMAGE = process.env.BENCH_IMAGE ?? 'node:20-bookworm-slim';
const LABEL = process.env.BENCH_LABEL ?? 'org.portolan.run=capfast-bench';
let SERVERS = [];
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
function memKb(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
/** Connections the agent counted on the edges to the bench's servers (captured.connections, summed). */
async function counted() {
  let t = await (await fetch(`http://127.0.0.1:${PORT}/api/v1/topology`)).json();
  // Before the first collection the topology is 503: wait for it.
  for (let i = 0; i < 300 && !Array.isArray(t.edges); i++) {
    await new Promise((r) => setTimeout(r, 200));
    t = await (await fetch(`http://127.0.0.1:${PORT}/api/v1/topology`)).json();
  }
  const ports = new Set(SERVERS.map((s) => s.port));
  return t.edges.filter((e) => ports.has(e.port)).reduce((n, e) => n + (e.captured?.connections ?? 0), 0);
}
async function status() {
  const r = await fetch(`http://127.0.0.1:${PORT}/api/v1/status`);
  return (await r.json()).capture ?? { state: 'off', events: 0, parseErrors: 0, resyncs: 0, mayHaveMissed: 0 };
}

async function main() {
  // The servers: one container, four ports, each connection closed as soon as accepted.
  const script = `const net=require('net');for(const p of ${JSON.stringify(SERVER_PORTS)})net.createServer((c)=>{c.on('error',()=>{});c.destroy();}).listen(p,'0.0.0.0',()=>console.log('listening',p));`;
  const cid = execFileSync('docker', ['run', '-d', '--rm', '--label', LABEL, '--name', `capfast-bench-${process.pid}`, IMAGE, 'node', '-e', script], { encoding: 'utf8' }).trim();
  const removeContainer = () => { try { execFileSync('docker', ['rm', '-f', cid], { stdio: 'ignore' }); } catch { /* gone already */ } };
  process.on('exit', removeContainer);
  const ip = execFileSync('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', cid], { encoding: 'utf8' }).trim();
  SERVERS = SERVER_PORTS.map((port) => ({ host: ip, port }));
  for (let i = 0; i < 100 && !(execFileSync('docker', ['logs', cid], { encoding: 'utf8' }).match(/listening/g)?.length >= SERVER_PORTS.length); i++) await new Promise((r) => setTimeout(r, 100));
  const prof = process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : [];
  const agent = spawn(process.execPath, [...prof, CLI, 'serve', '--listen', `127.0.0.1:${PORT}`, '--no-history', '--no-dns', '--interval', '2', '--log-level', 'warn', ...(process.env.BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean)], { stdio: ['ignore', process.env.BENCH_AGENT_STDOUT ? 'inherit' : 'ignore', 'pipe'] });
  let err = '';
  agent.stderr.on('data', (d) => { err += d; });
  agent.on('exit', (code, sig) => { console.error(`agent exited: ${code ?? sig}\n${err.slice(-3000)}`); process.exit(1); });
  let first;
  for (let i = 0; i < 300 && first === undefined; i++) {
    try { first = await status(); } catch { await new Promise((r) => setTimeout(r, 200)); }
  }
  const noCapture = (process.env.BENCH_AGENT_ARGS ?? '').includes('--no-capture');
  if (noCapture) first = { state: 'running', events: 0, parseErrors: 0, resyncs: 0, mayHaveMissed: 0 };
  if (first?.state !== 'running') {
    console.error(`capture is not running: ${JSON.stringify(first)}\n${err}`);
    agent.removeAllListeners('exit');
    agent.kill();
    process.exit(1);
  }
  console.log(`servers in container ${cid.slice(0, 12)} at ${SERVERS[0].host}; host: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; agent pid ${agent.pid}`);
  console.log(`idle CPU is taken from the rate-0 phase when it runs (${RATES.includes(0) ? 'it does' : 'it does not: µs/conn include the idle agent'})`);
  console.log('rate/s  made/s  followed  events window s  CPU %  µs/conn  %@rate  RSS MB  errors  resyncs  missed');
  let idlePct = 0;
  for (const rate of RATES) {
    const before = await status();
    const counted0 = await counted();
    const t0 = performance.now();
    const c0 = cpuTicks(agent.pid);
    let made = 0;
    let i = 0;
    // Every 10 ms, the connections due by then.
    await new Promise((resolve) => {
      const iv = setInterval(() => {
        // Never more than the phase's share, however late a tick of a loaded machine comes.
        const due = Math.min(Math.floor(((performance.now() - t0) / 1000) * rate), Math.round((rate * PHASE_MS) / 1000));
        while (made < due) {
          const s = SERVERS[i++ % SERVERS.length];
          const c = net.connect(s.port, s.host, () => c.resetAndDestroy());
          c.on('error', () => {});
          made++;
        }
        if (performance.now() - t0 >= PHASE_MS) { clearInterval(iv); resolve(); }
      }, 10);
    });
    // Wait until the agent has counted every connection made (or its count stalls for 3 s; at most 40 s), then
    // until it has read both events of each (NEW and DESTROY, which conntrack sends 10 s after the RST) or they
    // stall: "followed" is then about loss, not about how late a CPU-starved agent reads, and the CPU below covers
    // all the work the phase's connections cost.
    const settle = async (value, target) => {
      let last = -1;
      let lastChange = performance.now();
      const until = performance.now() + 40_000;
      for (;;) {
        const v = await value();
        if (v >= target || performance.now() > until) return v;
        if (v !== last) { last = v; lastChange = performance.now(); }
        else if (performance.now() - lastChange > 3000) return v;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const followed = made > 0 ? (await settle(async () => (await counted()) - counted0, made)) : 0;
    if (made > 0) await settle(async () => (await status()).events - before.events, 2 * made);
    const secs = (performance.now() - t0) / 1000;
    const cpuSecs = (cpuTicks(agent.pid) - c0) / TICK;
    const cpu = (cpuSecs / secs) * 100;
    if (rate === 0) idlePct = cpu;
    // CPU per connection, the idle agent's share of the window taken out; and what that makes at this rate.
    const perConnUs = made > 0 ? Math.max(0, (cpuSecs - (idlePct / 100) * secs) * 1e6 / made) : NaN;
    const atRate = idlePct + (perConnUs * rate) / 1e4;
    const after = await status();
    const events = after.events - before.events;
    console.log([
      String(rate).padStart(6), (made / (PHASE_MS / 1000)).toFixed(0).padStart(7), (made > 0 ? `${(100 * followed / made).toFixed(1)}%` : '-').padStart(9), String(events).padStart(7),
      secs.toFixed(1).padStart(7), cpu.toFixed(1).padStart(7), (Number.isNaN(perConnUs) ? '-' : perConnUs.toFixed(0)).padStart(8), (Number.isNaN(perConnUs) ? '-' : atRate.toFixed(1)).padStart(9),
      (memKb(agent.pid, 'VmRSS') / 1024).toFixed(0).padStart(7),
      String(after.parseErrors).padStart(7), String(after.resyncs).padStart(8), String(after.mayHaveMissed).padStart(7),
    ].join(' '));
  }
  console.log(`agent peak RSS (VmHWM): ${(memKb(agent.pid, 'VmHWM') / 1024).toFixed(0)} MB`);
  agent.removeAllListeners('exit');
  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  // The profile is written as the agent exits: wait for it (bounded).
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
  removeContainer();
}

await main();
