// updateHierarchy (a fleet's hierarchy rebuilt only for the hosts a change touched) is held equal to
// buildHierarchy, entry order included, over random sequences of changes to a fleet.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetMap } from '../../test/fixtures/topology/synthetic-map.mjs';
import type { ContainerNode, Topology, TopologyNode } from '../core/model/topology.js';
import { buildHierarchy, updateHierarchy, type GroupBy, type Hierarchy } from './aggregate.js';

/** A hierarchy as plain, ordered data (Maps as their entries in order). */
const plain = (h: Hierarchy) => ({ aggregates: [...h.aggregates.entries()], roots: [...h.roots], chain: [...h.chain.entries()], sharesWith: [...h.sharesWith.entries()] });

type Step =
  | { op: 'add'; host: number; like: number; shareWith?: { host: number; pick: number } }
  | { op: 'remove'; pick: number }
  | { op: 'rename'; pick: number; name: string }
  | { op: 'project'; pick: number; project: string }
  | { op: 'stale'; host: number }
  | { op: 'emptyHost'; host: number }
  | { op: 'image'; pick: number; image: string }
  | { op: 'copyAll' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), host: fc.nat(7), like: fc.nat(), shareWith: fc.option(fc.record({ host: fc.nat(7), pick: fc.nat() }), { nil: undefined }) }),
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('rename' as const), pick: fc.nat(), name: fc.constantFrom('api-9', 'web-1', 'zz', 'a-10') }),
  fc.record({ op: fc.constant('project' as const), pick: fc.nat(), project: fc.constantFrom('shop', 'p-new', 'p0') }),
  fc.record({ op: fc.constant('stale' as const), host: fc.nat(7) }),
  fc.record({ op: fc.constant('emptyHost' as const), host: fc.nat(7) }),
  fc.record({ op: fc.constant('image' as const), pick: fc.nat(), image: fc.constantFrom('nginx:1', 'redis:7') }),
  // Every node a copy with the same content (the whole topology fetched behind a partial first document).
  fc.constant({ op: 'copyAll' as const }),
);

let serial = 0;
/** The topology after a step, keeping the objects of nodes it does not touch (as applyTopologyDiff does). */
function apply(t: Topology, s: Step): Topology {
  const hosts = t.hosts ?? [];
  const containers = t.nodes.filter((n): n is ContainerNode => n.kind === 'container');
  const hostOf = (i: number) => hosts[i % hosts.length]?.id ?? '';
  switch (s.op) {
    case 'add': {
      const here = containers.filter((n) => n.host === hostOf(s.host));
      const like = here[s.like % Math.max(1, here.length)] ?? containers[s.like % containers.length];
      if (!like) return t;
      serial++;
      const owner = s.shareWith ? containers.filter((n) => n.host === hostOf(s.shareWith?.host ?? 0))[s.shareWith.pick % 50] : undefined;
      const c: ContainerNode = { ...like, id: `${hostOf(s.host)}/late-${serial}`, name: `${like.name}-late${serial}`, host: hostOf(s.host), ...(owner ? { networkMode: `container:${owner.name}`, networks: [] } : {}) };
      return { ...t, nodes: [...t.nodes, c] };
    }
    case 'remove': {
      const gone = t.nodes[s.pick % t.nodes.length];
      return { ...t, nodes: t.nodes.filter((n) => n !== gone) };
    }
    case 'rename':
    case 'project': {
      const c = containers[s.pick % containers.length];
      if (!c) return t;
      const next: TopologyNode = s.op === 'rename' ? { ...c, name: s.name } : { ...c, compose: { ...(c.compose ?? { service: 'svc' }), project: s.project } };
      return { ...t, nodes: t.nodes.map((n) => (n === c ? next : n)) };
    }
    case 'stale':
      return { ...t, hosts: hosts.map((h, i) => (i === s.host % hosts.length ? { ...h, stale: !h.stale } : h)) };
    case 'emptyHost':
      return { ...t, nodes: t.nodes.filter((n) => n.host !== hostOf(s.host)) };
    case 'image': {
      // Among containers without a compose service, whose replica class is their image and name's shape.
      const bare = containers.filter((n) => !n.compose?.service);
      const p = bare[s.pick % Math.max(1, bare.length)];
      if (!p) return t;
      const next: TopologyNode = { ...p, image: s.image };
      return { ...t, nodes: t.nodes.map((n) => (n === p ? next : n)) };
    }
    case 'copyAll':
      return { ...t, nodes: JSON.parse(JSON.stringify(t.nodes)) as TopologyNode[] };
  }
}

describe('updateHierarchy', () => {
  // Half the hosts' containers without their compose service (replicas classed by image and name's shape).
  const base = fleetMap({ hosts: 8, perHost: 12, edgesPerHost: 20, seed: 5 });
  const bareHosts = new Set(['h000', 'h002', 'h004', 'h006']);
  const fleet: Topology = { ...base, nodes: base.nodes.map((n) => (n.kind === 'container' && bareHosts.has(n.host ?? '') && n.compose ? { ...n, compose: { project: n.compose.project } } as TopologyNode : n)) };

  it('equals buildHierarchy after every step of random changes, entry order included', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), fc.constantFrom<GroupBy>('compose', 'network'), (steps, groupBy) => {
      let t = fleet;
      let h = buildHierarchy(t, groupBy);
      for (const s of steps) {
        t = apply(t, s);
        h = updateHierarchy(h, t, groupBy);
        expect(plain(h)).toEqual(plain(buildHierarchy(t, groupBy)));
      }
    }), { numRuns: 60 });
  }, 60_000);

  it('a container started on one host of 100 rebuilds that host only: the others\' aggregates are the same objects', () => {
    const t = fleetMap();
    const h = buildHierarchy(t, 'compose');
    const like = t.nodes.find((n): n is ContainerNode => n.kind === 'container' && n.host === 'h042');
    if (!like) throw new Error('no container on h042');
    const next = { ...t, nodes: [...t.nodes, { ...like, id: 'h042/late', name: `${like.name}-late` }] };
    const u = updateHierarchy(h, next, 'compose');
    expect(plain(u)).toEqual(plain(buildHierarchy(next, 'compose')));
    expect(u.aggregates.get('host:h041')).toBe(h.aggregates.get('host:h041'));
    expect(u.aggregates.get('host:h042')).not.toBe(h.aggregates.get('host:h042'));
    expect(u.aggregates.get('host:h042')?.size).toBe((h.aggregates.get('host:h042')?.size ?? 0) + 1);
  });

  it('a replica whose image changed leaves its class (classed by image and name without a compose service)', () => {
    const t0 = fleetMap({ hosts: 8, perHost: 12, seed: 4 });
    const like = t0.nodes.find((n): n is ContainerNode => n.kind === 'container' && n.host === 'h001');
    if (!like) throw new Error('no container on h001');
    const bare = { ...like, compose: undefined };
    const twin: ContainerNode = { ...bare, id: 'h001/twin', name: like.name.replace(/\d+$/, '') + '7' };
    const t = { ...t0, nodes: [...t0.nodes.filter((n) => n !== like), bare, twin] };
    const h = buildHierarchy(t, 'compose');
    expect(h.chain.get(twin.id)).toEqual(h.chain.get(bare.id));
    expect(h.chain.get(twin.id)?.at(-1)).toMatch(/^svc:/);
    const next = { ...t, nodes: t.nodes.map((n) => (n === twin ? { ...twin, image: 'other:2' } : n)) };
    const u = updateHierarchy(h, next, 'compose');
    expect(plain(u)).toEqual(plain(buildHierarchy(next, 'compose')));
    expect(u.chain.get(twin.id)?.at(-1)).not.toMatch(/^svc:/);
  });

  it('the whole topology behind a partial first document (copies of the same nodes) rebuilds nothing', () => {
    const t = fleetMap({ hosts: 20, perHost: 10, seed: 3 });
    const h = buildHierarchy(t, 'compose');
    const copy = { ...t, nodes: JSON.parse(JSON.stringify(t.nodes)) as TopologyNode[] };
    const u = updateHierarchy(h, copy, 'compose');
    expect(plain(u)).toEqual(plain(buildHierarchy(copy, 'compose')));
    expect(u.aggregates.get('host:h003')).toBe(h.aggregates.get('host:h003'));
  });

  it('builds the whole hierarchy for another grouping or a hierarchy it did not build', () => {
    const t = fleetMap({ hosts: 4, perHost: 10, seed: 2 });
    const h = buildHierarchy(t, 'compose');
    expect(plain(updateHierarchy(h, t, 'network'))).toEqual(plain(buildHierarchy(t, 'network')));
    expect(plain(updateHierarchy({ ...h }, t, 'compose'))).toEqual(plain(h));
    expect(plain(updateHierarchy(undefined, t, 'compose'))).toEqual(plain(h));
  });
});
