// The hub's API over real host documents (core's merge and fleetSockets through createFleetRenderer):
// /api/v1/containers and /api/v1/sockets list every host's containers with their host, with the filters and
// `?host=`; the topology stream with `?host=` sends that host's part and only the diffs of that part.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_EVENTS } from '../../test/fixtures/fleet/agent-events.js';
import { FLEET_T, hostDoc } from '../../test/fixtures/fleet/host-documents.js';
import { readEvents } from '../../test/fixtures/sse.js';
import type { HostDocument } from '../core/fleet/host-document.js';
import type { ContainersReport } from '../core/report/containers.js';
import type { PsReport } from '../core/report/ps.js';
import type { Topology, TopologyDiff } from '../core/model/topology.js';
import { buildApp } from '../server/app.js';
import { openHistory, type HistoryStore } from '../agent/history.js';
import type { Json } from './doc-patch.js';
import { diffPatch, type Patch } from './doc-patch.js';
import { createHub } from './hub.js';
import { checkFleetDocument, createFleetRenderer } from './hub-render.js';
import { hostToken } from './wire.js';

const logger = pino({ level: 'silent' });
const apps: FastifyInstance[] = [];
const stores: { store: HistoryStore; dir: string }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const { store, dir } of stores.splice(0)) {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const A = hostDoc('AAAA:1', 'h1', 'a'.repeat(64), 100);
const B = hostDoc('BBBB:2', 'h2', 'b'.repeat(64), 200);
/** A document with a second container node (`extra`) in its topology. */
const withExtra = (d: HostDocument, id: string): HostDocument => ({
  ...d, topology: { ...d.topology, nodes: [...d.topology.nodes, { kind: 'container', id, name: 'extra', image: 'busybox', networkMode: 'none', networks: [], ports: [], pid: 7 }] },
});

async function setup(listen = false, history = false, docs: readonly HostDocument[] = [A, B]) {
  const now = Date.parse(FLEET_T);
  let store: HistoryStore | undefined;
  if (history) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-hub-history-'));
    store = openHistory({ dir, now: () => now, trafficStepMs: 0 });
    stores.push({ store, dir });
  }
  const hub = createHub({ render: createFleetRenderer(), check: (hostId, doc, checked) => checkFleetDocument(hostId, doc, {}, checked), logger, hostname: 'the-hub', now: () => now, debounceMs: 1, ...(store ? { store } : {}) });
  for (const d of docs) hub.accept({ v: 1, kind: 'full', host: hostToken(d.engineId), epoch: 1, run: 'r', at: now, intervalMs: 2000, doc: d as unknown as Json }, now);
  hub.setNats('connected');
  hub.markRebuilt();
  const app = await buildApp(hub, { metrics: { defaultMetrics: false } });
  apps.push(app);
  const port = listen ? Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port) : 0;
  return { hub, app, port, now };
}

describe('the hub serves every host\'s containers and sockets', () => {
  it('/api/v1/traffic?container=NAME: a name on two hosts is a 409 naming both; ?host= (or the id) picks one', async () => {
    const { app } = await setup(false, true);
    const both = await app.inject({ url: '/api/v1/traffic?container=first' });
    expect(both.statusCode).toBe(409);
    expect(both.json()).toMatchObject({ statusCode: 409, code: 'ambiguous_container' });
    expect(JSON.stringify(both.json())).toMatch(/runs on 2 hosts \(h1, h2\): pick one with \?host=/);
    const h2 = await app.inject({ url: '/api/v1/traffic?container=first&host=h2&since=0' });
    expect(h2.statusCode).toBe(200);
    const body = h2.json() as { containerId: string; host: { id: string; hostname: string }; samples: { rxBytes: number }[] };
    expect([body.containerId, body.host]).toEqual(['b'.repeat(64), { id: 'BBBB:2', hostname: 'h2' }]);
    // The samples are h2's container's (the hub's history keeps every host's), not h1's.
    expect(body.samples.length).toBeGreaterThan(0);
    const byId = (await app.inject({ url: `/api/v1/traffic?container=${'b'.repeat(64)}&since=0` })).json() as typeof body;
    expect(byId).toEqual(body);
    const h1 = (await app.inject({ url: '/api/v1/traffic?container=first&host=AAAA:1&since=0' })).json() as typeof body;
    expect(h1.containerId).toBe('a'.repeat(64));
    expect(h1.samples).not.toEqual(body.samples);
    expect((await app.inject({ url: '/api/v1/traffic?container=nope&host=h1' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/traffic?container=first&host=h9' })).statusCode).toBe(404);
  });

  it('/api/v1/sockets: both `first` containers, each with its host and sockets; ?host= and the filters', async () => {
    const { app } = await setup();
    const all = (await app.inject({ url: '/api/v1/sockets' })).json() as PsReport;
    expect(all.host).toEqual({ hostname: 'the-hub' });
    expect(all.containers.map((c) => [c.name, c.host?.hostname, c.sockets.length])).toEqual([['first', 'h1', 2], ['first', 'h2', 2]]);
    const h2 = (await app.inject({ url: '/api/v1/sockets?host=h2' })).json() as PsReport;
    expect(h2.containers.map((c) => c.id)).toEqual(['b'.repeat(64)]);
    expect((await app.inject({ url: '/api/v1/sockets?host=BBBB:2' })).json()).toEqual(h2);
    const listening = (await app.inject({ url: '/api/v1/sockets?listening=true&container=first' })).json() as PsReport;
    expect(listening.containers.map((c) => c.sockets.map((s) => s.state))).toEqual([['LISTEN'], ['LISTEN']]);
    const est = (await app.inject({ url: '/api/v1/sockets?state=established&host=h1' })).json() as PsReport;
    expect(est.containers[0]?.sockets.map((s) => s.remote)).toEqual([{ address: '172.17.0.3', port: 40000 }]);
    expect((await app.inject({ url: '/api/v1/sockets?host=h9' })).statusCode).toBe(404);
  });

  it('/api/v1/containers: the top rows with their host and traffic; ?host=', async () => {
    const { app } = await setup();
    const doc = (await app.inject({ url: '/api/v1/containers' })).json() as ContainersReport;
    expect(doc.containers.map((c) => [c.host?.hostname, c.top.host?.hostname, c.socketCount, c.top.established, c.top.rxBytes, c.top.rxBytesPerSec])).toEqual([
      ['h1', 'h1', 2, 1, 100, 10], ['h2', 'h2', 2, 1, 200, 10],
    ]);
    const h1 = (await app.inject({ url: '/api/v1/containers?host=h1' })).json() as ContainersReport;
    expect(h1.containers.map((c) => c.id)).toEqual(['a'.repeat(64)]);
    // Documents without tcp figures (an agent on /proc, or older): no RTT.
    expect(doc.containers.map((c) => c.top.rttMeanMs)).toEqual([null, null]);
  });

  it('/api/v1/containers and top: each container\'s RTT and retransmits as its agent summed them up from tcp_info', async () => {
    const { app } = await setup(false, false, [hostDoc('AAAA:1', 'h1', 'a'.repeat(64), 100, 0.04321), hostDoc('BBBB:2', 'h2', 'b'.repeat(64), 200, 25.5)]);
    const doc = (await app.inject({ url: '/api/v1/containers' })).json() as ContainersReport;
    expect(doc.containers.map((c) => [c.host?.hostname, c.top.rttMeanMs, c.top.rttMaxMs, c.top.retransmits])).toEqual([['h1', 0.043, 0.043, 3], ['h2', 26, 26, 3]]);
    // The sockets themselves stay without tcp_info (only the sums are published).
    const ps = (await app.inject({ url: '/api/v1/sockets' })).json() as PsReport;
    expect(JSON.stringify(ps)).not.toContain('rttMs');
  });

  it('/api/v1/topology/stream?host= sends the host\'s part, then only the diffs of that part', async () => {
    const { hub, port, now } = await setup(true);
    const base = `http://127.0.0.1:${port}/api/v1/topology/stream`;
    const change = (host: HostDocument, next: HostDocument, seq: number) => {
      hub.accept({ v: 1, kind: 'diff', host: hostToken(host.engineId), epoch: 1, run: 'r', seq, at: now, intervalMs: 2000, patch: (diffPatch(host as unknown as Json, next as unknown as Json) ?? null) as Patch | null }, now);
      hub.renderNow();
    };
    let h2Read: Promise<Awaited<ReturnType<typeof readEvents>>> | undefined;
    // h1's stream is open before h2's, whose opening makes h2 change, then h1.
    const h1 = await readEvents(`${base}?host=h1`, 2, {}, () => {
      h2Read = readEvents(`${base}?host=h2`, 2, {}, () => {
        change(B, withExtra(B, 'd'.repeat(64)), 1);
        change(A, withExtra(A, 'c'.repeat(64)), 1);
      });
    });
    const h2 = await h2Read!;
    const first = h1[0]?.data as Topology;
    expect(h1[0]?.event).toBe('topology');
    expect(first.nodes.map((n) => n.id)).toEqual(['a'.repeat(64)]);
    expect((h2[0]?.data as Topology).nodes.map((n) => n.id)).toEqual(['b'.repeat(64)]);
    // h1's first diff is its own change: h2's, which came first, was not sent to it.
    expect(h1[1]?.event).toBe('diff');
    expect((h1[1]?.data as TopologyDiff).nodes.added.map((n) => n.id)).toEqual(['c'.repeat(64)]);
    expect((h2[1]?.data as TopologyDiff).nodes.added.map((n) => n.id)).toEqual(['d'.repeat(64)]);
  });

  it('/api/v1/events: the agents\' events, each with its host as the topology names it (engine id, not the subject token); ?host=', async () => {
    const { hub, port, now } = await setup(true);
    const base = `http://127.0.0.1:${port}/api/v1/events`;
    // The engine ids here are of the older form (XXXX:N): the subject token spells them AAAA-1.
    expect(hostToken(A.engineId)).not.toBe(A.engineId);
    const publish = (d: HostDocument, events: readonly unknown[]) => hub.accept({ v: 1, kind: 'events', host: hostToken(d.engineId), at: now, events: events as Json[] }, now);
    const all = (await readEvents(base, 4, {}, () => {
      publish(A, AGENT_EVENTS.slice(0, 2));
      publish(B, AGENT_EVENTS.slice(2));
    })).filter((e) => e.event !== 'ready');
    expect(all.map((e) => e.data)).toEqual([...AGENT_EVENTS.slice(0, 2).map((e) => ({ ...e, host: 'AAAA:1' })), { ...AGENT_EVENTS[2], host: 'BBBB:2' }]);
    // Filtered by host name: only that host's agent's events (a replay of the journal: Last-Event-ID of no run of it).
    const h2 = (await readEvents(`${base}?host=h2&lastEventId=0-0`, 3)).filter((e) => e.event !== 'ready' && e.event !== 'gap');
    expect(h2.map((e) => (e.data as { host: string }).host)).toEqual(['BBBB:2']);
  });

  it('/metrics: each container\'s traffic, sockets and connections carry its host, like portolan_container_info', async () => {
    const { app } = await setup();
    const text = (await app.inject({ url: '/metrics' })).body;
    for (const [host, id] of [['h1', 'a'], ['h2', 'b']] as const) {
      const of = (metric: string) => text.split('\n').filter((l) => l.startsWith(`${metric}{`) && l.includes(`id="${id.repeat(12)}"`));
      expect(of('portolan_container_info')[0]).toContain(`host="${host}"`);
      for (const metric of ['portolan_container_network_receive_bytes_total', 'portolan_container_sockets', 'portolan_container_established_connections']) {
        const lines = of(metric);
        expect(lines.length, metric).toBeGreaterThan(0);
        for (const l of lines) expect(l, metric).toContain(`host="${host}"`);
      }
    }
  });

  it('/api/v1/topology/stream?host= of an unknown host is a 404 naming the hosts', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/topology/stream?host=nope' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'unknown_host', message: expect.stringContaining('h1, h2') });
  });
});
