import { setMaxListeners } from 'node:events';
import type { CollectionIssue, Snapshot, SnapshotParts } from '../core/model/snapshot.js';

/** What a collector is given: a signal that fires on timeout, and the parts collected before it. */
export interface CollectContext {
  readonly signal: AbortSignal;
  /** Parts returned so far by the collectors this one `needs` (empty parts if those failed). */
  readonly parts: Partial<SnapshotParts>;
}

/** One piece of collection: reads its sources, parses with the core, returns only the parts it owns. */
export interface Collector<K extends keyof SnapshotParts = keyof SnapshotParts> {
  /** Stable name: flag, log field and metric label. */
  readonly name: string;
  /** Parts this collector owns. */
  readonly provides: readonly K[];
  /** Parts that must be collected before this one runs. */
  readonly needs: readonly (keyof SnapshotParts)[];
  /** Reads its sources and returns only the parts it owns. Throws on failure; never logs. */
  collect(ctx: CollectContext): Promise<Pick<SnapshotParts, K> & { issues?: CollectionIssue[] }>;
}

/** Any one collector, whatever parts it owns. */
export type AnyCollector = { [K in keyof SnapshotParts]-?: Collector<K> }[keyof SnapshotParts];

/** Duration and outcome of one collector in one run. */
export interface CollectorRun {
  readonly name: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * True for an error after which the process must stop rather than carry on (marked `fatal`, e.g. the JS thread
 * stranded in another network namespace): runCollectors rethrows it instead of counting a failed collector.
 */
export function isFatal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { fatal?: unknown }).fatal === true;
}

/** The empty value of each part, substituted when its collector fails. */
export function emptyParts(): SnapshotParts {
  return { containers: [], netns: { host: 0, hostPid: 1, containers: [] }, processes: [], sockets: [], netdev: [],
    conntrack: { status: 'unavailable', reason: 'conntrack was not collected' } };
}

/** Options for runCollectors. */
export interface RunOptions {
  readonly timeoutMs?: number;
  readonly hostname: string;
  readonly now?: () => Date;
  /** Called once per failed collector (the agent logs it; the CLI prints it to stderr). */
  readonly onFailure?: (run: CollectorRun) => void;
}

/**
 * Runs collectors in parallel, each as soon as the parts it needs are in, each under a timeout. A failing
 * collector never stops the others: its parts become empty and its failure becomes an issue.
 */
export async function runCollectors(
  collectors: readonly AnyCollector[],
  options: RunOptions,
): Promise<{ snapshot: Snapshot; runs: CollectorRun[] }> {
  const takenAt = (options.now ?? (() => new Date()))().toISOString();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const parts: Partial<SnapshotParts> = {};
  const issues: CollectionIssue[] = [];
  const runs: CollectorRun[] = [];
  const owners = new Map<keyof SnapshotParts, AnyCollector>();
  for (const c of collectors) for (const p of c.provides) owners.set(p, c);

  const done = new Map<string, Promise<void>>();
  const start = (c: AnyCollector): Promise<void> => {
    const existing = done.get(c.name);
    if (existing) return existing;
    const p = (async () => {
      // A need nobody provides is simply absent: the collector sees the empty part.
      await Promise.all(c.needs.map((n) => { const o = owners.get(n); return o ? start(o) : Promise.resolve(); }));
      // Not AbortSignal.timeout: its timer outlives a collector that finished in time and fires anyway (a
      // DOMException and an abort event per collector per collection, ten seconds later); this one is cleared.
      const controller = new AbortController();
      // One listener per request in flight (50 inspects at once, netlink dumps): not a leak.
      setMaxListeners(0, controller.signal);
      const ctx: CollectContext = { signal: controller.signal, parts: { ...emptyParts(), ...parts } };
      const t0 = performance.now();
      try {
        const result: Partial<SnapshotParts> & { issues?: CollectionIssue[] } = await withTimeout<Partial<SnapshotParts>>(c.collect(ctx), controller, c.name, timeoutMs);
        for (const k of c.provides) Object.assign(parts, { [k]: result[k] });
        if (result.issues) issues.push(...result.issues);
        runs.push({ name: c.name, durationMs: performance.now() - t0, ok: true });
      } catch (err) {
        if (isFatal(err)) throw err;
        const message = err instanceof Error ? err.message : String(err);
        const run: CollectorRun = { name: c.name, durationMs: performance.now() - t0, ok: false, error: message };
        runs.push(run);
        issues.push({ source: c.name, message, count: 1 });
        options.onFailure?.(run);
      }
    })();
    done.set(c.name, p);
    return p;
  };
  await Promise.all(collectors.map(start));
  const snapshot: Snapshot = { ...emptyParts(), ...parts, takenAt, hostname: options.hostname, issues };
  return { snapshot, runs };
}

/**
 * The collector's work, or a timeout error after `ms` — when its signal is aborted too, so that the collector can
 * stop. The timer is cleared as soon as the work settles.
 */
function withTimeout<T>(work: Promise<T>, controller: AbortController, name: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort(new DOMException(`collector ${name} timed out after ${ms} ms`, 'TimeoutError'));
      reject(new Error(`collector ${name} timed out after ${ms} ms`));
    }, ms);
    work.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}
