#!/usr/bin/env node
// The real command at 100,000 sockets: `portolan ps --json`, `portolan ps` and `portolan ps --json --container
// <another container>` end to end as a user runs them (a new process each run: node's start, the Docker API, every
// netlink dump, the walk of every process's fds for owners, attribution, sorting, the output written to a file),
// beside `ss -tanH` and `ss -tanpH` (with owners: the same work as `ps`) in the namespace that holds the sockets.
// For each: wall time, CPU (user + system, all threads) and peak RSS, median of RUNS with min and max.
//
//   npm run build && node bench/ps-100k.mjs [SOCKETS=100000] [RUNS=5]
//
// Needs root and a Docker engine (scripts/ensure-docker.sh). Starts two labelled containers from the test image:
// one whose 10 processes each hold SOCKETS/20 loopback connections (both ends: SOCKETS sockets, plus 10
// listeners), and one small server; removes them on exit. Wall times depend on what else the machine runs: quote
// them with the machine's load (printed), and prefer CPU and RSS for comparisons.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sockets = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
const run = `bench-${randomBytes(3).toString('hex')}`;
const labels = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${run}`];
const image = execFileSync('bash', [path.join(root, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
const docker = (...a) => execFileSync('docker', a, { encoding: 'utf8' }).trim();
const clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const out = path.join(os.tmpdir(), `${run}.out`);

function cleanup() {
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${run}`).split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids]);
  fs.rmSync(out, { force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const per = Math.ceil(sockets / 20);
console.log(`starting a container with 10 processes × ${per} loopback connections (${per * 20} sockets + 10 listeners)…`);
const many = `${run}-many`;
docker('run', '-d', '--name', many, ...labels, image, 'sh', '-c',
  `for i in 0 1 2 3 4 5 6 7 8 9; do node /opt/peer.mjs tcp-many $((20000+i)) ${per} & done; wait`);
const other = `${run}-other`;
docker('run', '-d', '--name', other, ...labels, image, 'node', '/opt/peer.mjs', 'tcp-server', '8080');
const pid = docker('inspect', '-f', '{{.State.Pid}}', many);
const count = () => Number(execFileSync('sh', ['-c', `nsenter -t ${pid} -n ss -tanH | wc -l`], { encoding: 'utf8' }).trim());
// Until all are open, or no more open for 20 s (on a loaded machine a few connects can fail: say how many there are).
for (let last = -1, still = 0, n = count(); n < per * 20 + 10 && still < 40; n = count()) {
  still = n === last ? still + 1 : 0;
  last = n;
  await new Promise((r) => setTimeout(r, 500));
}
console.log(`${count()} TCP sockets in the namespace`);

/**
 * Runs a command to completion, its stdout to a file; samples its (and its threads') CPU and peak RSS from /proc
 * until it exits — the last sample is at most 10 ms before the end, so CPU is a slight undercount at worst.
 */
function measure(cmd, args) {
  return new Promise((resolve) => {
    const fd = fs.openSync(out, 'w');
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', fd, 'ignore'] });
    fs.closeSync(fd);
    let cpu = 0;
    let hwm = 0;
    const sample = () => {
      try {
        const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        // utime + stime + cutime + cstime: nsenter's child (ss) counts once it is reaped.
        cpu = (Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14])) / clkTck;
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) / 1024);
      } catch { /* exited between two samples: the last sample stands */ }
    };
    const timer = setInterval(sample, 10);
    child.on('exit', () => {
      clearInterval(timer);
      resolve({ wallMs: performance.now() - t0, cpuS: cpu, rssMiB: hwm, bytes: fs.statSync(out).size });
    });
  });
}

const cli = path.join(root, 'dist/cli/main.js');
const cases = [
  ['portolan ps --json', process.execPath, [cli, 'ps', '--json']],
  ['portolan ps', process.execPath, [cli, 'ps']],
  [`portolan ps --json --container ${other}`, process.execPath, [cli, 'ps', '--json', '--container', other]],
  ['ss -tanH (in the namespace)', 'nsenter', ['-t', pid, '-n', 'ss', '-tanH']],
  ['ss -tanpH (with owners)', 'nsenter', ['-t', pid, '-n', 'ss', '-tanpH']],
];
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s.at(-1) };
};
console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} CPUs); ${runs} runs each, after one warm-up`);
for (const [label, cmd, args] of cases) {
  await measure(cmd, args);
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await measure(cmd, args));
  const w = stats(results.map((r) => r.wallMs));
  const c = stats(results.map((r) => r.cpuS));
  const m = stats(results.map((r) => r.rssMiB));
  console.log(`${label}: wall ${(w.median / 1000).toFixed(2)} s (${(w.min / 1000).toFixed(2)}–${(w.max / 1000).toFixed(2)}), ` +
    `CPU ${c.median.toFixed(2)} s (${c.min.toFixed(2)}–${c.max.toFixed(2)}), peak RSS ${m.median.toFixed(0)} MiB (${m.min.toFixed(0)}–${m.max.toFixed(0)}), ` +
    `output ${(results[0].bytes / 1e6).toFixed(1)} MB`);
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('targets (issue #10): portolan ps, with and without --json, under 1 s and under 300 MB');
