#!/usr/bin/env node
// Reads a V8 .cpuprofile (node --cpu-prof) and prints where the time went: the top functions by self time and by
// total (subtree) time, as % of the sampled time after `--skip` seconds (startup left out).
//
//   node bench/cpuprofile.mjs FILE.cpuprofile [--skip 3] [--top 25]
import fs from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+(\.\d+)?$/.test(a));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!file) {
  console.error('usage: node bench/cpuprofile.mjs FILE.cpuprofile [--skip SECONDS] [--top N]');
  process.exit(2);
}
const skipUs = opt('skip', 3) * 1e6;
const top = opt('top', 25);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const self = new Map();
const total = new Map();
let t = p.startTime;
let sampled = 0;
let idle = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i] ?? 0;
  t += dt;
  if (t - p.startTime < skipUs) continue;
  const node = byId.get(p.samples[i]);
  if (!node) continue;
  sampled += dt;
  const name = label(node);
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  self.set(name, (self.get(name) ?? 0) + dt);
  // Total: each function once per sample, however often it recurses.
  const seen = new Set();
  for (let id = node.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id));
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
}
const busy = sampled - idle;
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(sampled / 1e6).toFixed(1)} s sampled after ${skipUs / 1e6} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / sampled).toFixed(1)} % of one core)`);
console.log(`\nby self time (% of busy):`);
for (const [n, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${n}`);
console.log(`\nby total time (% of busy):`);
for (const [n, us] of [...total].sort((a, b) => b[1] - a[1]).filter(([n]) => n !== '(root)').slice(0, top)) console.log(`  ${pct(us)}  ${n}`);
