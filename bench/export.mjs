#!/usr/bin/env node
// What it measures: the agent's side of `serve --export http://…` at RATE captured connection events per second
// for SECONDS: the export's per-event work on the agent's main thread (mapping each event to its two connbeat
// documents with the pure mapper, the filter, queueing) plus the HTTP sink's batching, serialisation and POSTs
// (batches of 500) to a receiver in another process on loopback (port 19790), then the wait until everything
// is delivered. Prints the agent process's CPU (user+sys, % of one core) over the run, documents delivered per
// second, the time to drain after the last event, and RSS. Then the same with the receiver down for the middle
// third (the disk buffer takes the events; CPU and buffer size while it does, time to drain after it is back).
// Not measured: capture itself (bench/capture.mjs, the capture branch) and the receiver's own cost.
// Usage: npm run build && node bench/export.mjs [SECONDS=10] [RATE=5000]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toConnbeatDocuments } from '../dist/core/report/connbeat.js';
import { KEEP_ALL, matchesExportFilter } from '../dist/core/report/export-filter.js';
import { createHttpSink } from '../dist/export/http-sink.js';

const SECONDS = Number(process.argv[2] ?? 10);
const RATE = Number(process.argv[3] ?? 5000);
const PORT = 19790;

const RECEIVER = `
const http = require('node:http'); let n = 0;
http.createServer((req, res) => { let b = 0; req.on('data', (c) => { for (const x of c) if (x === 10) b++; }); req.on('end', () => { n += b; res.end(); }); })
  .listen(${PORT}, '127.0.0.1', () => process.send('up'));
process.on('message', () => process.send(n));`;
const startReceiver = () => new Promise((resolve) => {
  const p = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  p.once('message', () => resolve(p));
});

const containers = new Map();
for (let i = 0; i < 200; i++) {
  const id = i.toString(16).padStart(64, '0');
  containers.set(id, { id, name: `svc-${i}`, image: 'busybox:latest', labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': `svc-${i}` }, ports: [] });
}
const ids = [...containers.keys()];
const ctx = { beat: { hostname: os.hostname(), name: 'portolan', version: 'bench' }, dockerHost: { hostname: os.hostname(), ips: ['10.0.0.5'] }, containers };
let seq = 0;
const event = () => {
  const a = ids[seq % 200];
  const b = ids[(seq * 7 + 3) % 200];
  seq++;
  const end = (id, address, port) => ({ address, port, container: { id, name: containers.get(id).name, image: 'busybox:latest' } });
  return {
    type: 'connection.closed', at: new Date().toISOString(),
    flow: {
      source: 'conntrack', netns: 4026531833, protocol: 'tcp', family: 'ipv4', client: end(a, '172.18.0.2', 30000 + (seq % 30000)), server: end(b, '172.18.0.3', 8080),
      direction: 'internal', state: 'TIME_WAIT', unreplied: false, timing: 'kernel', durationMs: 10, bytes: { sent: 400, packetsSent: 6, received: 900, packetsReceived: 5 }, host: 'bench',
    },
  };
};

async function run(label, outage) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-bench-export-'));
  let receiver = await startReceiver();
  const sink = createHttpSink({ url: `http://127.0.0.1:${PORT}/ingest`, bufferDir: dir, batchSize: 500, batchWaitMs: 1000, maxBackoffMs: 2000 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let produced = 0;
  let maxBuffered = 0;
  const tickMs = 10;
  const perTick = RATE * tickMs / 1000;
  let outageState = 'none';
  let earlier = 0;
  await new Promise((resolve) => {
    const iv = setInterval(async () => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= SECONDS) { clearInterval(iv); resolve(); return; }
      const docs = [];
      for (let i = 0; i < perTick; i++) for (const d of toConnbeatDocuments(event(), ctx)) if (matchesExportFilter(d, KEEP_ALL)) docs.push(d);
      produced += docs.length;
      sink.push(docs);
      maxBuffered = Math.max(maxBuffered, sink.status().buffered);
      if (outage && outageState === 'none' && elapsed > SECONDS / 3) {
        outageState = 'down';
        const old = receiver;
        old.send('count');
        old.once('message', (n) => { earlier += n; old.kill(); });
      }
      if (outage && outageState === 'down' && elapsed > (2 * SECONDS) / 3) { outageState = 'back'; receiver = await startReceiver(); }
    }, tickMs);
  });
  const tEnd = performance.now();
  while (sink.status().sent + sink.status().dropped < produced) await new Promise((r) => setTimeout(r, 20));
  const tDrained = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const s = sink.status();
  receiver.send('count');
  const received = earlier + await new Promise((r) => receiver.once('message', r));
  receiver.kill();
  await sink.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const wall = (tDrained - t0) / 1000;
  console.log(`${label}: ${(produced / 2 / ((tEnd - t0) / 1000)).toFixed(0)} events/s achieved (asked ${RATE}) for ${SECONDS} s → ${produced} documents; delivered ${s.sent} (receiver counted ${received} incl. any duplicates), dropped ${s.dropped}, retried ${s.retried}`);
  console.log(`  CPU ${(((cpu.user + cpu.system) / 1000) / (wall * 1000) * 100).toFixed(1)} % of one core over ${wall.toFixed(1)} s; drained ${((tDrained - tEnd) / 1000).toFixed(2)} s after the last event; most buffered ${maxBuffered} documents; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
await run('receiver up', false);
await run('receiver down for the middle third', true);
