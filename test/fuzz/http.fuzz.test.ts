// Fuzzing the HTTP API: every route with generated query strings, methods and headers. The contract: an
// answer always comes (no hang, no crash), never a 500, and every error is portolan's JSON
// `{statusCode, code, message}` with the status it is sent with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistory } from '../../src/agent/history.js';
import { createAgent } from '../../src/agent/loop.js';
import { buildApp } from '../../src/server/app.js';
import { scriptedCollection, withoutContainers } from '../fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../fixtures/topology/synthetic.js';
import { fuzz, FUZZ_TIMEOUT_MS } from './harness.js';

const ROUTES = [
  '/', '/healthz', '/readyz', '/metrics', '/api/v1/containers', '/api/v1/sockets', '/api/v1/topology', '/api/v1/topology/stream',
  '/api/v1/events', '/api/v1/traffic', '/api/v1/history', '/api/v1/status', '/api/v1/openapi.json', '/ui/app.js', '/ui/', '/ui/../../etc/passwd',
];
const SSE = new Set(['/api/v1/topology/stream', '/api/v1/events']);
const KEYS = ['container', 'state', 'protocol', 'listening', 'at', 'since', 'until', 'limit', 'type', 'lastEventId'];
const VALUES = [
  '*', '*?*?*?*?*?*?*?!', `${'*a'.repeat(200)}*b`, 'db', 'we*', 'listen', 'established,listen', 'TIME-WAIT', 'tcp', 'udp', 'sctp', 'true', 'false', '1',
  '-10m', '-99999999999w', '12345678901234567890123', '2026-11-21T05:00:00Z', '0', '-1', '100001', 'container.started', 'zzzz-1', 'x-99999999999999999',
  '', ' ', '%', '%zz', '\u0000', '\u001b[2J', '東京', 'a'.repeat(300),
];
const ALLOWED = new Set([200, 400, 403, 404, 405, 421, 503]);

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD); `raw` keeps printable ASCII as typed. */
function pct(s: string, raw: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    // A backslash too: inject's URL parser (not the server) takes `/\` for a host-relative URL.
    const keep = raw ? b > 0x20 && b < 0x7f && !'#&=?\\'.includes(c) : /[A-Za-z0-9\-_.~]/.test(c);
    out += keep ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

let app: FastifyInstance;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-fuzz-http-'));
  const store = openHistory({ dir });
  const full = syntheticSnapshot();
  const agent = createAgent({ collection: scriptedCollection([full, withoutContainers(full, [IDS.udpc]), full]), logger: pino({ level: 'silent' }), intervalMs: 60_000, store });
  for (let i = 0; i < 3; i++) await agent.collectNow();
  const ui = { index: '<!doctype html><title>map</title>', files: new Map([['/ui/app.js', { body: Buffer.from('//'), type: 'text/javascript', immutable: true }]]) };
  app = await buildApp(agent, { metrics: { defaultMetrics: false }, ui });
});
afterAll(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const text = fc.oneof(fc.constantFrom(...VALUES), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 300 }));
const request = fc.record({
  path: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ROUTES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => `/${s}`) }),
  method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'),
  query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), text), text, fc.boolean()), { maxLength: 6 }),
  accept: fc.constantFrom(undefined, 'application/json', 'text/html', '*/*', 'text/event-stream'),
  origin: fc.constantFrom(undefined, 'http://localhost', 'http://evil.example', 'null', 'garbage'),
  host: fc.constantFrom('localhost:80', '127.0.0.1', '[::1]:80', 'evil.example'),
  lastEventId: fc.option(fc.stringMatching(/^[ -~]{0,80}$/), { nil: undefined }),
});

describe('fuzz: HTTP API', () => {
  it('every route answers within the error contract, never a 500', async () => {
    await fuzz('http', request, async (r) => {
      // Raw (`%zz`, `%` kept as typed) or fully encoded, as a client might send either; bytes a request line
      // cannot carry (controls, space, non-ASCII, `#`) are always percent-encoded, as any client does.
      const qs = r.query.map(([k, v, raw]) => `${pct(k, raw)}=${pct(v, raw)}`).join('&');
      const url = pct(r.path, true) + (qs ? `?${qs}` : '');
      // A streaming GET would never end under inject: HEAD checks the same parameters.
      const method = SSE.has(r.path) && r.method === 'GET' ? 'HEAD' : r.method;
      const headers: Record<string, string> = { host: r.host };
      if (r.accept) headers.accept = r.accept;
      if (r.origin) headers.origin = r.origin;
      if (r.lastEventId !== undefined) headers['last-event-id'] = r.lastEventId;
      const res = await app.inject({ method: method as 'GET', url, headers });
      expect(ALLOWED.has(res.statusCode), `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`).toBe(true);
      // HEAD answers carry no body (RFC 9110), errors included. The health checks answer 503 with their own
      // status document ({status, stale}), as probes expect.
      const health = (r.path === '/healthz' || r.path === '/readyz') && res.statusCode === 503 && typeof (JSON.parse(res.body || '{}') as { status?: unknown }).status === 'string';
      if (res.statusCode >= 400 && method !== 'HEAD' && !health) {
        const body = JSON.parse(res.body) as { statusCode: number; code: string; message: string };
        expect(body.statusCode).toBe(res.statusCode);
        expect(body.code).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(typeof body.message).toBe('string');
      } else if (method === 'GET' && /application\/json/.test(String(res.headers['content-type']))) {
        expect(() => JSON.parse(res.body)).not.toThrow();
      }
    }, 400);
  }, FUZZ_TIMEOUT_MS);
});
