// An idle host's publish traffic with a real agent: one lab Docker host (scripts/fleet-lab.sh: its own network, UTS
// and mount namespaces, a 3-node nats-server cluster with JetStream on the lab's address) running `--containers`
// idle containers (each a TCP listener, one in three with a connected client in the same host), and
// `portolan serve --nats` in the host's network namespace at a 2 s interval. For each CLI given (e.g. this build and
// an older one, to compare), run one after the other on the same lab: after a warm-up, the bytes the agent's NATS
// connection sent (nats-server /connz in_bytes: protocol, headers, payload) and received (JetStream acks) per second
// over `--seconds` (default 130: at least two of the agent's 60 s full documents fall in it).
//   node bench/fleet-idle.mjs [--seconds 130] [--containers 20] [--ports 19900] [--rounds 1] -- CLI.js [CLI.js ...]
// (CLI.js: a built dist/cli/main.js; after npm run build and bash scripts/test-image.sh; needs nats-server, root.)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const SECONDS = arg('seconds', 130);
const CONTAINERS = arg('containers', 20);
const BASE = arg('ports', 19900);
const ROUNDS = arg('rounds', 1);
const dash = process.argv.indexOf('--');
const clis = dash > 0 ? process.argv.slice(dash + 1) : [path.join(ROOT, 'dist/cli/main.js')];
const LAB = `i${process.pid % 1000}`;
const SCRIPT = path.join(ROOT, 'scripts/fleet-lab.sh');
const RUN = `org.portolan.run=${process.env.PORTOLAN_RUN_LABEL ?? 'fleet-idle'}-${LAB}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const getJson = (url) => new Promise((resolve, reject) => {
  http.get(url, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } }); }).on('error', reject);
});

const image = execFileSync('bash', [path.join(ROOT, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop();
let up;
let x = 0;
for (let attempt = 0; attempt < 5; attempt++) {
  x = 100 + Math.floor(Math.random() * 150);
  up = spawnSync('bash', [SCRIPT, 'up', LAB, '1', String(x), String(BASE), image], { encoding: 'utf8' });
  if (up.status !== 3) break;
}
const cleanup = () => spawnSync('bash', [SCRIPT, 'down', LAB], { stdio: 'ignore' });
if (up.status !== 0) { console.error(up.stdout, up.stderr); cleanup(); process.exit(1); }
let agent;
try {
  const [name, dockerHost, address, dockerdPid] = up.stdout.split('\n').find((l) => l.startsWith('HOST=')).slice(5).split(' ');
  const nats = up.stdout.split('\n').filter((l) => l.startsWith('NATS=')).map((l) => l.split(' ')[1]);
  const monitor = [1, 2, 3].map((k) => `http://10.79.${x}.254:${BASE + 20 + k}/connz?limit=1024`);
  const docker = (...a) => execFileSync('docker', ['-H', dockerHost, ...a], { encoding: 'utf8' }).trim();
  for (let i = 0; i < CONTAINERS; i++) docker('run', '-d', '--name', `idle${i}`, '--label', RUN, image, 'node', '/opt/peer.mjs', 'tcp-server', '7000');
  for (let i = 0; i < CONTAINERS; i += 3) {
    const ip = docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', `idle${i}`);
    // A client that sends once and keeps its connection open (nothing moves afterwards).
    docker('run', '-d', '--name', `idlecli${i}`, '--label', RUN, image, 'node', '/opt/peer.mjs', 'tcp-client', ip, '7000', '100');
  }
  const connOf = async () => (await Promise.all(monitor.map((u) => getJson(u).catch(() => ({ connections: [] })))))
    .flatMap((c) => c.connections ?? []).find((c) => c.ip === address);
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const cli of clis) {
      agent = spawn('nsenter', [`--net=/var/run/netns/pl${LAB}h1`, process.execPath, cli, 'serve', '--docker-host', dockerHost, '--host-pid', dockerdPid,
        '--listen', '127.0.0.1:19949', '--interval', '2s', '--no-history', '--no-dns', '--log-level', 'warn', '--nats', nats.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
      const end = Date.now() + 60_000;
      while (!(await connOf()) && Date.now() < end) await sleep(250);
      // Warm-up: the first full document, and a few intervals for the counters to have rates.
      await sleep(15_000);
      const a = await connOf();
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const b = await connOf();
      const s = (performance.now() - t0) / 1000;
      const r = { cli, sent: (b.in_bytes - a.in_bytes) / s, acks: (b.out_bytes - a.out_bytes) / s, msgs: (b.in_msgs - a.in_msgs) / s };
      results.push(r);
      console.log(`${path.relative(process.cwd(), cli) || cli}: ${r.sent.toFixed(0)} B/s sent to NATS, ${r.acks.toFixed(0)} B/s of acks back, ${r.msgs.toFixed(2)} messages/s (${s.toFixed(0)} s)`);
      const exited = new Promise((r2) => agent.once('exit', r2));
      agent.kill('SIGTERM');
      await exited;
      agent = undefined;
    }
  }
  console.log(`idle host of ${CONTAINERS} containers (${Math.ceil(CONTAINERS / 3)} connected clients), interval 2 s, ${name}; target < 1 KB/s`);
} finally {
  if (agent) agent.kill('SIGKILL');
  cleanup();
}
