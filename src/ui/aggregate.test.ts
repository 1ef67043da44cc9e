import { describe, expect, it } from 'vitest';
import { fleetMap, pairsMap, projectsMap } from '../../test/fixtures/topology/synthetic-map.mjs';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { Topology } from '../core/model/topology.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { aggregateView, buildHierarchy, chooseOpen, isOpen, namePattern, openingFor } from './aggregate.js';

const host = buildTopology(syntheticSnapshot());

describe('buildHierarchy', () => {
  it('groups by compose project or network; host processes and external addresses apart', () => {
    const h = buildHierarchy(host, 'compose');
    expect(h.chain.get(IDS.web)).toEqual(['group:compose:shop']);
    expect(h.chain.get(IDS.udpc)).toEqual(['group:net:bridge']);
    expect(h.chain.get('process:agent')).toEqual(['group:host']);
    expect(h.chain.get('external:93.184.216.34')).toEqual(['group:external']);
    expect(h.aggregates.get('group:host')?.label).toBe('host · vm');
    // Projects and networks first (by name), then host processes, external addresses last.
    expect(h.roots.slice(-2)).toEqual(['group:host', 'group:external']);
    expect(buildHierarchy(host, 'network').chain.get(IDS.web)).toEqual(['group:net:shop_net']);
  });

  it('a `container:` container is drawn with the container whose namespace it shares, in its group, right after it', () => {
    const h = buildHierarchy(host, 'network');
    expect(h.sharesWith.get(IDS.side)).toBe(IDS.api);
    expect(h.chain.get(IDS.side)).toEqual(h.chain.get(IDS.api));
    const nodes = h.aggregates.get('group:net:shop_net')?.nodes ?? [];
    expect(nodes.indexOf(IDS.side)).toBe(nodes.indexOf(IDS.api) + 1);
    // Nothing is named by a container id.
    for (const a of h.aggregates.values()) expect(a.label).not.toMatch(/[0-9a-f]{12}/);
  });

  it('a namespace owner that is not on the map: the group says whose namespace by id', () => {
    const t: Topology = { ...host, nodes: host.nodes.filter((n) => n.id !== IDS.api), edges: [] };
    const h = buildHierarchy(t, 'network');
    expect(h.aggregates.get(h.chain.get(IDS.side)?.[0] ?? '')?.label).toBe(`netns of ${IDS.api.slice(0, 12)}`);
  });

  it('replicas form a service: compose service, else the name\'s shape and image', () => {
    const h = buildHierarchy(pairsMap(), 'compose');
    const clients = h.aggregates.get('svc:group:net:pairs/shape:portolan-test:1|pair-#-client');
    expect(clients).toMatchObject({ kind: 'service', label: 'pair-*-client', size: 90, containers: 90, parent: 'group:net:pairs' });
    expect(h.aggregates.get('group:net:pairs')?.children).toHaveLength(2);
    // Singletons are no aggregate: the compose project's containers sit in it directly.
    expect(h.aggregates.get('group:compose:shop')?.children).toEqual([]);
    expect(namePattern(['web-1', 'web-12'])).toBe('web-*');
    expect(namePattern(['a1b', 'a1c'])).toBe('a1*');
  });

  it('a fleet: hosts outermost, groups scoped by host, stale hosts marked', () => {
    const f = fleetMap({ hosts: 3, perHost: 10, edgesPerHost: 20 });
    const h = buildHierarchy(f, 'compose');
    expect(h.roots).toHaveLength(3);
    const first = f.nodes.find((n) => n.kind === 'container');
    expect(h.chain.get(first?.id ?? '')?.[0]).toBe(`host:${first?.host}`);
    expect(h.aggregates.get(`host:${first?.host}`)?.label).toMatch(/^node-\d+\.dc\d$/);
    expect(buildHierarchy(fleetMap({ hosts: 8, perHost: 4, edgesPerHost: 4 }), 'compose').aggregates.get('host:h007')?.stale).toBe(true);
  });
});

describe('aggregateView', () => {
  const t = pairsMap();
  const h = buildHierarchy(t, 'compose');

  it('everything closed: one node per group, edges summed between them, edges inside a group not drawn', () => {
    const v = aggregateView(t, h, new Set());
    for (const u of v.units) {
      if (u.kind === 'aggregate') expect(u.aggregate.kind).toBe('group');
      else expect(h.aggregates.get(h.chain.get(u.id)?.[0] ?? '')?.size).toBe(1);
    }
    expect(v.units.filter((u) => u.kind === 'aggregate').length).toBeGreaterThanOrEqual(3);
    expect(v.inner.get('group:net:pairs')).toBe(90);
    // The host group holds one process: drawn as itself (nothing to fold); its edge goes to the shop project.
    const curl = v.edges.find((e) => e.source === 'process:curl');
    expect(curl).toMatchObject({ target: 'group:compose:shop', aggregated: true });
    // Every topology edge is drawn once or counted inside exactly one closed aggregate.
    const drawn = v.edges.reduce((n, e) => n + e.members.length, 0);
    const inner = [...v.inner.values()].reduce((a, b) => a + b, 0);
    expect(drawn + inner).toBe(t.edges.length);
  });

  it('everything open: every node as itself, every edge the topology\'s own', () => {
    const all = new Set(h.aggregates.keys());
    const v = aggregateView(t, h, all);
    expect(v.units).toHaveLength(t.nodes.length);
    expect(v.units.every((u) => u.kind === 'node')).toBe(true);
    expect(v.edges.map((e) => e.id).sort()).toEqual(t.edges.map((e) => e.id).sort());
    expect(v.edges.every((e) => !e.aggregated && e.members.length === 1)).toBe(true);
    expect(v.boxes.length).toBeGreaterThan(0);
  });

  it('a service closed inside an open group: one node for the replicas, one edge to the other service', () => {
    const v = aggregateView(t, h, new Set(['group:net:pairs']));
    const services = v.units.filter((u) => u.parent === 'group:net:pairs');
    expect(services.map((u) => u.kind === 'aggregate' && u.aggregate.label).sort()).toEqual(['pair-*-client', 'pair-*-server']);
    const between = v.edges.filter((e) => e.source.startsWith('svc:') && e.target.startsWith('svc:'));
    expect(between).toHaveLength(1);
    expect(between[0]?.members).toHaveLength(90);
    expect(openingFor(h, [t.nodes[0]?.id ?? ''])).toEqual(new Set(['group:net:pairs', 'svc:group:net:pairs/shape:portolan-test:1|pair-#-server']));
  });

  it('an aggregate of one node is always drawn open', () => {
    const one = [...h.aggregates.values()].find((a) => a.size === 1);
    expect(one && isOpen(one, new Set())).toBe(true);
  });
});

describe('chooseOpen', () => {
  it('opens everything when it fits', () => {
    const h = buildHierarchy(host, 'compose');
    const open = chooseOpen(h, 100);
    expect(aggregateView(host, h, open).units.every((u) => u.kind === 'node')).toBe(true);
  });

  it('the issue\'s 200 containers: the pairs as two services, the 20 others by name, within the budget', () => {
    const t = pairsMap();
    const h = buildHierarchy(t, 'compose');
    const v = aggregateView(t, h, chooseOpen(h, 40));
    expect(v.units.length).toBeLessThanOrEqual(40);
    const names = v.units.map((u) => (u.kind === 'node' ? u.node.name : u.aggregate.label));
    expect(names).toEqual(expect.arrayContaining(['pair-*-client', 'pair-*-server', 'shop-web-1', 'shop-api-1', 'shop-api-envoy', 'statsd', 'grafana', 'offline-batch']));
  });

  it('never exceeds the budget unless the person opened something, and opens what the person asked first', () => {
    const t = projectsMap();
    const h = buildHierarchy(t, 'compose');
    for (const budget of [5, 20, 60, 150]) expect(aggregateView(t, h, chooseOpen(h, budget)).units.length).toBeLessThanOrEqual(Math.max(budget, h.roots.length));
    const shop = chooseOpen(h, 5, new Set(['group:compose:shop']));
    expect(shop.has('group:compose:shop')).toBe(true);
  });

  it('within an aggregate just opened: only what is inside it', () => {
    const f = fleetMap({ hosts: 5, perHost: 20, edgesPerHost: 30 });
    const h = buildHierarchy(f, 'compose');
    const inside = chooseOpen(h, 50, new Set(), new Set(), 'host:h001');
    expect(inside.size).toBeGreaterThan(0);
    for (const id of inside) expect(h.aggregates.get(id)?.parent === 'host:h001' || h.aggregates.get(h.aggregates.get(id)?.parent ?? '')?.parent === 'host:h001').toBe(true);
  });

  it('a fleet of 5,000 containers in 100 hosts with a small budget: the hosts, closed', () => {
    const f = fleetMap();
    const h = buildHierarchy(f, 'compose');
    const v = aggregateView(f, h, chooseOpen(h, 100));
    expect(v.units).toHaveLength(100);
    expect(v.units.every((u) => u.kind === 'aggregate' && u.aggregate.kind === 'host')).toBe(true);
    expect(v.edges.length).toBeGreaterThan(0);
    expect(v.edges.every((e) => e.aggregated)).toBe(true);
  });
});
