import { describe, expect, it } from 'vitest';
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
