// The agent reads again only what changed (namespaces with socket activity, processes new or suspected of
// holding a new socket). Proof that this loses nothing: after idle ticks, after a new connection, and while
// bytes flow, the agent's sockets, their owners and their byte counts equal the kernel's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cleanup, inspect, name, normEndpoint, run, ssSockets, testImage, waitFor, type SsSocket } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

interface PsSocket { protocol: string; state: string; local: { address: string; port: number }; remote: { address: string; port: number }; inode: number; processes: { pid: number }[]; tcp?: { bytesSent: number; bytesReceived: number } }
interface Ps { containers: { name: string; sockets: PsSocket[] }[] }

const STABLE = new Set(['LISTEN', 'ESTABLISHED', 'UNCONN']);
const key = (p: string, st: string, l: string, r: string, inode: number) => `${p} ${st} ${l} ${r} ino=${inode}`;
const fromPs = (s: PsSocket) => key(s.protocol, s.state, normEndpoint(s.local.address, s.local.port), normEndpoint(s.remote.address, s.remote.port), s.inode);
const fromSs = (s: SsSocket) => key(s.protocol, s.state, s.local, s.remote, s.inode);

let agent: ServeProcess;
let dataDir: string;

beforeAll(async () => {
  testImage();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-incr-'));
  run('isrv', [], ['node', '/opt/peer.mjs', 'tcp-server', '8080']);
  agent = await startServe(['--interval', '1', '--data', dataDir]);
  await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// The agent collects every second: a state the kernel shows is the agent's within a few ticks.
const PROMISE_MS = 5_000;

/** Collections the agent has made so far (its own counter). */
async function collections(): Promise<number> {
  return (await getJson<{ collections: number }>(`${agent.base}/api/v1/status`)).body.collections;
}

/** Waits until the agent has made `n` more collections than now: ticks that had nothing new to read. */
async function ticks(n: number): Promise<void> {
  const from = await collections();
  await eventually(async () => (await collections()) >= from + n, n * 1000 + PROMISE_MS, `${n} more collections`);
}

/** Established connections in container `n`'s namespace to or from `peer`'s address, as ss shows them. */
const establishedWith = (n: string, peer: string) => ssSockets(inspect(n).State.Pid).filter((s) => s.state === 'ESTABLISHED' && s.remote.replace(/^::ffff:/, '').startsWith(`${peer}:`)).length;

/** Payload bytes sent over container `n`'s established TCP connection, as the kernel counts them (ss -ti). */
function kernelBytesSent(n: string): number {
  const out = execFileSync('nsenter', ['-t', String(inspect(n).State.Pid), '-n', 'ss', '-tinH', 'state', 'established'], { encoding: 'utf8' });
  return Number(/bytes_sent:(\d+)/.exec(out)?.[1] ?? 0);
}

/** The agent's sockets of container `n` (stable states) against ss in its namespace, owners included. */
async function agrees(n: string): Promise<boolean> {
  const ps = (await getJson<Ps>(`${agent.base}/api/v1/sockets?container=${name(n)}`)).body;
  const mine = ps.containers.find((c) => c.name === name(n))?.sockets.filter((s) => STABLE.has(s.state)) ?? [];
  const ss = ssSockets(inspect(n).State.Pid).filter((s) => STABLE.has(s.state));
  const a = mine.map(fromPs).sort();
  const b = ss.map(fromSs).sort();
  if (JSON.stringify(a) !== JSON.stringify(b)) return false;
  return ss.filter((s) => s.inode !== 0).every((s) => {
    const owners = mine.find((p) => p.inode === s.inode)?.processes.map((p) => p.pid).sort() ?? [];
    return JSON.stringify(owners) === JSON.stringify([...s.pids].sort());
  });
}

describe('portolan serve, which reads again only what changed: after idle ticks and new connections its sockets still equal the kernel\'s', () => {
  it('idle ticks, then new connections from a new container: the agent agrees with ss, owners included', async () => {
    const ip = inspect('isrv').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    run('icli1', [], ['node', '/opt/peer.mjs', 'tcp-client', ip, '8080', '10']);
    const ip1 = inspect('icli1').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    // The kernel first: the client's connection is up; then the agent, within its promise.
    await waitFor(() => establishedWith('isrv', ip1) === 1, 30_000, 'icli1 connected (ss)');
    await eventually(() => agrees('isrv'), PROMISE_MS, 'the agent to show isrv with its first connection');
    // Several idle ticks: the namespace tables are reused; they must still be right.
    await ticks(3);
    expect(await agrees('isrv')).toBe(true);
    expect(await agrees('icli1')).toBe(true);
    // A new connection into the idle server: a new socket inode in its namespace, held by its node process.
    run('icli2', [], ['node', '/opt/peer.mjs', 'tcp-client', ip, '8080', '10', '2']);
    const ip2 = inspect('icli2').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    await waitFor(() => establishedWith('isrv', ip2) === 2, 30_000, 'icli2 connected twice (ss)');
    await eventually(async () => (await agrees('isrv')) && (await agrees('icli2')), PROMISE_MS, 'the new connections with their owners');
  });

  it('UDP of either family, and namespaces where a protocol has no socket (whose tables the agent does not dump): the agent agrees with ss', async () => {
    // No TCP socket at all, one IPv4 UDP socket; and a namespace with no socket until it binds an IPv6 UDP one later.
    run('iudp4', [], ['node', '/opt/peer.mjs', 'udp-server', '5353']);
    run('iudp6', [], ['sh', '-c', 'sleep 8; exec node /opt/peer.mjs udp-server 5354 ::']);
    const udp = (n: string, port: number) => ssSockets(inspect(n).State.Pid).some((x) => x.protocol === 'udp' && x.local.endsWith(`:${port}`));
    await waitFor(() => udp('iudp4', 5353), 30_000, 'iudp4 bound (ss)');
    await eventually(() => agrees('iudp4'), PROMISE_MS, 'the agent to show iudp4\'s UDP socket');
    // Before the bind: the agent has read iudp6's namespace with no socket in it (nothing dumped); after it, the
    // socket within the promise.
    const listed = async () => (await getJson<Ps>(`${agent.base}/api/v1/sockets?container=${name('iudp6')}`)).body.containers.some((c) => c.name === name('iudp6'));
    await eventually(async () => (await listed()) && !udp('iudp6', 5354), PROMISE_MS, 'the agent to list iudp6 before its bind');
    await waitFor(() => udp('iudp6', 5354), 30_000, 'iudp6 bound (ss)');
    await eventually(() => agrees('iudp6'), PROMISE_MS, 'the agent to show iudp6\'s IPv6 UDP socket');
    await ticks(3);
    expect(await agrees('iudp4')).toBe(true);
    expect(await agrees('iudp6')).toBe(true);
    expect(await agrees('isrv')).toBe(true);
  });

  it('bytes that move are seen at every tick: a pump\'s tcp_info counter keeps up with the kernel\'s', async () => {
    const ip = inspect('isrv').NetworkSettings.Networks['bridge']?.IPAddress ?? '';
    run('ipump', [], ['node', '/opt/peer.mjs', 'tcp-pump', ip, '8080', '200000', '6']);
    const sent = async () => {
      const ps = (await getJson<Ps>(`${agent.base}/api/v1/sockets?container=${name('ipump')}`)).body;
      return ps.containers[0]?.sockets.find((s) => s.state === 'ESTABLISHED')?.tcp?.bytesSent ?? 0;
    };
    // What the kernel counts at an instant, the agent shows within its promise — twice, 200 kB apart: its table
    // of that namespace is read again as the bytes move, not reused.
    await waitFor(() => kernelBytesSent('ipump') > 0, 30_000, 'the pump sending (ss)');
    const k1 = kernelBytesSent('ipump');
    await eventually(async () => (await sent()) >= k1, PROMISE_MS, `the agent to count the ${k1} bytes the kernel counted`);
    await waitFor(() => kernelBytesSent('ipump') >= k1 + 200_000, 30_000, '200 kB more (ss)');
    const k2 = kernelBytesSent('ipump');
    await eventually(async () => (await sent()) >= k2, PROMISE_MS, `the agent to count the ${k2} bytes the kernel counted`);
  });
});
