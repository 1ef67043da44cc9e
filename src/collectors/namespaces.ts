import type { SnapshotParts } from '../core/model/snapshot.js';

/** One pid (or `self`) per distinct network namespace: the host's first, then each container's. */
export function namespaceTargets(ns: SnapshotParts['netns'] | undefined): Map<number, number | 'self'> {
  const targets = new Map<number, number | 'self'>();
  if (!ns) return targets;
  targets.set(ns.host, ns.hostPid);
  for (const c of ns.containers) if (!targets.has(c.netns)) targets.set(c.netns, c.pid);
  return targets;
}
