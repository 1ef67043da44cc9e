// Benchmark of one step only: one sock_diag dump of a network namespace holding ~100,000 TCP sockets, with and
// without tcp_info, parsing included, against `ss -tanH` / `ss -tinH` in the same namespace as the kernel's floor.
// It leaves out everything else `portolan ps` does (start-up, Docker, the walk of every process's fds for owners,
// attribution, sorting, output): bench/ps-100k.mjs times the real command.
//
//   npm run build && node bench/sock-diag-100k.mjs [--sockets 100000] [--runs 5]
//
// Needs root (ip netns, setns). Creates namespace portolan-bench-<random> with loopback-only connections opened by
// several python3 processes (each holds both ends, so at most ~9,000 connections = 18,000 fds per process under
// the 20,000 fd limit), and removes the processes and the namespace on exit, Ctrl-C included.
// Each measured mode runs in a fresh child process so that its peak RSS (maxRSS) is its own.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    child: { type: 'string' }, // internal: measure one mode in this process
    ns: { type: 'string' },
    ext: { type: 'string' },
  },
});
const runs = Number(args.runs);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;

if (args.child !== undefined) {
  await measureInChild(args.ns, Number(args.ext));
} else {
  await main();
}

/** Child: opens the diag socket, dumps + parses `runs` times, prints one JSON line. */
async function measureInChild(nsPath, ext) {
  const { openSockDiag } = await import('../dist/sources/sock-diag.js');
  const { parseSockDiagDump } = await import('../dist/core/parse/sock-diag.js');
  const rssBefore = process.resourceUsage().maxRSS;
  let t = performance.now();
  const diag = openSockDiag(nsPath);
  const openMs = performance.now() - t;
  const dumpMs = [];
  const parseMs = [];
  const totalMs = [];
  let sockets = 0;
  let bytes = 0;
  let withInfo = 0;
  let errors = 0;
  // The first dump + parse (cold JIT) also gives the peak RSS of a single collection.
  t = performance.now();
  const first = parseSockDiagDump(await diag.dump(2, 6, ext), 'tcp');
  const firstMs = performance.now() - t;
  const firstRssKiB = process.resourceUsage().maxRSS;
  if (first.errors.length > 0) throw first.errors[0];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    const payloads = await diag.dump(2, 6, ext);
    const t1 = performance.now();
    const result = parseSockDiagDump(payloads, 'tcp');
    const t2 = performance.now();
    dumpMs.push(t1 - t);
    parseMs.push(t2 - t1);
    totalMs.push(t2 - t);
    sockets = result.records.length;
    errors = result.errors.length;
    withInfo = result.records.filter((r) => r.tcp !== undefined).length;
    bytes = payloads.reduce((n, p) => n + p.length + 16, 0);
  }
  diag.close();
  console.log(JSON.stringify({ ext, openMs, firstMs, firstRssKiB, dumpMs, parseMs, totalMs, sockets, withInfo, errors, bytes, rssBeforeKiB: rssBefore, maxRssKiB: process.resourceUsage().maxRSS }));
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: needs ip netns and setns');
  const target = Number(args.sockets);
  const connections = Math.ceil(target / 2);
  const procs = Math.ceil(connections / 9000);
  const perProc = Math.ceil(connections / procs);
  const name = `portolan-bench-${randomBytes(3).toString('hex')}`;
  const nsPath = `/var/run/netns/${name}`;
  const helpers = [];

  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const h of helpers) {
      h.stdin.end();
      h.kill('SIGKILL');
    }
    spawnSync('ip', ['netns', 'del', name], { stdio: 'inherit' });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  try {
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // Per-namespace sysctls: they touch only this throwaway namespace.
    execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65000']);

    console.log(`namespace ${name}: opening ${perProc * procs} loopback connections (${perProc * procs * 2} sockets) in ${procs} python3 processes…`);
    const t0 = performance.now();
    const loader = `
import socket, sys
n = int(sys.argv[1])
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4096)
port = l.getsockname()[1]
keep = []
for i in range(n):
    c = socket.socket(); c.connect(('127.0.0.1', port)); a, _ = l.accept(); keep.append((c, a))
print('ready', flush=True)
sys.stdin.read()
`;
    await Promise.all(
      Array.from({ length: procs }, () => {
        const h = spawn('ip', ['netns', 'exec', name, 'python3', '-c', loader, String(perProc)], { stdio: ['pipe', 'pipe', 'inherit'] });
        helpers.push(h);
        return new Promise((resolve, reject) => {
          createInterface({ input: h.stdout }).once('line', resolve);
          h.once('exit', (code) => reject(new Error(`loader exited with ${code}`)));
        });
      }),
    );
    console.log(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const countLines = (argv) => execFileSync('ip', ['netns', 'exec', name, 'ss', ...argv], { maxBuffer: 1 << 30 }).toString().split('\n').length - 1;
    console.log(`ss -tanH counts ${countLines(['-tanH'])} TCP sockets in the namespace`);

    // Kernel floor: ss with output to /dev/null (fork/exec of ip + ss included, ~2-3 ms on an idle netns).
    const timeSs = (argv) =>
      Array.from({ length: runs }, () => {
        const t = performance.now();
        const r = spawnSync('ip', ['netns', 'exec', name, 'ss', ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
        if (r.status !== 0) throw new Error(`ss ${argv.join(' ')} exited with ${r.status}`);
        return performance.now() - t;
      });
    const ssPlain = timeSs(['-tanH']);
    const ssInfo = timeSs(['-tinH']);

    const child = (ext) => {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '1', '--ns', nsPath, '--ext', String(ext), '--runs', String(runs)], { encoding: 'utf8' });
      return JSON.parse(out.trim().split('\n').pop());
    };
    const plain = child(0);
    const info = child(2);

    console.log(`\nnode ${process.version}, ${runs} timed runs each after one cold run; one dump = AF_INET TCP, all states\n`);
    for (const [label, r] of [['sock_diag, no extensions', plain], ['sock_diag + INET_DIAG_INFO (tcp_info)', info]]) {
      console.log(`${label}: ${r.sockets} sockets (${r.withInfo} with tcp_info, ${r.errors} parse errors), ${(r.bytes / 1e6).toFixed(1)} MB from the kernel`);
      console.log(`  dump only        ${fmt(r.dumpMs)}`);
      console.log(`  parse only       ${fmt(r.parseMs)}`);
      console.log(`  dump + parse     ${fmt(r.totalMs)}`);
      console.log(`  first (cold JIT) ${r.firstMs.toFixed(1)} ms dump + parse`);
      console.log(`  open in netns    ${r.openMs.toFixed(2)} ms (first open, includes loading koffi + netlink)`);
      console.log(`  peak RSS         ${(r.firstRssKiB / 1024).toFixed(0)} MiB after one dump + parse, ${(r.maxRssKiB / 1024).toFixed(0)} MiB after all ${runs + 1} (process at start: ${(r.rssBeforeKiB / 1024).toFixed(0)} MiB)`);
    }
    console.log('(the whole command, owners and output included: bench/ps-100k.mjs)');
    console.log(`ss -tanH > /dev/null   ${fmt(ssPlain)}`);
    console.log(`ss -tinH > /dev/null   ${fmt(ssInfo)}`);
  } finally {
    cleanup();
  }
}
