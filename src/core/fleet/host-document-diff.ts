// Diffs between a host's documents (pure), for the transport: the topology's own diff (core/topology), flows
// added and removed by their original tuple, and identity, networks and interval only when they changed.
import type { TopologyDiff } from '../model/topology.js';
import { applyTopologyDiff, diffTopology, isEmptyDiff } from '../topology/diff-topology.js';
import { flowKey, type HostContainer, type HostDocument, type HostFlow, type HostNetwork, type HostTraffic } from './host-document.js';

/** What changed between two documents of one host. */
export interface HostDocumentDiff {
  readonly engineId: string;
  /** takenAt of the document the diff applies to, and of the one it produces. */
  readonly from: string;
  readonly to: string;
  readonly hostname?: string;
  readonly addresses?: readonly string[];
  readonly intervalMs?: number;
  readonly networks?: readonly HostNetwork[];
  readonly topology: TopologyDiff;
  /** Flows added, and removed by their original tuple's key (`flowKey`). */
  readonly flows: { readonly added: readonly HostFlow[]; readonly removed: readonly string[] };
  readonly flowsOmitted?: number;
  /** The containers section, whole, when it changed (null: gone). */
  readonly containers?: { readonly containers: readonly HostContainer[] | null; readonly socketsOmitted: number };
  readonly traffic?: readonly HostTraffic[] | null;
}

/** A diff that does not apply: it was made from another document than the one held (a gap: ask for a full one). */
export class HostDocumentDiffError extends Error {
  override readonly name = 'HostDocumentDiffError';
}

/** What changed from `prev` to `next` (same host). */
export function diffHostDocument(prev: HostDocument, next: HostDocument): HostDocumentDiff {
  if (prev.engineId !== next.engineId) throw new HostDocumentDiffError(`documents of two hosts (${prev.engineId}, ${next.engineId})`);
  const before = new Map(prev.flows.map((f) => [flowKey(f.protocol, f.original), f]));
  const after = new Set(next.flows.map((f) => flowKey(f.protocol, f.original)));
  const added = next.flows.filter((f) => {
    const old = before.get(flowKey(f.protocol, f.original));
    return !old || flowKey(old.protocol, old.reply) !== flowKey(f.protocol, f.reply);
  });
  const removed = [...before.keys()].filter((k) => !after.has(k));
  return {
    engineId: next.engineId, from: prev.takenAt, to: next.takenAt,
    ...(prev.hostname !== next.hostname ? { hostname: next.hostname } : {}),
    ...(!sameList(prev.addresses, next.addresses) ? { addresses: next.addresses } : {}),
    ...(prev.intervalMs !== next.intervalMs ? { intervalMs: next.intervalMs } : {}),
    ...(JSON.stringify(prev.networks) !== JSON.stringify(next.networks) ? { networks: next.networks } : {}),
    topology: diffTopology(prev.topology, next.topology),
    flows: { added, removed },
    ...(next.flowsOmitted !== prev.flowsOmitted ? { flowsOmitted: next.flowsOmitted ?? 0 } : {}),
    ...(JSON.stringify(prev.containers) !== JSON.stringify(next.containers) || prev.socketsOmitted !== next.socketsOmitted
      ? { containers: { containers: next.containers ?? null, socketsOmitted: next.socketsOmitted ?? 0 } } : {}),
    ...(JSON.stringify(prev.traffic) !== JSON.stringify(next.traffic) ? { traffic: next.traffic ?? null } : {}),
  };
}

/** True when a diff changes nothing but the time. */
export function isEmptyHostDocumentDiff(d: HostDocumentDiff): boolean {
  return d.hostname === undefined && d.addresses === undefined && d.intervalMs === undefined && d.networks === undefined &&
    d.flowsOmitted === undefined && d.containers === undefined && d.traffic === undefined && d.flows.added.length === 0 && d.flows.removed.length === 0 && isEmptyDiff(d.topology);
}

/** Applies a diff to the document it was made from; throws HostDocumentDiffError when it was made from another. */
export function applyHostDocumentDiff(prev: HostDocument, d: HostDocumentDiff): HostDocument {
  if (d.engineId !== prev.engineId) throw new HostDocumentDiffError(`diff of host ${d.engineId} applied to ${prev.engineId}`);
  if (d.from !== prev.takenAt || d.topology.from !== prev.topology.takenAt) throw new HostDocumentDiffError(`diff from ${d.from}, document of ${prev.takenAt}`);
  const removed = new Set(d.flows.removed);
  const replaced = new Set(d.flows.added.map((f) => flowKey(f.protocol, f.original)));
  const flows = [...prev.flows.filter((f) => { const k = flowKey(f.protocol, f.original); return !removed.has(k) && !replaced.has(k); }), ...d.flows.added]
    .sort((a, b) => cmp(flowKey(a.protocol, a.original), flowKey(b.protocol, b.original)));
  const omitted = d.flowsOmitted ?? prev.flowsOmitted;
  const { flowsOmitted: _o, containers: _c, socketsOmitted: _so, traffic: _t, ...rest } = prev;
  const containers = d.containers ? d.containers.containers : prev.containers;
  const socketsOmitted = d.containers ? d.containers.socketsOmitted : prev.socketsOmitted;
  const traffic = d.traffic !== undefined ? d.traffic : prev.traffic;
  return {
    ...rest,
    takenAt: d.to,
    hostname: d.hostname ?? prev.hostname,
    addresses: d.addresses ?? prev.addresses,
    intervalMs: d.intervalMs ?? prev.intervalMs,
    networks: d.networks ?? prev.networks,
    topology: applyTopologyDiff(prev.topology, d.topology),
    flows,
    ...(omitted ? { flowsOmitted: omitted } : {}),
    ...(containers ? { containers } : {}),
    ...(socketsOmitted ? { socketsOmitted } : {}),
    ...(traffic ? { traffic } : {}),
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
