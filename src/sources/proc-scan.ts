import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createProcfs, isVanished } from './procfs.js';

/** Raw facts of one process that holds sockets: link targets and file texts, unparsed. */
export interface RawProcessEntry {
  readonly pid: number;
  readonly comm: string;
  /** Target of /proc/<pid>/ns/net, e.g. `net:[4026531833]`. */
  readonly netLink: string;
  /** Text of /proc/<pid>/cgroup. */
  readonly cgroup: string;
  /** fd link targets that are sockets (`socket:[123]`). */
  readonly socketLinks: readonly string[];
}

/** Result of a scan: processes with sockets, and those whose fds the kernel refused to show. */
export interface ProcScanResult {
  readonly entries: RawProcessEntry[];
  readonly denied: { pid: number; comm: string }[];
  /** Every pid walked (with or without sockets, vanished ones excluded from entries). */
  readonly scanned: number[];
  /** File descriptors read (one readlink each): the cost of the walk. */
  readonly fds?: number;
  /** Per pid walked, how many fds it had open then (to tell later, by one stat, whether that changed). */
  readonly fdCounts?: readonly (readonly [number, number])[];
}

/**
 * Walks every /proc/<pid>/fd (as `ss -p` does), or those of `pids` only, and returns the processes that hold
 * sockets. Processes that exit mid-scan are skipped; EACCES is reported in `denied`.
 */
export function scanProcesses(root: string, pids?: readonly number[]): ProcScanResult {
  const procfs = createProcfs(root);
  const entries: RawProcessEntry[] = [];
  const denied: { pid: number; comm: string }[] = [];
  const scanned = pids ? [...pids] : procfs.listPids();
  let fds = 0;
  const fdCounts: [number, number][] = [];
  for (const pid of scanned) {
    try {
      const links = procfs.readFdLinks(pid);
      fds += links.length;
      fdCounts.push([pid, links.length]);
      const socketLinks = links.filter((l) => l.startsWith('socket:'));
      if (socketLinks.length === 0) continue;
      entries.push({
        pid,
        socketLinks,
        comm: procfs.readText(pid, 'comm').trimEnd(),
        netLink: procfs.readLink(pid, 'ns/net'),
        cgroup: procfs.readText(pid, 'cgroup'),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') denied.push({ pid, comm: commOf(procfs, pid) });
      else if (!isVanished(err)) throw err;
    }
  }
  return { entries, denied, scanned, fds, fdCounts };
}

function commOf(procfs: ReturnType<typeof createProcfs>, pid: number): string {
  try {
    return procfs.readText(pid, 'comm').trimEnd();
  } catch {
    return '?';
  }
}

const self = fileURLToPath(import.meta.url);

/**
 * Runs scanProcesses in a worker thread, so the fd walk (hundreds of ms with 100,000 sockets) overlaps the
 * netlink dumps on another core instead of blocking them. The worker is started once and kept (unref'd, so
 * it never holds the process open): the agent scans every interval, and a new thread each time would cost
 * more than the scan. Falls back to the calling thread when this module is not compiled JavaScript (tests
 * run the TypeScript sources).
 */
export function scanProcessesInWorker(root: string, options: { keepWorker?: boolean } = {}): Promise<ProcScanResult> {
  if (path.extname(self) !== '.js') return Promise.resolve(scanProcesses(root));
  const keep = options.keepWorker ?? true;
  const previous = queue;
  const next = previous.then(() => scanOnce(root)).finally(() => {
    // A scan now and then (the agent's periodic full walk) does not justify a thread and its heap kept in between.
    if (!keep && worker) {
      void worker.terminate();
      worker = undefined;
    }
  });
  queue = next.catch(() => undefined);
  return next;
}

let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();

function scanOnce(root: string): Promise<ProcScanResult> {
  const w = (worker ??= startWorker());
  return new Promise((resolve, reject) => {
    const onMessage = (result: ProcScanResult | { error: string }) => {
      done();
      if ('error' in result) reject(new Error(result.error)); else resolve(result);
    };
    const onError = (err: Error) => { done(); worker = undefined; reject(err); };
    const onExit = (code: number) => { done(); worker = undefined; reject(new Error(`process scan worker exited with ${code}`)); };
    const done = () => { w.off('message', onMessage); w.off('error', onError); w.off('exit', onExit); w.unref(); };
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    w.ref();
    w.postMessage(root);
  });
}

function startWorker(): Worker {
  const w = new Worker(self, { workerData: { portolanProcScan: true } });
  w.unref();
  return w;
}

if (!isMainThread && parentPort && (workerData as { portolanProcScan?: unknown } | null)?.portolanProcScan === true) {
  const port = parentPort;
  port.on('message', (root: string) => {
    try {
      port.postMessage(scanProcesses(root));
    } catch (err) {
      port.postMessage({ error: err instanceof Error ? err.message : String(err) });
    }
  });
}
