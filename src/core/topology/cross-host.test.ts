import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeFleet } from '../fleet/merge-fleet.js';
import { parseHostDocument } from '../fleet/parse-host-document.js';
import type { Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { toCrossHostTopology } from './cross-host.js';

// Documents of a real three-host lab fleet (bench/fleet-capture.mjs: 50 containers, edges within and between
// hosts), merged as the hub merges them.
const dir = new URL('../../../test/fixtures/fleet/', import.meta.url);
const docs = ['h1', 'h2', 'h3'].map((h) => parseHostDocument(readFileSync(new URL(`plfn1-${h}.json`, dir), 'utf8')));
const now = Math.max(...docs.map((d) => Date.parse(d.takenAt)));
const fleet = mergeFleet(docs.map((document) => ({ document, lastSeenMs: now })), now);

const node = (id: string, host?: string): TopologyNode => ({ kind: 'external', id, name: id, address: '192.0.2.1', ...(host !== undefined ? { host } : {}) });
const edge = (from: string, to: string): TopologyEdge => ({ id: `${from}->${to}/tcp/80`, from, to, protocol: 'tcp', port: 80, connections: 1, states: { ESTABLISHED: 1 }, via: ['socket'] });

describe('toCrossHostTopology', () => {
  it('keeps every node and exactly the edges whose ends are on two hosts of the real lab fleet', () => {
    const hostOf = new Map(fleet.nodes.map((n) => [n.id, n.host]));
    const cross = fleet.edges.filter((e) => hostOf.get(e.from) !== hostOf.get(e.to));
    expect(cross.length).toBeGreaterThanOrEqual(2);
    expect(cross.length).toBeLessThan(fleet.edges.length);
    const { topology, partial } = toCrossHostTopology(fleet);
    expect(topology.nodes).toBe(fleet.nodes);
    expect(topology.hosts).toBe(fleet.hosts);
    expect(topology.takenAt).toBe(fleet.takenAt);
    expect(topology.edges.map((e) => e.id).sort()).toEqual(cross.map((e) => e.id).sort());
    // The edges kept are the topology's own objects (a diff of the whole topology applies to them).
    for (const e of topology.edges) expect(fleet.edges).toContain(e);
    expect(partial).toEqual({ edges: 'cross-host', omittedEdges: fleet.edges.length - cross.length });
  });

  it('leaves one agent’s topology (no hosts) whole', () => {
    const t: Topology = { takenAt: '2026-12-07T00:00:00.000Z', hostname: 'h', warnings: [], nodes: [node('a'), node('b')], edges: [edge('a', 'b')] };
    expect(toCrossHostTopology(t)).toEqual({ topology: t });
    expect(toCrossHostTopology(t).topology).toBe(t);
  });

  it('keeps edges it cannot place on one host (an end naming no node, a node without a host)', () => {
    const t: Topology = {
      takenAt: '2026-12-07T00:00:00.000Z', hostname: '', warnings: [], hosts: [{ id: 'H1', name: 'one' }, { id: 'H2', name: 'two' }],
      nodes: [node('a', 'H1'), node('b', 'H1'), node('c', 'H2'), node('x')],
      edges: [edge('a', 'b'), edge('a', 'c'), edge('a', 'x'), edge('x', 'b'), edge('a', 'gone'), edge('gone', 'b')],
    };
    const { topology, partial } = toCrossHostTopology(t);
    expect(topology.edges.map((e) => `${e.from}-${e.to}`)).toEqual(['a-c', 'a-x', 'x-b', 'a-gone', 'gone-b']);
    expect(partial).toEqual({ edges: 'cross-host', omittedEdges: 1 });
  });

  it('is the topology itself when no edge stays within a host', () => {
    const t: Topology = { takenAt: '2026-12-07T00:00:00.000Z', hostname: '', warnings: [], hosts: [{ id: 'H1', name: 'one' }, { id: 'H2', name: 'two' }], nodes: [node('a', 'H1'), node('c', 'H2')], edges: [edge('a', 'c')] };
    expect(toCrossHostTopology(t).topology).toBe(t);
    expect(toCrossHostTopology(t).partial).toBeUndefined();
  });
});
