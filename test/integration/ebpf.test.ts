// `serve --ebpf` on the real kernel: where bpftrace loads, loopback connections inside a container — which the
// container's namespace never hands to conntrack — arrive as captured events (source ebpf) for exactly the client
// sockets `nsenter … ss` shows, with `conntrack -L` in that namespace knowing none of them; a short connection's
// payload bytes are what the client sent and got back; `portolan events` (this host's agent, found through
// PORTOLAN_LISTEN) prints them. Where it cannot load (bpftrace not on PATH), one notice and everything else works.
// The test mounts tracefs when it is not mounted (portolan never does) and unmounts what it mounted.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, docker, RUN_ID, ssSockets, testImage } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const AGENT_PORT = 19760;
const RUN = `export-${RUN_ID}`;
const LABELS = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${RUN}`];
const cname = (n: string) => `pt-${RUN}-${n}`;
const start = (n: string, cmd: string) => docker('run', '-d', '--name', cname(n), ...LABELS, testImage(), 'sh', '-c', cmd);
const pidOf = (n: string) => Number(docker('inspect', '-f', '{{.State.Pid}}', cname(n)));

interface Doc { event: string; source?: string; direction?: string; local_ip?: string; local_port?: number; remote_ip?: string; remote_port?: number; bytes?: { sent?: number; received?: number }; duration_ms?: number; container: { name: string } | null }

const agents: ServeProcess[] = [];
const dirs: string[] = [];
let mountedTracefs = false;
beforeAll(() => {
  testImage();
  if (!fs.existsSync('/sys/kernel/tracing/events')) {
    execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
    mountedTracefs = true;
  }
}, 120_000);
afterAll(async () => {
  for (const a of agents) await a.stop();
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${RUN}`).split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  if (mountedTracefs) spawnSync('umount', ['/sys/kernel/tracing']);
}, 60_000);

describe('serve --ebpf where bpftrace loads', () => {
  it('sees the loopback connections inside a container that conntrack does not, and portolan events prints them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-ebpf-'));
    dirs.push(dir);
    const file = path.join(dir, 'events.ndjson');
    const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT}`, '--interval', '1', '--no-history', '--ebpf', '--export', `file:${file}`, '--export-container', `${cname('')}*`]);
    agents.push(agent);
    const status = await eventually(async () => {
      const s = (await getJson<{ ebpf?: { state: string; reason?: string } }>(`${agent.base}/api/v1/status`)).body.ebpf;
      return s && s.state !== 'starting' ? s : undefined;
    }, 30_000, 'the eBPF source to load');
    expect(status).toMatchObject({ state: 'running' });

    // portolan events without --server: this host's agent, where PORTOLAN_LISTEN says serve listens.
    const cli = spawn(process.execPath, [CLI, 'events', '--type', 'connection.closed', '--container', cname('once'), '--count', '2'], { env: { ...process.env, PORTOLAN_LISTEN: `127.0.0.1:${AGENT_PORT}` } });
    let printed = '';
    cli.stdout.on('data', (d: Buffer) => { printed += d.toString(); });
    const cliExit = new Promise<number | null>((resolve) => cli.on('exit', resolve));
    // Its stream is open once the agent counts an events client (it reads from then on, not before).
    await eventually(async () => {
      const text = await (await fetch(`${agent.base}/metrics`)).text();
      return /^portolan_live_clients\{stream="events"\} [1-9]/m.test(text) || undefined;
    }, 15_000, 'portolan events connected');

    start('many', 'exec node /opt/peer.mjs tcp-many 7000 20');
    start('once', 'node /opt/peer.mjs tcp-server 7001 127.0.0.1 & sleep 1; node /opt/peer.mjs tcp-once 127.0.0.1 7001 100; sleep 600');
    const pid = pidOf('many');
    // The kernel first: the container's 20 loopback client sockets.
    const clients = await eventually(() => {
      const c = ssSockets(pid).filter((s) => s.state === 'ESTABLISHED' && s.remote === '127.0.0.1:7000').map((s) => Number(s.local.split(':').pop()));
      return c.length === 20 ? c.sort((a, b) => a - b) : undefined;
    }, 30_000, '20 loopback connections in ss');
    const docs = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc) : []);
    const ebpfPorts = await eventually(() => {
      const ports = docs().filter((d) => d.source === 'ebpf' && d.event === 'connection.opened' && d.direction === 'outgoing' && d.container?.name === cname('many') && d.remote_port === 7000)
        .map((d) => d.local_port ?? 0).sort((a, b) => a - b);
      return ports.length >= 20 ? ports : undefined;
    }, 20_000, 'eBPF events of the 20 connections');
    expect(ebpfPorts).toEqual(clients);
    // Conntrack in that namespace knows none of them, and capture exported none of them.
    const tracked = spawnSync('nsenter', ['-t', String(pid), '-n', 'conntrack', '-L', '-p', 'tcp', '--dport', '7000'], { encoding: 'utf8' });
    expect(tracked.stdout.split('\n').filter((l) => l.startsWith('tcp'))).toEqual([]);
    expect(docs().filter((d) => d.source === 'conntrack' && (d.local_port === 7000 || d.remote_port === 7000))).toEqual([]);

    // The short connection: the client sent 100 bytes and got them echoed back.
    const closed = await eventually(() => docs().find((d) => d.source === 'ebpf' && d.event === 'connection.closed' && d.direction === 'outgoing' && d.container?.name === cname('once')), 20_000, 'the short connection\'s close');
    expect(closed).toMatchObject({ remote_ip: '127.0.0.1', remote_port: 7001, bytes: { sent: 100, received: 100 } });
    expect(closed.duration_ms).toBeGreaterThanOrEqual(0);
    expect(await Promise.race([cliExit, new Promise((r) => setTimeout(() => r('timeout'), 20_000))])).toBe(0);
    const lines = printed.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
    expect(lines.map((d) => [d.event, d.source, d.direction, d.container?.name]).sort()).toEqual([
      ['connection.closed', 'ebpf', 'incoming', cname('once')], ['connection.closed', 'ebpf', 'outgoing', cname('once')],
    ]);
    await agent.stop();
  }, 120_000);
});

describe('serve --ebpf where bpftrace is absent', () => {
  it('says so once, with the fix, and everything else works', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-nobpf-'));
    dirs.push(bin);
    const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT + 1}`, '--interval', '1', '--no-history', '--ebpf'], { PATH: bin });
    agents.push(agent);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
    const st = (await getJson<{ ebpf: { state: string; reason: string; fix: string } }>(`${agent.base}/api/v1/status`)).body.ebpf;
    expect(st).toMatchObject({ state: 'unavailable', reason: 'bpftrace is not installed (not found on PATH)', fix: 'apt-get install bpftrace' });
    start('alive', 'sleep 600');
    await eventually(async () => (await getJson<{ containers: { name: string }[] }>(`${agent.base}/api/v1/containers`)).body.containers.some((c) => c.name === cname('alive')), 20_000, 'the container in the API');
    const notices = agent.output().split('\n').filter((l) => l.includes('eBPF source off'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('eBPF source off: bpftrace is not installed (not found on PATH) (to enable it: apt-get install bpftrace); everything else works without it');
    await agent.stop();
  }, 60_000);
});
