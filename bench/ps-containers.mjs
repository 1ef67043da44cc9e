#!/usr/bin/env node
// Times `portolan ps --json` end to end (process start included) over N running containers, with tcp_info
// (netlink + INET_DIAG_INFO), without it (--no-tcp-info) and from /proc; then, in one warm process, the sockets
// collector alone with and without tcp_info (what the agent pays every interval). Prints figures, asserts nothing.
// Usage: npm run build && node bench/ps-containers.mjs [N=50] [RUNS=15]
// Creates N labelled containers (half servers, half clients each holding 2 connections), removes them after.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 50);
const runs = Number(process.argv[3] ?? 15);
const run = `bench-${randomBytes(3).toString('hex')}`;
const labels = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${run}`];
const image = execFileSync('bash', [path.join(root, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
const docker = (...a) => execFileSync('docker', a, { encoding: 'utf8' }).trim();

function cleanup() {
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${run}`).split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids]);
}
process.on('exit', cleanup);

console.log(`starting ${n} containers…`);
const servers = Math.ceil(n / 2);
const ips = [];
for (let i = 0; i < servers; i++) {
  docker('run', '-d', '--name', `${run}-s${i}`, ...labels, image, 'node', '/opt/peer.mjs', 'tcp-server', '8080');
  ips.push(docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', `${run}-s${i}`));
}
for (let i = 0; i < n - servers; i++) {
  docker('run', '-d', '--name', `${run}-c${i}`, ...labels, image, 'node', '/opt/peer.mjs', 'tcp-client', ips[i % ips.length], '8080', '100', '2');
}
await new Promise((r) => setTimeout(r, 3000));

const cli = path.join(root, 'dist/cli/main.js');
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (xs) => `min ${pct(xs, 0).toFixed(0)} ms, median ${pct(xs, 0.5).toFixed(0)} ms, p90 ${pct(xs, 0.9).toFixed(0)} ms`;
// GNU time reports the child's peak RSS and CPU (user + system); without it those figures are left out.
const gnuTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
const rssFile = path.join(os.tmpdir(), `${run}-rss`);
process.on('exit', () => rmSync(rssFile, { force: true }));

const modes = [
  { label: 'netlink + tcp_info', args: ['--source', 'netlink'] },
  { label: 'netlink --no-tcp-info', args: ['--source', 'netlink', '--no-tcp-info'] },
  { label: 'proc', args: ['--source', 'proc'] },
];
const results = new Map(modes.map((m) => [m.label, { times: [], rss: [], cpu: [], containers: 0, sockets: 0, withInfo: 0 }]));
// Modes interleaved run by run, so that load from others on the machine spreads over all of them.
for (let i = 0; i < runs; i++) {
  for (const mode of modes) {
    const r = results.get(mode.label);
    const argv = [process.execPath, cli, 'ps', '--json', ...mode.args];
    const t0 = performance.now();
    const p = gnuTime
      ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 })
      : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
    r.times.push(performance.now() - t0);
    if (p.status !== 0) throw new Error(p.stderr);
    if (gnuTime) {
      const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split(/\s+/).map(Number);
      r.rss.push(rss);
      r.cpu.push((user + sys) * 1000);
    }
    const rep = JSON.parse(p.stdout);
    r.containers = rep.containers.length;
    r.sockets = rep.containers.reduce((a, c) => a + c.sockets.length, 0);
    r.withInfo = rep.containers.reduce((a, c) => a + c.sockets.filter((x) => x.tcp).length, 0);
  }
}
for (const mode of modes) {
  const r = results.get(mode.label);
  const rss = r.rss.length > 0 ? `, peak RSS median ${(pct(r.rss, 0.5) / 1024).toFixed(0)} MiB` : '';
  const cpu = r.cpu.length > 0 ? `; CPU (user + system) ${fmt(r.cpu)}` : '';
  console.log(`portolan ps --json ${mode.args.join(' ')}: ${r.containers} containers, ${r.sockets} sockets (${r.withInfo} with tcp_info), ${runs} runs: wall ${fmt(r.times)}${cpu}${rss} (target < 500 ms)`);
}
const t0 = performance.now();
spawnSync(process.execPath, ['-e', '0']);
console.log(`floor: node -e 0 takes ${(performance.now() - t0).toFixed(0)} ms`);

// Warm, in one process: the sockets collector alone (every namespace, TCP+UDP, v4+v6), as the agent runs it.
const { createCollection } = await import('../dist/collectors/index.js');
const warm = { on: createCollection({ source: 'netlink' }), off: createCollection({ source: 'netlink', tcpInfo: false }) };
const collectorMs = { on: [], off: [] };
for (let i = 0; i < runs + 2; i++) {
  for (const k of ['on', 'off']) {
    const { runs: r } = await warm[k].collect();
    // The first two rounds warm caches (Docker inspect, worker start); they are not counted.
    if (i >= 2) collectorMs[k].push(r.find((x) => x.name === 'sockets').durationMs);
  }
}
for (const c of Object.values(warm)) c.close();
console.log(`sockets collector, warm, ${n} containers: with tcp_info ${fmt(collectorMs.on)}; --no-tcp-info ${fmt(collectorMs.off)}`);
process.exit(0);
