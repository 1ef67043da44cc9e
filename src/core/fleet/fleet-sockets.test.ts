import { describe, expect, it } from 'vitest';
import { toContainersReport } from '../report/containers.js';
import { toPsReport } from '../report/ps.js';
import { toTopContainers } from '../report/top.js';
import { toNetworkMode } from '../docker/containers.js';
import { createFleetSocketsMemory, fleetSockets } from './fleet-sockets.js';
import type { HostDocument } from './host-document.js';
import { FLEET_T, hostDoc } from '../../../test/fixtures/fleet/host-documents.js';
import { mergeFleet } from './merge-fleet.js';
import { formatNetworkMode } from '../model/container.js';

const T = FLEET_T;
const NOW = Date.parse(T);

const A = hostDoc('AAAA:1', 'h1', 'a'.repeat(64), 100);
const B = hostDoc('BBBB:2', 'h2', 'b'.repeat(64), 200);

describe('fleetSockets', () => {
  const docs = [A, B];
  const topology = mergeFleet(docs.map((document) => ({ document, lastSeenMs: NOW })), NOW);
  const s = fleetSockets(docs, topology);

  it('keeps two containers of one name on two hosts apart, each naming its host', () => {
    const report = toPsReport({ takenAt: T, hostname: 'hub', issues: [], containers: s.containers, netns: { host: 0, hostPid: 'self', containers: [] }, processes: [], sockets: [], netdev: [], conntrack: { status: 'unavailable', reason: 'x' } }, s.attribution, {}, s.traffic);
    expect(report.containers.map((c) => [c.name, c.host?.hostname, c.id.slice(0, 1)])).toEqual([['first', 'h1', 'a'], ['first', 'h2', 'b']]);
    const c = report.containers[0]!;
    expect(c.host).toEqual({ id: 'AAAA:1', hostname: 'h1' });
    expect(c.sockets.map((x) => `${x.state} ${x.local.address}:${x.local.port} ${x.remote.address}:${x.remote.port}`)).toEqual(['LISTEN 0.0.0.0:7000 0.0.0.0:0', 'ESTABLISHED 172.17.0.2:7000 172.17.0.3:40000']);
    // The owner as an agent's ps names it: its own process bare, the host's as null.
    expect(c.sockets[1]!.processes).toEqual([{ pid: 100, command: 'node' }, { pid: 1, command: 'dockerd', container: null }]);
    expect(c.traffic).toMatchObject({ rxBytes: 100, txBytes: 200, rxBytesPerSec: 10, scope: 'container' });
    expect(c.tcpInfo).toBe(false);
    // The containers document and top's rows: the same two, with their hosts and counts.
    const top = toTopContainers(s.attribution, s.traffic, 'name');
    expect(top.map((r) => [r.host?.hostname, r.established, r.listening, r.rxBytes])).toEqual([['h1', 1, 1, 100], ['h2', 1, 1, 200]]);
    expect(toContainersReport(report, top).containers.map((x) => x.host?.hostname)).toEqual(['h1', 'h2']);
  });

  it('reuses a host\'s part while the fields of its document it reads are the same objects', () => {
    const memory = createFleetSocketsMemory();
    const first = fleetSockets(docs, topology, memory);
    // The same parts: the same answer.
    expect(fleetSockets(docs, topology, memory)).toBe(first);
    // A new document of B that moved only its time (an idle host's diff): still the same.
    expect(fleetSockets([A, { ...B, takenAt: '2030-01-01T00:00:00.000Z' }], topology, memory)).toBe(first);
    const changed = { ...B, containers: (B.containers ?? []).map((c) => ({ ...c })) };
    const next = fleetSockets([A, changed], topology, memory);
    expect(next.attribution.containers[0]).toBe(first.attribution.containers[0]);
    expect(next.attribution.containers[1]).not.toBe(first.attribution.containers[1]);
    expect(next).toStrictEqual(first);
  });

  it('gives with one memory over changing fleets what a fresh memory gives (ids named by two hosts appearing and going)', () => {
    const twin = hostDoc('CCCC:3', 'h3', 'a'.repeat(64), 999);
    const other = hostDoc('DDDD:4', 'h4', 'd'.repeat(64), 400);
    const memory = createFleetSocketsMemory();
    for (const fleet of [[A, B], [A, B, twin], [A, B, twin, other], [B, twin], [A, B, other], [twin, A], [A, B]]) {
      const t = mergeFleet(fleet.map((document) => ({ document, lastSeenMs: NOW })), NOW);
      const r = fleetSockets(fleet, t, memory);
      expect(r).toStrictEqual(fleetSockets(fleet, t));
      // Each container once, on the host the topology shows it on.
      const on = new Map(t.nodes.map((n) => [n.id, n.host]));
      expect(r.attribution.containers.map((c) => c.container.host?.id)).toEqual(r.attribution.containers.map((c) => on.get(c.container.id)));
      expect(new Set(r.containers.map((c) => c.id)).size).toBe(r.containers.length);
    }
  });

  it('shows a container two hosts claim on the host the topology shows it on, once', () => {
    const twin = hostDoc('CCCC:3', 'h3', 'a'.repeat(64), 999);
    const all = [A, B, twin];
    const t = mergeFleet(all.map((document) => ({ document, lastSeenMs: NOW })), NOW);
    const r = fleetSockets(all, t);
    const on = t.nodes.find((n) => n.id === 'a'.repeat(64))?.host;
    expect(r.attribution.containers.filter((c) => c.container.id === 'a'.repeat(64)).map((c) => c.container.host?.id)).toEqual([on]);
    expect(r.traffic.get('a'.repeat(64))?.rxBytes).toBe(on === 'AAAA:1' ? 100 : 999);
  });

  it('leaves out hosts the topology no longer shows (expired)', () => {
    const t = mergeFleet([{ document: A, lastSeenMs: NOW }, { document: B, lastSeenMs: NOW - 10 * 3_600_000 }], NOW);
    expect(fleetSockets(docs, t).containers.map((c) => c.host?.hostname)).toEqual(['h1']);
  });

  it('shows an older agent\'s containers from its topology, without sockets, and says so', () => {
    const { containers: _c, traffic: _t, ...older } = B;
    const all = [A, older as HostDocument];
    const t = mergeFleet(all.map((document) => ({ document, lastSeenMs: NOW })), NOW);
    const r = fleetSockets(all, t);
    const b = r.attribution.containers.find((c) => c.container.host?.id === 'BBBB:2');
    expect(b?.container).toMatchObject({ id: 'b'.repeat(64), name: 'first', image: 'busybox', networks: [{ name: 'bridge', ipv4: '172.17.0.2' }] });
    expect(b?.sockets).toEqual([]);
    expect(r.traffic.has('b'.repeat(64))).toBe(false);
    expect(r.issues.map((i) => i.message)).toEqual([expect.stringContaining('publishes no sockets')]);
  });

  it('says when a host left sockets out over its cap', () => {
    const capped = { ...A, socketsOmitted: 7 };
    const r = fleetSockets([capped, B], topology);
    expect(r.issues).toEqual([{ source: 'host h1', message: '7 sockets not published (over the agent\'s cap)', count: 1 }]);
  });

  it('reads network modes back as formatNetworkMode spells them (toNetworkMode, as from docker inspect)', () => {
    for (const m of [{ kind: 'host' }, { kind: 'none' }, { kind: 'bridge', name: 'shop_net' }, { kind: 'container', containerId: 'c'.repeat(64) }] as const) {
      expect(toNetworkMode(formatNetworkMode(m))).toEqual(m);
    }
  });
});
