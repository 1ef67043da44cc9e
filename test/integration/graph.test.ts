// `portolan graph` on the real engine, every edge compared with the kernel's own answer (`ss` in the namespaces
// involved, `conntrack -L`) and with the containers started here: a web → api → db chain on a user network, a
// sidecar in `container:api` mode, a host-network client through the userland proxy, an IPv6 pair, a UDP
// sender (sendto) seen only by conntrack, a container talking to a host process, loopback inside a container,
// and — on a second dockerd without the userland proxy — published ports reached through iptables DNAT.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDns } from '../fixtures/dns/fake-dns-server.js';
import {
  cleanup, containerPids, docker, inspect, LABELS, name, network, portolan, portolanAsync, ROOT, RUN_ID, run, ssSockets, ssSocketsAt,
  testImage, unexpectedWarnings, waitFor, type SsSocket,
} from './harness.js';
import { dockerAt, loadImage, startSecondHost, stopSecondHost, type SecondHost } from './second-host.js';

interface Endpoint { address: string; port: number }
interface Detail { state: string; via: string; client: Endpoint; server: Endpoint; published?: Endpoint; clientPids: number[]; serverPids: number[] }
interface Edge { id: string; from: string; to: string; protocol: string; port: number; connections: number; states: Record<string, number>; via: string[]; publishedPorts?: number[]; details?: Detail[] }
interface Node { id: string; kind: string; name: string; image?: string; compose?: { project?: string; service?: string }; networks?: { name: string; ipv4?: string; ipv6?: string }[]; command?: string; pids?: number[]; address?: string; dnsName?: string }
interface Graph { takenAt: string; hostname: string; warnings: string[]; nodes: Node[]; edges: Edge[] }

const P = '/opt/peer.mjs';
const rnd = (lo: number, span: number) => lo + Math.floor(Math.random() * span);
const apiHostPort = rnd(20000, 10000);
const hostProcPort = rnd(30000, 5000);
const v6prefix = `fd00:7e58:${rnd(1, 0xfffe).toString(16)}`;
const compose = (service: string) => ['--label', `com.docker.compose.project=${name('shop')}`, '--label', `com.docker.compose.service=${service}`];

/** `::ffff:a.b.c.d` → `a.b.c.d`, as the topology spells addresses. */
const plain = (a: string) => a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
/** ss's `addr:port` (already normalised by the harness) split, canonical address. */
function ep(text: string): Endpoint {
  const i = text.lastIndexOf(':');
  return { address: plain(text.slice(0, i)), port: Number(text.slice(i + 1)) };
}
const key = (e: Endpoint) => `${e.address}|${e.port}`;
const sorted = (xs: string[]) => [...xs].sort();
const ipOf = (n: string, net: string) => inspect(n).NetworkSettings.Networks[net]?.IPAddress ?? '';
const pidOf = (n: string) => inspect(n).State.Pid;
const idOf = (n: string) => inspect(n).Id;

function graph(args: string[]): Graph {
  const r = portolan(['graph', '--json', '--no-dns', ...args]);
  expect(r.status, r.stderr).toBe(0);
  expect(unexpectedWarnings(r.stderr)).toEqual([]);
  return JSON.parse(r.stdout) as Graph;
}

function theEdge(g: Graph, from: string, to: string, protocol: string, port: number): Edge {
  const found = g.edges.filter((e) => e.from === from && e.to === to && e.protocol === protocol && e.port === port);
  expect(found, `edge ${from} -> ${to} ${protocol}/${port} in ${JSON.stringify(g.edges.map((e) => e.id))}`).toHaveLength(1);
  return found[0] as Edge;
}

/** Established client sockets in a namespace (ss) going to `server`, optionally only those of some pids. */
function clientSockets(ss: SsSocket[], server: Endpoint, pids?: number[]): SsSocket[] {
  return ss.filter((s) => s.state === 'ESTABLISHED' && key(ep(s.remote)) === key(server) && (!pids || s.pids.some((p) => pids.includes(p))));
}

/** Asserts an edge's connections are exactly these client sockets, with their owners and the server's. */
function expectConnections(e: Edge, clients: SsSocket[], serverPids: number[]): void {
  expect(e.connections).toBe(clients.length);
  expect(e.states).toEqual({ ESTABLISHED: clients.length });
  expect(sorted((e.details ?? []).map((d) => key(d.client)))).toEqual(sorted(clients.map((s) => key(ep(s.local)))));
  for (const d of e.details ?? []) {
    const mine = clients.find((s) => key(ep(s.local)) === key(d.client));
    expect(sorted(d.clientPids.map(String)), `client pids of ${key(d.client)}`).toEqual(sorted((mine?.pids ?? []).map(String)));
    expect(sorted(d.serverPids.map(String)), `server pids of ${key(d.client)}`).toEqual(sorted(serverPids.map(String)));
  }
}

/** pids listening on `port` in a namespace (ss). */
const listenerPids = (ss: SsSocket[], port: number) => [...new Set(ss.filter((s) => s.state === 'LISTEN' && ep(s.local).port === port).flatMap((s) => s.pids))];

/** `conntrack -L` lines (the tool's own answer), parsed into the tuples that matter. */
function conntrackL(nsenter: readonly string[], args: string[]): { proto: string; o: Endpoint & { dst: Endpoint }; r: Endpoint & { dst: Endpoint }; unreplied: boolean }[] {
  const r = spawnSync('nsenter', [...nsenter, 'conntrack', '-L', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`conntrack -L ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const v = (k: string, nth: number) => [...line.matchAll(new RegExp(`\\b${k}=(\\S+)`, 'g'))][nth]?.[1] ?? '';
    const t = (nth: number) => ({ address: v('src', nth), port: Number(v('sport', nth)), dst: { address: v('dst', nth), port: Number(v('dport', nth)) } });
    return { proto: line.split(/\s+/)[0] ?? '', o: t(0), r: t(1), unreplied: line.includes('[UNREPLIED]') };
  });
}

let hostPeer: ChildProcess | undefined;

beforeAll(async () => {
  testImage();
  network('app');
  network('v6', '--ipv6', '--subnet', `${v6prefix}::/64`);
  // Servers first.
  run('db', ['--network', name('app'), ...compose('db')], ['node', P, 'tcp-server', '5432']);
  run('api', ['--network', name('app'), '-p', `${apiHostPort}:8080`, ...compose('api')],
    ['sh', '-c', `node ${P} tcp-server 8080 & node ${P} tcp-client ${name('db')} 5432 10 1 & wait`]);
  run('v6srv', ['--network', name('v6')], ['node', P, 'tcp-server', '9100']);
  run('usrv', [], ['node', P, 'udp-server', '5353']);
  run('lo', [], ['sh', '-c', `node ${P} tcp-server 7000 127.0.0.1 & node ${P} tcp-client 127.0.0.1 7000 10 1 & wait`]);
  // A process on the host (not in any container) that a container talks to.
  hostPeer = spawn(process.execPath, [path.join(ROOT, 'test/images/peer.mjs'), 'tcp-server', String(hostProcPort), '0.0.0.0'], { stdio: 'ignore' });
  await waitFor(() => ssSockets(pidOf('api')).some((s) => s.state === 'LISTEN' && ep(s.local).port === 8080), 20_000, 'api listening');
  await waitFor(() => ssSockets(process.pid).some((s) => s.state === 'LISTEN' && ep(s.local).port === hostProcPort), 20_000, 'host peer listening');
  // Then clients.
  run('web', ['--network', name('app'), ...compose('web')], ['node', P, 'tcp-client', name('api'), '8080', '10', '2']);
  run('side', ['--network', `container:${name('api')}`], ['node', P, 'tcp-client', name('db'), '5432', '10', '1']);
  run('hostc', ['--network', 'host'], ['node', P, 'tcp-client', '127.0.0.1', String(apiHostPort), '10', '2']);
  run('v6cli', ['--network', name('v6')], ['node', P, 'tcp-client', inspect('v6srv').NetworkSettings.Networks[name('v6')]?.GlobalIPv6Address ?? '', '9100', '10', '1']);
  run('usnd', [], ['node', P, 'udp-send', ipOf('usrv', 'bridge'), '5353', '200']);
  // The default bridge's IPAM config names no gateway; a container's endpoint does.
  const gateway = docker('inspect', '-f', '{{.NetworkSettings.Networks.bridge.Gateway}}', name('usrv'));
  run('hcli', [], ['node', P, 'tcp-client', gateway, String(hostProcPort), '10', '1']);

  const established = (n: string, count: number, port: number) => () =>
    ssSockets(pidOf(n)).filter((s) => s.state === 'ESTABLISHED' && ep(s.remote).port === port).length >= count;
  await waitFor(established('web', 2, 8080), 30_000, 'web → api');
  await waitFor(established('api', 2, 5432), 30_000, 'api and side → db');
  await waitFor(established('v6cli', 1, 9100), 30_000, 'v6cli → v6srv');
  await waitFor(established('hcli', 1, hostProcPort), 30_000, 'hcli → host process');
  await waitFor(established('lo', 1, 7000), 30_000, 'loopback in lo');
  await waitFor(() => clientSockets(ssSockets(process.pid), { address: '127.0.0.1', port: apiHostPort }, containerPids('hostc')).length === 2, 30_000, 'hostc → published port');
  await waitFor(() => conntrackL([], ['-p', 'udp', '--orig-src', ipOf('usnd', 'bridge'), '--orig-dst', ipOf('usrv', 'bridge')]).length > 0, 30_000, 'UDP conntrack entry');
}, 240_000);

afterAll(() => {
  hostPeer?.kill();
  cleanup();
});

describe.each(['netlink', 'proc'] as const)('portolan graph --source %s', (source) => {
  let g: Graph;
  beforeAll(() => { g = graph(['--source', source]); });

  it('prints the contract: time, host, warnings, nodes and edges with stable ids', () => {
    expect(new Date(g.takenAt).toString()).not.toBe('Invalid Date');
    expect(g.hostname).toBe(os.hostname());
    expect(g.warnings).toEqual(expect.any(Array));
    for (const e of g.edges) expect(e.id).toBe(`${e.from}->${e.to}/${e.protocol}/${e.port}`);
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const e of g.edges) expect(ids.has(e.from) && ids.has(e.to), e.id).toBe(true);
  });

  it('container nodes carry id, name, image, compose project/service and network addresses from Docker', () => {
    for (const n of ['db', 'api', 'web']) {
      const node = g.nodes.find((x) => x.id === idOf(n));
      expect(node).toMatchObject({ kind: 'container', name: name(n), image: testImage(), compose: { project: name('shop'), service: n } });
      expect(node?.networks).toEqual([{ name: name('app'), ipv4: ipOf(n, name('app')) }]);
    }
  });

  it('web → api: two connections on the user network, each one of web\'s sockets per ss', () => {
    const apiIp = ipOf('api', name('app'));
    const e = theEdge(g, idOf('web'), idOf('api'), 'tcp', 8080);
    const clients = clientSockets(ssSockets(pidOf('web')), { address: apiIp, port: 8080 });
    expect(clients).toHaveLength(2);
    expectConnections(e, clients, listenerPids(ssSockets(pidOf('api')), 8080));
    expect(e.via).toEqual(['socket']);
    for (const d of e.details ?? []) expect(d.server).toEqual({ address: apiIp, port: 8080 });
  });

  it('api → db, and the sidecar in container:api mode → db as its own node, split by socket owner', () => {
    const dbIp = ipOf('db', name('app'));
    const ss = ssSockets(pidOf('api'));
    const dbPids = listenerPids(ssSockets(pidOf('db')), 5432);
    const sidePids = containerPids('side');
    const apiPids = containerPids('api');
    expectConnections(theEdge(g, idOf('api'), idOf('db'), 'tcp', 5432), clientSockets(ss, { address: dbIp, port: 5432 }, apiPids), dbPids);
    expectConnections(theEdge(g, idOf('side'), idOf('db'), 'tcp', 5432), clientSockets(ss, { address: dbIp, port: 5432 }, sidePids), dbPids);
  });

  it('host-network client → published port through docker-proxy: one edge to api:8080; docker-proxy is no node', () => {
    const hostSs = ssSockets(process.pid);
    const clients = clientSockets(hostSs, { address: '127.0.0.1', port: apiHostPort }, containerPids('hostc'));
    expect(clients).toHaveLength(2);
    // Ground truth that the proxy is in the way: docker-proxy holds the port and two legs to api.
    const apiIp = ipOf('api', name('app'));
    const proxyPids = listenerPids(hostSs, apiHostPort);
    expect(hostSs.filter((s) => s.state === 'ESTABLISHED' && key(ep(s.remote)) === key({ address: apiIp, port: 8080 }) && s.pids.some((p) => proxyPids.includes(p)))).toHaveLength(2);
    const e = theEdge(g, idOf('hostc'), idOf('api'), 'tcp', 8080);
    expectConnections(e, clients, listenerPids(ssSockets(pidOf('api')), 8080));
    expect(e).toMatchObject({ via: ['docker-proxy'], publishedPorts: [apiHostPort] });
    for (const d of e.details ?? []) {
      expect(d.published).toEqual({ address: '127.0.0.1', port: apiHostPort });
      expect(d.server).toEqual({ address: apiIp, port: 8080 });
    }
    expect(g.nodes.some((n) => n.kind === 'process' && n.command === 'docker-proxy')).toBe(false);
    expect(g.edges.filter((x) => x.to === idOf('api')).map((x) => x.from).sort()).toEqual([idOf('hostc'), idOf('web')].sort());
  });

  it('IPv6 pair: v6cli → v6srv with IPv6 endpoints', () => {
    const ip6 = inspect('v6srv').NetworkSettings.Networks[name('v6')]?.GlobalIPv6Address ?? '';
    expect(ip6).toMatch(/^fd00:7e58:/);
    const e = theEdge(g, idOf('v6cli'), idOf('v6srv'), 'tcp', 9100);
    const clients = clientSockets(ssSockets(pidOf('v6cli')), { address: ip6, port: 9100 });
    expect(clients).toHaveLength(1);
    expectConnections(e, clients, listenerPids(ssSockets(pidOf('v6srv')), 9100));
    expect(e.details?.[0]?.client.address).toMatch(/^fd00:7e58:/);
  });

  it('UDP sent with sendto: the edge comes from the host\'s conntrack entry, ends named by their bound sockets', () => {
    const usnd = ipOf('usnd', 'bridge');
    const usrv = ipOf('usrv', 'bridge');
    const e = theEdge(g, idOf('usnd'), idOf('usrv'), 'udp', 5353);
    const entries = conntrackL([], ['-p', 'udp', '--orig-src', usnd, '--orig-dst', usrv, '--dport', '5353']);
    expect(entries).toHaveLength(1);
    expect(e.connections).toBe(entries.length);
    expect(e.via).toEqual(['conntrack']);
    expect(e.states).toEqual({ UNREPLIED: 1 });
    expect(e.details?.[0]?.client).toEqual({ address: usnd, port: entries[0]?.o.port });
    // The sender's socket is unconnected: ss shows it UNCONN on that port, held by the sender's process.
    const sender = ssSockets(pidOf('usnd')).find((s) => s.protocol === 'udp' && ep(s.local).port === entries[0]?.o.port);
    expect(sender?.state).toBe('UNCONN');
    expect(e.details?.[0]?.clientPids).toEqual(sender?.pids);
    const receiver = ssSockets(pidOf('usrv')).find((s) => s.protocol === 'udp' && s.state === 'UNCONN' && ep(s.local).port === 5353);
    expect(e.details?.[0]?.serverPids).toEqual(receiver?.pids);
  });

  it('a container talking to a process on the host: hcli → process node holding the listener', () => {
    const e = g.edges.find((x) => x.from === idOf('hcli') && x.port === hostProcPort);
    expect(e?.to).toBe('process:node');
    const node = g.nodes.find((n) => n.id === 'process:node');
    expect(node).toMatchObject({ kind: 'process', name: 'node', command: 'node' });
    expect(node?.pids).toContain(hostPeer?.pid);
    const clients = ssSockets(pidOf('hcli')).filter((s) => s.state === 'ESTABLISHED' && ep(s.remote).port === hostProcPort);
    expectConnections(e as Edge, clients, [hostPeer?.pid ?? -1]);
  });

  it('loopback inside one container is no edge', () => {
    expect(g.edges.some((e) => e.from === idOf('lo') || e.to === idOf('lo'))).toBe(false);
    expect(g.nodes.find((n) => n.id === idOf('lo'))?.kind).toBe('container');
  });
});

describe('portolan graph outputs', () => {
  it('--loopback shows a container\'s traffic with itself', () => {
    const g = graph(['--loopback']);
    const e = theEdge(g, idOf('lo'), idOf('lo'), 'tcp', 7000);
    const clients = ssSockets(pidOf('lo')).filter((s) => s.state === 'ESTABLISHED' && ep(s.remote).port === 7000);
    expectConnections(e, clients, listenerPids(ssSockets(pidOf('lo')), 7000));
  });

  it('text: one row per edge with from, to, protocol/port and connections', () => {
    const r = portolan(['graph', '--no-dns']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^FROM\s+TO\s+PORT\s+CONNECTIONS\s+STATES\s+BYTES\s+RTT MS\s+RETRANS\s+VIA$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name('web')}\\s+${name('api')}\\s+tcp/8080\\s+2\\s+ESTABLISHED=2\\s+\\S+B → \\S+B ←.*\\s+socket$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name('hostc')}\\s+${name('api')}\\s+tcp/8080\\s+2\\s+ESTABLISHED=2\\s+.*\\s+docker-proxy \\(host port ${apiHostPort}\\)$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name('hcli')}\\s+node@host\\s+tcp/${hostProcPort}\\s+1\\s`)));
  });

  it('--dot renders with Graphviz: `portolan graph --dot | dot -Tpng` gives a PNG', () => {
    const r = portolan(['graph', '--dot', '--no-dns']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`"${idOf('web')}" -> "${idOf('api')}" [label="tcp/8080 ×2"]`);
    const png = spawnSync('dot', ['-Tpng'], { input: r.stdout, maxBuffer: 64 * 1024 * 1024 });
    expect(png.status, png.stderr?.toString()).toBe(0);
    const out = png.stdout as Buffer;
    expect(out.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(out.readUInt32BE(16)).toBeGreaterThan(100); // IHDR width
    expect(out.readUInt32BE(20)).toBeGreaterThan(50); // IHDR height
    const dir = path.join(ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'graph.png'), out);
    writeFileSync(path.join(dir, 'graph.dot'), r.stdout);
  });

  it('--mermaid prints a flowchart with the edges', () => {
    const r = portolan(['graph', '--mermaid', '--no-dns']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('flowchart LR');
    expect(r.stdout).toMatch(/n\d+ -->\|"tcp\/8080 ×2"\| n\d+/);
    expect(r.stdout).toMatch(/n\d+ -\.->\|"udp\/5353 ×1"\| n\d+/);
  });

  it('--json and --dot together are refused', () => {
    const r = portolan(['graph', '--json', '--dot']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot be used with/);
  });
});

describe('conntrack not readable', () => {
  let root: string;
  beforeAll(() => {
    // A proc root where the host pid's net/ lacks nf_conntrack: everything else is the real /proc.
    root = mkdtempSync(path.join(os.tmpdir(), 'portolan-proc-'));
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      symlinkSync(`/proc/${entry}`, path.join(root, entry));
    }
    const me = path.join(root, String(process.pid));
    mkdirSync(path.join(me, 'net'), { recursive: true });
    for (const f of ['ns', 'fd', 'cgroup', 'comm']) symlinkSync(`/proc/${process.pid}/${f}`, path.join(me, f));
    for (const f of ['tcp', 'tcp6', 'udp', 'udp6', 'dev']) symlinkSync(`/proc/${process.pid}/net/${f}`, path.join(me, 'net', f));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('says so on stderr and in the JSON warnings; the sendto UDP edge is missing, TCP edges are not', () => {
    const r = portolan(['graph', '--json', '--no-dns', '--proc-root', root, '--host-pid', String(process.pid)]);
    expect(r.status, r.stderr).toBe(0);
    const conntrackWarning = /conntrack: .*nf_conntrack does not exist .*UDP flows sent without a connected socket .*not resolved/;
    expect(r.stderr).toMatch(new RegExp(`portolan: warning: ${conntrackWarning.source}`));
    expect(unexpectedWarnings(r.stderr).filter((l) => !conntrackWarning.test(l))).toEqual([]);
    const g = JSON.parse(r.stdout) as Graph;
    expect(g.warnings).toContainEqual(expect.stringMatching(conntrackWarning));
    expect(g.edges.some((e) => e.from === idOf('usnd'))).toBe(false);
    expect(theEdge(g, idOf('web'), idOf('api'), 'tcp', 8080).connections).toBe(2);
    expect(theEdge(g, idOf('hostc'), idOf('api'), 'tcp', 8080).via).toEqual(['docker-proxy']);
  });
});

describe('published ports through iptables DNAT (a second dockerd with --userland-proxy=false)', () => {
  const h2name = `pt${RUN_ID}`;
  const h2Port = rnd(20000, 10000);
  const h2UdpPort = h2Port + 1;
  let h2: SecondHost;
  let dns: Awaited<ReturnType<typeof startFakeDns>>;
  const at = (n: string) => JSON.parse(dockerAt(h2, 'inspect', name(n)))[0] as { Id: string; State: { Pid: number }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };

  beforeAll(async () => {
    h2 = startSecondHost(h2name, ['--userland-proxy=false', '--bip', `172.31.${rnd(100, 150)}.1/24`]);
    loadImage(h2name, testImage());
    const runAt = (n: string, opts: string[], cmd: string[]) => dockerAt(h2, 'run', '-d', '--name', name(n), ...LABELS, ...opts, testImage(), ...cmd);
    runAt('api2', ['-p', `${h2Port}:8080`], ['node', P, 'tcp-server', '8080']);
    runAt('usrv2', ['-p', `${h2UdpPort}:5353/udp`], ['node', P, 'udp-server', '5353']);
    await waitFor(() => ssSocketsAt(['-t', String(at('api2').State.Pid), '-n']).some((s) => s.state === 'LISTEN'), 20_000, 'api2 listening');
    // On the second host: a host-network container dials the published port on the host's address and on loopback.
    runAt('hc2', ['--network', 'host'], ['sh', '-c', `node ${P} tcp-client ${h2.hostIp} ${h2Port} 10 2 & node ${P} tcp-client 127.0.0.1 ${h2Port} 10 1 & wait`]);
    // From the first host: a container dials the second host's published TCP and UDP ports.
    run('x1', [], ['sh', '-c', `node ${P} tcp-client ${h2.hostIp} ${h2Port} 10 1 & node ${P} udp-send ${h2.hostIp} ${h2UdpPort} 200 & wait`]);
    await waitFor(() => ssSocketsAt(['-t', String(at('api2').State.Pid), '-n']).filter((s) => s.state === 'ESTABLISHED').length >= 4, 30_000, 'four connections to api2');
    await waitFor(() => conntrackL(h2.nsenter, ['-p', 'udp', '--dport', String(h2UdpPort)]).length > 0, 30_000, 'UDP conntrack entry on h2');
    dns = await startFakeDns({ [h2.peerIp]: 'first-host.portolan.test' });
  }, 180_000);

  afterAll(() => {
    dns?.close();
    stopSecondHost(h2name);
  });

  const h2graph = (extra: string[] = ['--no-dns']): Graph => {
    const r = portolan(['graph', '--json', '--docker-host', h2.dockerHost, '--host-pid', String(h2.pid), ...extra]);
    expect(r.status, r.stderr).toBe(0);
    expect(unexpectedWarnings(r.stderr)).toEqual([]);
    return JSON.parse(r.stdout) as Graph;
  };

  it('no docker-proxy on that host: dockerd only reserves the published port', () => {
    const ss = ssSocketsAt(h2.nsenter);
    const holder = ss.find((s) => s.state === 'LISTEN' && ep(s.local).port === h2Port);
    expect(holder?.pids).toEqual([h2.pid]);
  });

  it('the host-network client → api2:8080, resolved through conntrack\'s DNAT entries to api2\'s own sockets', () => {
    const g = h2graph();
    const api2 = at('api2');
    const apiIp = Object.values(api2.NetworkSettings.Networks)[0]?.IPAddress ?? '';
    const hcPids = spawnSync('docker', ['-H', h2.dockerHost, 'top', name('hc2'), '-eo', 'pid'], { encoding: 'utf8' }).stdout.split('\n').slice(1).map(Number).filter(Boolean);
    const ss = ssSocketsAt(h2.nsenter);
    const clients = ss.filter((s) => s.state === 'ESTABLISHED' && ep(s.remote).port === h2Port && s.pids.some((p) => hcPids.includes(p)));
    expect(clients).toHaveLength(3);
    const e = theEdge(g, at('hc2').Id, api2.Id, 'tcp', 8080);
    expectConnections(e, clients, listenerPids(ssSocketsAt(['-t', String(api2.State.Pid), '-n']), 8080));
    expect(e).toMatchObject({ via: ['dnat'], publishedPorts: [h2Port] });
    // Each connection's published and server endpoints are what conntrack -L says about it.
    const entries = conntrackL(h2.nsenter, ['-p', 'tcp', '--dport', String(h2Port)]);
    for (const d of e.details ?? []) {
      const entry = entries.find((x) => x.o.address === d.client.address && x.o.port === d.client.port);
      expect(entry, `conntrack entry of ${key(d.client)}`).toBeDefined();
      expect(d.published).toEqual(entry?.o.dst);
      expect(d.server).toEqual({ address: entry?.r.address, port: entry?.r.port });
      expect(d.server).toEqual({ address: apiIp, port: 8080 });
    }
    expect(sorted((e.details ?? []).map((d) => d.published?.address ?? ''))).toEqual(sorted([h2.hostIp, h2.hostIp, '127.0.0.1']));
    // No edge from the host, dockerd or the gateway: each DNAT'd connection was joined to its server socket.
    expect(g.edges.filter((x) => x.to === api2.Id).map((x) => x.from).sort()).toEqual([at('hc2').Id, `external:${h2.peerIp}`].sort());
  });

  it('the first host\'s container, seen from the second host: an external client through DNAT (TCP and UDP)', () => {
    const g = h2graph();
    const tcp = theEdge(g, `external:${h2.peerIp}`, at('api2').Id, 'tcp', 8080);
    expect(tcp).toMatchObject({ connections: 1, via: ['dnat'], publishedPorts: [h2Port] });
    const udp = theEdge(g, `external:${h2.peerIp}`, at('usrv2').Id, 'udp', 5353);
    const entries = conntrackL(h2.nsenter, ['-p', 'udp', '--dport', String(h2UdpPort)]);
    expect(udp.connections).toBe(entries.length);
    expect(udp).toMatchObject({ via: ['dnat'], publishedPorts: [h2UdpPort] });
    expect(udp.details?.[0]?.server.address).toBe(entries[0]?.r.address);
  });

  it('external nodes get reverse-DNS names (from a DNS server on loopback)', async () => {
    // Asynchronously: the DNS server answers from this process's event loop.
    const r = await portolanAsync(['graph', '--json', '--docker-host', h2.dockerHost, '--host-pid', String(h2.pid), '--dns-server', `127.0.0.1:${dns.port}`, '--dns-timeout', '3000']);
    expect(r.status, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as Graph;
    expect(g.nodes.find((n) => n.id === `external:${h2.peerIp}`)).toEqual({
      kind: 'external', id: `external:${h2.peerIp}`, name: 'first-host.portolan.test', address: h2.peerIp, dnsName: 'first-host.portolan.test',
    });
    expect(dns.queries()).toBeGreaterThan(0);
  });

  it('from the first host, the same connection is an edge to the second host\'s address', () => {
    const g = graph([]);
    const e = theEdge(g, idOf('x1'), `external:${h2.hostIp}`, 'tcp', h2Port);
    expect(e.connections).toBe(1);
  });
});
