// `portolan serve` as an operator starts it, against what issue #11 tried: a short token is refused at start,
// a foreign Host (DNS rebinding) and a cross-site request are refused, `--allowed-host` lets a name in, and the
// CLI's `--server` still works (and says what to do when its name is refused).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, portolan, testImage } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const agents: ServeProcess[] = [];
// A name of this machine that /etc/hosts maps to 127.0.0.1 besides localhost (Debian: the hostname), to reach
// the agent by a name it does not know — as a page whose name rebinds to 127.0.0.1 would.
const loopbackAlias = fs.readFileSync('/etc/hosts', 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
  .find(([ip, ...names]) => ip === '127.0.0.1' && names.some((n) => n !== 'localhost'))?.slice(1).find((n) => n !== 'localhost');
beforeAll(() => { testImage(); }, 120_000);
afterAll(async () => {
  for (const a of agents) await a.stop();
  cleanup();
});

describe('portolan serve on a hostile host', () => {
  it('refuses a token shorter than 16 characters, and a malformed --allowed-host, with one line each', () => {
    const short = portolan(['serve', '--listen', '127.0.0.1:0', '--no-history'], { PORTOLAN_TOKEN: 'secret' });
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/^portolan: the token from PORTOLAN_TOKEN has 6 characters: use at least 16/);
    const bad = portolan(['serve', '--listen', '127.0.0.1:0', '--no-history', '--allowed-host', 'http://x/']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^portolan: bad allowed host "http:\/\/x\/"/);
  });

  it('answers only to its own names; --allowed-host and PORTOLAN_ALLOWED_HOSTS add some; cross-site is refused; ps --server works', async () => {
    const agent = await startServe(['--no-history', '--interval', '5', '--allowed-host', 'portolan.test'], { PORTOLAN_ALLOWED_HOSTS: 'second.test:1' });
    agents.push(agent);
    const { port } = new URL(agent.base);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
    const get = (host: string, extra: Record<string, string> = {}) => new Promise<number>((resolve, reject) => {
      // fetch() cannot set Host: node:http can.
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port: Number(port), path: '/api/v1/topology', headers: { host, ...extra } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(await get('evil.example')).toBe(421);
    expect(await get(`evil.example:${port}`)).toBe(421);
    expect(await get(`127.0.0.1:${port}`)).toBe(200);
    expect(await get(`localhost:${port}`)).toBe(200);
    expect(await get(`portolan.test:${port}`)).toBe(200);
    expect(await get('second.test:1')).toBe(200);
    expect(await get('second.test:2')).toBe(421);
    expect(await get(`127.0.0.1:${port}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await get(`127.0.0.1:${port}`, { 'sec-fetch-site': 'cross-site' })).toBe(403);

    const viaLocalhost = portolan(['ps', '--server', `http://localhost:${port}`]);
    expect(viaLocalhost.status, viaLocalhost.stderr).toBe(0);
  });

  it.skipIf(loopbackAlias === undefined)('ps --server by a name the agent does not know: refused, saying what to do; allowed with --allowed-host', async () => {
    const name = loopbackAlias ?? '';
    const agent = await startServe(['--no-history', '--interval', '5']);
    agents.push(agent);
    const { port } = new URL(agent.base);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
    const refused = portolan(['ps', '--server', `http://${name}:${port}`]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`HTTP 421 host_not_allowed`);
    expect(refused.stderr).toContain(`--allowed-host ${name}`);
    const allowed = await startServe(['--no-history', '--interval', '5', '--allowed-host', name]);
    agents.push(allowed);
    await eventually(async () => (await getJson(`${allowed.base}/readyz`)).status === 200, 30_000, 'readyz');
    const ok = portolan(['ps', '--server', `http://${name}:${new URL(allowed.base).port}`]);
    expect(ok.status, ok.stderr).toBe(0);
  });
});
