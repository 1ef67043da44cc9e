// The attacks of issue #11 on the HTTP API, each of which worked before: a backtracking glob, DNS rebinding
// and cross-site requests, out-of-range times, and answers outside the error contract.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptedCollection, withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { openHistory } from '../agent/history.js';
import { createAgent } from '../agent/loop.js';
import { MAX_GLOB_LENGTH, MAX_GLOBS } from '../core/glob.js';
import { buildApp, type AppOptions } from './app.js';

const logger = pino({ level: 'silent' });
const apps: FastifyInstance[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(options: AppOptions = {}) {
  const s = syntheticSnapshot();
  // A container named as in the second attack: `x` and 56 × `a`.
  const snapshot = { ...s, containers: s.containers.map((c) => (c.id === IDS.web ? { ...c, name: `x${'a'.repeat(56)}` } : c)) };
  const agent = createAgent({ collection: scriptedCollection([snapshot]), logger, intervalMs: 2000 });
  await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false }, ...options });
  apps.push(app);
  return app;
}

async function listen(app: FastifyInstance, host = '127.0.0.1'): Promise<number> {
  await app.listen({ host, port: 0 });
  return (app.server.address() as net.AddressInfo).port;
}

/** Sends raw bytes and returns everything the server answered until it closed (or 3 s passed). */
function raw(port: number, text: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => s.write(text));
    let out = '';
    s.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    s.setTimeout(3000, () => { s.destroy(); resolve(`${out}<<no end>>`); });
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
  });
}

function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

describe('container globs cost microseconds, not seconds (attack 1: 5 s to 28 s per request)', () => {
  it.each([
    '*?*?*?*?*?*?*?!',
    '*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?!',
    '*a*a*a*a*a*a*a*a*b',
    `${'*a'.repeat(60)}*b`,
  ])('GET /api/v1/sockets?container=%s answers at once', async (glob) => {
    const app = await setup();
    const r = await app.inject({ url: `/api/v1/sockets?container=${encodeURIComponent(glob)}` });
    expect(r.statusCode).toBe(200);
    expect((r.json() as { containers: unknown[] }).containers).toEqual([]);
  });

  it('the glob still finds what it should', async () => {
    const app = await setup();
    const r = await app.inject({ url: `/api/v1/sockets?container=${encodeURIComponent('*a*a*a*a*a*a*a*a*a')}&container=db` });
    expect((r.json() as { containers: { name: string }[] }).containers.map((c) => c.name)).toEqual(['db', `x${'a'.repeat(56)}`]);
  });

  it(`refuses more than ${MAX_GLOBS} globs and globs longer than ${MAX_GLOB_LENGTH} characters with a 400`, async () => {
    const app = await setup();
    const many = await app.inject({ url: `/api/v1/sockets?${Array.from({ length: MAX_GLOBS + 1 }, () => 'container=a*').join('&')}` });
    expect(many.statusCode).toBe(400);
    expect(many.json()).toMatchObject({ code: 'bad_parameter' });
    const long = await app.inject({ url: `/api/v1/sockets?container=${'*'.repeat(MAX_GLOB_LENGTH + 1)}` });
    expect(long.statusCode).toBe(400);
    expect((await app.inject({ url: `/api/v1/sockets?container=${'*'.repeat(MAX_GLOB_LENGTH)}` })).statusCode).toBe(200);
  });
});

describe('Host and Origin (attack 2: DNS rebinding, any Host answered with the topology)', () => {
  it('refuses a Host that is not this agent with a coded 421, before authentication', async () => {
    for (const options of [{}, { token: 'a-token-of-enough-length' }]) {
      const app = await setup(options);
      for (const host of ['evil.example', 'evil.example:80', 'localhost.evil.example', '127.0.0.1.nip.io', 'localhost:80@evil', '[::2]:80']) {
        const r = await app.inject({ url: '/api/v1/topology', headers: { host } });
        expect(r.statusCode, host).toBe(421);
        expect(r.json()).toMatchObject({ statusCode: 421, code: 'host_not_allowed', message: expect.stringContaining('--allowed-host') });
        expect(r.body).not.toContain('nodes');
      }
    }
  });

  it('accepts loopback names, and names given with --allowed-host (any port, or the one given)', async () => {
    const app = await setup({ hosts: { allowedHosts: ['portolan.example', 'proxy.example:8443', '[fd00::5]'] } });
    for (const host of ['localhost', 'localhost:80', '127.0.0.1:80', '[::1]:80', 'LOCALHOST:80', 'portolan.example:9999', 'proxy.example:8443', '[fd00::5]:1']) {
      expect((await app.inject({ url: '/api/v1/topology', headers: { host } })).statusCode, host).toBe(200);
    }
    expect((await app.inject({ url: '/api/v1/topology', headers: { host: 'proxy.example:8444' } })).statusCode).toBe(421);
  });

  it('refuses cross-site browser requests: a foreign or null Origin, Sec-Fetch-Site: cross-site', async () => {
    const app = await setup();
    for (const headers of [
      { origin: 'http://evil.example' }, { origin: 'null' }, { origin: 'http://evil.example:80' }, { origin: 'file://' },
      { origin: 'garbage' }, { 'sec-fetch-site': 'cross-site' },
    ]) {
      const r = await app.inject({ url: '/api/v1/sockets?container=*', headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(403);
      expect(r.json()).toMatchObject({ code: 'cross_site' });
    }
    for (const headers of [{ origin: 'http://localhost' }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }]) {
      expect((await app.inject({ url: '/api/v1/topology', headers })).statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  it('over a real port: the port must be the agent\'s, the address reached is accepted, no Host is refused', async () => {
    const app = await setup();
    const port = await listen(app, '127.0.0.2');
    const get = (host: string) => raw(port, `GET /api/v1/status HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, '127.0.0.2');
    expect(await get(`127.0.0.2:${port}`)).toMatch(/^HTTP\/1\.1 200/);
    expect(await get(`localhost:${port}`)).toMatch(/^HTTP\/1\.1 200/);
    expect(await get(`localhost:${port + 1}`)).toMatch(/^HTTP\/1\.1 421/);
    expect(await get(`127.0.0.3:${port}`)).toMatch(/^HTTP\/1\.1 421/);
    // Another service on this host (a dev server on :3000) is another origin.
    const other = await raw(port, `GET /api/v1/status HTTP/1.1\r\nHost: localhost:${port}\r\nOrigin: http://localhost:3000\r\nConnection: close\r\n\r\n`, '127.0.0.2');
    expect(other).toMatch(/^HTTP\/1\.1 403/);
    const same = await raw(port, `GET /api/v1/status HTTP/1.1\r\nHost: localhost:${port}\r\nOrigin: http://localhost:${port}\r\nConnection: close\r\n\r\n`, '127.0.0.2');
    expect(same).toMatch(/^HTTP\/1\.1 200/);
    const noHost = await raw(port, 'GET /api/v1/status HTTP/1.0\r\n\r\n', '127.0.0.2');
    expect(noHost).toMatch(/^HTTP\/1\.1 421/);
    expect(bodyOf(noHost)).toMatchObject({ code: 'host_not_allowed' });
  });
});

describe('the error contract holds for what fastify and Node answer themselves (item 9)', () => {
  it('?at= out of range is a 400, not a 500 with a stack trace', async () => {
    const app = await setup();
    for (const at of ['12345678901234567890123', '-99999999999w', '-1e999w', '9'.repeat(64)]) {
      const r = await app.inject({ url: `/api/v1/topology?at=${at}` });
      expect(r.statusCode, at).toBe(400);
      expect(r.json()).toMatchObject({ code: 'bad_parameter' });
    }
    expect((await app.inject({ url: `/api/v1/topology?at=${'9'.repeat(65)}` })).statusCode).toBe(400);

  });

  it('an unknown method, a malformed request and a URL that does not decode get JSON in the contract', async () => {
    const app = await setup();
    const port = await listen(app);
    const foo = await raw(port, `FOO /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(foo).toMatch(/^HTTP\/1\.1 405 /);
    expect(foo).toMatch(/\r\nAllow: GET, HEAD\r\n/);
    expect(bodyOf(foo)).toEqual({ statusCode: 405, code: 'method_not_allowed', message: expect.any(String) });
    const garbage = await raw(port, 'GET /\x01 HTTP/1.1\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(garbage)).toMatchObject({ statusCode: 400, code: 'bad_request' });
    const badUrl = await raw(port, `GET /%zz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(badUrl).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(badUrl)).toMatchObject({ statusCode: 400, code: 'bad_request' });
    const huge = await raw(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(huge)).toMatchObject({ statusCode: 431, code: 'headers_too_large' });
  });

  it('HEAD on the live streams answers with the stream\'s headers and ends (it never did)', async () => {
    const app = await setup();
    const port = await listen(app);
    for (const path of ['/api/v1/topology/stream', '/api/v1/events']) {
      const r = await raw(port, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      expect(r, path).toMatch(/^HTTP\/1\.1 200 /);
      expect(r).toMatch(/content-type: text\/event-stream/i);
      expect(r).not.toContain('<<no end>>');
    }
  });

  it('POST, PUT and DELETE on the API are a 405 with Allow', async () => {
    const app = await setup();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      const r = await app.inject({ method, url: '/api/v1/events' });
      expect(r.statusCode, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });
});

describe('history that never lies (attack 4: a full disk left ghosts and holes, and nothing said so)', () => {
  it('status and /metrics report failing writes, ?at= in the span says history is broken, and recovery is seen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-hostile-'));
    dirs.push(dir);
    const store = openHistory({ dir, maxPageCount: 400 });
    const s = syntheticSnapshot();
    // While the disk is full: udpc stops and a container with a 64 kB image name starts.
    const late = { ...s.containers[0]!, id: `${'e'.repeat(63)}9`, name: 'late', image: `registry.example/${'x'.repeat(64 * 1024)}` };
    const gone = withoutContainers(s, [IDS.udpc]);
    const changed = { ...gone, containers: [...gone.containers, late], netns: { ...gone.netns, containers: [...gone.netns.containers, { containerId: late.id, netns: 4026532999, pid: 4242 }] } };
    const collection = scriptedCollection([s, s, changed]);
    const agent = createAgent({ collection, logger, intervalMs: 60_000, store });
    await agent.collectNow();
    await agent.collectNow();
    const app = await buildApp(agent, { metrics: { defaultMetrics: false } });
    apps.push(app);
    const filler = new Database(store.file);
    filler.exec('CREATE TABLE filler (b BLOB)');
    while ((filler.pragma('page_count', { simple: true }) as number) < 400) filler.prepare('INSERT INTO filler VALUES (?)').run(Buffer.alloc(4000));
    const beforeFull = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await agent.collectNow();
    await agent.collectNow();

    const status = (await app.inject({ url: '/api/v1/status' })).json() as { history: { ok: boolean; writeFailures: number; lastError?: { message: string }; brokenSinceMs?: number } };
    expect(status.history).toMatchObject({ ok: false, writeFailures: 2, lastError: { message: expect.stringMatching(/SQLITE_FULL/) } });
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^portolan_history_ok 0$/m);
    expect(metrics).toMatch(/^portolan_history_write_failures_total 2$/m);
    const during = await app.inject({ url: '/api/v1/topology?at=-1ms' });
    expect(during.statusCode).toBe(404);
    expect(during.json()).toMatchObject({ code: 'history_broken', message: expect.stringMatching(/until now \(writes still fail\).*SQLITE_FULL/) });

    // Space returns: the next collection writes the truth.
    filler.exec('DROP TABLE filler');
    filler.close();
    await new Promise((r) => setTimeout(r, 5));
    await agent.collectNow();
    const { lastMs } = (await app.inject({ url: '/api/v1/history' })).json() as { lastMs: number };
    const after = await app.inject({ url: `/api/v1/topology?at=${lastMs / 1000}` });
    expect(after.statusCode).toBe(200);
    const names = (after.json() as { nodes: { id: string; name: string; exitedAt?: string }[] }).nodes;
    expect(names.some((n) => n.name === 'late')).toBe(true);
    expect(names.some((n) => n.id === IDS.udpc && n.exitedAt === undefined)).toBe(false);
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/^portolan_history_ok 1$/m);
    const hist = (await app.inject({ url: '/api/v1/history' })).json() as { broken: { fromMs: number; toMs: number | null; reason: string }[] };
    expect(hist.broken).toHaveLength(1);
    expect(hist.broken[0]?.toMs).not.toBeNull();
    const inSpan = await app.inject({ url: `/api/v1/topology?at=${(beforeFull + 2) / 1000}` });
    expect(inSpan.json()).toMatchObject({ code: 'history_broken', message: expect.stringMatching(/could not be written from .* to /) });
  });
});
