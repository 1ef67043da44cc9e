// Capture on the real engine: `portolan serve` follows conntrack's events, so connections that open and close
// between two collections are counted in their edge and streamed as events, `docker run --rm` clients are named by
// their (exited) containers and never as external addresses, and a client that connects right after its container
// starts is in the API within a second. Everything is compared with the kernel's own table (`conntrack -L`).
// Containers and networks carry org.portolan.run=capture-<run> and are removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testImage } from './harness.js';
import { eventually, followSse, getJson, startServe, type ServeProcess } from './serve-agent.js';

const RUN = `capture-${randomBytes(3).toString('hex')}`;
const LABELS = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${RUN}`];
const nameOf = (n: string) => `pt-${RUN}-${n}`;

function docker(...args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function dockerAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('docker', args);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const ipOf = (n: string, net: string): string => docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, nameOf(n));
const idOf = (n: string): string => docker('inspect', '-f', '{{.Id}}', nameOf(n));

/** Entries of the host's conntrack table for TCP from `src` to `dst:port` (the kernel's answer). */
function conntrackFlows(src: string, dst: string, port: number): { sport: number; bytes?: number }[] {
  const r = spawnSync('conntrack', ['-L', '-p', 'tcp', '-s', src, '-d', dst, '--dport', String(port)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(`dport=${port}`)).map((l) => ({
    sport: Number(/sport=(\d+)/.exec(l)?.[1]),
    ...(/bytes=(\d+)/.test(l) ? { bytes: Number(/bytes=(\d+)/.exec(l)?.[1]) } : {}),
  }));
}

interface Flow { client: { address: string; port: number; container?: { id: string; name: string; exitedAt?: string } }; server: { address: string; port: number; container?: { id: string } }; bytes?: { sent: number; received: number } }
interface Topo {
  nodes: { id: string; kind: string; name: string; address?: string; exitedAt?: string }[];
  edges: { id: string; from: string; to: string; port: number; captured?: { connections: number; open: number; bytesSent?: number; bytesReceived?: number }; closedAt?: string }[];
}

const dataDirs: string[] = [];
const agents: ServeProcess[] = [];
let image = '';
const NET = nameOf('net');

beforeAll(() => {
  image = testImage();
  docker('network', 'create', ...LABELS, NET);
  docker('run', '-d', '--name', nameOf('srv'), ...LABELS, '--network', NET, image, 'node', '/opt/peer.mjs', 'tcp-server', '8080');
}, 180_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${RUN}`).split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids]);
  spawnSync('docker', ['network', 'rm', NET]);
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function serve(args: string[]): Promise<ServeProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-capture-'));
  dataDirs.push(dir);
  const a = await startServe(['--data', dir, '--no-dns', ...args]);
  agents.push(a);
  await eventually(async () => (await getJson(`${a.base}/readyz`)).status === 200, 30_000, 'readyz');
  const status = (await getJson<{ capture?: { state: string } }>(`${a.base}/api/v1/status`)).body;
  expect(status.capture?.state, a.output()).toBe('running');
  return a;
}

// A client script for the test image's node: `count` connections, one every `everyMs`, each sending 64 bytes and
// closing once the echo is back (about 10 ms each); prints `done <ok>` at the end.
const burst = (host: string, count: number, everyMs: number) => `
const net = require('net'); let ok = 0, ended = 0;
const one = () => { const s = net.connect(8080, '${host}', () => s.write(Buffer.alloc(64, 120)));
  s.on('data', () => { setTimeout(() => s.end(), 8); }); s.on('error', () => {});
  s.on('close', () => { ok++; if (++ended === ${count}) console.log('done', ok); }); };
for (let i = 0; i < ${count}; i++) setTimeout(one, i * ${everyMs});
setInterval(() => {}, 1 << 30);`;

describe('capture: 1,000 connections of ~10 ms between two containers over 10 s', () => {
  let agent: ServeProcess;
  beforeAll(async () => {
    // A long interval: only capture can see connections that live 10 ms.
    agent = await serve(['--interval', '5']);
  }, 60_000);

  it('all are events and in the edge\'s count, live and in history, as many as the kernel tracked', async () => {
    const srvIp = ipOf('srv', NET);
    const events = followSse(`${agent.base}/api/v1/events?type=connection.opened`);
    await events.opened;
    docker('run', '-d', '--name', nameOf('burst'), ...LABELS, '--network', NET, image, 'node', '-e', burst(srvIp, 1000, 10));
    const cliIp = ipOf('burst', NET);
    const cliId = idOf('burst');
    const srvId = idOf('srv');
    await eventually(() => docker('logs', nameOf('burst')).includes('done'), 60_000, 'the client to finish its 1,000 connections');
    // The kernel's answer: every flow is still in the table (TIME_WAIT lasts 120 s).
    const kernel = conntrackFlows(cliIp, srvIp, 8080);
    expect(kernel.length).toBeGreaterThanOrEqual(1000);
    const mine = () => events.events.filter((e) => {
      const f = (e.data as { flow?: Flow }).flow;
      return f !== undefined && f.client.address === cliIp && f.server.port === 8080;
    });
    await eventually(() => mine().length >= kernel.length, 15_000, 'an opened event for each flow the kernel tracked');
    const flows = mine().map((e) => (e.data as { flow: Flow }).flow);
    expect(new Set(flows.map((f) => f.client.port))).toEqual(new Set(kernel.map((k) => k.sport)));
    expect(flows.every((f) => f.client.container?.id === cliId && f.server.container?.id === srvId)).toBe(true);
    // The edge counts them at the next collection (interval 5 s).
    const edgeId = `${cliId}->${srvId}/tcp/8080`;
    const edge = await eventually(async () => {
      const t = (await getJson<Topo>(`${agent.base}/api/v1/topology`)).body;
      const e = t.edges.find((x) => x.id === edgeId);
      return e?.captured && e.captured.connections >= kernel.length ? e : undefined;
    }, 15_000, 'the edge to count every connection');
    expect(edge.captured?.connections).toBe(kernel.length);
    // And history has it, as of its latest record.
    const { lastMs } = (await getJson<{ lastMs: number }>(`${agent.base}/api/v1/history`)).body;
    const at = await getJson<Topo>(`${agent.base}/api/v1/topology?at=${lastMs / 1000}`);
    expect(at.status).toBe(200);
    expect(at.body.edges.find((x) => x.id === edgeId)?.captured?.connections).toBe(kernel.length);
    events.close();
  });
});

describe('capture: 200 `docker run --rm` clients of a server', () => {
  let agent: ServeProcess;
  beforeAll(async () => {
    agent = await serve(['--interval', '2']);
  }, 60_000);

  it('every one is named by its container, none is an external node', async () => {
    const srvIp = ipOf('srv', NET);
    // Every connection event (opened and closed): a failure names the events behind an external node.
    const events = followSse(`${agent.base}/api/v1/events`);
    await events.opened;
    const N = 200;
    // Each client prints its address and local port, then exits and is removed.
    const script = `const net = require('net'); const s = net.connect(8080, '${srvIp}', () => { console.log(s.localAddress, s.localPort); s.end('x'); });
s.on('data', () => {}); s.on('error', (e) => { console.log('error', e.message); process.exit(1); });`;
    const seen: { name: string; address: string; port: number; doneAtMs: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const n = nameOf(`job-${i}`);
        const r = await dockerAsync(['run', '--rm', '--name', n, ...LABELS, '--network', NET, image, 'node', '-e', script]);
        const [address, port] = r.stdout.trim().split(' ');
        if (r.status === 0 && address && port) seen.push({ name: n, address: address.replace(/^::ffff:/, ''), port: Number(port), doneAtMs: Date.now() });
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(seen).toHaveLength(N);
    // Opened events by client address and port, in the order read. Two clients may share both (Docker hands an
    // address on; the kernel picks the same source port now and then): the n-th such client is the n-th such flow.
    const byPort = () => {
      const m = new Map<string, Flow[]>();
      for (const e of events.events) {
        const f = (e.data as { flow?: Flow }).flow;
        if (!f || e.event !== 'connection.opened' || f.server.port !== 8080) continue;
        const k = `${f.client.address}:${f.client.port}`;
        m.set(k, [...(m.get(k) ?? []), f]);
      }
      return m;
    };
    const want = new Map<string, number>();
    for (const s of seen) want.set(`${s.address}:${s.port}`, (want.get(`${s.address}:${s.port}`) ?? 0) + 1);
    await eventually(() => { const m = byPort(); return [...want].every(([k, n]) => (m.get(k)?.length ?? 0) >= n); }, 10_000, 'an opened event for each client');
    const byKey = byPort();
    const taken = new Map<string, number>();
    const flowOf = new Map(seen.map((s) => {
      const k = `${s.address}:${s.port}`;
      const i = taken.get(k) ?? 0;
      taken.set(k, i + 1);
      return [s, byKey.get(k)?.[i]] as const;
    }));
    const named = (s: (typeof seen)[number]) => flowOf.get(s)?.client.container?.name;
    // Named as another container: what the address history's start and exit times leave possible when Docker hands a
    // freed address on within the same moment (none seen since `die` events end holdings); printed, more than 1 % fails.
    const misnamed = seen.filter((s) => named(s) !== undefined && named(s) !== s.name).map((s) => ({ ...s, namedAs: named(s) }));
    if (misnamed.length > 0) console.log('capture: named as another container:', JSON.stringify(misnamed));
    expect(misnamed.length).toBeLessThanOrEqual(N * 0.01);
    // The goal is all 200: a client that exits before the inspect of its start event returns leaves no trace of its
    // address in Docker (measured 193–199 of 200 since a listing older than that inspect no longer ends its holding;
    // 182–196 before). More than 7.5 % unnamed is a regression.
    const unnamed = seen.filter((s) => named(s) === undefined);
    console.log(`capture: ${N - unnamed.length} of ${N} docker run --rm clients named by their container`);
    expect(unnamed.length).toBeLessThanOrEqual(N * 0.075);
    // The map: no external node for the address of any client capture named, live and in history (Docker hands a
    // freed address to a later client: an address an unnamed client also held may be external for that one).
    const unnamedAddresses = new Set(unnamed.map((s) => s.address));
    const addresses = new Set(seen.filter((s) => named(s) !== undefined && !unnamedAddresses.has(s.address)).map((s) => s.address));
    const check = async (url: string) => {
      const t = (await getJson<Topo>(url)).body;
      const bad = t.nodes.filter((n) => n.kind === 'external' && n.address !== undefined && addresses.has(n.address));
      for (const n of bad) {
        console.log(`capture: ${n.id} in ${url}; its edges:`, JSON.stringify(t.edges.filter((e) => e.from === n.id || e.to === n.id)));
        console.log('capture: the clients that held it:', JSON.stringify(seen.filter((s) => s.address === n.address).map((s) => ({ ...s, namedAs: named(s) }))));
        console.log('capture: its events:', JSON.stringify(events.events.filter((e) => {
          const f = (e.data as { flow?: Flow }).flow;
          return f?.client.address === n.address || f?.server.address === n.address;
        }).map((e) => ({ event: e.event, at: e.at, data: e.data }))));
      }
      return bad.map((n) => n.id);
    };
    // After the next collection (2 s interval).
    const lastEvent = Date.now();
    await eventually(async () => (await getJson<{ lastCollectionAtMs: number }>(`${agent.base}/api/v1/status`)).body.lastCollectionAtMs > lastEvent, 10_000, 'a collection after the clients');
    expect(await check(`${agent.base}/api/v1/topology`)).toEqual([]);
    // Each client made one connection: the edges from the clients (named, or an address of theirs) to the server
    // count N in all, not more (a flow's copy in the server's namespace is the same flow, not another one).
    const srvId = idOf('srv');
    const clientIds = new Set(seen.map((s) => flowOf.get(s)?.client.container?.id).filter((x): x is string => x !== undefined));
    const seenAddresses = new Set(seen.map((s) => s.address));
    const readAtMs = Date.now();
    const live = (await getJson<Topo>(`${agent.base}/api/v1/topology`)).body;
    // An edge whose connections all closed fades from the map 5 minutes after its close (a client closes as soon as
    // it connected): on a machine so busy that the 200 runs took that long, the first clients' edges are gone, as
    // promised. They are left out of the count (printed), no more.
    const faded = seen.filter((s) => readAtMs - s.doneAtMs > 300_000 - 10_000).length;
    if (faded > 0) console.log(`capture: ${faded} clients closed over ~5 minutes before the count: their edges may have faded`);
    const fromClients = live.edges.filter((e) => e.to === srvId && e.port === 8080 && (clientIds.has(e.from) || (e.from.startsWith('external:') && seenAddresses.has(e.from.slice(9)))));
    const counted = fromClients.reduce((n, e) => n + (e.captured?.connections ?? 0), 0);
    // Exact unless the kernel dropped events: then a resync from a dump may count a flow twice or miss one, and says so.
    const { capture } = (await getJson<{ capture: { resyncs: number; mayHaveMissed: number; dropped: number } }>(`${agent.base}/api/v1/status`)).body;
    const lost = capture.resyncs + capture.mayHaveMissed + capture.dropped > 0;
    const why = JSON.stringify({ capture, counted, notOne: fromClients.filter((e) => (e.captured?.connections ?? 0) !== 1), toServer: live.edges.filter((e) => e.to === srvId && e.port === 8080 && !fromClients.includes(e)) });
    if (counted !== N) console.log('capture: the clients\' connections counted on their edges:', why);
    if (lost) expect(Math.abs(counted - N), why).toBeLessThanOrEqual(N * 0.01 + faded);
    else if (faded === 0) expect(counted, why).toBe(N);
    else {
      expect(counted, why).toBeGreaterThanOrEqual(N - faded);
      expect(counted, why).toBeLessThanOrEqual(N);
    }
    const { lastMs } = (await getJson<{ lastMs: number }>(`${agent.base}/api/v1/history`)).body;
    expect(await check(`${agent.base}/api/v1/topology?at=${lastMs / 1000}`)).toEqual([]);
    events.close();
  }, 400_000);
});

describe('capture: a client that connects within 100 ms of its container\'s start', () => {
  let agent: ServeProcess;
  beforeAll(async () => {
    // 60 s: the tick explains nothing; only the Docker start event and capture's news can.
    agent = await serve(['--interval', '60']);
  }, 60_000);

  it('is in the API within one second', async () => {
    const srvIp = ipOf('srv', NET);
    const srvId = idOf('srv');
    // busybox nc connects within milliseconds of the start; the connection stays open (sleep keeps stdin open).
    const id = docker('run', '-d', '--name', nameOf('quick'), ...LABELS, '--network', NET, image, 'sh', '-c', `sleep 30 | nc ${srvIp} 8080`);
    const started = Date.parse(docker('inspect', '-f', '{{.State.StartedAt}}', id));
    const inApi = async () => {
      const t = (await getJson<Topo>(`${agent.base}/api/v1/topology`)).body;
      return t.edges.some((e) => e.from === id && e.to === srvId && e.port === 8080) ? Date.now() : undefined;
    };
    // The promise: within 1 s of the start (polled every 25 ms).
    const end = started + 1000;
    let seenAt: number | undefined;
    while (Date.now() <= end && seenAt === undefined) {
      seenAt = await inApi();
      if (seenAt === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    const kernel = conntrackFlows(ipOf('quick', NET), srvIp, 8080);
    expect(kernel.length).toBeGreaterThanOrEqual(1);
    expect(seenAt, `not in the API 1 s after the container started (${new Date(started).toISOString()})`).toBeDefined();
  });
});

// A client that connects, exchanges 64 bytes, waits `holdMs`, then closes first (its socket lingers in TIME_WAIT)
// and prints `done <local port> <ms from connected to closed>`; then stays up.
const closeOnce = (host: string, holdMs: number) => `
const net = require('net'); let at = 0, port = 0;
const s = net.connect(8080, '${host}', () => { at = Date.now(); port = s.localPort; s.write(Buffer.alloc(64, 120)); });
s.once('data', () => setTimeout(() => s.end(), ${holdMs}));
s.on('error', (e) => { console.log('error', e.message); });
s.on('close', () => console.log('done', port, Date.now() - at));
setInterval(() => {}, 1 << 30);`;

/** The host's conntrack entry of a TCP flow from `src:sport` to `dst:8080` as `conntrack -L` prints it ('' when gone). */
function conntrackLine(src: string, sport: number, dst: string): string {
  const r = spawnSync('conntrack', ['-L', '-p', 'tcp', '-s', src, '--sport', String(sport), '-d', dst, '--dport', '8080'], { encoding: 'utf8' });
  return r.stdout.split('\n').find((l) => l.includes(`sport=${sport} `)) ?? '';
}

describe('capture: a TCP connection that closes normally is closed when it closes, not when its TIME_WAIT entry expires', () => {
  const SYSCTL = '/proc/sys/net/netfilter/';
  const read = (name: string) => fs.readFileSync(SYSCTL + name, 'utf8').trim();
  const write = (name: string, value: string) => fs.writeFileSync(SYSCTL + name, `${value}\n`);
  // Host-wide settings of the host namespace, put back as they were at the end.
  let saved: { acct: string; timeWait: string } | undefined;
  beforeAll(() => {
    saved = { acct: read('nf_conntrack_acct'), timeWait: read('nf_conntrack_tcp_timeout_time_wait') };
  });
  afterAll(() => {
    if (!saved) return;
    write('nf_conntrack_acct', saved.acct);
    write('nf_conntrack_tcp_timeout_time_wait', saved.timeWait);
  });

  interface Closed { flow: Flow & { closedAt?: string; openedAt?: string; durationMs?: number; state?: string; timing?: string } }

  async function closeAndWait(agent: ServeProcess, client: string, holdMs: number): Promise<{ sport: number; clientMs: number; closedAtMs: number; kernelLine: string; event: () => Closed | undefined }> {
    const srvIp = ipOf('srv', NET);
    const events = followSse(`${agent.base}/api/v1/events?type=connection.closed`);
    await events.opened;
    docker('run', '-d', '--name', nameOf(client), ...LABELS, '--network', NET, image, 'node', '-e', closeOnce(srvIp, holdMs));
    const cliIp = ipOf(client, NET);
    const done = await eventually(() => /done (\d+) (\d+)/.exec(docker('logs', nameOf(client))) ?? undefined, 30_000, 'the client to close its connection');
    const closedAtMs = Date.now();
    const sport = Number(done[1]);
    // The kernel's answer right after the close: the entry is there, in TIME_WAIT (its DESTROY has not come yet).
    const kernelLine = conntrackLine(cliIp, sport, srvIp);
    const event = () => events.events.map((e) => e.data as Closed).find((d) => d.flow?.client.address === cliIp && d.flow.client.port === sport);
    return { sport, clientMs: Number(done[2]), closedAtMs, kernelLine, event };
  }

  it('accounting off: the connection.closed event comes at its TIME_WAIT (the entry still in the table), with its real duration', async () => {
    write('nf_conntrack_acct', '0');
    const agent = await serve(['--interval', '2']);
    const status = (await getJson<{ capture: { tcpCloses?: string; accounting: string } }>(`${agent.base}/api/v1/status`)).body.capture;
    expect(status).toMatchObject({ tcpCloses: 'state', accounting: 'off' });
    const c = await closeAndWait(agent, 'tw-off', 300);
    expect(c.kernelLine).toContain('TIME_WAIT');
    // Within the next collection (2 s) and the SSE's way, long before the entry's 120 s are over.
    const e = await eventually(() => c.event(), 10_000, 'the closed event of the connection');
    const tableNow = conntrackLine(ipOf('tw-off', NET), c.sport, ipOf('srv', NET));
    expect(tableNow, 'the entry expired before the event came: this test proves nothing').toContain('TIME_WAIT');
    expect(e.flow.state).toBe('TIME_WAIT');
    expect(e.flow.timing).toBe('observed');
    // The duration the agent reports against the one the client measured (connect → close): the agent's opening is
    // when it read the NEW (the SYN, before the client's connect callback), its close when it read the UPDATE; either
    // read may come late on a busy machine (no kernel timestamps here), hence the slack.
    expect(e.flow.durationMs).toBeGreaterThanOrEqual(c.clientMs - 500);
    expect(e.flow.durationMs).toBeLessThan(c.clientMs + 1_000);
    expect(Math.abs(Date.parse(e.flow.closedAt ?? '') - c.closedAtMs)).toBeLessThan(2_000);
  }, 90_000);

  it('accounting on: the close comes with the DESTROY (the bytes come only then) but is dated at its TIME_WAIT, with the kernel\'s counters', async () => {
    write('nf_conntrack_acct', '1');
    // TIME_WAIT shortened to 5 s for this test (host-wide, restored after), so the DESTROY comes soon.
    write('nf_conntrack_tcp_timeout_time_wait', '5');
    const agent = await serve(['--interval', '2']);
    const status = (await getJson<{ capture: { tcpCloses?: string; accounting: string } }>(`${agent.base}/api/v1/status`)).body.capture;
    expect(status).toMatchObject({ tcpCloses: 'destroy', accounting: 'on' });
    const c = await closeAndWait(agent, 'tw-on', 300);
    expect(c.kernelLine).toContain('TIME_WAIT');
    // The kernel's counters of the flow (original direction first): what the event must carry.
    const bytes = [...c.kernelLine.matchAll(/bytes=(\d+)/g)].map((m) => Number(m[1]));
    expect(bytes).toHaveLength(2);
    // An expired entry goes when conntrack's garbage collector comes by (up to a minute later) or when a dump walks
    // past it: `conntrack -L`, polled here, is what ends it (and so sends its DESTROY) soon after its 5 s.
    const e = await eventually(() => {
      conntrackLine(ipOf('tw-on', NET), c.sport, ipOf('srv', NET));
      return c.event();
    }, 30_000, 'the closed event of the connection (at its DESTROY, ~5 s)');
    expect(e.flow.bytes).toMatchObject({ sent: bytes[0], received: bytes[1] });
    // Not the 5 s until the DESTROY (see above for the slack).
    expect(e.flow.durationMs).toBeGreaterThanOrEqual(c.clientMs - 500);
    expect(e.flow.durationMs).toBeLessThan(c.clientMs + 1_000);
    expect(Math.abs(Date.parse(e.flow.closedAt ?? '') - c.closedAtMs)).toBeLessThan(2_000);
  }, 90_000);
});
