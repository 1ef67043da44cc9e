import { describe, expect, it } from 'vitest';
import type { ContainerNode, ExternalNode, Topology, TopologyEdge, TopologyNode } from '../model/topology.js';
import { edgeId } from '../model/topology.js';
import { HOST_DOCUMENT_VERSION, type HostDocument, type HostFlow } from './host-document.js';
import { mergeFleet, mergeFleetReport, type HostState } from './merge-fleet.js';

// Two hosts as the lab reference measured them (shared/reference/multihost-lab.md): mh1 10.78.0.1, mh2 10.78.0.2;
// each host's first container is 172.17.0.2; client on mh1 (172.17.0.3) → nc 10.78.0.2 8080 → web on mh2
// (-p 8080:80, 172.17.0.3).
const T = '2026-12-07T12:00:00.000Z';
const NOW = Date.parse(T);
const id = (c: string) => c.repeat(64);

function container(cid: string, name: string, ip: string, extra: Partial<ContainerNode> = {}): ContainerNode {
  return { kind: 'container', id: cid, name, image: 'busybox', networkMode: 'bridge', networks: [{ name: 'bridge', ipv4: ip }], ports: [], pid: 100, ...extra };
}
function external(address: string): ExternalNode {
  return { kind: 'external', id: `external:${address}`, name: address, address };
}
function edge(from: string, to: string, port: number, details: TopologyEdge['details'], extra: Partial<TopologyEdge> = {}): TopologyEdge {
  return {
    id: edgeId(from, to, 'tcp', port), from, to, protocol: 'tcp', port, connections: details?.length ?? 1, states: { ESTABLISHED: details?.length ?? 1 },
    via: ['address'], ...(details ? { details } : {}), ...extra,
  };
}
function doc(engineId: string, hostname: string, addresses: string[], nodes: TopologyNode[], edges: TopologyEdge[], flows: HostFlow[] = [], networks: HostDocument['networks'] = []): HostDocument {
  const topology: Topology = { takenAt: T, hostname, warnings: [], nodes, edges };
  return { version: HOST_DOCUMENT_VERSION, engineId, hostname, addresses, takenAt: T, intervalMs: 2000, topology, networks, flows };
}
const seen = (document: HostDocument, lastSeenMs = NOW): HostState => ({ document, lastSeenMs });

const first1 = container(id('a'), 'first', '172.17.0.2');
const client = container(id('b'), 'client', '172.17.0.3');
const first2 = container(id('c'), 'first', '172.17.0.2');
const web = container(id('d'), 'web', '172.17.0.3', { ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }] });

const traffic = { bytesSent: 1000, bytesReceived: 5000, bytesSource: 'tcp_info' as const, measuredConnections: 1, conntrackConnections: 0, rttMeanMs: 0.2 };
const mh1 = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [first1, client, external('10.78.0.2')], [
  edge(client.id, 'external:10.78.0.2', 8080, [{
    state: 'ESTABLISHED', via: 'address', client: { address: '172.17.0.3', port: 47850 }, server: { address: '10.78.0.2', port: 8080 }, clientPids: [11], serverPids: [],
  }], { traffic }),
], [{ protocol: 'tcp', original: { src: '172.17.0.3', sport: 47850, dst: '10.78.0.2', dport: 8080 }, reply: { src: '10.78.0.2', sport: 8080, dst: '10.78.0.1', dport: 47850 } }]);
const mh2 = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [first2, web, external('10.78.0.1')], [
  edge('external:10.78.0.1', web.id, 80, [{
    state: 'ESTABLISHED', via: 'dnat', client: { address: '10.78.0.1', port: 47850 }, server: { address: '172.17.0.3', port: 80 },
    published: { address: '10.78.0.2', port: 8080 }, clientPids: [], serverPids: [22],
  }], { via: ['dnat'], publishedPorts: [8080], traffic: { ...traffic, bytesSent: 999 } }),
], [{ protocol: 'tcp', original: { src: '10.78.0.1', sport: 47850, dst: '10.78.0.2', dport: 8080 }, reply: { src: '172.17.0.3', sport: 80, dst: '10.78.0.1', dport: 47850 } }]);

describe('mergeFleet', () => {
  it('keeps containers with the same address on two hosts apart, each on its host', () => {
    const t = mergeFleet([seen(mh1), seen(mh2)], NOW);
    const firsts = t.nodes.filter((n) => n.kind === 'container' && n.name === 'first');
    expect(firsts.map((n) => [n.id, n.host])).toEqual([[id('a'), 'ENGINE-1'], [id('c'), 'ENGINE-2']]);
    expect(t.hosts).toEqual([{ id: 'ENGINE-1', name: 'mh1' }, { id: 'ENGINE-2', name: 'mh2' }]);
  });

  it('joins a connection through a published port into one edge client → server, with the client side traffic', () => {
    const r = mergeFleetReport([seen(mh1), seen(mh2)], NOW);
    const t = r.topology;
    expect(r.joinedConnections).toBe(1);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId(client.id, web.id, 'tcp', 80)]);
    const e = t.edges[0];
    expect(e?.publishedPorts).toEqual([8080]);
    expect(e?.traffic?.bytesSent).toBe(1000);
    expect(e?.details).toEqual([{
      state: 'ESTABLISHED', via: 'dnat', client: { address: '172.17.0.3', port: 47850 }, server: { address: '172.17.0.3', port: 80 },
      published: { address: '10.78.0.2', port: 8080 }, clientPids: [11], serverPids: [22],
    }]);
    // The hosts' addresses are no external nodes any more.
    expect(t.nodes.filter((n) => n.kind === 'external')).toEqual([]);
  });

  it('names the container behind the published port when only the client side is known', () => {
    const mh2Quiet = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [first2, web], []);
    const t = mergeFleet([seen(mh1), seen(mh2Quiet)], NOW);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId(client.id, web.id, 'tcp', 80)]);
    expect(t.edges[0]?.publishedPorts).toEqual([8080]);
  });

  it('names the client host when only the server side is known, never "external"', () => {
    const mh1Quiet = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [first1, client], []);
    const t = mergeFleet([seen(mh1Quiet), seen(mh2)], NOW);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId('ENGINE-1/host', web.id, 'tcp', 80)]);
    expect(t.nodes.find((n) => n.id === 'ENGINE-1/host')).toEqual({ kind: 'host', id: 'ENGINE-1/host', name: 'mh1', host: 'ENGINE-1' });
  });

  it('leaves a real external address external, scoped by the host that saw it', () => {
    const out = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [client, external('192.0.2.7')], [
      edge(client.id, 'external:192.0.2.7', 443, [{ state: 'ESTABLISHED', via: 'address', client: { address: '172.17.0.3', port: 5000 }, server: { address: '192.0.2.7', port: 443 }, clientPids: [], serverPids: [] }]),
    ]);
    const t = mergeFleet([seen(out), seen(mh2)], NOW);
    expect(t.nodes.find((n) => n.kind === 'external')).toMatchObject({ id: 'ENGINE-1/external:192.0.2.7', host: 'ENGINE-1', address: '192.0.2.7' });
    expect(t.edges.map((e) => e.id)).toContain(edgeId(client.id, 'ENGINE-1/external:192.0.2.7', 'tcp', 443));
  });

  it('joins two containers on an overlay network across hosts into one edge', () => {
    const ovl = [{ name: 'ovl', id: 'o'.repeat(25) }];
    const a = container(id('e'), 'ovl-client', '10.0.9.4', { networks: [{ name: 'ovl', ipv4: '10.0.9.4' }] });
    const b = container(id('f'), 'ovl-server', '10.0.9.2', { networks: [{ name: 'ovl', ipv4: '10.0.9.2' }] });
    const d = { state: 'ESTABLISHED' as const, via: 'address' as const, client: { address: '10.0.9.4', port: 33944 }, server: { address: '10.0.9.2', port: 7000 }, clientPids: [], serverPids: [] };
    const h1 = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [a, external('10.0.9.2')], [edge(a.id, 'external:10.0.9.2', 7000, [d])], [], ovl);
    const h2 = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [b, external('10.0.9.4')], [edge('external:10.0.9.4', b.id, 7000, [d])], [], ovl);
    const t = mergeFleet([seen(h1), seen(h2)], NOW);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId(a.id, b.id, 'tcp', 7000)]);
    expect(t.edges[0]?.connections).toBe(1);
    // Without the client's side the overlay peer is still named.
    const h1Quiet = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [a], [], [], ovl);
    expect(mergeFleet([seen(h1Quiet), seen(h2)], NOW).edges.map((e) => e.id)).toEqual([edgeId(a.id, b.id, 'tcp', 7000)]);
    // The same address on another network (a local bridge that happens to be called ovl elsewhere) is not a peer.
    const h2Local = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [b], [], [], [{ name: 'ovl', id: 'x'.repeat(64) }]);
    expect(mergeFleet([seen(h1), seen(h2Local)], NOW).edges.map((e) => e.id)).toEqual([edgeId(a.id, 'ENGINE-1/external:10.0.9.2', 'tcp', 7000)]);
  });

  it('joins a UDP flow through a published port like a TCP connection (conntrack tuples on both hosts)', () => {
    const dns = container(id('9'), 'dns', '172.17.0.5', { ports: [{ containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0', hostPort: 5353 }] });
    const udp = (e: TopologyEdge): TopologyEdge => ({ ...e, id: edgeId(e.from, e.to, 'udp', e.port), protocol: 'udp', states: { REPLIED: 1 }, via: ['conntrack'] });
    const h1 = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [client, external('10.78.0.2')], [udp(edge(client.id, 'external:10.78.0.2', 5353, [{
      state: 'REPLIED', via: 'conntrack', client: { address: '172.17.0.3', port: 41000 }, server: { address: '10.78.0.2', port: 5353 }, clientPids: [], serverPids: [],
    }]))], [{ protocol: 'udp', original: { src: '172.17.0.3', sport: 41000, dst: '10.78.0.2', dport: 5353 }, reply: { src: '10.78.0.2', sport: 5353, dst: '10.78.0.1', dport: 41000 } }]);
    const h2 = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [dns, external('10.78.0.1')], [udp(edge('external:10.78.0.1', dns.id, 53, [{
      state: 'REPLIED', via: 'conntrack', client: { address: '10.78.0.1', port: 41000 }, server: { address: '172.17.0.5', port: 53 }, published: { address: '10.78.0.2', port: 5353 }, clientPids: [], serverPids: [],
    }]))], [{ protocol: 'udp', original: { src: '10.78.0.1', sport: 41000, dst: '10.78.0.2', dport: 5353 }, reply: { src: '172.17.0.5', sport: 53, dst: '10.78.0.1', dport: 41000 } }]);
    const r = mergeFleetReport([seen(h1), seen(h2)], NOW);
    expect(r.joinedConnections).toBe(1);
    expect(r.topology.edges.map((e) => e.id)).toEqual([edgeId(client.id, dns.id, 'udp', 53)]);
    expect(r.topology.edges[0]?.publishedPorts).toEqual([5353]);
  });

  it('scopes host, process and external node ids by host', () => {
    const proc: TopologyNode = { kind: 'process', id: 'process:sshd', name: 'sshd', command: 'sshd', pids: [1] };
    const h1 = doc('ENGINE-1', 'mh1', ['10.78.0.1'], [proc, { kind: 'host', id: 'host', name: 'mh1' }], [edge('process:sshd', 'host', 22, undefined)]);
    const h2 = doc('ENGINE-2', 'mh2', ['10.78.0.2'], [proc, { kind: 'host', id: 'host', name: 'mh2' }], [edge('process:sshd', 'host', 22, undefined)]);
    const t = mergeFleet([seen(h1), seen(h2)], NOW);
    expect(t.nodes.map((n) => n.id)).toEqual(['ENGINE-1/host', 'ENGINE-1/process:sshd', 'ENGINE-2/host', 'ENGINE-2/process:sshd']);
    expect(t.edges.map((e) => e.id)).toEqual([edgeId('ENGINE-1/process:sshd', 'ENGINE-1/host', 'tcp', 22), edgeId('ENGINE-2/process:sshd', 'ENGINE-2/host', 'tcp', 22)]);
  });

  it('marks a silent host stale, keeps its last state until retention, then drops it; back without duplicates', () => {
    const staleAt = NOW + 3 * 2000 + 1;
    const t = mergeFleet([seen(mh1), seen(mh2, NOW - 7000)], NOW);
    expect(t.hosts).toEqual([{ id: 'ENGINE-1', name: 'mh1' }, { id: 'ENGINE-2', name: 'mh2', stale: true }]);
    expect(t.nodes.some((n) => n.id === web.id)).toBe(true);
    expect(mergeFleet([seen(mh1, staleAt), seen(mh2, staleAt)], staleAt).hosts?.every((h) => !h.stale)).toBe(true);
    const r = mergeFleetReport([seen(mh1), seen(mh2, NOW - 3_600_001)], NOW);
    expect(r.expired).toEqual(['ENGINE-2']);
    expect(r.topology.nodes.some((n) => n.host === 'ENGINE-2')).toBe(false);
    // Two documents of one host (it came back): the newest only.
    const back = mergeFleetReport([seen(mh2, NOW - 10_000), seen(mh1), seen(mh2)], NOW);
    expect(back.topology.nodes.filter((n) => n.id === web.id)).toHaveLength(1);
    expect(back.topology.hosts).toHaveLength(2);
  });

  it('a host claiming another host\'s container ids gets none of them, counted', () => {
    const liar = doc('ENGINE-9', 'liar', ['10.78.0.9'], [{ ...web }], []);
    const r = mergeFleetReport([seen(liar), seen(mh1), seen(mh2)], NOW);
    expect(r.conflictingContainers).toBe(1);
    expect(r.topology.nodes.filter((n) => n.id === web.id).map((n) => n.host)).toEqual(['ENGINE-2']);
    // A fresh host wins over a stale one, whatever the ids.
    const early = doc('ENGINE-0', 'liar', ['10.78.0.9'], [{ ...web }], []);
    const r2 = mergeFleetReport([seen(early, NOW - 7000), seen(mh2)], NOW);
    expect(r2.topology.nodes.filter((n) => n.id === web.id).map((n) => n.host)).toEqual(['ENGINE-2']);
    expect(r.topology.warnings.some((w) => w.includes('claimed by two hosts'))).toBe(true);
  });

  it('is deterministic whatever the order of the hosts', () => {
    expect(mergeFleet([seen(mh2), seen(mh1)], NOW)).toEqual(mergeFleet([seen(mh1), seen(mh2)], NOW));
  });
});
