#!/usr/bin/env node
// CPU of one read of the host's conntrack table by the collector (src/collectors/conntrack.ts) while the host opens
// RATE connections a second that are reset at once (the bench/capture.mjs load: each stays 10 s in CLOSE, so the
// table holds ~10 × RATE TCP entries nothing reads). Compares, alternately in the same seconds: the text of
// /proc/self/net/nf_conntrack (the collector without dumps), the filtered ctnetlink dumps, the agent's choice between
// them (dumps from DUMP_FROM_ENTRIES entries), and
// with BEFORE=/other/dist another build's collector (e.g. main's). CPU is this process's user+system time over the
// read (the kernel's formatting included); the generator is a child process. Needs `npm run build`, root and Docker.
//   node bench/conntrack-read.mjs [RATE=5000] [READS=10]
//   BEFORE=/tmp/ct-before/dist node bench/conntrack-read.mjs
//   BENCH_LABEL=org.portolan.run=NAME (label of the servers' container; default org.portolan.run=conntrack-read-bench)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = Number(process.argv[2] ?? 5000);
const READS = Number(process.argv[3] ?? 10);
const LABEL = process.env.BENCH_LABEL ?? 'org.portolan.run=conntrack-read-bench';
const IMAGE = process.env.BENCH_IMAGE ?? 'node:20-bookworm-slim';
const PORTS = [19423, 19424, 19425, 19426];
const load = async (dist) => ({
  ...(await import(path.join(dist, 'collectors/conntrack.js'))),
  ...(await import(path.join(dist, 'sources/procfs.js'))),
  ...(await import(path.join(dist, 'sources/ctnetlink.js'))),
});
const after = await load(path.join(ROOT, 'dist'));
const before = process.env.BEFORE ? await load(process.env.BEFORE) : undefined;

const script = `const net=require('net');for(const p of ${JSON.stringify(PORTS)})net.createServer((c)=>{c.on('error',()=>{});c.destroy();}).listen(p,'0.0.0.0',()=>console.log('listening',p));`;
const cid = execFileSync('docker', ['run', '-d', '--rm', '--label', LABEL, '--name', `conntrack-read-bench-${process.pid}`, IMAGE, 'node', '-e', script], { encoding: 'utf8' }).trim();
let generator;
const stop = () => {
  generator?.kill();
  try { execFileSync('docker', ['rm', '-f', cid], { stdio: 'ignore' }); } catch { /* gone already */ }
};
process.on('exit', stop);
try {
  const ip = execFileSync('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', cid], { encoding: 'utf8' }).trim();
  for (let i = 0; i < 100 && !(execFileSync('docker', ['logs', cid], { encoding: 'utf8' }).match(/listening/g)?.length >= PORTS.length); i++) await new Promise((r) => setTimeout(r, 100));
  const gen = `const net=require('net');const P=${JSON.stringify(PORTS)};const t0=Date.now();let made=0;setInterval(()=>{const due=Math.floor((Date.now()-t0)/1000*${RATE});while(made<due){const c=net.connect(P[made%4],'${ip}',()=>c.resetAndDestroy());c.on('error',()=>{});made++;}},10);`;
  generator = spawn(process.execPath, ['-e', gen], { stdio: 'ignore' });
  // CLOSE entries live 10 s: the table is full after that.
  await new Promise((r) => setTimeout(r, 11_000));
  const netns = Number(/\d+/.exec(readlinkSync('/proc/self/ns/net'))[0]);
  const ctx = () => ({ signal: AbortSignal.timeout(20_000), parts: { netns: { host: netns, hostPid: 'self', containers: [] } } });
  const variants = [
    ...(before ? [['before (text, all TCP/UDP entries)', before.createConntrackCollector(before.createProcfs('/proc'))]] : []),
    ['text, used entries', after.createConntrackCollector(after.createProcfs('/proc'))],
    ['filtered dumps', after.createConntrackCollector(after.createProcfs('/proc'), { dump: after.dumpConntrack, dumpFromEntries: 0 })],
    [`agent (dumps from ${after.DUMP_FROM_ENTRIES} entries)`, after.createConntrackCollector(after.createProcfs('/proc'), { dump: after.dumpConntrack })],
  ];
  const cpu = variants.map(() => []);
  const kept = variants.map(() => []);
  const lines = [];
  for (let i = 0; i < READS; i++) {
    lines.push(readFileSync('/proc/self/net/nf_conntrack', 'utf8').split('\n').length - 1);
    for (const [v, [, c]] of variants.entries()) {
      const t = process.cpuUsage();
      const r = await c.collect(ctx());
      const d = process.cpuUsage(t);
      cpu[v].push((d.user + d.system) / 1000);
      kept[v].push(r.conntrack.status === 'ok' ? r.conntrack.entries.length : -1);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`${RATE} reset connections/s; table ${Math.min(...lines)}-${Math.max(...lines)} lines; ${READS} reads each, alternated; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const [v, [label]] of variants.entries()) {
    console.log(`${label.padEnd(36)} median ${med(cpu[v]).toFixed(1).padStart(7)} ms CPU a read (min ${Math.min(...cpu[v]).toFixed(1)}, max ${Math.max(...cpu[v]).toFixed(1)}); entries kept ${Math.min(...kept[v])}-${Math.max(...kept[v])}`);
  }
} finally {
  stop();
}
