// The fleet on real engines (issue 12's proof): three Docker hosts in their own network, UTS and mount namespaces
// and a three-node nats-server cluster with JetStream (scripts/fleet-lab.sh), one `portolan serve --nats` per host
// run inside that host's network namespace, and `portolan hub` in the root namespace. What the hub shows is
// compared with the kernel's own answer (`ss` in every container's namespace) and survives an agent stopping, the
// hub being killed, and a NATS node dying. One lab for the whole file.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from './deploy-helpers.js';
import { CLI, normEndpoint, ROOT, RUN_ID, ssSockets, testImage, type SsSocket } from './harness.js';
import { eventually, getJson } from './serve-agent.js';
import { createSseParser } from '../../src/core/parse/sse.js';

interface LabHost { name: string; dockerHost: string; address: string; dockerdPid: string; netns: string }
interface Endpoint { address: string; port: number }
interface Detail { state: string; client: Endpoint; server: Endpoint; published?: Endpoint }
interface Node { kind: string; id: string; name: string; host?: string; networks?: { ipv4?: string }[] }
interface Edge { id: string; from: string; to: string; port: number; connections: number; via: string[]; details?: Detail[]; traffic?: { bytesSent: number; bytesReceived: number } }
interface FleetTopology { nodes: Node[]; edges: Edge[]; hosts?: { id: string; name: string; stale?: boolean }[] }

interface PsSocketJson { protocol: string; state: string; local: Endpoint; remote: Endpoint; inode: number }
interface PsJson { host: { hostname: string }; containers: { id: string; name: string; host?: { id: string; hostname: string }; sockets: PsSocketJson[] }[] }

const LAB = `f${RUN_ID.slice(0, 3)}`;
const SCRIPT = path.join(ROOT, 'scripts/fleet-lab.sh');
// This branch's port range (19200-19399): NATS on 19301-19323, hubs on 19360+.
const NATS_BASE = 19300;
const HUB_PORT = 19360;
const INTERVAL = '1s';
let hosts: LabHost[] = [];
let natsUrls: string[] = [];
const agents = new Map<string, ChildProcess>();
const hubs: { proc: ChildProcess; port: number; out: () => string }[] = [];
let dataDir = '';

const at = (h: LabHost, ...args: string[]) => {
  const r = spawnSync('docker', ['-H', h.dockerHost, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker -H ${h.dockerHost} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const host = (i: number) => hosts[i] as LabHost;
const label = ['--label', `org.portolan.run=fleetnats-${RUN_ID}`];

function startAgent(h: LabHost): ChildProcess {
  // In the host's network namespace (its LAN address, its conntrack table), reading its own dockerd.
  const p = spawn('nsenter', [`--net=/var/run/netns/${h.netns}`, process.execPath, CLI, 'serve', '--docker-host', h.dockerHost, '--host-pid', h.dockerdPid,
    '--listen', '127.0.0.1:19351', '--interval', INTERVAL, '--no-history', '--no-dns', '--log-level', 'warn', '--nats', natsUrls.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
  agents.set(h.name, p);
  return p;
}

async function startHub(port: number, name: string): Promise<{ proc: ChildProcess; port: number; out: () => string }> {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'hub', '--nats', natsUrls.join(','), '--listen', `127.0.0.1:${port}`, '--name', name, '--data', path.join(dataDir, name)], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-200_000); });
  proc.stderr?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-200_000); });
  const hub = { proc, port, out: () => out };
  hubs.push(hub);
  try {
    await eventually(() => out.includes('portolan hub serving') || proc.exitCode !== null, 30_000, `hub ${name} listening`);
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n${out}`);
  }
  if (proc.exitCode !== null) throw new Error(`hub ${name} exited with ${proc.exitCode}:\n${out}`);
  return hub;
}

/** A change event as `/api/v1/events` sends it (only what the test reads is typed). */
interface ChangeEventJson { type: string; at: string; host?: string; container?: { name: string }; flow?: { client: { container?: { name: string } } } }

/**
 * The change events `/api/v1/events` replays from its journal (a Last-Event-ID of no run of it: all it keeps), read
 * with curl (in `netns` when given: an agent listens in its host's namespace) until `enough` holds or `ms` passed.
 */
function journalEvents(url: string, enough: (events: ChangeEventJson[]) => boolean, ms: number, netns?: string, query = ''): Promise<ChangeEventJson[]> {
  const curl = ['curl', '-sN', '--max-time', String(Math.ceil(ms / 1000)), `${url}/api/v1/events?lastEventId=0-0${query}`];
  const p = netns ? spawn('nsenter', [`--net=/var/run/netns/${netns}`, ...curl]) : spawn(curl[0] as string, curl.slice(1));
  const parser = createSseParser();
  const events: ChangeEventJson[] = [];
  return new Promise((resolve) => {
    p.stdout.on('data', (d: Buffer) => {
      for (const e of parser.push(d.toString())) if (e.event !== 'ready' && e.event !== 'gap') events.push(JSON.parse(e.data) as ChangeEventJson);
      if (enough(events)) p.kill();
    });
    p.once('close', () => resolve(events));
  });
}
const withoutHost = ({ host: _h, ...e }: ChangeEventJson) => e;
// The short-lived client's events, read from its agent in the test below and looked for in the restarted hub.
let shortLived: { hostId: string; events: ChangeEventJson[] } | undefined;

const topology = async (port: number) => (await getJson<FleetTopology>(`http://127.0.0.1:${port}/api/v1/topology`)).body;
const containersOf = (t: FleetTopology, hostName: string) => {
  const id = t.hosts?.find((h) => h.name === hostName)?.id;
  return t.nodes.filter((n) => n.kind === 'container' && n.host === id);
};
const byName = (t: FleetTopology, name: string) => t.nodes.filter((n) => n.kind === 'container' && n.name === name);

/** ESTABLISHED TCP local endpoints in a lab container's namespace, as `ss` sees them (Docker's DNS sockets aside). */
function ssLocal(h: LabHost, container: string): string[] {
  const pid = at(h, 'inspect', '-f', '{{.State.Pid}}', container);
  return execFileSync('nsenter', ['-t', pid, '-n', 'ss', '-tanH', 'state', 'established'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4)
    // (`state established` leaves out the state column.) A dual-stack socket's v4-mapped address is the IPv4
    // address it is: the topology spells it so.
    .map(([, , local]) => { const t = local ?? ''; const i = t.lastIndexOf(':'); return normEndpoint(t.slice(0, i), t.slice(i + 1)).replace(/^::ffff:(\d+\.\d+\.\d+\.\d+:)/, '$1'); })
    .filter((e) => !e.startsWith('127.0.0.11:')).sort();
}

/** The same from the hub: the local endpoint of each ESTABLISHED connection of the container, as client or server. */
function hubLocal(t: FleetTopology, containerId: string): string[] {
  const out: string[] = [];
  for (const e of t.edges) {
    for (const d of e.details ?? []) {
      if (d.state !== 'ESTABLISHED') continue;
      if (e.from === containerId) out.push(normEndpoint(d.client.address, d.client.port));
      if (e.to === containerId) out.push(normEndpoint(d.server.address, d.server.port));
    }
  }
  return out.sort();
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'portolan-fleet-'));
  let up: { status: number | null; stdout: string; output: string } | undefined;
  let x = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    x = 100 + Math.floor(Math.random() * 150);
    up = await runAsync('bash', [SCRIPT, 'up', LAB, '3', String(x), String(NATS_BASE), testImage()]);
    if (up.status !== 3) break; // that subnet is routed already (another lab): pick another
  }
  if (up?.status !== 0) throw new Error(`fleet-lab.sh up failed: ${up?.output}`);
  hosts = up.stdout.split('\n').filter((l) => l.startsWith('HOST=')).map((l, i) => {
    const [n, dockerHost, address, dockerdPid] = l.slice(5).split(' ');
    return { name: n ?? '', dockerHost: dockerHost ?? '', address: address ?? '', dockerdPid: dockerdPid ?? '', netns: `pl${LAB}h${i + 1}` };
  });
  natsUrls = up.stdout.split('\n').filter((l) => l.startsWith('NATS=')).map((l) => l.split(' ')[1] ?? '');
  expect(hosts).toHaveLength(3);
  expect(natsUrls).toHaveLength(3);
  const [h1, h2, h3] = [host(0), host(1), host(2)];
  // The first container of every host: the same address, 172.17.0.2, on each.
  for (const h of hosts) at(h, 'run', '-d', '--name', 'first', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7000');
  // h2 publishes its first container's port; a client on h1 reaches it through h2's address (DNAT).
  at(h2, 'rm', '-f', 'first');
  at(h2, 'run', '-d', '--name', 'first', '-p', '8080:7000', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7000');
  at(h1, 'run', '-d', '--name', 'client', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-client', h2.address, '8080', '5000');
  // On h3, a client of its own first container (a connection inside one host).
  at(h3, 'run', '-d', '--name', 'local', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-client', at(h3, 'inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'first'), '7000', '700', '2');
  // A Swarm overlay across h1 and h2 (attachable network, container addresses: no VIP, no IPVS here).
  at(h1, 'swarm', 'init', '--advertise-addr', h1.address);
  at(h2, 'swarm', 'join', '--token', at(h1, 'swarm', 'join-token', '-q', 'worker'), `${h1.address}:2377`);
  at(h1, 'network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.0.9.0/24', 'ovl');
  at(h2, 'run', '-d', '--name', 'osrv', '--network', 'ovl', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7001');
  const osrvIp = at(h2, 'inspect', '-f', '{{(index .NetworkSettings.Networks "ovl").IPAddress}}', 'osrv');
  at(h1, 'run', '-d', '--name', 'ocli', '--network', 'ovl', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-client', osrvIp, '7001', '3000');
  for (const h of hosts) startAgent(h);
  await startHub(HUB_PORT, `hub1-${RUN_ID}`);
  // Everything connected, as the kernel says, and in the hub.
  await eventually(() => ssLocal(h1, 'client').length === 1 && ssLocal(h1, 'ocli').length === 1 && ssLocal(h3, 'local').length === 2, 60_000, 'the clients connected');
  await eventually(async () => {
    const t = await topology(HUB_PORT);
    return (t.hosts?.length === 3 && t.edges.some((e) => e.port === 7001) && t.edges.some((e) => e.via.includes('dnat'))) ? t : undefined;
  }, 60_000, 'the hub to show three hosts and both cross-host edges');
}, 600_000);

afterAll(async () => {
  for (const p of [...agents.values(), ...hubs.map((h) => h.proc)]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await runAsync('bash', [SCRIPT, 'down', LAB]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 180_000);

describe('the fleet: three hosts, three NATS nodes, one agent per host, the hub', () => {
  it('the hub follows the agent\'s rules: beyond loopback only with a token; --nats required', () => {
    const open = spawnSync(process.execPath, [CLI, 'hub', '--nats', natsUrls.join(','), '--listen', '0.0.0.0:19369', '--no-history'], { encoding: 'utf8', timeout: 30_000 });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/token/);
    const none = spawnSync(process.execPath, [CLI, 'hub', '--no-history'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PORTOLAN_NATS: '' } });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--nats is required/);
  });

  it('shows each host\'s first container, all at 172.17.0.2, as distinct containers on their hosts', async () => {
    const t = await topology(HUB_PORT);
    const firsts = byName(t, 'first');
    expect(firsts).toHaveLength(3);
    expect(new Set(firsts.map((n) => n.id)).size).toBe(3);
    expect(new Set(firsts.map((n) => n.host)).size).toBe(3);
    for (const n of firsts) expect(n.networks?.map((x) => x.ipv4)).toContain('172.17.0.2');
    for (const h of hosts) {
      const id = at(h, 'inspect', '-f', '{{.Id}}', 'first');
      expect(containersOf(t, h.name).some((n) => n.id === id && n.name === 'first'), h.name).toBe(true);
    }
  });

  it('joins a connection through a published port into one edge client → server, with bytes', async () => {
    const clientId = at(host(0), 'inspect', '-f', '{{.Id}}', 'client');
    const serverId = at(host(1), 'inspect', '-f', '{{.Id}}', 'first');
    const t = await eventually(async () => {
      const tt = await topology(HUB_PORT);
      const e = tt.edges.find((x) => x.from === clientId && x.to === serverId);
      // Joined through h2's conntrack entry: the repeating collection reads the table again at the latest 30 s after
      // a read that came just before the connection (until then the server's half is joined by address).
      return e?.traffic && e.traffic.bytesSent >= 5000 && e.via.includes('dnat') ? tt : undefined;
    }, 60_000, 'the DNAT edge with its bytes');
    const edges = t.edges.filter((e) => e.from === clientId || e.to === clientId);
    expect(edges).toHaveLength(1);
    const [edge] = edges;
    expect(edge).toMatchObject({ from: clientId, to: serverId, port: 7000, connections: 1 });
    expect(edge?.via).toContain('dnat');
    // tcp_info payload bytes: the 5000 sent, echoed back by the server.
    expect(edge?.traffic?.bytesSent).toBe(5000);
    expect(edge?.traffic?.bytesReceived).toBe(5000);
    expect(edge?.details?.[0]?.published).toEqual({ address: host(1).address, port: 8080 });
    // Neither half is left as an "external" node of the other host's address.
    expect(t.nodes.filter((n) => n.kind === 'external' && n.name.includes(host(1).address))).toEqual([]);
  });

  it('joins two containers on a Swarm overlay across two hosts into one edge', async () => {
    const cli = at(host(0), 'inspect', '-f', '{{.Id}}', 'ocli');
    const srv = at(host(1), 'inspect', '-f', '{{.Id}}', 'osrv');
    const t = await topology(HUB_PORT);
    const edges = t.edges.filter((e) => e.port === 7001);
    expect(edges).toHaveLength(1);
    expect(edges[0]).toMatchObject({ from: cli, to: srv, connections: 1 });
    expect(t.nodes.filter((n) => n.kind === 'external' && n.name.startsWith('10.0.9.'))).toEqual([]);
  });

  it('every host\'s part of the hub\'s topology equals that host\'s own ss in every container namespace', async () => {
    // Connections are long-lived: the same the whole time, so the two answers can be compared.
    const t = await topology(HUB_PORT);
    let compared = 0;
    for (const h of hosts) {
      const names = at(h, 'ps', '--format', '{{.Names}}').split('\n').filter(Boolean);
      expect(containersOf(t, h.name).map((n) => n.name).sort(), h.name).toEqual([...names].sort());
      for (const n of names) {
        const id = at(h, 'inspect', '-f', '{{.Id}}', n);
        expect(hubLocal(t, id), `${n} on ${h.name}`).toEqual(ssLocal(h, n));
        compared += ssLocal(h, n).length;
      }
    }
    // client, first@h2, ocli, osrv, local ×2, first@h3 ×2.
    expect(compared).toBe(8);
  });

  it('the hub\'s /api/v1/sockets?host= for each host equals ss -tuanpe in every container namespace of that host', async () => {
    const key = (protocol: string, state: string, local: string, remote: string, inode: number) => `${protocol} ${state} ${local} ${remote} ino=${inode}`;
    const fromHub = (x: PsSocketJson) => key(x.protocol, x.state, normEndpoint(x.local.address, x.local.port), normEndpoint(x.remote.address, x.remote.port), x.inode);
    const fromSs = (x: SsSocket) => key(x.protocol, x.state, x.local, x.remote, x.inode);
    let compared = 0;
    for (const h of hosts) {
      const names = at(h, 'ps', '--format', '{{.Names}}').split('\n').filter(Boolean).sort();
      const ids = new Map(names.map((n) => [n, at(h, 'inspect', '-f', '{{.Id}}', n)]));
      const pids = new Map(names.map((n) => [n, Number(at(h, 'inspect', '-f', '{{.State.Pid}}', n))]));
      // Both answers, read one after the other: equal once the hub has the host's state of the kernel's moment
      // (the agent publishes each 1 s interval); waited for with a bound of many intervals.
      let last: { hub: Record<string, string[]>; kernel: Record<string, string[]> } = { hub: {}, kernel: {} };
      const read = async () => {
        const doc = (await getJson<PsJson>(`http://127.0.0.1:${HUB_PORT}/api/v1/sockets?host=${encodeURIComponent(h.name)}`)).body;
        for (const c of doc.containers) {
          expect(c.host, `${c.name} on ${h.name}`).toMatchObject({ hostname: h.name });
          expect(c.id).toBe(ids.get(c.name));
        }
        const hub = Object.fromEntries(doc.containers.map((c) => [c.name, c.sockets.map(fromHub).sort()]));
        const kernel = Object.fromEntries(names.map((n) => [n, ssSockets(pids.get(n) ?? 0).map(fromSs).sort()]));
        last = { hub, kernel };
        return JSON.stringify(hub) === JSON.stringify(kernel);
      };
      try {
        await eventually(read, 20_000, `the hub's sockets of ${h.name} to equal ss`);
      } catch {
        expect(last.hub, h.name).toEqual(last.kernel);
      }
      compared += Object.values(last.kernel).reduce((a, l) => a + l.length, 0);
    }
    // Every listener and connection of the lab, Docker's DNS sockets on the overlay included.
    expect(compared).toBeGreaterThanOrEqual(12);
  });

  it('ps --server <hub> lists the three first containers on their hosts; ps --json names each one\'s host', () => {
    const server = `http://127.0.0.1:${HUB_PORT}`;
    const table = spawnSync(process.execPath, [CLI, 'ps', '--server', server, '-c', 'first', '--listening'], { encoding: 'utf8' });
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+CONTAINER\s+PROTO\s+STATE/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    expect(rows.filter((r) => r[1] === 'first' && r[3] === 'LISTEN' && /:7000$/.test(r[6] ?? '')).map((r) => r[0]).sort()).toEqual(hosts.map((h) => h.name).sort());
    const json = spawnSync(process.execPath, [CLI, 'ps', '--json', '--server', server, '-c', 'first'], { encoding: 'utf8' });
    expect(json.status, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as PsJson;
    expect(doc.containers.map((c) => c.host?.hostname).sort()).toEqual(hosts.map((h) => h.name).sort());
    for (const h of hosts) {
      const c = doc.containers.find((x) => x.host?.hostname === h.name);
      expect(c?.id, h.name).toBe(at(h, 'inspect', '-f', '{{.Id}}', 'first'));
      expect(c?.sockets.some((x) => x.state === 'LISTEN' && x.local.port === 7000), h.name).toBe(true);
    }
  });

  it('top --server <hub> (a frame into a pipe) lists every host\'s first container with its host, and the client\'s RTT as the kernel has it', async () => {
    const p = spawn(process.execPath, [CLI, 'top', '--server', `http://127.0.0.1:${HUB_PORT}`, '--interval', '1', '-n', '1000', '--sort', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise((r) => p.once('exit', r));
    try {
      await eventually(() => (out.match(/^portolan top — /gm) ?? []).length >= 2, 30_000, 'two frames of top');
    } finally {
      p.kill('SIGTERM');
    }
    await exited;
    const frame = (out.split(/^portolan top — /m)[1] ?? '').split('\n\n')[1] ?? '';
    const lines = frame.split('\n');
    expect(lines[0]).toMatch(/^HOST\s+CONTAINER\s+RX\/s/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    expect(rows.filter((r) => r[1] === 'first').map((r) => r[0]).sort()).toEqual(hosts.map((h) => h.name).sort());
    // The client on h1 holds its one connection through h2's published port.
    const client = rows.find((r) => r[0] === host(0).name && r[1] === 'client');
    expect(client?.[6]).toBe('1');
    // Its RTT as its agent summed it up (the hub's sockets carry no tcp_info): the kernel's smoothed RTT of that idle
    // connection (unchanged while idle), within the agent's dead band (25 %), two significant digits and toFixed(2).
    const pid = at(host(0), 'inspect', '-f', '{{.State.Pid}}', 'client');
    const info = execFileSync('nsenter', ['-t', pid, '-n', 'ss', '-tinH', 'state', 'established'], { encoding: 'utf8' });
    const kernelRtt = Number(/\brtt:([\d.]+)\//.exec(info)?.[1]);
    expect(kernelRtt).toBeGreaterThan(0);
    expect(Math.abs(Number(client?.[8]) - kernelRtt)).toBeLessThanOrEqual(0.3 * kernelRtt + 0.01);
    expect(client?.[9]).toBe('0');
  });

  it('/api/v1/topology/stream?host= gives that host\'s part only', async () => {
    const h2 = host(1);
    const full = await topology(HUB_PORT);
    const h2Id = full.hosts?.find((x) => x.name === h2.name)?.id;
    const res = await fetch(`http://127.0.0.1:${HUB_PORT}/api/v1/topology/stream?host=${encodeURIComponent(h2.name)}`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    try {
      while (!text.includes('\n\n', text.indexOf('event: topology'))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } finally {
      await reader.cancel();
    }
    const data = /^event: topology\n(?:id: .*\n)?data: (.*)$/m.exec(text)?.[1];
    const part = JSON.parse(data ?? '{}') as FleetTopology;
    // Every node is h2's or at the other end of one of h2's edges; every one of h2's containers is there.
    const mine = new Set(part.nodes.filter((n) => n.host === h2Id).map((n) => n.id));
    expect([...mine].sort()).toEqual(full.nodes.filter((n) => n.host === h2Id).map((n) => n.id).sort());
    for (const e of part.edges) expect(mine.has(e.from) || mine.has(e.to)).toBe(true);
    expect(part.nodes.filter((n) => n.kind === 'container' && n.host !== h2Id).every((n) => part.edges.some((e) => e.from === n.id || e.to === n.id))).toBe(true);
    // h3's first container (no edge to h2) is not in it.
    const h3First = at(host(2), 'inspect', '-f', '{{.Id}}', 'first');
    expect(part.nodes.some((n) => n.id === h3First)).toBe(false);
    const unknown = await fetch(`http://127.0.0.1:${HUB_PORT}/api/v1/topology/stream?host=nohost`);
    expect(unknown.status).toBe(404);
  });

  it('a host whose agent stops is stale with its last state, then back without duplicates', async () => {
    const h3 = host(2);
    const before = await topology(HUB_PORT);
    const agent = agents.get(h3.name) as ChildProcess;
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    // A clean stop takes well under a second; on a loaded machine, a crash (SIGKILL) after 10 s stops it as well.
    const timer = setTimeout(() => agent.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    // Stale after 3 of its 1 s intervals (at least 3 s): waited for with a bound of 3 × that.
    const stale = await eventually(async () => {
      const t = await topology(HUB_PORT);
      return t.hosts?.find((x) => x.name === h3.name)?.stale === true ? t : undefined;
    }, 15_000, `${h3.name} stale`);
    expect(containersOf(stale, h3.name).map((n) => n.id).sort()).toEqual(containersOf(before, h3.name).map((n) => n.id).sort());
    startAgent(h3);
    const back = await eventually(async () => {
      const t = await topology(HUB_PORT);
      return t.hosts?.find((x) => x.name === h3.name)?.stale !== true ? t : undefined;
    }, 30_000, `${h3.name} back`);
    expect(back.hosts).toHaveLength(3);
    expect(new Set(back.nodes.map((n) => n.id)).size).toBe(back.nodes.length);
    expect(containersOf(back, h3.name).map((n) => n.id).sort()).toEqual(containersOf(before, h3.name).map((n) => n.id).sort());
  });

  it('a short-lived client\'s events (container started and stopped, its captured connection) reach the hub from its agent, with its host', async () => {
    const [h1, h2] = [host(0), host(1)];
    const hostId = (await topology(HUB_PORT)).hosts?.find((x) => x.name === h1.name)?.id ?? '';
    expect(hostId).not.toBe('');
    // One connection through h2's published port (conntrack sees it on both hosts), closed at once; then removed.
    at(h1, 'run', '-d', '--name', 'shorty', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-once', h2.address, '8080', '300');
    const mine = (e: ChangeEventJson) => e.container?.name === 'shorty' || e.flow?.client.container?.name === 'shorty';
    const kinds = (list: ChangeEventJson[]) => new Set(list.filter(mine).map((e) => `${e.type}${e.flow ? ' (captured)' : ''}`));
    const agentUrl = 'http://127.0.0.1:19351';
    // The agent's own events (it collects every 1 s; capture hands its flows to the next collection): bounded by 30 s.
    await eventually(async () => {
      const k = kinds(await journalEvents(agentUrl, (l) => kinds(l).has('connection.opened (captured)') && kinds(l).has('container.started'), 3000, h1.netns));
      return k.has('connection.opened (captured)') && k.has('container.started');
    }, 30_000, 'the agent to report shorty started and its captured connection');
    at(h1, 'rm', '-f', 'shorty');
    const agentEvents = await eventually(async () => {
      const l = await journalEvents(agentUrl, (x) => kinds(x).has('container.stopped'), 3000, h1.netns);
      return kinds(l).has('container.stopped') ? l.filter(mine) : undefined;
    }, 30_000, 'the agent to report shorty stopped');
    // The same events in the hub, each with h1's id; none of them on another host.
    const hubEvents = await eventually(async () => {
      const l = (await journalEvents(`http://127.0.0.1:${HUB_PORT}`, (x) => x.filter(mine).length >= agentEvents.length, 5000)).filter(mine);
      return l.length >= agentEvents.length ? l : undefined;
    }, 30_000, 'the hub to serve the agent\'s events');
    expect(hubEvents.map((e) => e.host)).toEqual(hubEvents.map(() => hostId));
    // In the agent's order (any later event of shorty's would follow both).
    expect(hubEvents.slice(0, agentEvents.length).map(withoutHost)).toEqual(agentEvents);
    // ?host= gives them for h1, not for h2.
    const onH1 = await journalEvents(`http://127.0.0.1:${HUB_PORT}`, (x) => x.filter(mine).length >= agentEvents.length, 5000, undefined, `&host=${h1.name}`);
    expect(onH1.filter(mine).slice(0, agentEvents.length).map(withoutHost)).toEqual(agentEvents);
    expect(onH1.every((e) => e.host === hostId)).toBe(true);
    const onH2 = await journalEvents(`http://127.0.0.1:${HUB_PORT}`, () => false, 2000, undefined, `&host=${h2.name}`);
    expect(onH2.filter(mine)).toEqual([]);
    shortLived = { hostId, events: hubEvents };
  });

  it('the hub killed and restarted rebuilds the full fleet from JetStream before any agent publishes again', async () => {
    const before = await topology(HUB_PORT);
    const [hub] = hubs;
    // No agent can publish: all stopped (SIGSTOP) for the whole restart.
    for (const p of agents.values()) p.kill('SIGSTOP');
    try {
      const gone = new Promise((r) => hub?.proc.once('exit', r));
      hub?.proc.kill('SIGKILL');
      await gone;
      const again = await startHub(HUB_PORT, `hub1-${RUN_ID}`);
      const t = await eventually(async () => {
        const s = (await getJson<{ fleet?: { rebuilt: boolean } }>(`http://127.0.0.1:${again.port}/api/v1/status`)).body;
        return s.fleet?.rebuilt ? topology(again.port) : undefined;
      }, 10_000, 'the restarted hub rebuilt');
      expect(t.hosts?.map((h) => h.id).sort()).toEqual(before.hosts?.map((h) => h.id).sort());
      expect(t.nodes.map((n) => n.id).sort()).toEqual(before.nodes.map((n) => n.id).sort());
      expect(t.edges.map((e) => e.id).sort()).toEqual(before.edges.map((e) => e.id).sort());
      // The agents' events are back too, read from the events stream (no agent can publish): the short-lived
      // client's, each with its host, as the hub served them before.
      expect(shortLived).toBeDefined();
      const want = shortLived?.events ?? [];
      const again2 = await journalEvents(`http://127.0.0.1:${again.port}`, (x) => want.every((w) => x.some((e) => JSON.stringify(e) === JSON.stringify(w))), 10_000);
      for (const w of want) expect(again2).toContainEqual(w);
    } finally {
      for (const p of agents.values()) p.kill('SIGCONT');
    }
  });

  it('one NATS node killed: nothing lost, and a second hub on the same stream serves the same fleet', async () => {
    spawnSync('bash', [SCRIPT, 'nats-stop', LAB, '1']);
    try {
      // A change after the node died reaches the hub.
      at(host(2), 'run', '-d', '--name', 'late', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7002');
      const lateId = at(host(2), 'inspect', '-f', '{{.Id}}', 'late');
      await eventually(async () => (await topology(HUB_PORT)).nodes.some((n) => n.id === lateId), 30_000, 'the new container in the hub');
      const second = await startHub(HUB_PORT + 1, `hub2-${RUN_ID}`);
      const [a, b] = await eventually(async () => {
        const ta = await topology(HUB_PORT);
        const tb = await topology(second.port);
        const ids = (t: FleetTopology) => JSON.stringify([t.nodes.map((n) => n.id).sort(), t.edges.map((e) => e.id).sort(), t.hosts?.map((h) => h.id).sort()]);
        return ids(ta) === ids(tb) ? [ta, tb] : undefined;
      }, 30_000, 'both hubs serving the same fleet');
      expect(b?.nodes.some((n) => n.id === lateId)).toBe(true);
      expect(a?.hosts).toHaveLength(3);
      expect(byName(b as FleetTopology, 'first')).toHaveLength(3);
      // History: the first hub keeps its own (its SQLite under --data), through its restart.
      const past = await getJson<FleetTopology>(`http://127.0.0.1:${HUB_PORT}/api/v1/topology?at=-3s`);
      expect(past.status).toBe(200);
      expect(byName(past.body, 'first')).toHaveLength(3);
      // CLI commands against the hub.
      const graph = spawnSync(process.execPath, [CLI, 'graph', '--server', `http://127.0.0.1:${second.port}`, '--json'], { encoding: 'utf8' });
      expect(graph.status, graph.stderr).toBe(0);
      expect((JSON.parse(graph.stdout) as FleetTopology).nodes.filter((n) => n.name === 'first')).toHaveLength(3);
    } finally {
      spawnSync('bash', [SCRIPT, 'nats-start', LAB, '1']);
    }
  });
});
