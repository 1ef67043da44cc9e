import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Topology } from '../model/topology.js';
import { buildTopology } from './build-topology.js';
import { applyTopologyDiff, diffTopology, isEmptyDiff } from './diff-topology.js';

const byId = <T extends { id: string }>(xs: readonly T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
const content = (t: Topology) => ({ ...t, nodes: byId(t.nodes), edges: byId(t.edges) });

// The next snapshot: web closed one connection to api, udpc stopped sending, web opened a second connection to db
// and one to a new external address, curl is gone.
function nextSnapshot(): Snapshot {
  const s = syntheticSnapshot();
  const sockets = s.sockets.map((t) => ({
    ...t,
    sockets: t.sockets.filter((x) => ![102, 203, 922, 802].includes(x.inode)),
  }));
  const conntrack = s.conntrack.status === 'ok'
    ? { ...s.conntrack, entries: s.conntrack.entries.filter((e) => e.original.dport !== 5353 && e.original.dport !== 19090) }
    : s.conntrack;
  const web = sockets.find((t) => t.netns === 101);
  const db = sockets.find((t) => t.netns === 103);
  web?.sockets.push({ ...web.sockets[0]!, inode: 150, local: { address: '172.18.0.2', port: 50200 }, remote: { address: '172.18.0.4', port: 5432 } });
  web?.sockets.push({ ...web.sockets[0]!, inode: 151, local: { address: '172.18.0.2', port: 50300 }, remote: { address: '198.51.100.7', port: 443 } });
  db?.sockets.push({ ...db.sockets[3]!, inode: 350, local: { address: '172.18.0.4', port: 5432 }, remote: { address: '172.18.0.2', port: 50200 } });
  return { ...s, takenAt: '2026-11-21T06:00:05.000Z', sockets, conntrack };
}

describe('diffTopology', () => {
  const a = buildTopology(syntheticSnapshot());
  const b = buildTopology(nextSnapshot());
  const d = diffTopology(a, b);

  it('lists added, updated and removed edges and nodes by id', () => {
    expect(d.from).toBe(a.takenAt);
    expect(d.to).toBe(b.takenAt);
    expect(d.edges.added.map((e) => e.id)).toEqual([`${IDS.web}->external:198.51.100.7/tcp/443`]);
    expect(d.nodes.added).toEqual([{ kind: 'external', id: 'external:198.51.100.7', name: '198.51.100.7', address: '198.51.100.7' }]);
    expect(d.edges.updated.map((e) => e.id).sort()).toEqual([`${IDS.web}->${IDS.api}/tcp/8080`, `${IDS.web}->${IDS.db}/tcp/5432`].sort());
    expect(d.edges.updated.find((e) => e.id === `${IDS.web}->${IDS.api}/tcp/8080`)?.connections).toBe(1);
    expect([...d.edges.removed].sort()).toEqual([`${IDS.udpc}->${IDS.udps}/udp/5353`, `process:curl->${IDS.dn}/tcp/9090`].sort());
    expect(d.nodes.removed).toEqual(['process:curl']);
    expect(d.nodes.updated).toEqual([]);
    expect(d.warnings).toBeUndefined();
  });

  it('applying the diff gives the next topology', () => {
    expect(content(applyTopologyDiff(a, d))).toEqual(content(b));
    expect(content(applyTopologyDiff(b, diffTopology(b, a)))).toEqual(content(a));
  });

  it('an unchanged topology gives an empty diff; warnings are sent when they change', () => {
    expect(isEmptyDiff(diffTopology(a, buildTopology(syntheticSnapshot())))).toBe(true);
    const c = buildTopology(syntheticSnapshot({ conntrack: false }));
    const dc = diffTopology(a, c);
    expect(dc.warnings).toEqual(c.warnings);
    expect(isEmptyDiff(dc)).toBe(false);
    expect(content(applyTopologyDiff(a, dc))).toEqual(content(c));
  });
});

describe('diffTopology with the same ids in the same order', () => {
  const a = buildTopology(syntheticSnapshot());
  it('lists only the items whose content changed (the same objects, or equal new ones, are not)', () => {
    const [first, second] = a.edges;
    const next: Topology = {
      ...a,
      nodes: a.nodes.map((n) => ({ ...n })),
      edges: a.edges.map((e) => (e === first ? { ...e, connections: e.connections + 1 } : e === second ? { ...e } : e)),
    };
    const d = diffTopology(a, next);
    expect(d.nodes).toEqual({ added: [], updated: [], removed: [] });
    expect(d.edges.added).toEqual([]);
    expect(d.edges.removed).toEqual([]);
    expect(d.edges.updated).toEqual([next.edges[0]]);
    // The same as the diff of the same lists in another order (the path by map).
    const reversed = diffTopology({ ...a, edges: [...a.edges].reverse() }, next);
    expect(reversed.edges).toEqual(d.edges);
    expect(content(applyTopologyDiff(a, d))).toEqual(content(next));
  });
});

describe('fleet hosts in diffs', () => {
  const a: Topology = { ...buildTopology(syntheticSnapshot()), hosts: [{ id: 'h1', name: 'one' }, { id: 'h2', name: 'two' }] };

  it('carries the hosts only when they changed, and applying keeps them', () => {
    const same = diffTopology(a, { ...a, takenAt: '2026-11-21T06:00:05.000Z' });
    expect(same.hosts).toBeUndefined();
    expect(isEmptyDiff(same)).toBe(true);
    expect(applyTopologyDiff(a, same).hosts).toEqual(a.hosts);
    const b: Topology = { ...a, takenAt: '2026-11-21T06:00:05.000Z', hosts: [{ id: 'h1', name: 'one' }, { id: 'h2', name: 'two', stale: true }] };
    const d = diffTopology(a, b);
    expect(d.hosts).toEqual(b.hosts);
    expect(isEmptyDiff(d)).toBe(false);
    expect(applyTopologyDiff(a, d)).toEqual(b);
  });

  it('keeps a document\'s own fields (the stream\'s `stale`)', () => {
    const doc = { ...a, stale: false };
    expect(applyTopologyDiff(doc, diffTopology(a, a)).stale).toBe(false);
  });
});
