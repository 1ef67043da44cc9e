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

  it('keeps the nodes and edges whose own objects did not change (the same objects), and makes the changed ones again', () => {
    const states: HostState[] = DOCS.map((document) => ({ document, lastSeenMs: T0 }));
    const first = mergeFleetIncremental(states, T0, {}, createFleetMergeMemory());
    // A lab host with edges between its own containers.
    const changed = DOCS[5] as HostDocument;
    const nodesBefore = new Map(first.report.topology.nodes.map((n) => [n.id, n]));
    const edgesBefore = new Map(first.report.topology.edges.map((e) => [e.id, e]));
    // Only its time changed (an idle host): its part is kept, every node and edge the same object.
    const touched = states.map((s) => (s.document === changed ? { ...s, document: { ...changed, takenAt: new Date(T0 + 1).toISOString() } } : s));
    const second = mergeFleetIncremental(touched, T0, {}, first.memory);
    expect(second.report).toStrictEqual(mergeFleetReport(touched, T0));
    expect(second.memory.parts.get(changed.engineId)).toBe(first.memory.parts.get(changed.engineId));
    for (const n of second.report.topology.nodes) expect(nodesBefore.get(n.id)).toBe(n);
    // Edges joined across hosts are drafted again by every merge (the hub interns them); every other edge is kept.
    const hostOf = new Map(second.report.topology.nodes.map((n) => [n.id, n.host]));
    const joined = new Set(second.report.topology.edges.filter((e) => e !== edgesBefore.get(e.id)).map((e) => e.id));
    for (const id of joined) expect(hostOf.get(edgesBefore.get(id)?.from ?? '')).not.toBe(hostOf.get(edgesBefore.get(id)?.to ?? ''));
    // One edge of its own changed (new edge and edges objects): that edge is made again, its nodes and other edges kept.
    const edge = changed.topology.edges.find((e) => e.from !== e.to && !e.to.startsWith('external:') && !e.from.startsWith('external:')) as HostDocument['topology']['edges'][number];
    const bytes = { ...edge, connections: edge.connections + 1 };
    const edged = { ...changed, topology: { ...changed.topology, edges: changed.topology.edges.map((e) => (e === edge ? bytes : e)) } };
    const third = mergeFleetIncremental(touched.map((s) => (s.document.engineId === changed.engineId ? { ...s, document: edged } : s)), T0, {}, second.memory);
    expect(third.report).toStrictEqual(mergeFleetReport(touched.map((s) => (s.document.engineId === changed.engineId ? { ...s, document: edged } : s)), T0));
    expect(third.memory.parts.get(changed.engineId)).not.toBe(first.memory.parts.get(changed.engineId));
    for (const n of third.report.topology.nodes) expect(nodesBefore.get(n.id)).toBe(n);
    const remade = third.report.topology.edges.filter((e) => e !== edgesBefore.get(e.id) && !joined.has(e.id));
    expect(remade.map((e) => e.connections)).toStrictEqual([edge.connections + 1]);
    // New node objects (equal content): made again, equal.
    const renodes = { ...edged, topology: { ...edged.topology, nodes: edged.topology.nodes.map((n) => ({ ...n })) } };
    const fourth = mergeFleetIncremental(touched.map((s) => (s.document.engineId === changed.engineId ? { ...s, document: renodes } : s)), T0, {}, third.memory);
    const own = fourth.report.topology.nodes.filter((n) => n.host === changed.engineId && n.kind !== 'host');
    expect(own.length).toBeGreaterThan(0);
    for (const n of own) {
      expect(nodesBefore.get(n.id)).not.toBe(n);
      expect(nodesBefore.get(n.id)).toStrictEqual(n);
    }
    for (const n of fourth.report.topology.nodes.filter((x) => x.host !== changed.engineId)) expect(nodesBefore.get(n.id)).toBe(n);
    // A fresh memory makes every part again.
    const fresh = mergeFleetIncremental(touched, T0, {}, createFleetMergeMemory());
    expect(fresh.report.topology.nodes.some((n) => nodesBefore.get(n.id) === n)).toBe(false);
  });
});
