// Live updates as diffs: what changed between two topologies, by stable node and edge ids.
import type { Topology, TopologyDiff, TopologyEdge, TopologyNode } from '../model/topology.js';

/**
 * What changed from `prev` to `next` (pure): nodes and edges added, updated (any field differs; the whole new
 * value is sent) and removed (by id); `warnings` only when they changed.
 */
export function diffTopology(prev: Topology, next: Topology): TopologyDiff {
  const warningsChanged = !sameJson(prev.warnings, next.warnings);
  const hostsChanged = next.hosts !== undefined && (prev.hosts === undefined || !sameJson(prev.hosts, next.hosts));
  return {
    from: prev.takenAt,
    to: next.takenAt,
    ...(warningsChanged ? { warnings: next.warnings } : {}),
    ...(hostsChanged ? { hosts: next.hosts } : {}),
    nodes: diffById(prev.nodes, next.nodes),
    edges: diffById(prev.edges, next.edges),
  };
}

/**
 * Applies a diff to the topology it was made from (pure): `applyTopologyDiff(a, diffTopology(a, b))` equals b in
 * content. Other fields of `prev` (a document's own, like `stale`) are kept.
 */
export function applyTopologyDiff<T extends Topology>(prev: T, diff: TopologyDiff): T {
  const hosts = diff.hosts ?? prev.hosts;
  return {
    ...prev,
    takenAt: diff.to,
    warnings: diff.warnings ?? prev.warnings,
    ...(hosts !== undefined ? { hosts } : {}),
    nodes: applyById(prev.nodes, diff.nodes),
    edges: applyById(prev.edges, diff.edges),
  };
}

/** True when a diff changes nothing but the time. */
export function isEmptyDiff(diff: TopologyDiff): boolean {
  return diff.warnings === undefined && diff.hosts === undefined &&
    diff.nodes.added.length + diff.nodes.updated.length + diff.nodes.removed.length +
    diff.edges.added.length + diff.edges.updated.length + diff.edges.removed.length === 0;
}

function diffById<T extends TopologyNode | TopologyEdge>(prev: readonly T[], next: readonly T[]): { added: T[]; updated: T[]; removed: string[] } {
  // The common case without a map: the same ids in the same order (nothing added or removed; most items the
  // same objects when the producer reuses them, like the fleet's incremental merge).
  if (sameIds(prev, next)) {
    const updated: T[] = [];
    for (let i = 0; i < next.length; i++) {
      const x = next[i] as T;
      if (!sameJson(prev[i] as T, x)) updated.push(x);
    }
    return { added: [], updated, removed: [] };
  }
  const before = new Map(prev.map((x) => [x.id, x]));
  const after = new Set(next.map((x) => x.id));
  const added: T[] = [];
  const updated: T[] = [];
  for (const x of next) {
    const old = before.get(x.id);
    if (old === undefined) added.push(x);
    else if (!sameJson(old, x)) updated.push(x);
  }
  const removed = prev.filter((x) => !after.has(x.id)).map((x) => x.id);
  return { added, updated, removed };
}

/** True when both lists have the same ids at the same places. */
export function sameIds(a: readonly { readonly id: string }[], b: readonly { readonly id: string }[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as { readonly id: string };
    const y = b[i] as { readonly id: string };
    if (x !== y && x.id !== y.id) return false;
  }
  return true;
}

function applyById<T extends TopologyNode | TopologyEdge>(
  prev: readonly T[], change: { readonly added: readonly T[]; readonly updated: readonly T[]; readonly removed: readonly string[] },
): T[] {
  const removed = new Set(change.removed);
  const updated = new Map(change.updated.map((x) => [x.id, x]));
  return [...prev.filter((x) => !removed.has(x.id)).map((x) => updated.get(x.id) ?? x), ...change.added];
}

// Topology values are plain JSON built in a fixed key order, so their JSON text compares them exactly.
function sameJson(a: object, b: object): boolean {
  return a === b || jsonOf(a) === jsonOf(b);
}

// Topology values are immutable: each one's text is computed once. The agent diffs every collection against
// the previous one, whose items were the `next` side last time, so only new items are serialised.
const texts = new WeakMap<object, string>();

/** The JSON text of an immutable topology value, computed once per object. */
export function jsonOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}
