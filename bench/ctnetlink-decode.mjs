#!/usr/bin/env node
// Times the ctnetlink decoder (core/parse/ctnetlink.ts) on real event datagrams (test/fixtures/ctnetlink/*.hex but
// the dumps: NEW and DESTROY events of TCP and UDP, with and without counters and timestamps).
// Pure CPU; prints µs per message (median of RUNS runs).
// Usage: npm run build && node bench/ctnetlink-decode.mjs [RUNS=9]
//   DIST=/other/dist node bench/ctnetlink-decode.mjs    (another build, e.g. a before worktree's)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.DIST ?? path.join(ROOT, 'dist');
const { parseCtnetlinkDatagram } = await import(path.join(DIST, 'core/parse/ctnetlink.js'));
const FIX = path.join(ROOT, 'test/fixtures/ctnetlink');
const hex = (f) => readFileSync(path.join(FIX, f), 'utf8').split('\n').filter(Boolean).map((l) => new Uint8Array(Buffer.from(l, 'hex')));
const events = readdirSync(FIX).filter((f) => f.endsWith('.hex') && !f.startsWith('dump-')).flatMap(hex);
const RUNS = Number(process.argv[2] ?? 9);
const PER_RUN = 200_000;

function run(datagrams) {
  let messages = 0;
  let sink = 0;
  for (let i = 0; messages < PER_RUN; i++) {
    const b = parseCtnetlinkDatagram(datagrams[i % datagrams.length]);
    messages += b.messages.length;
    for (const m of b.messages) if (m.kind === 'event') sink += m.event.original.sport ?? 0;
  }
  return { messages, sink };
}

const times = [];
for (let r = 0; r < RUNS; r++) {
  const t = process.cpuUsage();
  const { messages } = run(events);
  const d = process.cpuUsage(t);
  times.push((d.user + d.system) / messages);
}
const med = (a) => [...a].slice(1).sort((x, y) => x - y)[(a.length - 1) >> 1];
console.log(`ctnetlink decode (${DIST}): ${events.length} real event datagrams, ${PER_RUN} messages a run, ${RUNS} runs (first left out): ` +
  `median ${med(times).toFixed(3)} µs per message (min ${Math.min(...times.slice(1)).toFixed(3)}, max ${Math.max(...times.slice(1)).toFixed(3)})`);
