// Helpers of the deployment tests (image, compose, Swarm): portolan's image built from the real Dockerfile on the
// stand-in base (scripts/image-base.sh) and removed after — the build stage is tagged too, so that removing both
// tags removes every layer the build made — and free loopback ports.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { LABELS, ROOT, RUN_ID } from './harness.js';

/** The tags a test's image build makes. */
export interface BuiltImage {
  readonly image: string;
  readonly buildStage: string;
}

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

/** Runs `docker build` on the Dockerfile (twice: the build stage, then the image, from the same cache); labelled for this run. */
export async function buildPortolanImage(suffix = 'portolan'): Promise<BuiltImage> {
  const image = `portolan-test/${suffix}:${RUN_ID}`;
  const buildStage = `portolan-test/${suffix}-build:${RUN_ID}`;
  const made = await runAsync('bash', [path.join(ROOT, 'scripts/image-base.sh')]);
  if (made.status !== 0) throw new Error(`scripts/image-base.sh failed:\n${made.output}`);
  const base = made.stdout.trim().split('\n').pop() ?? '';
  const buildArgs = base === 'node:20-bookworm-slim' ? [] : ['--build-arg', `BASE_IMAGE=${base}`];
  for (const [target, tag] of [['build', buildStage], [undefined, image]] as const) {
    const r = await runAsync('docker', ['build', '--force-rm', ...buildArgs, ...LABELS, ...(target ? ['--target', target] : []), '-t', tag, ROOT]);
    if (r.status !== 0) throw new Error(`docker build failed:\n${r.output.slice(-8000)}`);
  }
  return { image, buildStage };
}

/** Removes what buildPortolanImage made. */
export function removePortolanImage(built: BuiltImage | undefined): void {
  if (built) spawnSync('docker', ['rmi', built.image, built.buildStage]);
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
