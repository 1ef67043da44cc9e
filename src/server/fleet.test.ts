// The server serving a fleet (what a hub hands it: an agent whose topology has `hosts`): `?host=` on the API and
// the events stream, `host` labels on /metrics, and `?host=` on one agent.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { readEvents } from '../../test/fixtures/sse.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent } from '../agent/loop.js';
import type { Topology } from '../core/model/topology.js';
import { runPipeline } from '../core/pipeline.js';
import { buildApp } from './app.js';

const logger = pino({ level: 'silent' });
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

// Two hosts: alpha runs web, api and db; beta (stale) everything else. Non-container nodes are alpha's.
const ALPHA = new Set([IDS.web, IDS.api, IDS.db]);
function asFleet(t: Topology): Topology {
  const hostOf = (id: string) => (id.startsWith('H') ? undefined : ALPHA.has(id) ? 'H-ALPHA' : 'H-BETA');
  const scoped = (id: string, kind: string) => (kind === 'container' ? id : `H-ALPHA/${id}`);
  const kinds = new Map(t.nodes.map((n) => [n.id, n.kind]));
  return {
    ...t,
    nodes: t.nodes.map((n) => ({ ...n, id: scoped(n.id, n.kind), host: n.kind === 'container' ? hostOf(n.id) : 'H-ALPHA' })),
    edges: t.edges.map((e) => ({ ...e, from: scoped(e.from, kinds.get(e.from) ?? ''), to: scoped(e.to, kinds.get(e.to) ?? '') })),
    hosts: [{ id: 'H-ALPHA', name: 'alpha' }, { id: 'H-BETA', name: 'beta', stale: true }],
  };
}

async function setup(fleet = true, listen = false) {
  const full = syntheticSnapshot();
  const collection = scriptedCollection([full, withoutContainers(full, [IDS.udpc, IDS.web])]);
  const agent = createAgent({
    collection, logger, intervalMs: 2000,
    ...(fleet ? { render: (s, m) => { const r = runPipeline(s, m); return { ...r, topology: asFleet(r.topology) }; } } : {}),
  });
  await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false } });
  apps.push(app);
  const port = listen ? Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port) : 0;
  return { agent, app, port };
}

describe('a fleet served with ?host=', () => {
  it('/api/v1/topology?host= gives the host\'s nodes, its edges and the nodes at their other ends, by name or id', async () => {
    const { app } = await setup();
    const all = (await app.inject({ url: '/api/v1/topology' })).json() as Topology;
    const alpha = (await app.inject({ url: '/api/v1/topology?host=alpha' })).json() as Topology;
    expect(alpha.edges.length).toBeGreaterThan(0);
    expect(alpha.edges.length).toBeLessThan(all.edges.length);
    const onAlpha = new Set(alpha.nodes.filter((n) => n.host === 'H-ALPHA').map((n) => n.id));
    for (const e of alpha.edges) expect(onAlpha.has(e.from) || onAlpha.has(e.to)).toBe(true);
    // Exactly the edges of `all` that touch alpha.
    const allAlpha = new Set(all.nodes.filter((n) => n.host === 'H-ALPHA').map((n) => n.id));
    expect(alpha.edges.map((e) => e.id).sort()).toEqual(all.edges.filter((e) => allAlpha.has(e.from) || allAlpha.has(e.to)).map((e) => e.id).sort());
    // Every end is a node of the answer; no container of beta but those at an end.
    const ids = new Set(alpha.nodes.map((n) => n.id));
    for (const e of alpha.edges) expect(ids.has(e.from) && ids.has(e.to)).toBe(true);
    expect((await app.inject({ url: '/api/v1/topology?host=H-ALPHA' })).json()).toEqual(alpha);
    const beta = (await app.inject({ url: '/api/v1/topology?host=beta' })).json() as Topology;
    expect(beta.hosts?.find((h) => h.id === 'H-BETA')).toEqual({ id: 'H-BETA', name: 'beta', stale: true });
  });

  it('an unknown host is a 404 naming the hosts there are; an over-long one a 400', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/topology?host=gamma' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'unknown_host', message: expect.stringContaining('alpha, beta') });
    expect((await app.inject({ url: `/api/v1/containers?host=${'x'.repeat(300)}` })).statusCode).toBe(400);
  });

  it('/api/v1/containers and /api/v1/sockets ?host= list that host\'s containers only', async () => {
    const { app } = await setup();
    const names = async (url: string) => ((await app.inject({ url })).json() as { containers: { id: string }[] }).containers.map((c) => c.id).sort();
    expect(await names('/api/v1/containers?host=alpha')).toEqual([...ALPHA].sort());
    expect(await names('/api/v1/sockets?host=alpha&protocol=tcp')).toEqual((await names('/api/v1/sockets?protocol=tcp')).filter((id) => ALPHA.has(id)));
    const beta = await names('/api/v1/containers?host=beta');
    expect(beta.length).toBeGreaterThan(0);
    expect(beta.some((id) => ALPHA.has(id))).toBe(false);
  });

  it('/api/v1/topology/stream?host= of one agent\'s own hostname is the whole topology', async () => {
    const { port } = await setup(false, true);
    const base = `http://127.0.0.1:${port}/api/v1/topology/stream`;
    const [whole] = await readEvents(base, 1);
    const all = whole?.data as Topology;
    const [named] = await readEvents(`${base}?host=${encodeURIComponent(all.hostname)}`, 1);
    expect(named?.data).toEqual(all);
  });

  it('/api/v1/events?host= passes only the host\'s events', async () => {
    const { agent, port } = await setup(true, true);
    const base = `http://127.0.0.1:${port}/api/v1/events?type=container.stopped`;
    // beta's stream is open (its `ready` came) before alpha's, whose `ready` triggers the collection.
    let alphaRead: Promise<Awaited<ReturnType<typeof readEvents>>> | undefined;
    const beta = await readEvents(`${base}&host=beta`, 2, {}, () => {
      alphaRead = readEvents(`${base}&host=alpha`, 2, {}, () => { void agent.collectNow(); });
    });
    const alpha = await alphaRead!;
    // web (alpha) and udpc (beta) stopped in the same collection: each stream has its own.
    expect(alpha[1]).toMatchObject({ event: 'container.stopped', data: { container: { id: IDS.web, host: 'H-ALPHA' } } });
    expect(beta[1]).toMatchObject({ event: 'container.stopped', data: { container: { id: IDS.udpc, host: 'H-BETA' } } });
  });

  it('/metrics labels a fleet\'s series with their host', async () => {
    const { app } = await setup();
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/portolan_container_info\{container="web",id="[0-9a-f]{12}",[^}]*host="alpha"\} 1/);
    expect(text).toMatch(/portolan_container_info\{container="udpc",[^}]*host="beta"\} 1/);
    expect(text).toContain('portolan_fleet_host_stale{host="alpha",host_id="H-ALPHA"} 0');
    expect(text).toContain('portolan_fleet_host_stale{host="beta",host_id="H-BETA"} 1');
    const edge = text.split('\n').find((l) => l.startsWith('portolan_edge_connections{'));
    expect(edge).toMatch(/from_host="(alpha|beta)",to_host="(alpha|beta)"/);
  });
});

describe('the topology stream with ?edges=cross-host', () => {
  it('first sends every node and only the edges between two hosts, saying how many it left out; then the whole topology\'s diffs', async () => {
    const { agent, app, port } = await setup(true, true);
    const all = (await app.inject({ url: '/api/v1/topology' })).json() as Topology;
    const hostOf = new Map(all.nodes.map((n) => [n.id, n.host]));
    const cross = all.edges.filter((e) => hostOf.get(e.from) !== hostOf.get(e.to));
    expect(cross.length).toBeGreaterThan(0);
    expect(cross.length).toBeLessThan(all.edges.length);
    const events = await readEvents(`http://127.0.0.1:${port}/api/v1/topology/stream?edges=cross-host`, 2, {}, () => { void agent.collectNow(); });
    const first = events[0]?.data as Topology & { partial?: unknown; stale?: boolean };
    expect(events[0]?.event).toBe('topology');
    expect(first.nodes).toEqual(all.nodes);
    expect(first.hosts).toEqual(all.hosts);
    expect(first.takenAt).toBe(all.takenAt);
    expect(first.edges.map((e) => e.id).sort()).toEqual(cross.map((e) => e.id).sort());
    expect(first.partial).toEqual({ edges: 'cross-host', omittedEdges: all.edges.length - cross.length });
    expect(first.stale).toBe(false);
    // The diff is the whole topology's: it starts from the document's time and names edges within a host too.
    expect(events[1]?.event).toBe('diff');
    const diff = events[1]?.data as { from: string; edges: { removed: string[] } };
    expect(diff.from).toBe(all.takenAt);
    expect(diff.edges.removed.some((id) => !cross.some((e) => e.id === id))).toBe(true);
    // Without the parameter (and with edges=all): the whole topology, no `partial`.
    for (const q of ['', '?edges=all']) {
      const [whole] = await readEvents(`http://127.0.0.1:${port}/api/v1/topology/stream${q}`, 1);
      expect((whole?.data as Topology).edges.length).toBe(agent.current()?.topology.edges.length);
      expect(whole?.data).not.toHaveProperty('partial');
    }
  });

  it('with ?host= too: the host\'s part, of which only the edges to other hosts', async () => {
    const { app, port } = await setup(true, true);
    const part = (await app.inject({ url: '/api/v1/topology?host=alpha' })).json() as Topology;
    const hostOf = new Map(part.nodes.map((n) => [n.id, n.host]));
    const cross = part.edges.filter((e) => hostOf.get(e.from) !== hostOf.get(e.to));
    expect(cross.length).toBeGreaterThan(0);
    expect(cross.length).toBeLessThan(part.edges.length);
    const [first] = await readEvents(`http://127.0.0.1:${port}/api/v1/topology/stream?host=alpha&edges=cross-host`, 1);
    const doc = first?.data as Topology & { partial?: unknown };
    expect(doc.nodes).toEqual(part.nodes);
    expect(doc.edges.map((e) => e.id).sort()).toEqual(cross.map((e) => e.id).sort());
    expect(doc.partial).toEqual({ edges: 'cross-host', omittedEdges: part.edges.length - cross.length });
    // And the whole part with ?host= alone (each kind of first document is cached apart).
    const [whole] = await readEvents(`http://127.0.0.1:${port}/api/v1/topology/stream?host=alpha`, 1);
    expect((whole?.data as Topology).edges.map((e) => e.id).sort()).toEqual(part.edges.map((e) => e.id).sort());
  });

  it('a value it does not know is a 400; on one agent the first document is whole', async () => {
    const { app } = await setup();
    const bad = await app.inject({ url: '/api/v1/topology/stream?edges=some' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: expect.any(String) });
    const { agent, port } = await setup(false, true);
    const [first] = await readEvents(`http://127.0.0.1:${port}/api/v1/topology/stream?edges=cross-host`, 1);
    expect((first?.data as Topology).edges).toEqual(agent.current()?.topology.edges);
    expect(first?.data).not.toHaveProperty('partial');
  });
});

describe('one agent with ?host=', () => {
  it('its own hostname answers everything, another name is a 404; /metrics has no host labels', async () => {
    const { app } = await setup(false);
    const all = (await app.inject({ url: '/api/v1/topology' })).json() as Topology;
    expect(all.hosts).toBeUndefined();
    expect((await app.inject({ url: `/api/v1/topology?host=${encodeURIComponent(all.hostname)}` })).json()).toEqual(all);
    expect((await app.inject({ url: '/api/v1/topology?host=elsewhere' })).statusCode).toBe(404);
    // The topology stream likewise: its hostname is everything, another name a 404 before the stream opens.
    expect((await app.inject({ url: '/api/v1/topology/stream?host=elsewhere' })).statusCode).toBe(404);
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).not.toMatch(/host="|from_host=|portolan_fleet_host_stale\{/);
  });
});
