// `portolan serve` on the real engine: containers appear in the API and the live streams on Docker events
// (the interval is set far longer than the test waits, so only the events can explain it), /metrics passes
// promtool, GET / matches the kernel, history survives kill -9, and the listen policy refuses what it must.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, inspect, name, portolan, run, ssSockets, testImage, waitFor } from './harness.js';
import { eventually, followSse, getJson, startServe, type ServeProcess } from './serve-agent.js';

const LONG_INTERVAL = '60';
const dataDirs: string[] = [];
const agents: ServeProcess[] = [];
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-serve-'));
  dataDirs.push(d);
  return d;
};
const serve = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const a = await startServe(args, env);
  agents.push(a);
  return a;
};

interface Containers { stale: boolean; containers: { name: string; top: { established: number } }[] }
interface Outpost { name: string; artefact: string; listening: { address: string; port: number }[]; established: { address: string; port: number }[] }

beforeAll(() => { testImage(); }, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  cleanup();
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('portolan serve: collection on Docker events', () => {
  let agent: ServeProcess;
  beforeAll(async () => {
    agent = await serve(['--interval', LONG_INTERVAL, '--data', dataDir()]);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
  });

  it('a started container appears in the API and both streams before the next tick; a removed one disappears', async () => {
    const topo = followSse(`${agent.base}/api/v1/topology/stream`);
    const events = followSse(`${agent.base}/api/v1/events`);
    await Promise.all([topo.opened, events.opened]);
    run('srv', ['-p', '127.0.0.1::8080'], ['node', '/opt/peer.mjs', 'tcp-server', '8080']);
    const ip = inspect('srv').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    run('cli', [], ['node', '/opt/peer.mjs', 'tcp-client', ip, '8080', '2']);
    // The interval is 60 s: anything seen within 20 s was collected because of a Docker event.
    const startedNames = () => events.events.filter((e) => e.event === 'container.started').map((e) => (e.data as { container: { name: string } }).container.name);
    const started = await eventually(() => (startedNames().includes(name('srv')) && startedNames().includes(name('cli')) ? startedNames() : undefined), 20_000, 'container.started of srv and cli');
    expect(started).toEqual(expect.arrayContaining([name('srv'), name('cli')]));
    expect(topo.events[0]?.event).toBe('topology');
    await eventually(() => topo.events.some((e) => e.event === 'diff' &&
      (e.data as { nodes: { added: { name: string }[] } }).nodes.added.some((n) => n.name === name('srv'))), 20_000, 'a diff adding srv');
    const list = (await getJson<Containers>(`${agent.base}/api/v1/containers`)).body;
    expect(list.containers.map((c) => c.name)).toEqual(expect.arrayContaining([name('srv'), name('cli')]));

    docker('rm', '-f', name('cli'));
    await eventually(() => events.events.some((e) => e.event === 'container.stopped' && (e.data as { container: { name: string } }).container.name === name('cli')), 20_000, 'container.stopped');
    await eventually(async () => !(await getJson<Containers>(`${agent.base}/api/v1/containers`)).body.containers.some((c) => c.name === name('cli')), 5_000, 'cli gone from the API');
    topo.close();
    events.close();
  });

});

// The agent at a 1 s interval: a state the kernel shows is the agent's within a few ticks (PROMISE_MS). Each test
// starts its own containers and waits for the kernel first.
describe('portolan serve: what it serves equals the kernel', () => {
  const PROMISE_MS = 5_000;
  let agent: ServeProcess;
  beforeAll(async () => {
    agent = await serve(['--interval', '1', '--no-history']);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
  });

  /** A published server and a client holding one connection to it, both up in the kernel (ss). */
  async function serverWithClient(n: string, port: number): Promise<{ hostPort: number; clientIp: string }> {
    run(n, ['-p', `127.0.0.1::${port}`], ['node', '/opt/peer.mjs', 'tcp-server', String(port)]);
    const ip = inspect(n).NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    run(`${n}cli`, [], ['node', '/opt/peer.mjs', 'tcp-client', ip, String(port), '1']);
    const clientIp = inspect(`${n}cli`).NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    await waitFor(() => ssSockets(inspect(n).State.Pid).some((x) => x.state === 'ESTABLISHED' && x.remote.replace(/^::ffff:/, '').startsWith(`${clientIp}:`)), 30_000, `${n}cli connected to ${n} (ss)`);
    const hostPort = Number(docker('port', name(n), `${port}/tcp`).split('\n')[0]?.split(':').pop());
    return { hostPort, clientIp };
  }

  it('GET / lists published listeners and established peers like outpost, from the kernel\'s sockets', async () => {
    const { hostPort, clientIp } = await serverWithClient('pub', 9090);
    const entry = await eventually(async () => {
      const list = (await getJson<Outpost[]>(`${agent.base}/`)).body;
      const pub = list.find((c) => c.name === `/${name('pub')}`);
      return pub && pub.established.length > 0 ? pub : undefined;
    }, PROMISE_MS, 'pub with its established connection in GET /');
    expect(entry.artefact).toBe(testImage());
    expect(entry.listening).toEqual([{ address: '127.0.0.1', port: hostPort }]);
    expect(entry.established.every((e) => e.address === clientIp)).toBe(true);
    const html = await fetch(`${agent.base}/`, { headers: { accept: 'text/html' } });
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('/metrics passes promtool check metrics', async () => {
    await serverWithClient('met', 9091);
    const metrics = () => fetch(`${agent.base}/metrics`).then((r) => r.text());
    const listening = new RegExp(`^portolan_container_sockets\\{container="${name('met')}",id="[0-9a-f]{12}",protocol="tcp",state="LISTEN"\\} 1$`, 'm');
    const text = await eventually(async () => { const t = await metrics(); return listening.test(t) ? t : undefined; }, PROMISE_MS, 'met listening in /metrics');
    expect(text).toMatch(/^portolan_collector_success\{collector="sockets"\} 1$/m);
    expect(text).toMatch(/^portolan_docker_events_connected 1$/m);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('ps, top --server read from the agent and agree with a local collection', async () => {
    await serverWithClient('srvd', 9092);
    await eventually(async () => (await getJson<Containers>(`${agent.base}/api/v1/containers`)).body.containers?.some((c) => c.name === name('srvd') && c.top.established > 0), PROMISE_MS, 'srvd with its connection in the agent');
    const remote = portolan(['ps', '--json', '--server', agent.base, '-c', name('srvd')]);
    expect(remote.status, remote.stderr).toBe(0);
    const local = portolan(['ps', '--json', '-c', name('srvd')]);
    const strip = (t: string) => (JSON.parse(t) as { containers: { name: string; sockets: { state: string; local: unknown }[] }[] }).containers
      .map((c) => ({ name: c.name, listen: c.sockets.filter((s) => s.state === 'LISTEN').map((s) => s.local) }));
    expect(strip(remote.stdout)).toEqual(strip(local.stdout));
    const top = portolan(['top', '--once', '--json', '--server', agent.base]);
    expect(top.status, top.stderr).toBe(0);
    expect((JSON.parse(top.stdout) as { containers: { name: string }[] }).containers.map((c) => c.name)).toContain(name('srvd'));
    // graph --server: the agent's topology, with the same published-port edge nodes as a local graph.
    const g = portolan(['graph', '--json', '--no-dns', '--server', agent.base]);
    expect(g.status, g.stderr).toBe(0);
    const remoteGraph = JSON.parse(g.stdout) as { nodes: { id: string; name: string }[]; edges: { from: string; to: string }[] };
    expect(remoteGraph.nodes.map((n) => n.name)).toContain(name('srvd'));
    // Every edge joins nodes of the same document (the agent's topology, not a mix of two collections).
    const ids = new Set(remoteGraph.nodes.map((n) => n.id));
    for (const e of remoteGraph.edges) expect([ids.has(e.from), ids.has(e.to)]).toEqual([true, true]);
    const noServer = portolan(['graph', '--at', '10m']);
    expect(noServer.status).toBe(2);
    expect(noServer.stderr).toMatch(/--at needs --server/);
    const down = portolan(['ps', '--server', 'http://127.0.0.1:9']);
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot reach the agent at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('portolan serve: security by default', () => {
  it('refuses to listen beyond loopback without a token, with one line saying what to do', () => {
    const r = portolan(['serve', '--listen', '0.0.0.0:0', '--no-history']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^portolan: refusing to listen on 0\.0\.0\.0:0 without authentication.*PORTOLAN_TOKEN.*--token-file.*--insecure-no-auth/);
  });

  it('with PORTOLAN_TOKEN it listens on all addresses and wants the token', async () => {
    const a = await startServe(['--listen', '0.0.0.0:0', '--no-history', '--interval', LONG_INTERVAL], { PORTOLAN_TOKEN: 'integration-secret' })
      .catch((err: unknown) => { throw err; });
    agents.push(a);
    const base = a.base.replace('0.0.0.0', '127.0.0.1');
    expect((await getJson(`${base}/api/v1/containers`)).status).toBe(401);
    await eventually(async () => (await getJson(`${base}/readyz`)).status === 200, 30_000, 'readyz');
    expect((await getJson(`${base}/api/v1/containers`, { authorization: 'Bearer integration-secret' })).status).toBe(200);
    const ps = portolan(['ps', '--server', base], { PORTOLAN_TOKEN: 'integration-secret' });
    expect(ps.status, ps.stderr).toBe(0);
    await a.stop();
  });
});

describe('portolan serve: history survives kill -9', () => {
  it('the file is intact after kill -9 and a restart answers ?at= for the time before', async () => {
    const dir = dataDir();
    run('hist', [], ['node', '/opt/peer.mjs', 'tcp-server', '7070']);
    const first = await serve(['--interval', '1', '--data', dir]);
    await eventually(async () => (await getJson<Containers>(`${first.base}/api/v1/containers`)).body.containers?.some((c) => c.name === name('hist')), 30_000, 'hist in the first agent');
    // A few ticks of writes (heartbeats, traffic), an instant to ask about, a tick recorded after it, then kill -9
    // in the middle of whatever the agent is doing.
    const status = async () => (await getJson<{ collections: number; lastCollectionAtMs: number }>(`${first.base}/api/v1/status`)).body;
    const c0 = (await status()).collections;
    await eventually(async () => (await status()).collections >= c0 + 3, 30_000, 'three more collections');
    const seenAt = new Date().toISOString();
    await eventually(async () => (await status()).lastCollectionAtMs > Date.parse(seenAt) + 100, 30_000, 'a collection recorded after the instant');
    first.proc.kill('SIGKILL');
    await first.stop();

    const db = new Database(path.join(dir, 'history.sqlite'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const second = await serve(['--interval', '1', '--data', dir]);
    const then = await eventually(async () => {
      const r = await getJson<{ nodes: { name: string }[] }>(`${second.base}/api/v1/topology?at=${encodeURIComponent(seenAt)}`);
      return r.status === 200 ? r.body : undefined;
    }, 20_000, 'history at the time before the kill');
    expect(then.nodes.map((n) => n.name)).toContain(name('hist'));
    // The time the agent was down has no history rather than a guess.
    const after = (await getJson<{ history: { firstMs: number } }>(`${second.base}/api/v1/status`)).body;
    expect(after.history.firstMs).toBeLessThan(Date.parse(seenAt));
    await second.stop();
  });
});
