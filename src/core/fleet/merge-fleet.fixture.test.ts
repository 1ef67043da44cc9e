// The merge over real documents of a three-host lab (test/fixtures/fleet-lab/capture.sh): what the collectors, the
// pipeline and toHostDocument produced on each host, with each container's `ss -tanH` and each host's
// `conntrack -L` captured at the same time. The merged edges are checked against the kernel's sockets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ContainerNode, Topology } from '../model/topology.js';
import { canonicalIp } from '../parse/ip-text.js';
import type { HostDocument } from './host-document.js';
import { mergeFleet, mergeFleetReport, type HostState } from './merge-fleet.js';
import { parseHostDocument } from './parse-host-document.js';

const dir = new URL('../../../test/fixtures/fleet-lab/captured/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const hosts = ['fc1', 'fc2', 'fc3'] as const;
const docs = Object.fromEntries(hosts.map((h) => [h, parseHostDocument(read(`${h}.json`))])) as Record<(typeof hosts)[number], HostDocument>;
const NOW = Math.max(...hosts.map((h) => Date.parse(docs[h].takenAt)));
const states: HostState[] = hosts.map((h) => ({ document: docs[h], lastSeenMs: NOW }));

/** Established sockets per container id, from a host's `ss -tanH` capture (`# name id` headers). */
function kernelSockets(h: string): { container: string; name: string; local: string; remote: string }[] {
  const out: { container: string; name: string; local: string; remote: string }[] = [];
  let container = '';
  let name = '';
  for (const line of read(`${h}.ss.txt`).split('\n')) {
    const head = /^# (\S+) ([0-9a-f]{64})$/.exec(line);
    if (head) { name = head[1] ?? ''; container = head[2] ?? ''; continue; }
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'ESTAB') continue;
    out.push({ container, name, local: endpoint(f[3] ?? ''), remote: endpoint(f[4] ?? '') });
  }
  return out;
}
function endpoint(text: string): string {
  const i = text.lastIndexOf(':');
  return `${canonicalIp(text.slice(0, i).replace(/^\[|\]$/g, ''))}:${text.slice(i + 1)}`;
}
const ep = (e: { address: string; port: number }) => `${canonicalIp(e.address)}:${e.port}`;
const containers = (t: Topology) => t.nodes.filter((n): n is ContainerNode => n.kind === 'container');

describe('mergeFleet over a real three-host lab', () => {
  const report = mergeFleetReport(states, NOW);
  const t = report.topology;

  it('the documents are real: three engines, each host\'s first container at 172.17.0.2', () => {
    expect(new Set(hosts.map((h) => docs[h].engineId)).size).toBe(3);
    for (const h of hosts) {
      const first = docs[h].topology.nodes.find((n) => n.kind === 'container' && n.name === 'first');
      expect(first?.kind === 'container' && first.networks[0]?.ipv4).toBe('172.17.0.2');
    }
  });

  it('keeps the three first containers apart, each on its host', () => {
    const firsts = containers(t).filter((n) => n.name === 'first');
    expect(firsts).toHaveLength(3);
    expect(new Set(firsts.map((n) => n.host))).toEqual(new Set(hosts.map((h) => docs[h].engineId)));
    expect(firsts.every((n) => n.networks[0]?.ipv4 === '172.17.0.2')).toBe(true);
    expect(containers(t)).toHaveLength(hosts.reduce((s, h) => s + docs[h].topology.nodes.filter((n) => n.kind === 'container').length, 0));
    expect(t.hosts?.map((h) => h.name).sort()).toEqual(hosts.map((h) => docs[h].hostname));
  });

  it('has one edge per cross-host connection, client → server, and nothing left "external"', () => {
    const name = (id: string) => t.nodes.find((n) => n.id === id)?.name;
    expect(t.edges.map((e) => `${name(e.from)} -> ${name(e.to)}/${e.protocol}/${e.port} via ${e.publishedPorts?.join(',') ?? '-'}`).sort()).toEqual([
      'client -> web/tcp/80 via 8080',
      'client3 -> web2/tcp/80 via 8081',
      'oc -> os/tcp/7000 via -',
    ]);
    expect(t.nodes.filter((n) => n.kind === 'external')).toEqual([]);
    expect(report.joinedConnections).toBe(3);
    // Each edge carries its traffic (tcp_info of the client's socket).
    for (const e of t.edges) expect(e.traffic?.bytesSent).toBeGreaterThan(0);
  });

  it('every established socket the kernel shows is an end of exactly one merged connection', () => {
    let checked = 0;
    for (const h of hosts) {
      for (const s of kernelSockets(h)) {
        const asClient = t.edges.flatMap((e) => (e.from === s.container ? e.details ?? [] : [])).filter((d) => ep(d.client) === s.local);
        const asServer = t.edges.flatMap((e) => (e.to === s.container ? e.details ?? [] : [])).filter((d) => ep(d.server) === s.local);
        expect(asClient.length + asServer.length, `${h} ${s.name} ${s.local} ${s.remote}`).toBe(1);
        // A client's socket names the address it dialled: the server's own or its published one.
        for (const d of asClient) expect([ep(d.server), d.published && ep(d.published)]).toContain(s.remote);
        checked++;
      }
    }
    expect(checked).toBe(6);
  });

  it('a client host that published no conntrack flows (conntrack unreadable there) is still joined, by its port and the address dialled', () => {
    const blind = states.map((x) => (x.document.hostname === 'fc1' || x.document.hostname === 'fc3' ? { ...x, document: { ...x.document, flows: [] } } : x));
    const r = mergeFleetReport(blind, NOW);
    expect(r.joinedConnections).toBe(3);
    expect(r.topology.edges.map((e) => e.id).sort()).toEqual(t.edges.map((e) => e.id).sort());
  });

  it('without the server host, the client\'s connection names nothing of the fleet: it stays external on its host', () => {
    const only = mergeFleet([states[0]!, states[2]!], NOW);
    expect(only.nodes.filter((n) => n.kind === 'external').map((n) => n.id).sort()).toEqual([
      `${docs.fc1.engineId}/external:10.0.9.2`, `${docs.fc1.engineId}/external:10.79.0.2`, `${docs.fc3.engineId}/external:10.79.0.2`,
    ].sort());
  });

  it('without the client host\'s document, the server side still names the client\'s host', () => {
    const t2 = mergeFleet([states[1]!, states[2]!], NOW);
    const web = containers(t2).find((n) => n.name === 'web');
    const e = t2.edges.find((x) => x.to === web?.id);
    expect(e?.from).toBe(`${docs.fc2.engineId}/external:10.79.0.1`);
    // fc1's address is not known without fc1: external, scoped by the host that saw it.
  });

  it('a host gone silent is stale and keeps its state; past retention it leaves; back, no duplicates', () => {
    const fc3Silent = { document: docs.fc3, lastSeenMs: NOW - 10_000 };
    const stale = mergeFleet([states[0]!, states[1]!, fc3Silent], NOW);
    expect(stale.hosts?.find((h) => h.id === docs.fc3.engineId)?.stale).toBe(true);
    expect(stale.edges).toHaveLength(3);
    const gone = mergeFleetReport([states[0]!, states[1]!, fc3Silent], NOW, { retentionMs: 5_000 });
    expect(gone.expired).toEqual([docs.fc3.engineId]);
    // fc3's address names nothing any more: web2's client is external again, on fc2.
    expect(gone.topology.edges.map((e) => e.from).filter((f) => f.includes('external:'))).toEqual([`${docs.fc2.engineId}/external:10.79.0.3`]);
    expect(gone.topology.nodes.some((n) => n.host === docs.fc3.engineId)).toBe(false);
    const back = mergeFleet([...states, fc3Silent], NOW);
    expect({ ...back, warnings: [] }).toEqual({ ...t, warnings: [] });
  });

  it('a document claiming another host\'s engine id does not add a host; one claiming its containers gets none', () => {
    const impostor: HostDocument = { ...docs.fc3, engineId: docs.fc2.engineId, hostname: 'impostor' };
    const r = mergeFleetReport([...states, { document: impostor, lastSeenMs: NOW - 1 }], NOW);
    expect(r.duplicateHosts).toBe(1);
    expect(r.topology.warnings).toContain('fleet: 1 document(s) claimed an engine id another document has; the newest of each kept');
    expect({ ...r.topology, warnings: [] }).toEqual({ ...t, warnings: [] });
    const web = containers(t).find((n) => n.name === 'web');
    const thief: HostDocument = {
      ...docs.fc3, engineId: 'ZZZZ:THIEF', hostname: 'thief',
      addresses: ['10.79.0.66'], flows: [],
      topology: { ...docs.fc3.topology, nodes: [{ ...web!, host: undefined } as ContainerNode], edges: [] },
    };
    const r2 = mergeFleetReport([...states, { document: thief, lastSeenMs: NOW }], NOW);
    expect(r2.conflictingContainers).toBe(1);
    expect(containers(r2.topology).filter((n) => n.id === web?.id).map((n) => n.host)).toEqual([docs.fc2.engineId]);
  });
});
