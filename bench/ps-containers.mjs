#!/usr/bin/env node
// Times `portolan ps --json` end to end (process start included) over N running containers.
// Usage: npm run build && node bench/ps-containers.mjs [N=50] [RUNS=15]
// Creates N labelled containers (half servers, half clients each holding 2 connections), removes them after.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
for (const source of ['netlink', 'proc']) {
  const times = [];
  let containers = 0;
  let sockets = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, 'ps', '--json', '--source', source], { encoding: 'utf8', maxBuffer: 1 << 28 });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(r.stderr);
    const rep = JSON.parse(r.stdout);
    containers = rep.containers.length;
    sockets = rep.containers.reduce((a, c) => a + c.sockets.length, 0);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
  console.log(`portolan ps --json --source ${source}: ${containers} containers, ${sockets} sockets, ${runs} runs: min ${pct(0)} ms, median ${pct(0.5)} ms, p90 ${pct(0.9)} ms (target < 300 ms)`);
}
const t0 = performance.now();
spawnSync(process.execPath, ['-e', '0']);
console.log(`floor: node -e 0 takes ${(performance.now() - t0).toFixed(0)} ms`);
