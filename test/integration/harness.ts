// Shared helpers for integration tests on the real Docker engine. Everything created is labelled
// org.portolan.test=1 plus a per-run label, and only that is removed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');
export const RUN_ID = randomBytes(3).toString('hex');
export const LABELS = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${RUN_ID}`];

let imageName: string | undefined;
/** The test image (built once by scripts/test-image.sh). */
export function testImage(): string {
  imageName ??= execFileSync('bash', [path.join(ROOT, 'scripts/test-image.sh')], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
  return imageName;
}

/** Runs the docker CLI and returns stdout (throws with stderr on failure). */
export function docker(...args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs the docker CLI without blocking the event loop; resolves with its exit status. */
export function dockerAsync(...args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, { stdio: 'ignore' });
    p.on('close', resolve);
  });
}

/** Prefix for names of everything this run creates. */
export const name = (n: string) => `pt-${RUN_ID}-${n}`;

/** Starts a detached, labelled container; returns its id. */
export function run(n: string, opts: string[], cmd: string[]): string {
  return docker('run', '-d', '--name', name(n), ...LABELS, ...opts, testImage(), ...cmd);
}

/** Creates a labelled network. */
export function network(n: string, ...opts: string[]): string {
  return docker('network', 'create', ...LABELS, ...opts, name(n));
}

/** Removes exactly what this run created. */
export function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${RUN_ID}`).split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids]);
  const nets = docker('network', 'ls', '-q', '--filter', `label=org.portolan.run=${RUN_ID}`).split('\n').filter(Boolean);
  if (nets.length > 0) spawnSync('docker', ['network', 'rm', ...nets]);
}

/** Container facts from docker inspect. */
export function inspect(n: string): { Id: string; State: { Pid: number }; NetworkSettings: { Networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> } } {
  return JSON.parse(docker('inspect', name(n)))[0];
}

/** Runs the built CLI; returns status, stdout, stderr. */
export function portolan(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 512 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI asynchronously (for tests that disturb Docker while it collects). */
export function portolanAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** One socket as `ss -tuanpeH` prints it, normalised for comparison. */
export interface SsSocket {
  readonly protocol: 'tcp' | 'udp';
  readonly state: string;
  readonly local: string;
  readonly remote: string;
  readonly inode: number;
  readonly pids: number[];
}

const SS_STATES: Record<string, string> = {
  ESTAB: 'ESTABLISHED', 'SYN-SENT': 'SYN_SENT', 'SYN-RECV': 'SYN_RECV', 'FIN-WAIT-1': 'FIN_WAIT1', 'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT', UNCONN: 'UNCONN', 'CLOSE-WAIT': 'CLOSE_WAIT', 'LAST-ACK': 'LAST_ACK', LISTEN: 'LISTEN', CLOSING: 'CLOSING', CLOSE: 'CLOSE',
};

/** Normalises an endpoint so ss and portolan spell it alike: wildcard → `*`, brackets and `%iface` dropped. */
export function normEndpoint(address: string, port: number | string): string {
  let a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (a === '0.0.0.0' || a === '::' || a === '*') a = '*';
  return `${a}:${port === '*' ? 0 : port}`;
}

function splitEndpoint(text: string): string {
  const i = text.lastIndexOf(':');
  return normEndpoint(text.slice(0, i), text.slice(i + 1));
}

/** The kernel's own answer: `nsenter -t PID -n ss -tuanpeH`, parsed. */
export function ssSockets(pid: number): SsSocket[] {
  return ssSocketsAt(['-t', String(pid), '-n']);
}

/** `ss -tuanpeH` in the namespace that `nsenter ARGS` enters (e.g. `--net=/var/run/netns/NAME`), parsed. */
export function ssSocketsAt(nsenterArgs: readonly string[]): SsSocket[] {
  const out = execFileSync('nsenter', [...nsenterArgs, 'ss', '-tuanpeH'], { encoding: 'utf8' });
  const sockets: SsSocket[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [proto, state, , , local, remote, ...rest] = f;
    const extra = rest.join(' ');
    const inode = Number(/ino:(\d+)/.exec(extra)?.[1] ?? 0);
    const pids = [...extra.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    sockets.push({ protocol: proto as 'tcp' | 'udp', state: SS_STATES[state ?? ''] ?? state ?? '', local: splitEndpoint(local ?? ''), remote: splitEndpoint(remote ?? ''), inode, pids });
  }
  return sockets;
}

/** Host pids of a container's processes (`docker top`). */
export function containerPids(n: string): number[] {
  return docker('top', name(n), '-eo', 'pid').split('\n').slice(1).map(Number).filter(Boolean);
}

/** Waits until `check` returns true (polling), or throws after `ms`. */
export async function waitFor(check: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The warning that conntrack byte accounting is off: the truth on a host with the kernel's default (0). */
export const ACCOUNTING_OFF_WARNING = /^portolan: warning: conntrack: byte accounting is off \(net\.netfilter\.nf_conntrack_acct=0\)/;

/**
 * Asserts stderr holds no warning, except the permission warning for processes whose fds the kernel
 * really denies to root here (a sandbox's non-dumpable pid 1): that warning is then the truth; and the
 * warning that conntrack accounting is off (the kernel's default; conntrack-acct.test.ts turns accounting on
 * and back while other files may run, so whether it is off cannot be checked after the fact here — that test
 * checks the warning against the sysctl).
 */
export function unexpectedWarnings(stderr: string): string[] {
  return stderr.split('\n').filter(Boolean).filter((line) => !ACCOUNTING_OFF_WARNING.test(line)).filter((line) => {
    const m = /permission denied reading the fds of \d+ process\(es\) \(([^)]*)\)/.exec(line);
    if (!m) return true;
    const pids = (m[1] ?? '').split(', ').map((p) => Number(p.split(' ')[0]));
    return !pids.every((pid) => {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) readlinkSync(`/proc/${pid}/fd/${fd}`);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EACCES';
      }
    });
  });
}
