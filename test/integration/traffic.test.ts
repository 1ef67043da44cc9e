// Per-connection tcp_info bytes and per-container interface counters, compared with what is known to have
// moved and with Docker's own stats API.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, inspect, name, portolan, run, testImage, waitFor } from './harness.js';

interface Traffic { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; scope: string; interfaces: { name: string }[] }
interface Sock { state: string; local: { port: number }; remote: { port: number }; tcp?: { bytesSent: number; bytesReceived: number; rttMs: number; rttVarMs: number; retransmits: number; deliveryRateBps: number } }
interface Container { name: string; source: string | null; traffic?: Traffic; tcpInfo: boolean; sockets: Sock[] }
const P = '/opt/peer.mjs';
const MiB = 1024 * 1024;

const ps = (...args: string[]): Container[] => {
  const r = portolan(['ps', '--json', ...args]);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { containers: Container[] }).containers;
};

function dockerStats(id: string): { rx: number; tx: number } {
  const out = execFileSync('curl', ['-fsS', '--unix-socket', '/var/run/docker.sock', `http://localhost/containers/${id}/stats?stream=false&one-shot=true`], { encoding: 'utf8' });
  const nets = (JSON.parse(out) as { networks: Record<string, { rx_bytes: number; tx_bytes: number }> }).networks;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(nets)) { rx += n.rx_bytes; tx += n.tx_bytes; }
  return { rx, tx };
}

beforeAll(async () => {
  testImage();
  run('echo', [], ['node', P, 'tcp-server', '7000']);
  run('host', ['--network', 'host'], ['sleep', '100000']);
  const ip = inspect('echo').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
  run('mib', [], ['node', P, 'tcp-client', ip, '7000', String(MiB)]);
  // Wait until the echo came back in full: the client's receive side holds 1 MiB.
  await waitFor(() => {
    const c = ps('--container', name('mib')).find((x) => x.name === name('mib'));
    return (c?.sockets.find((s) => s.state === 'ESTABLISHED')?.tcp?.bytesReceived ?? 0) >= MiB;
  }, 30_000, '1 MiB echoed');
}, 120_000);

afterAll(() => cleanup());

describe('tcp_info per connection (netlink)', () => {
  it('a 1 MiB transfer over an open connection shows bytesSent = bytesReceived = 1048576 on both ends', () => {
    const cs = ps('--container', `${name('')}*`);
    const client = cs.find((c) => c.name === name('mib'))?.sockets.find((s) => s.state === 'ESTABLISHED');
    expect(client?.tcp).toMatchObject({ bytesSent: MiB, bytesReceived: MiB });
    const server = cs.find((c) => c.name === name('echo'))?.sockets.find((s) => s.state === 'ESTABLISHED');
    expect(server?.tcp).toMatchObject({ bytesSent: MiB, bytesReceived: MiB });
    expect(server?.remote.port).toBe(client?.local.port);
  });

  it('RTT, variance, retransmits and delivery rate are numbers ss also reports', () => {
    const s = ps('--container', name('mib'))[0]?.sockets.find((x) => x.state === 'ESTABLISHED');
    expect(s?.tcp?.rttMs).toBeGreaterThan(0);
    expect(s?.tcp?.rttMs).toBeLessThan(100);
    expect(s?.tcp?.rttVarMs).toBeGreaterThanOrEqual(0);
    expect(s?.tcp?.retransmits).toBeGreaterThanOrEqual(0);
    expect(s?.tcp?.deliveryRateBps).toBeGreaterThan(0);
    // ss -ti in the namespace prints the same byte counters.
    const out = execFileSync('nsenter', ['-t', String(inspect('mib').State.Pid), '-n', 'ss', '-tinH', 'state', 'established'], { encoding: 'utf8' });
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
    expect(num(/bytes_sent:(\d+)/) - num(/bytes_retrans:(\d+)/)).toBe(MiB);
    expect(num(/bytes_received:(\d+)/)).toBe(MiB);
  });

  it('the /proc source has no tcp_info and says so instead of inventing numbers', () => {
    const c = ps('--container', name('mib'), '--source', 'proc')[0];
    expect(c?.tcpInfo).toBe(false);
    expect(c?.sockets.every((s) => s.tcp === undefined)).toBe(true);
    expect(ps('--container', name('mib'))[0]?.tcpInfo).toBe(true);
  });

  it('--no-tcp-info: netlink without tcp_info, and the output says so', () => {
    const c = ps('--container', name('mib'), '--no-tcp-info')[0];
    expect(c?.source).toBe('netlink');
    expect(c?.tcpInfo).toBe(false);
    expect(c?.sockets.some((s) => s.state === 'ESTABLISHED')).toBe(true);
    expect(c?.sockets.every((s) => s.tcp === undefined)).toBe(true);
  });
});

describe('per-edge traffic in portolan graph', () => {
  it('the mib → echo edge carries 1 MiB each way, with RTT and retransmits, in JSON and text', () => {
    const r = portolan(['graph', '--json', '--no-dns']);
    expect(r.status, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as { nodes: { id: string; name: string }[]; edges: { from: string; to: string; port: number; traffic?: { bytesSent: number; bytesReceived: number; rttMinMs: number; rttMeanMs: number; rttMaxMs: number; retransmits: number; measuredConnections: number } }[] };
    const id = (n: string) => g.nodes.find((x) => x.name === name(n))?.id;
    const edge = g.edges.find((e) => e.from === id('mib') && e.to === id('echo'));
    expect(edge?.port).toBe(7000);
    expect(edge?.traffic).toMatchObject({ bytesSent: MiB, bytesReceived: MiB, measuredConnections: 1 });
    expect(edge?.traffic?.rttMinMs).toBeGreaterThan(0);
    expect(edge?.traffic?.rttMaxMs).toBeGreaterThanOrEqual(edge?.traffic?.rttMeanMs ?? Infinity);
    const text = portolan(['graph', '--no-dns']).stdout;
    expect(text.split('\n')[0]).toMatch(/BYTES\s+RTT MS\s+RETRANS/);
    expect(text).toMatch(new RegExp(`${name('mib')}\\s+${name('echo')}\\s+tcp/7000\\s+1\\s+\\S+\\s+1\\.0MB → 1\\.0MB ←`));
  });
});

describe('container interface counters', () => {
  it('equal Docker\'s stats API, read around the same moment', () => {
    const id = inspect('mib').Id;
    const before = dockerStats(id);
    const c = ps('--container', name('mib'))[0];
    const after = dockerStats(id);
    expect(c?.traffic?.scope).toBe('container');
    expect(c?.traffic?.interfaces.map((i) => i.name)).toEqual(['eth0']);
    expect(c?.traffic?.rxBytes).toBeGreaterThanOrEqual(before.rx);
    expect(c?.traffic?.rxBytes).toBeLessThanOrEqual(after.rx);
    expect(c?.traffic?.txBytes).toBeGreaterThanOrEqual(before.tx);
    expect(c?.traffic?.txBytes).toBeLessThanOrEqual(after.tx);
    expect(c?.traffic?.rxBytes).toBeGreaterThan(MiB);
  });

  it('a host-network container says its counters are the host\'s', () => {
    const c = ps('--container', name('host'))[0];
    expect(c?.traffic?.scope).toBe('host');
    // The interfaces listed are the host's own (docker0 among them), not a container's eth0.
    const hostIfaces = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter((n) => n && n !== 'lo');
    expect(c?.traffic?.interfaces.map((i) => i.name).sort()).toEqual(hostIfaces.sort());
    expect(hostIfaces).toContain('docker0');
  });
});
