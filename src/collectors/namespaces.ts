import type { SnapshotParts } from '../core/model/snapshot.js';

/** One pid (or `self`) per distinct network namespace: the host's first, then each container's. */
export function namespaceTargets(ns: SnapshotParts['netns'] | undefined): Map<number, number | 'self'> {
  const targets = new Map<number, number | 'self'>();
  if (!ns) return targets;
  targets.set(ns.host, ns.hostPid);
  for (const c of ns.containers) if (!targets.has(c.netns)) targets.set(c.netns, c.pid);
  return targets;
}

/** Maps items with at most `limit` calls in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
