import { describe, expect, it } from 'vitest';
import type { Attribution, AttributedSocket } from '../attribute.js';
import type { ProcessRef } from '../model/process.js';
import type { SocketState } from '../model/socket.js';
import type { ContainerTraffic } from '../model/traffic.js';
import type { ConntrackEntry, ConntrackTable } from '../model/conntrack.js';
import type { ContainerInfo } from '../model/container.js';
import type { Topology } from '../model/topology.js';
import { applyHostDocumentDiff, diffHostDocument, HostDocumentDiffError, isEmptyHostDocumentDiff } from './host-document-diff.js';
import { natedFlows, toHostDocument, type HostDocument } from './host-document.js';
import { checkHostDocument, HostDocumentError, parseHostDocument } from './parse-host-document.js';

const T = '2026-12-07T12:00:00.000Z';
const entry = (o: [string, number, string, number], r: [string, number, string, number], protocol = 'tcp'): ConntrackEntry => ({
  family: 'ipv4', protocol, protocolNumber: protocol === 'tcp' ? 6 : 17, state: 'ESTABLISHED', unreplied: false, assured: true,
  original: { src: o[0], sport: o[1], dst: o[2], dport: o[3] }, reply: { src: r[0], sport: r[1], dst: r[2], dport: r[3] },
});
// From the lab reference: mh1's MASQUERADE entry and a flow between two containers on one bridge (no NAT).
const table: ConntrackTable = {
  status: 'ok', netns: 1, accounting: 'on', entries: [
    entry(['172.17.0.3', 47850, '10.78.0.2', 8080], ['10.78.0.2', 8080, '10.78.0.1', 47850]),
    entry(['172.17.0.3', 40000, '172.17.0.2', 80], ['172.17.0.2', 80, '172.17.0.3', 40000]),
    entry(['127.0.0.1', 40001, '127.0.0.1', 8080], ['172.17.0.2', 80, '172.17.0.1', 40001]),
  ],
};
const containers: ContainerInfo[] = [{
  id: 'a'.repeat(64), name: 'web', image: 'busybox', networkMode: { kind: 'bridge', name: 'bridge' }, pid: 10, ports: [], labels: { SECRET: 'x' },
  networks: [{ name: 'bridge', ipv4: '172.17.0.2', gateway: '172.17.0.1', networkId: 'n'.repeat(64) }],
}];
const topology: Topology = {
  takenAt: T, hostname: 'mh1', warnings: [], edges: [],
  nodes: [{ kind: 'container', id: 'a'.repeat(64), name: 'web', image: 'busybox', networkMode: 'bridge', networks: [{ name: 'bridge', ipv4: '172.17.0.2' }], ports: [], pid: 10 }],
};
const identity = { engineId: 'ABCD:EFGH', hostname: 'mh1', addresses: ['10.78.0.1', '172.17.0.1', '127.0.0.1', '::1', 'fe80::1', '::ffff:10.78.0.1'] };

describe('toHostDocument', () => {
  const doc = toHostDocument({ snapshot: { containers, conntrack: table }, topology }, identity, 2000);
  it('keeps the host\'s own addresses, not loopback, link-local or Docker\'s gateways', () => {
    expect(doc.addresses).toEqual(['10.78.0.1']);
  });
  it('carries only NATed flows, and the networks\' ids; nothing of labels or environment', () => {
    expect(doc.flows).toEqual([{ protocol: 'tcp', original: { src: '172.17.0.3', sport: 47850, dst: '10.78.0.2', dport: 8080 }, reply: { src: '10.78.0.2', sport: 8080, dst: '10.78.0.1', dport: 47850 } }]);
    expect(doc.networks).toEqual([{ name: 'bridge', id: 'n'.repeat(64) }]);
    expect(JSON.stringify(doc)).not.toContain('SECRET');
  });
  it('caps the flows and counts the rest', () => {
    const many: ConntrackTable = { ...table, entries: Array.from({ length: 10 }, (_, i) => entry(['172.17.0.3', 1000 + i, '10.78.0.2', 80], ['10.78.0.2', 80, '10.78.0.1', 1000 + i])) };
    const d = toHostDocument({ snapshot: { containers, conntrack: many }, topology }, identity, 2000, { maxFlows: 4 });
    expect(d.flows).toHaveLength(4);
    expect(d.flowsOmitted).toBe(6);
  });
  it('has no flows without conntrack', () => {
    expect(natedFlows({ status: 'unavailable', reason: 'x' })).toEqual([]);
  });
  it('reads back through parseHostDocument', () => {
    expect(parseHostDocument(JSON.stringify(doc))).toEqual(doc);
  });
});

describe('parseHostDocument refuses what it cannot use, in bounded time', () => {
  const base = toHostDocument({ snapshot: { containers, conntrack: table }, topology }, identity, 2000);
  const mutate = (f: (d: Record<string, unknown>) => void) => { const d = structuredClone(base) as unknown as Record<string, unknown>; f(d); return JSON.stringify(d); };
  const cases: [string, string, string][] = [
    ['not JSON', '{"version":1', 'document'],
    ['an array', '[]', 'document'],
    ['another version', mutate((d) => { d.version = 2; }), 'version'],
    ['a bad engine id', mutate((d) => { d.engineId = '../../etc'; }), 'engineId'],
    ['a huge hostname', mutate((d) => { d.hostname = 'x'.repeat(10_000); }), 'hostname'],
    ['an interval of 0', mutate((d) => { d.intervalMs = 0; }), 'intervalMs'],
    ['a container id that is no id', mutate((d) => { ((d.topology as Topology).nodes[0] as { id: string }).id = 'bad'; }), 'topology.nodes[0].id'],
    ['a node setting its own host', mutate((d) => { ((d.topology as Topology).nodes[0] as { host?: string }).host = 'other'; }), 'topology.nodes[0].host'],
    ['hosts of a fleet', mutate((d) => { (d.topology as { hosts?: unknown }).hosts = []; }), 'topology.hosts'],
    ['an edge to nowhere', mutate((d) => { (d.topology as { edges: unknown[] }).edges = [{ id: 'e', from: 'a'.repeat(64), to: 'x', protocol: 'tcp', port: 1, connections: 1, states: {}, via: [] }]; }), 'topology.edges[0].to'],
    ['a port of 70000', mutate((d) => { (d.flows as { original: { sport: number } }[])[0]!.original.sport = 70_000; }), 'flows[0].original.sport'],
    ['NaN bytes', mutate((d) => { (d.topology as { edges: unknown[] }).edges = [{ id: 'e', from: 'a'.repeat(64), to: 'a'.repeat(64), protocol: 'tcp', port: 1, connections: 1, states: {}, via: [], traffic: { bytesSent: 'lots' } }]; }), 'topology.edges[0].traffic.bytesSent'],
    ['duplicate nodes', mutate((d) => { const t = d.topology as { nodes: unknown[] }; t.nodes = [t.nodes[0], t.nodes[0]]; }), 'topology.nodes[1].id'],
  ];
  it.each(cases)('%s', (_what, text, path) => {
    expect(() => parseHostDocument(text)).toThrow(HostDocumentError);
    try { parseHostDocument(text); } catch (err) { expect((err as HostDocumentError).path).toBe(path); }
  });
  it('refuses a document over the size limit before parsing it', () => {
    const huge = `{"pad":"${'x'.repeat(2_000_000)}"}`;
    expect(() => parseHostDocument(huge, { maxChars: 1_000_000 })).toThrow(/more than 1000000/);
  });
  it('refuses too many nodes without looking at each', () => {
    const nodes = Array.from({ length: 60_000 }, () => null);
    expect(() => checkHostDocument({ ...base, topology: { ...base.topology, nodes } })).toThrow(/60000 items, more than 50000/);
  });
});

describe('diffHostDocument / applyHostDocumentDiff', () => {
  const a = toHostDocument({ snapshot: { containers, conntrack: table }, topology }, identity, 2000);
  const t2: Topology = { ...topology, takenAt: '2026-12-07T12:00:02.000Z', nodes: [...topology.nodes, { kind: 'external', id: 'external:192.0.2.1', name: '192.0.2.1', address: '192.0.2.1' }] };
  const table2: ConntrackTable = { ...table, entries: [entry(['172.17.0.3', 47851, '10.78.0.2', 8080], ['10.78.0.2', 8080, '10.78.0.1', 47851])] };
  const b = toHostDocument({ snapshot: { containers, conntrack: table2 }, topology: t2 }, identity, 2000);
  it('applied to the first gives the second', () => {
    const d = diffHostDocument(a, b);
    expect(d.flows.removed).toHaveLength(1);
    expect(d.flows.added).toHaveLength(1);
    const back: HostDocument = applyHostDocumentDiff(a, d);
    expect(back).toEqual(b);
  });
  it('is empty between equal documents', () => {
    expect(isEmptyHostDocumentDiff(diffHostDocument(a, a))).toBe(true);
  });
  it('refuses to apply to another document than it was made from (a gap)', () => {
    const d = diffHostDocument(a, b);
    expect(() => applyHostDocumentDiff(b, d)).toThrow(HostDocumentDiffError);
    expect(() => applyHostDocumentDiff({ ...a, engineId: 'OTHER' }, d)).toThrow(HostDocumentDiffError);
  });
});

describe('the containers section (sockets and traffic)', () => {
  const other = 'b'.repeat(64);
  const web: ContainerInfo = { ...containers[0]!, labels: { SECRET: 'x', 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' }, ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }] };
  const proc = (pid: number, containerId: string | null) => ({ pid, command: pid === 1 ? 'nginx' : 'dockerd', containerId });
  const sock = (state: SocketState, lport: number, rport: number, inode: number, processes: ProcessRef[]): AttributedSocket => ({
    protocol: 'tcp', family: 'ipv4', state, local: { address: '172.17.0.2', port: lport }, remote: { address: rport ? '172.17.0.3' : '0.0.0.0', port: rport },
    inode, uid: 0, rxQueue: 0, txQueue: 3, processes, tcp: { bytesSent: 1, bytesRetrans: 0, bytesReceived: 2, bytesAcked: 1, rttMs: 0.5, rttVarMs: 0.1, minRttMs: 0.1, retransmits: 0, deliveryRateBps: 1, segsOut: 1, segsIn: 1, lastSendMs: 10, lastReceiveMs: 10 },
  });
  const attribution: Attribution = {
    unclaimed: [],
    containers: [{
      container: web, netns: 4026532000, ownsNetns: true, source: 'netlink', tcpInfo: true,
      sockets: [sock('ESTABLISHED', 80, 40000, 12, [proc(1, web.id)]), sock('LISTEN', 80, 0, 11, [proc(1, web.id), proc(2, null)]), sock('ESTABLISHED', 80, 39000, 13, [proc(3, other)])],
    }],
  };
  const traffic = new Map<string, ContainerTraffic>([[web.id, { rxBytes: 100, txBytes: 200, rxPackets: 1, txPackets: 2, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0, rxBytesPerSec: 12.4, txBytesPerSec: 0.6, scope: 'container', interfaces: [{ name: 'eth0', rxBytes: 100, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 200, txPackets: 2, txErrors: 0, txDropped: 0 }] }]]);
  const doc = toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution, traffic }, identity, 2000);

  it('carries each container\'s identity, compose labels only, and its sockets sorted, without tcp_info', () => {
    expect(doc.containers).toHaveLength(1);
    const c = doc.containers![0]!;
    expect(c).toMatchObject({ id: web.id, name: 'web', image: 'busybox', networkMode: 'bridge', pid: 10, netns: 4026532000, ownsNetns: true, source: 'netlink', ports: web.ports });
    expect(c.labels).toEqual({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' });
    expect(c.networks).toEqual([{ name: 'bridge', ipv4: '172.17.0.2' }]);
    expect(JSON.stringify(doc)).not.toContain('SECRET');
    expect(c.sockets.map((s) => [s.state, s.remote.port])).toEqual([['LISTEN', 0], ['ESTABLISHED', 39000], ['ESTABLISHED', 40000]]);
    expect(JSON.stringify(c.sockets)).not.toContain('rttMs');
    // Its own processes name no container; another container's by id; the host's as null.
    expect(c.sockets[0]!.processes).toEqual([{ pid: 1, command: 'nginx' }, { pid: 2, command: 'dockerd', container: null }]);
    expect(c.sockets[1]!.processes).toEqual([{ pid: 3, command: 'dockerd', container: other }]);
    expect(doc.socketsOmitted).toBeUndefined();
  });
  it('carries the traffic counters apart, rates in whole bytes per second, no interface list; tcp_info summed up as top does', () => {
    expect(doc.traffic).toEqual([{
      id: web.id, rxBytes: 100, txBytes: 200, rxPackets: 1, txPackets: 2, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0, rxBytesPerSec: 12, txBytesPerSec: 1, scope: 'container',
      tcp: { rttMeanMs: 0.5, rttMaxMs: 0.5, retransmits: 0 },
    }]);
  });
  it('publishes RTT to two significant digits; an idle container keeps its entry while RTT moves within the dead band and no segment is retransmitted', () => {
    const withTcp = (rtts: number[], retransmits = 0): Attribution => ({
      ...attribution,
      containers: [{ ...attribution.containers[0]!, sockets: rtts.map((rtt, i) => ({ ...sock('ESTABLISHED', 80, 40000 + i, 20 + i, [proc(1, web.id)]), tcp: { ...sock('ESTABLISHED', 80, 1, 1, []).tcp!, rttMs: rtt, retransmits } })) }],
    });
    const idle = new Map([[web.id, { ...traffic.get(web.id)!, rxBytesPerSec: 0, txBytesPerSec: 0 }]]);
    const make = (a: Attribution, previous?: HostDocument) => toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution: a, traffic: idle }, identity, 2000, previous ? { previous } : {});
    const first = make(withTcp([0.04321, 12.345]));
    expect(first.traffic![0]!.tcp).toEqual({ rttMeanMs: 6.2, rttMaxMs: 12, retransmits: 0 });
    // RTTs a little off (within 25%): the entry published before, the very same object.
    expect(make(withTcp([0.05, 14]), first).traffic![0]).toBe(first.traffic![0]);
    // An RTT that moved further, or a retransmitted segment: published at once.
    expect(make(withTcp([0.05, 20]), first).traffic![0]!.tcp).toEqual({ rttMeanMs: 10, rttMaxMs: 20, retransmits: 0 });
    expect(make(withTcp([0.04321, 12.345], 1), first).traffic![0]!.tcp).toEqual({ rttMeanMs: 6.2, rttMaxMs: 12, retransmits: 2 });
    // Its connections gone: no tcp figures any more.
    expect(make(withTcp([]), first).traffic![0]!.tcp).toBeUndefined();
    // Read back by the hub, refused when bent.
    expect(parseHostDocument(JSON.stringify(first))).toEqual(first);
    const bent = structuredClone(first) as unknown as { traffic: { tcp: Record<string, unknown> }[] };
    bent.traffic[0]!.tcp.rttMeanMs = 'slow';
    expect(() => parseHostDocument(JSON.stringify(bent))).toThrow(/traffic\[0\]\.tcp\.rttMeanMs/);
    bent.traffic[0]!.tcp = { rttMeanMs: 1, rttMaxMs: 1, retransmits: 0, secret: 'x' };
    expect(() => parseHostDocument(JSON.stringify(bent))).toThrow(/fields other than/);
  });
  it('gives an equal document for the same sockets in another order (an idle host publishes no diff)', () => {
    const shuffled: Attribution = { ...attribution, containers: [{ ...attribution.containers[0]!, sockets: [...attribution.containers[0]!.sockets].reverse() }] };
    expect(toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution: shuffled, traffic }, identity, 2000)).toEqual(doc);
  });
  it('keeps an idle container\'s previous traffic entry (a dead band), and publishes a real change or a rate', () => {
    const at = (rx: number, rate: number, packets = 1) => new Map([[web.id, { ...traffic.get(web.id)!, rxBytes: rx, rxPackets: packets, rxBytesPerSec: rate, txBytesPerSec: 0 }]]);
    const make = (t: Map<string, ContainerTraffic>, previous?: HostDocument) =>
      toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution, traffic: t }, identity, 2000, previous ? { previous } : {});
    const first = make(at(1000, 0));
    // A 70-byte background packet (a 35 B/s blip): the entry published before, the very same object.
    const blip = make(at(1070, 35, 2), first);
    expect(blip.traffic![0]).toBe(first.traffic![0]);
    // Still idle, 4 KiB later in all: published as it is now.
    expect(make(at(1000 + 4096, 0, 60), blip).traffic![0]).toMatchObject({ rxBytes: 5096, rxPackets: 60 });
    // A rate of 64 B/s or more is published at once, and its end too.
    const busy = make(at(1200, 500, 3), first);
    expect(busy.traffic![0]).toMatchObject({ rxBytes: 1200, rxBytesPerSec: 500 });
    expect(make(at(1200, 0, 3), busy).traffic![0]).toMatchObject({ rxBytes: 1200, rxBytesPerSec: 0 });
    // Counters that went back (the container's namespace anew) are published.
    expect(make(at(10, 0), first).traffic![0]).toMatchObject({ rxBytes: 10 });
    // Without a previous document: exact.
    expect(make(at(1070, 35, 2)).traffic![0]).toMatchObject({ rxBytes: 1070, rxBytesPerSec: 35 });
  });
  it('diffHostDocument carries a changed section and applies back (and one that went)', () => {
    const moved = toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution, traffic: new Map([[web.id, { ...traffic.get(web.id)!, rxBytes: 5000 }]]) }, identity, 2000);
    const d = diffHostDocument(doc, moved);
    expect(d.containers).toBeUndefined();
    expect(d.traffic).toEqual(moved.traffic);
    expect(applyHostDocumentDiff(doc, d)).toEqual(moved);
    const { containers: _c, traffic: _t, ...older } = doc;
    expect(applyHostDocumentDiff(doc, diffHostDocument(doc, older as HostDocument))).toEqual(older);
    expect(isEmptyHostDocumentDiff(diffHostDocument(doc, doc))).toBe(true);
  });
  it('caps the sockets and counts the rest', () => {
    const d = toHostDocument({ snapshot: { containers: [web], conntrack: table }, topology, attribution }, identity, 2000, { maxSockets: 2 });
    expect(d.containers![0]!.sockets).toHaveLength(2);
    expect(d.socketsOmitted).toBe(1);
    expect(parseHostDocument(JSON.stringify(d))).toEqual(d);
  });
  it('reads back through parseHostDocument; a document without the section (an older agent) is still accepted', () => {
    expect(parseHostDocument(JSON.stringify(doc))).toEqual(doc);
    const { containers: _c, traffic: _t, ...older } = doc;
    expect(parseHostDocument(JSON.stringify(older))).toEqual(older);
  });

  type Loose = Omit<HostDocument, 'containers' | 'traffic'> & { containers: Record<string, unknown>[]; traffic: Record<string, unknown>[] };
  const mutate = (f: (d: Loose) => void) => {
    const d = structuredClone(doc) as unknown as Loose;
    f(d);
    return JSON.stringify(d);
  };
  const sockets = (d: { containers: Record<string, unknown>[] }) => d.containers[0]!.sockets as Record<string, unknown>[];
  const cases: [string, string, string][] = [
    ['containers not a list', mutate((d) => { (d as unknown as Record<string, unknown>).containers = {}; }), 'containers'],
    ['a container id that is no id', mutate((d) => { d.containers[0]!.id = 'web'; }), 'containers[0].id'],
    ['two containers with one id', mutate((d) => { d.containers.push(d.containers[0]!); }), 'containers[1].id'],
    ['a label that is not compose\'s (an environment leak)', mutate((d) => { d.containers[0]!.labels = { PASSWORD: 'x' }; }), 'containers[0].labels'],
    ['a network mode with control characters', mutate((d) => { d.containers[0]!.networkMode = 'bridge\u001b[2J'; }), 'containers[0].networkMode'],
    ['a negative netns', mutate((d) => { d.containers[0]!.netns = -1; }), 'containers[0].netns'],
    ['a fractional pid', mutate((d) => { d.containers[0]!.pid = 1.5; }), 'containers[0].pid'],
    ['ownsNetns not a boolean', mutate((d) => { d.containers[0]!.ownsNetns = 'yes'; }), 'containers[0].ownsNetns'],
    ['an unknown source', mutate((d) => { d.containers[0]!.source = 'ebpf'; }), 'containers[0].source'],
    ['an unknown socket state', mutate((d) => { sockets(d)[0]!.state = 'DANCING'; }), 'containers[0].sockets[0].state'],
    ['a port of 70000', mutate((d) => { (sockets(d)[0]!.local as { port: number }).port = 70_000; }), 'containers[0].sockets[0].local.port'],
    ['an address with escapes', mutate((d) => { (sockets(d)[0]!.remote as { address: string }).address = '1.2.3.4\u001b[31m'; }), 'containers[0].sockets[0].remote.address'],
    ['a queue of NaN', mutate((d) => { sockets(d)[0]!.rxQueue = 'NaN'; }), 'containers[0].sockets[0].rxQueue'],
    ['an owner in no container id', mutate((d) => { ((sockets(d)[1]!.processes as Record<string, unknown>[])[0]!).container = '../x'; }), 'containers[0].sockets[1].processes[0].container'],
    ['too many owners', mutate((d) => { sockets(d)[0]!.processes = Array.from({ length: 65 }, () => ({ pid: 1, command: 'x' })); }), 'containers[0].sockets[0].processes'],
    ['socketsOmitted negative', mutate((d) => { (d as unknown as Record<string, unknown>).socketsOmitted = -3; }), 'socketsOmitted'],
    ['traffic of no container id', mutate((d) => { d.traffic[0]!.id = 'x'; }), 'traffic[0].id'],
    ['traffic with an unknown scope', mutate((d) => { d.traffic[0]!.scope = 'galaxy'; }), 'traffic[0].scope'],
    ['traffic with a string counter', mutate((d) => { d.traffic[0]!.rxBytes = '1e400'; }), 'traffic[0].rxBytes'],
  ];
  it.each(cases)('refuses %s, naming where', (_what, text, path) => {
    expect(() => parseHostDocument(text)).toThrow(HostDocumentError);
    try { parseHostDocument(text); } catch (err) { expect((err as HostDocumentError).path).toBe(path); }
  });
  it.each(cases)('with the full document a diff was applied to (checked), still refuses %s, naming where', (_what, text, path) => {
    // The damaged document as the hub holds it after a diff: what the diff left is the full document's own objects.
    const damaged = JSON.parse(text) as Record<string, unknown>;
    const full = doc as unknown as Record<string, unknown>;
    const patched: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(damaged)) patched[k] = JSON.stringify(v) === JSON.stringify(full[k]) ? full[k] : v;
    expect(Object.keys(patched).filter((k) => patched[k] !== full[k]).length).toBeGreaterThan(0);
    try {
      checkHostDocument(patched, {}, doc);
      expect.unreachable('accepted');
    } catch (err) {
      expect((err as HostDocumentError).path).toBe(path);
    }
  });
  it('with checked, walks only the sections that are not the checked document\'s own objects', () => {
    const touched = { ...doc, takenAt: '2026-12-07T12:00:02.000Z', topology: { ...doc.topology, takenAt: '2026-12-07T12:00:02.000Z' } };
    expect(checkHostDocument(touched, {}, doc)).toBe(touched);
    // A section shared with `checked` is trusted (it was checked with it): a bad one shared is not walked again …
    const bad = { ...doc, containers: [{ ...doc.containers![0]!, pid: -1 }] } as unknown as HostDocument;
    expect(() => checkHostDocument(bad)).toThrow(/containers\[0\]\.pid/);
    expect(checkHostDocument({ ...bad, takenAt: T }, {}, bad)).toBeDefined();
    // … and one that is a new object is.
    expect(() => checkHostDocument({ ...bad, containers: [...bad.containers!] }, {}, bad)).toThrow(/containers\[0\]\.pid/);
    // Edges are checked against the nodes: new nodes with the checked edges are checked together.
    const nodes = touched.topology.nodes.map((n) => ({ ...n, id: 'c'.repeat(64) }));
    const withEdge = { ...doc, topology: { ...doc.topology, edges: [{ id: 'e', from: 'a'.repeat(64), to: 'a'.repeat(64), protocol: 'tcp', port: 80, connections: 1, states: {}, via: [] }] } } as unknown as HostDocument;
    checkHostDocument(withEdge);
    expect(() => checkHostDocument({ ...withEdge, topology: { ...withEdge.topology, nodes } }, {}, withEdge)).toThrow(/topology\.edges\[0\]\.from: names no node/);
  });
  it('refuses more sockets in all than the limit, whatever the containers', () => {
    const many = mutate((d) => { d.containers = [0, 1, 2].map((i) => ({ ...d.containers[0]!, id: String(i).repeat(64) })); });
    expect(() => parseHostDocument(many, { maxSockets: 8 })).toThrow(/containers\[2\]\.sockets: more than 8 sockets in all/);
    expect(() => parseHostDocument(many, { maxContainers: 2 })).toThrow(/containers: 3 items, more than 2/);
  });
});
