// bpftrace as a typed adapter: finds the program and the tracepoint it needs, runs a script with `-f json` and
// hands back its output lines. I/O only: what the lines mean is core's parser's business. Optional: when
// bpftrace, tracefs or the privilege is missing, the caller gets one reason and the one command that fixes it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** Whether bpftrace can run the probe here, or why not (with the command that fixes it). */
export type BpftraceCheck =
  | { readonly ok: true; readonly bpftrace: string; readonly tracefs: string }
  | { readonly ok: false; readonly reason: string; readonly fix?: string };

/** Where tracefs is usually mounted (the second is debugfs's view of it). */
export const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Finds bpftrace on PATH and a tracefs that has the tracepoint `category:name`. */
export function checkBpftrace(tracepoint: string, env: NodeJS.ProcessEnv = process.env, roots: readonly string[] = TRACEFS_ROOTS): BpftraceCheck {
  const bpftrace = (env.PATH ?? '').split(':').filter((d) => d !== '').map((d) => path.join(d, 'bpftrace')).find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!bpftrace) return { ok: false, reason: 'bpftrace is not installed (not found on PATH)', fix: 'apt-get install bpftrace' };
  const [category, name] = tracepoint.split(':');
  const tracefs = roots.find((r) => fs.existsSync(path.join(r, 'events', category ?? '', name ?? '')));
  if (!tracefs) {
    const mounted = roots.some((r) => fs.existsSync(path.join(r, 'events')));
    return mounted
      ? { ok: false, reason: `the kernel has no tracepoint ${tracepoint}` }
      : { ok: false, reason: 'tracefs is not mounted', fix: 'mount -t tracefs tracefs /sys/kernel/tracing' };
  }
  return { ok: true, bpftrace, tracefs };
}

/** Callbacks of a running bpftrace. */
export interface BpftraceHandlers {
  /** One stdout line (a JSON record with -f json). */
  onLine(line: string): void;
  /** One stderr line (bpftrace's errors and warnings). */
  onStderr(line: string): void;
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

/** A running bpftrace. */
export interface BpftraceProcess {
  readonly pid: number | undefined;
  /** Ends it (SIGINT, as bpftrace expects, then SIGKILL after 2 s); resolves when it exited. */
  stop(): Promise<void>;
}

/** Runs `bpftrace -f json -e SCRIPT`; lines longer than maxLine characters are cut there (a bound, not a parser). */
export function runBpftrace(bpftrace: string, script: string, handlers: BpftraceHandlers, maxLine = 8192): BpftraceProcess {
  const child: ChildProcess = spawn(bpftrace, ['-f', 'json', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      handlers.onExit(code, signal);
      resolve();
    });
    child.on('error', (err) => {
      handlers.onStderr(`ERROR: ${err.message}`);
      handlers.onExit(null, null);
      resolve();
    });
  });
  if (child.stdout) readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (l) => handlers.onLine(l.length > maxLine ? l.slice(0, maxLine) : l));
  if (child.stderr) readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (l) => handlers.onStderr(l.slice(0, maxLine)));
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
