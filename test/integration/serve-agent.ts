// Runs `portolan serve` as a child process for integration tests, and reads its HTTP API and live streams.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createSseParser } from '../fixtures/sse.js';
import { CLI } from './harness.js';

/** A running agent. */
export interface ServeProcess {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** Everything it printed so far (pino JSON lines and stderr). */
  output(): string;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<number | null>;
}

/** Starts `portolan serve ARGS` on a free loopback port; resolves once it listens. */
export function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', ...args], { env: { ...process.env, ...env } });
    let out = '';
    let done = false;
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"listen":"([^"]+)".*"msg":"portolan agent serving"/.exec(out);
      if (m && !done) {
        done = true;
        resolve({
          proc, base: `http://${m[1]}`, output: () => out,
          async stop() {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => { if (!done) reject(new Error(`serve exited with ${code} before listening:\n${out}`)); });
    setTimeout(() => { if (!done) { proc.kill('SIGKILL'); reject(new Error(`serve did not listen within 30 s:\n${out}`)); } }, 30_000);
  });
}

/** GET a JSON document. */
export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, headers: res.headers };
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
  /** ms since the epoch when it arrived. */
  readonly at: number;
}

/** Follows an SSE endpoint, collecting events until closed. */
export function followSse(url: string): { events: SseEvent[]; opened: Promise<void>; close(): void } {
  const events: SseEvent[] = [];
  let resolveOpen: () => void = () => undefined;
  const opened = new Promise<void>((r) => { resolveOpen = r; });
  const req = http.get(url, (res) => {
    resolveOpen();
    res.setEncoding('utf8');
    res.on('data', createSseParser((e) => { events.push({ event: e.event, data: e.data, at: Date.now() }); }));
  });
  req.on('error', () => undefined);
  return { events, opened, close: () => req.destroy() };
}

/** Polls `check` until it returns a value (not undefined/false), or throws after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
