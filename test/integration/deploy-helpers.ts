// Helpers of the deployment tests (image, compose, Swarm): portolan's image built by `docker build` from the real
// Dockerfile on the stand-in base (scripts/image-base.sh), cached by a hash of everything the build reads (like the
// test image: rebuilt only when an input changes, the older ones of ours removed then); commands run without
// blocking the event loop; free loopback ports.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './harness.js';

const REPO = 'portolan-test/portolan';

/** Runs a command without blocking the event loop (a build takes minutes; vitest's worker must keep answering). */
export function runAsync(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env });
    let output = '';
    let stdout = '';
    const add = (d: Buffer) => { output = (output + d.toString()).slice(-64 * 1024); };
    p.stdout.on('data', (d: Buffer) => { stdout = (stdout + d.toString()).slice(-64 * 1024); add(d); });
    p.stderr.on('data', add);
    p.on('error', (err) => resolve({ status: null, stdout, output: `${cmd}: ${err.message}` }));
    p.on('close', (status) => resolve({ status, stdout, output }));
  });
}

/** Every file the Docker build context holds (.dockerignore: package files, tsconfigs, src/ but tests, LICENSE, README). */
function contextFiles(): string[] {
  const files = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'LICENSE', 'README.md'];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (!rel.endsWith('.test.ts')) files.push(rel);
    }
  };
  walk('src');
  return files.sort();
}

let building: Promise<string> | undefined;

/**
 * The image `docker build` makes of this checkout (tag `portolan-test/portolan:<hash>`, labelled org.portolan.test):
 * built when no image of ours has the hash of the context and the base, else the one built before. The build stage
 * is tagged too (`portolan-test/portolan-build:<hash>`), so that no layer of ours is left untagged.
 */
export function portolanImage(): Promise<string> {
  building ??= (async () => {
    const made = await runAsync('bash', [path.join(ROOT, 'scripts/image-base.sh')]);
    if (made.status !== 0) throw new Error(`scripts/image-base.sh failed:\n${made.output}`);
    const base = made.stdout.trim().split('\n').pop() ?? '';
    const baseId = spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', base], { encoding: 'utf8' }).stdout.trim();
    const h = createHash('sha256').update(baseId);
    for (const f of contextFiles()) h.update(f).update('\0').update(readFileSync(path.join(ROOT, f))).update(String(statSync(path.join(ROOT, f)).mode & 0o111));
    const hash = h.digest('hex').slice(0, 12);
    const image = `${REPO}:${hash}`;
    if (spawnSync('docker', ['image', 'inspect', image]).status === 0) return image;
    const buildArgs = base === 'node:20-bookworm-slim' ? [] : ['--build-arg', `BASE_IMAGE=${base}`];
    for (const [target, tag] of [['build', `${REPO}-build:${hash}`], [undefined, image]] as const) {
      const r = await runAsync('docker', ['build', '--force-rm', ...buildArgs, '--label', 'org.portolan.test=1', ...(target ? ['--target', target] : []), '-t', tag, ROOT]);
      if (r.status !== 0) throw new Error(`docker build failed:\n${r.output.slice(-8000)}`);
    }
    // Older builds of ours go (their layers with them); one in use by a container stays.
    const ours = spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'label=org.portolan.test=1'], { encoding: 'utf8' }).stdout.split('\n')
      .filter((t) => (t.startsWith(`${REPO}:`) || t.startsWith(`${REPO}-build:`)) && !t.endsWith(`:${hash}`));
    if (ours.length > 0) spawnSync('docker', ['rmi', ...ours]);
    return image;
  })();
  return building;
}

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
