// The incremental merge (each host's part kept while its document is the same object) against the full merge, on
// real documents (the three-host lab of test/fixtures/fleet-lab and the lab hosts of test/fixtures/fleet): random
// sequences of host updates — new documents, edges and containers gone, a container or an address another host
// claims, flows and networks gone, hosts silent, expired, gone and back, two documents for one engine id — and
// after every step both merges must give the same report.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TopologyNode } from '../model/topology.js';
import type { HostDocument } from './host-document.js';
import { createFleetMergeMemory, mergeFleetIncremental, mergeFleetReport, type FleetMergeMemory, type HostState } from './merge-fleet.js';
import { parseHostDocument } from './parse-host-document.js';

const fixture = (path: string) => parseHostDocument(readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), 'utf8'));
const DOCS: readonly HostDocument[] = [
  fixture('fleet-lab/captured/fc1.json'), fixture('fleet-lab/captured/fc2.json'), fixture('fleet-lab/captured/fc3.json'),
  fixture('fleet/plfn1-h1.json'), fixture('fleet/plfn1-h2.json'), fixture('fleet/plfn1-h3.json'),
];
const T0 = Math.max(...DOCS.map((d) => Date.parse(d.takenAt)));

/** One step on host `host` (index into DOCS); `k` picks an edge, a node, another host or an age. */
type Op = { readonly op: (typeof OPS)[number]; readonly host: number; readonly k: number };
const OPS = [
  'touch', 'bytes', 'drop-edge', 'drop-container', 'steal-container', 'steal-address', 'drop-flows', 'drop-networks',
  'hostname', 'seen', 'toggle', 'duplicate', 'same', 'advance',
] as const;

interface Held { doc: HostDocument; lastSeenMs: number; present: boolean; duplicate?: HostState }

function withTopology(doc: HostDocument, nodes: readonly TopologyNode[], edges: HostDocument['topology']['edges']): HostDocument {
  return { ...doc, topology: { ...doc.topology, nodes, edges } };
}

/** Applies one step to the held hosts (new objects for what changes, as the hub does). */
function step(held: Held[], o: Op, now: { t: number }): void {
  const h = held[o.host % held.length] as Held;
  const other = held[(o.host + 1 + (o.k % (held.length - 1))) % held.length] as Held;
  const d = h.doc;
  const pick = <T>(list: readonly T[]): T | undefined => list[o.k % Math.max(1, list.length)];
  switch (o.op) {
    case 'touch': h.doc = { ...d, takenAt: new Date(now.t).toISOString() }; break;
    case 'bytes': {
      const e = pick(d.topology.edges);
      if (!e) break;
      const traffic = e.traffic ?? { bytesSent: 0, bytesReceived: 0, bytesSource: 'conntrack' as const, measuredConnections: 0, conntrackConnections: 1 };
      h.doc = withTopology(d, d.topology.nodes, d.topology.edges.map((x) => (x === e ? { ...x, traffic: { ...traffic, bytesSent: traffic.bytesSent + 1 + o.k } } : x)));
      break;
    }
    case 'drop-edge': {
      const e = pick(d.topology.edges);
      if (e) h.doc = withTopology(d, d.topology.nodes, d.topology.edges.filter((x) => x !== e));
      break;
    }
    case 'drop-container': {
      const n = pick(d.topology.nodes.filter((x) => x.kind === 'container'));
      if (n) h.doc = withTopology(d, d.topology.nodes.filter((x) => x !== n), d.topology.edges.filter((e) => e.from !== n.id && e.to !== n.id));
      break;
    }
    case 'steal-container': {
      const n = pick(other.doc.topology.nodes.filter((x) => x.kind === 'container'));
      if (n && !d.topology.nodes.some((x) => x.id === n.id)) h.doc = withTopology(d, [...d.topology.nodes, n], d.topology.edges);
      break;
    }
    case 'steal-address': {
      const a = pick(other.doc.addresses);
      if (a) h.doc = { ...d, addresses: [...d.addresses, a] };
      break;
    }
    case 'drop-flows': h.doc = { ...d, flows: [] }; break;
    case 'drop-networks': h.doc = { ...d, networks: [] }; break;
    case 'hostname': h.doc = { ...d, hostname: `${d.hostname}-${o.k}` }; break;
    // Heard just now, a while ago (stale) or past the retention (expired).
    case 'seen': h.lastSeenMs = now.t - [0, 10_000, 7_200_000][o.k % 3]!; break;
    case 'toggle': h.present = !h.present; break;
    // Another document with this host's engine id (an older or a newer run): the newest heard wins.
    case 'duplicate': h.duplicate = o.k % 3 === 0 ? undefined : { document: { ...other.doc, engineId: d.engineId }, lastSeenMs: h.lastSeenMs + (o.k % 2 === 0 ? 500 : -500) }; break;
    case 'same': break;
    case 'advance': now.t += 1000 * (1 + (o.k % 5)); break;
  }
}

const statesOf = (held: readonly Held[]): HostState[] =>
  held.flatMap((h) => (h.present ? [{ document: h.doc, lastSeenMs: h.lastSeenMs }, ...(h.duplicate ? [h.duplicate] : [])] : []));

const ops = fc.array(fc.record({ op: fc.constantFrom(...OPS), host: fc.nat(DOCS.length - 1), k: fc.nat(1000) }), { minLength: 1, maxLength: 25 });

describe('mergeFleetIncremental', () => {
  it('gives the full merge\'s report after every step of random host updates on real documents', () => {
    fc.assert(fc.property(ops, (list) => {
      const now = { t: T0 };
      const held: Held[] = DOCS.map((doc) => ({ doc, lastSeenMs: T0, present: true }));
      let memory: FleetMergeMemory = createFleetMergeMemory();
      for (const o of list) {
        step(held, o, now);
        const states = statesOf(held);
        const r = mergeFleetIncremental(states, now.t, {}, memory);
        memory = r.memory;
        expect(r.report).toStrictEqual(mergeFleetReport(states, now.t));
      }
    }), { numRuns: 60 });
  }, 60_000);

  it('keeps an unchanged host\'s nodes and edges (the same objects) and makes a changed host\'s again', () => {
    const states: HostState[] = DOCS.map((document) => ({ document, lastSeenMs: T0 }));
    const first = mergeFleetIncremental(states, T0, {}, createFleetMergeMemory());
    const changed = DOCS[0] as HostDocument;
    const next = states.map((s) => (s.document === changed ? { ...s, document: { ...changed, takenAt: new Date(T0 + 1).toISOString() } } : s));
    const second = mergeFleetIncremental(next, T0, {}, first.memory);
    expect(second.report).toStrictEqual(mergeFleetReport(next, T0));
    const before = new Map(first.report.topology.nodes.map((n) => [n.id, n]));
    const unchanged = second.report.topology.nodes.filter((n) => n.host !== changed.engineId);
    const remade = second.report.topology.nodes.filter((n) => n.host === changed.engineId && n.kind !== 'host');
    expect(unchanged.length).toBeGreaterThan(0);
    expect(remade.length).toBeGreaterThan(0);
    for (const n of unchanged) expect(before.get(n.id)).toBe(n);
    for (const n of remade) {
      expect(before.get(n.id)).not.toBe(n);
      expect(before.get(n.id)).toStrictEqual(n);
    }
    // A fresh memory makes every part again.
    const fresh = mergeFleetIncremental(next, T0, {}, createFleetMergeMemory());
    expect(fresh.report.topology.nodes.some((n) => before.get(n.id) === n)).toBe(false);
  });
});
