// The fleet over IPv6 on real engines: two Docker hosts whose LAN is dual-stack and whose dockerds run IPv6 on
// their default bridge with ip6tables (scripts/fleet-lab.sh with LAB_IPV6=1). Both hosts give their containers
// addresses from the same IPv6 subnet (fd7a:X::/64), as every host gives 172.17.0.0/16. A container on h2 reaches a
// container on h1 through h1's IPv6 address and a published port (ip6tables DNAT; h2 masquerades its container's
// address on the way out). What the hub shows is compared with the kernel's answer: `ss` in both containers and the
// conntrack table of both hosts.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from './deploy-helpers.js';
import { CLI, ROOT, RUN_ID, testImage } from './harness.js';
import { eventually, getJson } from './serve-agent.js';

interface LabHost { name: string; dockerHost: string; address: string; address6: string; dockerdPid: string; netns: string }
interface Endpoint { address: string; port: number }
interface Detail { state: string; client: Endpoint; server: Endpoint; published?: Endpoint }
interface Node { kind: string; id: string; name: string; host?: string; networks?: { ipv4?: string; ipv6?: string }[] }
interface Edge { id: string; from: string; to: string; port: number; connections: number; via: string[]; details?: Detail[]; traffic?: { bytesSent: number; bytesReceived: number } }
interface FleetTopology { nodes: Node[]; edges: Edge[]; hosts?: { id: string; name: string; stale?: boolean }[] }

const LAB = `s${RUN_ID.slice(0, 3)}`;
const SCRIPT = path.join(ROOT, 'scripts/fleet-lab.sh');
// This file's ports: NATS on 19271-19293, the hub on 19295, the agents (each in its own namespace) on 19296.
const NATS_BASE = 19270;
const HUB_PORT = 19295;
const BYTES = 3000;
let hosts: LabHost[] = [];
let natsUrls: string[] = [];
const procs: ChildProcess[] = [];
let dataDir = '';
let hubOut = '';
const label = ['--label', `org.portolan.run=fleet6-${RUN_ID}`];

const at = (h: LabHost, ...args: string[]) => {
  const r = spawnSync('docker', ['-H', h.dockerHost, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker -H ${h.dockerHost} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const host = (i: number) => hosts[i] as LabHost;
const topology = async () => (await getJson<FleetTopology>(`http://127.0.0.1:${HUB_PORT}/api/v1/topology`)).body;

/** Established TCP sockets in a lab container's namespace as `ss` prints them: [local, peer]. */
function ssEstablished(h: LabHost, container: string): [string, string][] {
  const pid = at(h, 'inspect', '-f', '{{.State.Pid}}', container);
  return execFileSync('nsenter', ['-t', pid, '-n', 'ss', '-tanH', 'state', 'established'], { encoding: 'utf8' }).split('\n')
    .map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4).map((f) => [f[2] ?? '', f[3] ?? ''] as [string, string]);
}

/** The host's conntrack entries (its network namespace's /proc/net/nf_conntrack) of IPv6 TCP flows to `port`. */
function conntrack6(h: LabHost, port: number): string[] {
  return execFileSync('ip', ['netns', 'exec', h.netns, 'cat', '/proc/net/nf_conntrack'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.startsWith('ipv6') && l.includes(' tcp ') && l.includes(` dport=${port} `) && l.includes('ESTABLISHED'));
}

/** An IPv6 address as the kernel's conntrack file spells it (every group four hex digits). */
function full6(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b] : a;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'portolan-fleet6-'));
  let up: { status: number | null; stdout: string; output: string } | undefined;
  let x = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    x = 100 + Math.floor(Math.random() * 150);
    up = await runAsync('bash', [SCRIPT, 'up', LAB, '2', String(x), String(NATS_BASE), testImage()], { ...process.env, LAB_IPV6: '1' });
    if (up.status !== 3) break; // that subnet is routed already (another lab): pick another
  }
  if (up?.status !== 0) throw new Error(`fleet-lab.sh up failed: ${up?.output}`);
  hosts = up.stdout.split('\n').filter((l) => l.startsWith('HOST=')).map((l, i) => {
    const [n, dockerHost, address, dockerdPid] = l.slice(5).split(' ');
    return { name: n ?? '', dockerHost: dockerHost ?? '', address: address ?? '', address6: `fd79:${x}::${i + 1}`, dockerdPid: dockerdPid ?? '', netns: `pl${LAB}h${i + 1}` };
  });
  natsUrls = up.stdout.split('\n').filter((l) => l.startsWith('NATS=')).map((l) => l.split(' ')[1] ?? '');
  expect(hosts).toHaveLength(2);
  const [h1, h2] = [host(0), host(1)];
  // The first container of each host: the same IPv6 address (and the same 172.17.0.2) on both.
  at(h1, 'run', '-d', '--name', 'first', '-p', '8080:7000', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7000');
  at(h2, 'run', '-d', '--name', 'first', ...label, testImage(), 'node', '/opt/peer.mjs', 'tcp-client', h1.address6, '8080', String(BYTES), '2');
  for (const [i, h] of hosts.entries()) {
    // In the host's network namespace (its LAN addresses, its conntrack table), reading its own dockerd.
    const p = spawn('nsenter', [`--net=/var/run/netns/${h.netns}`, process.execPath, CLI, 'serve', '--docker-host', h.dockerHost, '--host-pid', h.dockerdPid,
      '--listen', '127.0.0.1:19296', '--interval', '1s', '--no-history', '--no-dns', '--log-level', 'warn', '--nats', natsUrls.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
    procs.push(p);
    expect(p.pid, `agent ${i + 1}`).toBeGreaterThan(0);
  }
  const hub = spawn(process.execPath, [CLI, 'hub', '--nats', natsUrls.join(','), '--listen', `127.0.0.1:${HUB_PORT}`, '--name', `hub6-${RUN_ID}`, '--data', path.join(dataDir, 'hub')], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(hub);
  hub.stdout?.on('data', (d: Buffer) => { hubOut = (hubOut + d.toString()).slice(-100_000); });
  hub.stderr?.on('data', (d: Buffer) => { hubOut = (hubOut + d.toString()).slice(-100_000); });
  await eventually(() => hubOut.includes('portolan hub serving') || hub.exitCode !== null, 30_000, 'the hub listening');
  if (hub.exitCode !== null) throw new Error(`the hub exited with ${hub.exitCode}:\n${hubOut}`);
}, 600_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await runAsync('bash', [SCRIPT, 'down', LAB]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 180_000);

describe('the fleet over IPv6: a published port reached at another host\'s IPv6 address', () => {
  it('the kernel: h2\'s container holds two connections to h1\'s IPv6 address, DNATed on h1 to h1\'s container at the same IPv6 address', async () => {
    const [h1, h2] = [host(0), host(1)];
    const six1 = at(h1, 'inspect', '-f', '{{.NetworkSettings.GlobalIPv6Address}}', 'first');
    const six2 = at(h2, 'inspect', '-f', '{{.NetworkSettings.GlobalIPv6Address}}', 'first');
    expect(six1).toMatch(/^fd7a:/);
    expect(six2).toBe(six1);
    await eventually(() => ssEstablished(h2, 'first').filter(([, peer]) => peer === `[${h1.address6}]:8080`).length === 2, 60_000, 'the client\'s two connections');
    // h1 sees them from h2's LAN address (masqueraded) and sends them on to its container's IPv6 address.
    const entries = await eventually(() => { const e = conntrack6(h1, 8080); return e.length === 2 ? e : undefined; }, 30_000, 'h1\'s two DNAT entries');
    for (const e of entries) {
      expect(e).toContain(`src=${full6(h2.address6)} dst=${full6(h1.address6)}`);
      expect(e).toContain(`src=${full6(six1)} dst=${full6(h2.address6)} sport=7000`);
    }
    expect(ssEstablished(h1, 'first').filter(([local, peer]) => local === `[${six1}]:7000` && peer.startsWith(`[${h2.address6}]:`))).toHaveLength(2);
  });

  it('the hub: two containers with the same IPv6 address stay apart, joined by one edge client → server with bytes', async () => {
    const [h1, h2] = [host(0), host(1)];
    const serverId = at(h1, 'inspect', '-f', '{{.Id}}', 'first');
    const clientId = at(h2, 'inspect', '-f', '{{.Id}}', 'first');
    const t = await eventually(async () => {
      const tt = await topology();
      const e = tt.edges.find((x) => x.from === clientId && x.to === serverId);
      // Joined through h1's conntrack entries: the repeating collection reads the table again at the latest 30 s
      // after a read that came just before the connections (until then the server's half is joined by address).
      return tt.hosts?.length === 2 && e?.traffic && e.traffic.bytesSent >= 2 * BYTES && e.via.includes('dnat') ? tt : undefined;
    }, 60_000, 'the IPv6 DNAT edge with its bytes');
    const firsts = t.nodes.filter((n) => n.kind === 'container' && n.name === 'first');
    expect(firsts.map((n) => n.id).sort()).toEqual([clientId, serverId].sort());
    expect(new Set(firsts.map((n) => n.host)).size).toBe(2);
    const edges = t.edges.filter((e) => e.from === clientId || e.to === clientId);
    expect(edges).toHaveLength(1);
    const [edge] = edges;
    expect(edge).toMatchObject({ from: clientId, to: serverId, port: 7000, connections: 2 });
    expect(edge?.via).toContain('dnat');
    // tcp_info payload bytes: 3000 sent on each connection, echoed back by the server.
    expect(edge?.traffic?.bytesSent).toBe(2 * BYTES);
    expect(edge?.traffic?.bytesReceived).toBe(2 * BYTES);
    expect(edge?.details?.map((d) => d.published)).toEqual([{ address: h1.address6, port: 8080 }, { address: h1.address6, port: 8080 }]);
    // Neither host's IPv6 address is left as an "external" node.
    expect(t.nodes.filter((n) => n.kind === 'external' && (n.name.includes(h1.address6) || n.name.includes(h2.address6)))).toEqual([]);
  });
});
