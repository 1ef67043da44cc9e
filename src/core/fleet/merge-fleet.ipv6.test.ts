// The fleet over IPv6: the same joins as merge-fleet.test.ts's IPv4 lab, with IPv6 host, container and overlay
// addresses (Docker with `ipv6: true` and ip6tables: a published port is DNATed and a container's outgoing
// connection MASQUERADEd to the host's IPv6 address, as in IPv4). Addresses reach the merge as the agent writes them
// (canonical text) except where said.
import { describe, expect, it } from 'vitest';
import type { ContainerNode, ExternalNode, Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { edgeId } from '../model/topology.js';
import { HOST_DOCUMENT_VERSION, type HostDocument, type HostFlow } from './host-document.js';
import { mergeFleet, mergeFleetReport, type HostState } from './merge-fleet.js';

const T = '2026-12-07T12:00:00.000Z';
const NOW = Date.parse(T);
const id = (c: string) => c.repeat(64);

function container(cid: string, name: string, ipv6: string, extra: Partial<ContainerNode> = {}): ContainerNode {
  return { kind: 'container', id: cid, name, image: 'busybox', networkMode: 'bridge', networks: [{ name: 'bridge', ipv4: '172.17.0.9', ipv6 }], ports: [], pid: 100, ...extra };
}
const external = (address: string): ExternalNode => ({ kind: 'external', id: `external:${address}`, name: address, address });
function edge(from: string, to: string, port: number, details: NonNullable<TopologyEdge['details']>, extra: Partial<TopologyEdge> = {}): TopologyEdge {
  return { id: edgeId(from, to, 'tcp', port), from, to, protocol: 'tcp', port, connections: details.length, states: { ESTABLISHED: details.length }, via: ['address'], details, ...extra };
}
function doc(engineId: string, hostname: string, addresses: string[], nodes: TopologyNode[], edges: TopologyEdge[], flows: HostFlow[] = [], networks: HostDocument['networks'] = []): HostDocument {
  const topology: Topology = { takenAt: T, hostname, warnings: [], nodes, edges };
  return { version: HOST_DOCUMENT_VERSION, engineId, hostname, addresses, takenAt: T, intervalMs: 2000, topology, networks, flows };
}
const seen = (document: HostDocument): HostState => ({ document, lastSeenMs: NOW });

// h1 fd00:78::1, h2 fd00:78::2; each host's first container is fd00:17::2; client on h1 (fd00:17::3) dials
// [fd00:78::2]:8080, published by web on h2 (fd00:17::3, port 80).
const first1 = container(id('a'), 'first', 'fd00:17::2');
const client = container(id('b'), 'client', 'fd00:17::3');
const first2 = container(id('c'), 'first', 'fd00:17::2');
const web = container(id('d'), 'web', 'fd00:17::3', { ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '::', hostPort: 8080 }] });

const h1 = doc('ENGINE-1', 'h1', ['fd00:78::1'], [first1, client, external('fd00:78::2')], [
  edge(client.id, 'external:fd00:78::2', 8080, [{
    state: 'ESTABLISHED', via: 'address', client: { address: 'fd00:17::3', port: 47850 }, server: { address: 'fd00:78::2', port: 8080 }, clientPids: [11], serverPids: [],
  }]),
], [{ protocol: 'tcp', original: { src: 'fd00:17::3', sport: 47850, dst: 'fd00:78::2', dport: 8080 }, reply: { src: 'fd00:78::2', sport: 8080, dst: 'fd00:78::1', dport: 47850 } }]);
const h2 = doc('ENGINE-2', 'h2', ['fd00:78::2'], [first2, web, external('fd00:78::1')], [
  edge('external:fd00:78::1', web.id, 80, [{
    state: 'ESTABLISHED', via: 'dnat', client: { address: 'fd00:78::1', port: 47850 }, server: { address: 'fd00:17::3', port: 80 },
    published: { address: 'fd00:78::2', port: 8080 }, clientPids: [], serverPids: [22],
  }], { via: ['dnat'], publishedPorts: [8080] }),
], [{ protocol: 'tcp', original: { src: 'fd00:78::1', sport: 47850, dst: 'fd00:78::2', dport: 8080 }, reply: { src: 'fd00:17::3', sport: 80, dst: 'fd00:78::1', dport: 47850 } }]);

describe('mergeFleet over IPv6', () => {
  it('keeps two hosts\' containers with the same IPv6 address apart', () => {
    const t = mergeFleet([seen(h1), seen(h2)], NOW);
    expect(t.nodes.filter((n) => n.kind === 'container' && n.name === 'first').map((n) => [n.id, n.host])).toEqual([[id('a'), 'ENGINE-1'], [id('c'), 'ENGINE-2']]);
  });

  it('joins a connection through an IPv6 published port into one edge client → server, no host address left external', () => {
    const r = mergeFleetReport([seen(h1), seen(h2)], NOW);
    expect(r.joinedConnections).toBe(1);
    expect(r.topology.edges.map((e) => e.id)).toEqual([edgeId(client.id, web.id, 'tcp', 80)]);
    expect(r.topology.edges[0]?.publishedPorts).toEqual([8080]);
    expect(r.topology.nodes.filter((n) => n.kind === 'external')).toEqual([]);
  });

  it('names the container behind an IPv6 published port from the client side alone, the client host from the server side alone', () => {
    const h2Quiet = doc('ENGINE-2', 'h2', ['fd00:78::2'], [first2, web], []);
    expect(mergeFleet([seen(h1), seen(h2Quiet)], NOW).edges.map((e) => e.id)).toEqual([edgeId(client.id, web.id, 'tcp', 80)]);
    const h1Quiet = doc('ENGINE-1', 'h1', ['fd00:78::1'], [first1, client], []);
    expect(mergeFleet([seen(h1Quiet), seen(h2)], NOW).edges.map((e) => e.id)).toEqual([edgeId('ENGINE-1/host', web.id, 'tcp', 80)]);
  });

  it('matches a host address written in another IPv6 form (zeros spelt out) to the same host', () => {
    const h1Long = { ...h1, addresses: ['fd00:78:0:0:0:0:0:1'] };
    const h2Quiet = doc('ENGINE-2', 'h2', ['FD00:78:0::2'], [first2, web], []);
    expect(mergeFleet([seen(h1Long), seen(h2Quiet)], NOW).edges.map((e) => e.id)).toEqual([edgeId(client.id, web.id, 'tcp', 80)]);
  });

  it('joins two containers on an overlay network by their IPv6 addresses', () => {
    const ovl = [{ name: 'ovl', id: 'o'.repeat(25) }];
    const a = container(id('e'), 'ovl-client', 'fd00:9::4', { networks: [{ name: 'ovl', ipv6: 'fd00:9::4' }] });
    const b = container(id('f'), 'ovl-server', 'fd00:9::2', { networks: [{ name: 'ovl', ipv6: 'fd00:9::2' }] });
    const d = { state: 'ESTABLISHED' as const, via: 'address' as const, client: { address: 'fd00:9::4', port: 33944 }, server: { address: 'fd00:9::2', port: 7000 }, clientPids: [], serverPids: [] };
    const o1 = doc('ENGINE-1', 'h1', ['fd00:78::1'], [a, external('fd00:9::2')], [edge(a.id, 'external:fd00:9::2', 7000, [d])], [], ovl);
    const o2 = doc('ENGINE-2', 'h2', ['fd00:78::2'], [b, external('fd00:9::4')], [edge('external:fd00:9::4', b.id, 7000, [d])], [], ovl);
    const t = mergeFleet([seen(o1), seen(o2)], NOW);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId(a.id, b.id, 'tcp', 7000)]);
    expect(t.edges[0]?.connections).toBe(1);
  });
});
