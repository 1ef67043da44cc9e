import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers, type Step } from '../../test/fixtures/agent/fake-collection.js';
import { readEvents } from '../../test/fixtures/sse.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { openHistory } from '../agent/history.js';
import { createAgent, type RunningAgent } from '../agent/loop.js';
import { buildApp, type AppOptions } from './app.js';
import { loadUiAssets } from './ui-assets.js';

const logger = pino({ level: 'silent' });
const apps: FastifyInstance[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(steps: Step[] = [syntheticSnapshot()], options: AppOptions = {}, collect = 1, history = false) {
  let store;
  if (history) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-app-'));
    dirs.push(dir);
    store = openHistory({ dir });
  }
  const agent = createAgent({ collection: scriptedCollection(steps), logger, intervalMs: 2000, ...(store ? { store } : {}) });
  for (let i = 0; i < collect; i++) await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false }, ...options });
  apps.push(app);
  return { agent, app };
}

describe('HTTP API (inject)', () => {
  it('GET / answers outpost clients with the outpost document, browsers with HTML', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const body = r.json() as { name: string; artefact: string; listening: unknown[]; established: unknown[] }[];
    expect(body.find((c) => c.name === '/api')).toMatchObject({ artefact: 'example/api:1', listening: [{ address: '0.0.0.0', port: 18081 }] });
    const html = await app.inject({ url: '/', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toMatch(/<html/);
    expect(r.headers.vary).toBe('Accept');
    expect(html.headers.vary).toBe('Accept');
  });

  it('GET / honours OUTPOST_INTERFACES', async () => {
    const { app } = await setup([syntheticSnapshot()], { outpostInterfaces: ['10.0.0.5'] });
    const body = (await app.inject({ url: '/' })).json() as { name: string; listening: unknown[] }[];
    expect(body.find((c) => c.name === '/api')?.listening).toEqual([{ address: '10.0.0.5', port: 18081 }]);
  });

  it('/api/v1/containers: each container with its top figures', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/containers' });
    const body = r.json() as { stale: boolean; containers: { name: string; socketCount: number; top: { established: number } }[] };
    expect(body.stale).toBe(false);
    expect(body.containers.map((c) => c.name)).toContain('db');
    expect(body.containers.find((c) => c.name === 'db')).toMatchObject({ socketCount: 4, top: { established: 2 } });
  });

  it('/api/v1/sockets takes the ps filters', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/sockets?container=db&container=we*&state=listen,established&protocol=tcp' });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { containers: { name: string; sockets: { state: string; protocol: string }[] }[] };
    expect(body.containers.map((c) => c.name)).toEqual(['db', 'web']);
    expect(body.containers.flatMap((c) => c.sockets).every((s) => s.protocol === 'tcp' && ['LISTEN', 'ESTABLISHED'].includes(s.state))).toBe(true);
    const listening = (await app.inject({ url: '/api/v1/sockets?listening=true&container=udps' })).json() as { containers: { sockets: { state: string }[] }[] };
    expect(listening.containers[0]?.sockets.map((s) => s.state)).toEqual(['UNCONN']);
  });

  it('bad parameters are a JSON 400, unknown paths a JSON 404', async () => {
    const { app } = await setup();
    for (const url of ['/api/v1/sockets?state=bogus', '/api/v1/sockets?protocol=sctp', '/api/v1/sockets?nonsense=1', '/api/v1/topology?at=yesterday', '/api/v1/events?type=nope']) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(400);
      expect(r.json(), url).toMatchObject({ statusCode: 400, code: 'bad_parameter', message: expect.any(String) });
    }
    const nf = await app.inject({ url: '/api/v2/nothing' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ statusCode: 404, code: 'not_found', message: 'no route GET /api/v2/nothing' });
    // Nothing changes anything: other methods on a known path are a 405 naming GET.
    for (const [method, url] of [['POST', '/api/v1/topology'], ['DELETE', '/api/v1/containers'], ['PATCH', '/metrics']] as const) {
      const r = await app.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
      expect(r.json()).toMatchObject({ statusCode: 405, code: 'method_not_allowed' });
    }
    expect((await app.inject({ method: 'POST', url: '/api/v2/nothing' })).statusCode).toBe(404);
  });

  it('before the first collection: 503 not_ready, readyz 503, healthz 200 only once started', async () => {
    const { app } = await setup([syntheticSnapshot()], {}, 0);
    expect((await app.inject({ url: '/api/v1/topology' })).json()).toMatchObject({ statusCode: 503, code: 'not_ready' });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(503);
  });

  it('Docker away: the last state is served, marked stale', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), { fail: 'docker', error: 'connection refused' }], {}, 2);
    expect(agent.status().stale).toBe(true);
    const r = await app.inject({ url: '/api/v1/topology' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['portolan-stale']).toBe('true');
    const body = r.json() as { stale: boolean; staleSince: string; nodes: unknown[] };
    expect(body.stale).toBe(true);
    expect(body.nodes.length).toBeGreaterThan(0);
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready', stale: true, reason: 'docker: connection refused' });
  });

  it('readyz is 503 with the reason while namespaces cannot be read (a state that would show no traffic), ready again after', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), { fail: 'netns', error: 'EACCES: permission denied, readlink \'/proc/4242/ns/net\'' }, syntheticSnapshot()], {}, 2);
    const r = await app.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ status: 'not_ready', stale: false, reason: 'netns: EACCES: permission denied, readlink \'/proc/4242/ns/net\'' });
    await agent.collectNow();
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
  });

  it('/api/v1/topology?at= answers from history', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), withoutContainers(syntheticSnapshot(), [IDS.udpc])], {}, 1, true);
    const t1 = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await agent.collectNow();
    const then = (await app.inject({ url: `/api/v1/topology?at=${new Date(t1).toISOString()}` })).json() as { nodes: { id: string }[] };
    expect(then.nodes.some((n) => n.id === IDS.udpc)).toBe(true);
    const now = (await app.inject({ url: '/api/v1/topology' })).json() as { nodes: { id: string }[] };
    expect(now.nodes.some((n) => n.id === IDS.udpc)).toBe(false);
    const before = await app.inject({ url: '/api/v1/topology?at=2000-01-01T00:00:00Z' });
    expect(before.statusCode).toBe(404);
    expect(before.json()).toMatchObject({ code: 'no_history', message: expect.stringMatching(/not collecting then/) });
    agent.history?.close();
  });

  it('/api/v1/history: runs and the instants the topology changed at; each answers ?at=', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), syntheticSnapshot(), withoutContainers(syntheticSnapshot(), [IDS.udpc])], {}, 0, true);
    // Apart by a few ms each, so the run's start and every collection are distinct instants.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
      await agent.collectNow();
    }
    const r = await app.inject({ url: '/api/v1/history' });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { firstMs: number; lastMs: number; runs: { startMs: number; lastMs: number }[]; changes: number[]; truncated: boolean };
    expect(body.runs).toHaveLength(1);
    expect(body.runs[0]).toEqual({ startMs: body.firstMs, lastMs: body.lastMs });
    expect(body.truncated).toBe(false);
    // The run's start, the first collection, the one where udpc went away (the unchanged second adds nothing).
    expect(body.changes).toHaveLength(3);
    expect([...body.changes].sort((a, b) => a - b)).toEqual(body.changes);
    const last = body.changes[2] ?? 0;
    const at = async (ms: number) => ((await app.inject({ url: `/api/v1/topology?at=${ms / 1000}` })).json() as { nodes: { id: string }[] }).nodes.map((n) => n.id);
    expect(await at(last - 1)).toContain(IDS.udpc);
    expect(await at(last)).not.toContain(IDS.udpc);
    const cut = (await app.inject({ url: '/api/v1/history?limit=1' })).json() as { changes: number[]; truncated: boolean };
    expect(cut).toMatchObject({ changes: [body.changes[0]], truncated: true });
    const since = (await app.inject({ url: `/api/v1/history?since=${new Date(last).toISOString()}` })).json() as { changes: number[] };
    expect(since.changes).toEqual([last]);
    for (const url of ['/api/v1/history?since=yesterday', '/api/v1/history?limit=0', '/api/v1/history?until=-1h&since=-10s', '/api/v1/history?at=1']) {
      const bad = await app.inject({ url });
      expect(bad.statusCode, url).toBe(400);
      expect(bad.json(), url).toMatchObject({ code: 'bad_parameter' });
    }
    agent.history?.close();
  });

  it('/api/v1/history without history: 404 no_history', async () => {
    const { app } = await setup();
    const r = await app.inject({ url: '/api/v1/history' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'no_history' });
  });

  it('with the built web map: its page at / for browsers, its files under /ui/, the fallback without it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-ui-'));
    dirs.push(dir);
    expect(loadUiAssets(dir)).toBeUndefined();
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><script type="module" src="/ui/assets/main-abc.js"></script></html>');
    fs.writeFileSync(path.join(dir, 'assets', 'main-abc.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg/>');
    const ui = loadUiAssets(dir);
    const { app } = await setup([syntheticSnapshot()], { ui, token: 't' });
    const auth = { authorization: 'Bearer t' };
    const page = await app.inject({ url: '/', headers: { accept: 'text/html', ...auth } });
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('/ui/assets/main-abc.js');
    // Outpost clients still get JSON at /.
    expect((await app.inject({ url: '/', headers: auth })).headers['content-type']).toMatch(/application\/json/);
    const js = await app.inject({ url: '/ui/assets/main-abc.js', headers: auth });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/text\/javascript/);
    expect(js.headers['cache-control']).toMatch(/immutable/);
    expect(js.body).toBe('console.log(1)');
    const icon = await app.inject({ url: '/ui/favicon.svg', headers: auth });
    expect(icon.headers).toMatchObject({ 'content-type': 'image/svg+xml', 'cache-control': 'no-cache' });
    for (const url of ['/ui/assets/none.js', '/ui/../package.json', '/ui/%2e%2e/index.html', '/ui/index.html']) {
      expect((await app.inject({ url, headers: auth })).statusCode, url).toBe(404);
    }
    // The files need the token like everything else; a browser answers the Basic challenge with a prompt.
    const denied = await app.inject({ url: '/ui/assets/main-abc.js' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toContain('Basic realm="portolan", charset="UTF-8"');
    const { app: bare } = await setup();
    expect((await bare.inject({ url: '/', headers: { accept: 'text/html' } })).body).toMatch(/web map is not built/);
    expect((await bare.inject({ url: '/ui/assets/main-abc.js' })).statusCode).toBe(404);
  });

  it('/api/v1/openapi.json documents every route with its parameters', async () => {
    const { app } = await setup();
    const doc = (await app.inject({ url: '/api/v1/openapi.json' })).json() as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/', '/api/v1/containers', '/api/v1/sockets', '/api/v1/topology', '/api/v1/history', '/api/v1/topology/stream', '/api/v1/events', '/healthz', '/readyz', '/metrics']) {
      expect(doc.paths[p]?.get, p).toBeDefined();
    }
    expect(doc.paths['/api/v1/sockets']?.get?.parameters?.map((x) => x.name)).toEqual(['container', 'state', 'protocol', 'listening', 'host']);
  });

  it('/metrics: container traffic and sockets, edges, collector health', async () => {
    const { app, agent } = await setup([syntheticSnapshot()], { metrics: { defaultMetrics: false, maxEdgeSeries: 2 } }, 0);
    // Metrics hear collections from the moment the app exists.
    await agent.collectNow();
    await agent.collectNow();
    const r = await app.inject({ url: '/metrics' });
    expect(r.headers['content-type']).toMatch(/text\/plain; version=0\.0\.4/);
    expect(r.body).toMatch(/portolan_container_sockets\{container="db",id="cccccccccccc",protocol="tcp",state="LISTEN"\} 2/);
    expect(r.body).toMatch(/portolan_container_established_connections\{container="api",id="bbbbbbbbbbbb"\} 3/);
    expect(r.body.match(/^portolan_edge_connections\{/gm)).toHaveLength(2);
    expect(r.body).toMatch(/portolan_metrics_series_dropped_total\{family="edge"\} [1-9]/);
    expect(r.body).toMatch(/portolan_collector_success\{collector="docker"\} 1/);
    expect(r.body).toMatch(/portolan_collections_total\{result="accepted"\} 2/);
  });

  it('with a token: 401 without it, bearer and basic accepted, health checks open', async () => {
    const { app } = await setup([syntheticSnapshot()], { token: 's3cret' });
    const denied = await app.inject({ url: '/api/v1/topology' });
    expect(denied.statusCode).toBe(401);
    expect(denied.json()).toMatchObject({ code: 'unauthorized' });
    expect(denied.headers['www-authenticate']).toEqual(['Basic realm="portolan", charset="UTF-8"', 'Bearer realm="portolan"']);
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/topology', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
    const basic = `Basic ${Buffer.from('prom:s3cret').toString('base64')}`;
    expect((await app.inject({ url: '/metrics', headers: { authorization: basic } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(503);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/nope' })).statusCode).toBe(401);
  });
});

describe('live streams (real port)', () => {
  async function listen(agent: RunningAgent, app: FastifyInstance) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    return { base: `http://127.0.0.1:${addr.port}`, agent };
  }

  it('topology stream: the full topology first, then diffs', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), withoutContainers(syntheticSnapshot(), [IDS.udpc])]);
    const { base } = await listen(agent, app);
    const events = await readEvents(`${base}/api/v1/topology/stream`, 2, {}, () => { void agent.collectNow(); });
    expect(events[0]?.event).toBe('topology');
    expect((events[0]?.data as { nodes: unknown[] }).nodes.length).toBeGreaterThan(0);
    expect(events[1]?.event).toBe('diff');
    expect((events[1]?.data as { nodes: { removed: string[] } }).nodes.removed).toEqual([IDS.udpc]);
  });

  it('events stream: container stopped and connections closed', async () => {
    const { app, agent } = await setup([syntheticSnapshot(), withoutContainers(syntheticSnapshot(), [IDS.udpc])]);
    const { base } = await listen(agent, app);
    const events = await readEvents(`${base}/api/v1/events?type=container.stopped&type=container.started`, 2, {}, () => { void agent.collectNow(); });
    expect(events[0]?.event).toBe('ready');
    expect(events[1]).toMatchObject({ event: 'container.stopped', data: { type: 'container.stopped', container: { id: IDS.udpc, name: 'udpc' } } });
  });

  it('closing the app ends open streams', async () => {
    const { app, agent } = await setup();
    const { base } = await listen(agent, app);
    await readEvents(`${base}/api/v1/topology/stream`, 1);
    let responding!: () => void;
    const open = new Promise<void>((resolve) => { responding = resolve; });
    const ended = new Promise<void>((resolve) => {
      http.get(`${base}/api/v1/topology/stream`, (res) => { responding(); res.resume(); res.on('end', () => resolve()); });
    });
    // The stream is open (its headers arrived) before the app closes: then closing must end it.
    await open;
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    await ended;
  });
});
