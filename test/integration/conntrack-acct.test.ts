// Conntrack byte accounting on the real engine: the warning while `net.netfilter.nf_conntrack_acct` is off,
// `--conntrack-acct` turning it on (and saying so), UDP edges carrying exactly the bytes `conntrack -L` counts,
// and a TCP connection opened and closed between two samples of `portolan serve` counted once, from conntrack.
// The sysctl is host-wide: its value is saved first and restored after, whatever happens in between.
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, inspect, name, portolan, run, testImage, waitFor } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

const ACCT = '/proc/sys/net/netfilter/nf_conntrack_acct';
const readAcct = () => readFileSync(ACCT, 'utf8').trim();
const setAcct = (value: string) => writeFileSync(ACCT, `${value}\n`);
const P = '/opt/peer.mjs';
const DATAGRAMS = 50;
const SIZE = 300;
const TCP_BYTES = 20_000;

interface Traffic { bytesSent: number; bytesReceived: number; bytesSentPerSec?: number; bytesReceivedPerSec?: number; bytesSource: string; rttMeanMs?: number; retransmits?: number; measuredConnections: number; conntrackConnections: number }
interface Edge { id: string; from: string; to: string; protocol: string; port: number; states: Record<string, number>; traffic?: Traffic }
interface Graph { warnings: string[]; nodes: { id: string; name: string }[]; edges: Edge[] }

const OFF_WARNING = /^conntrack: byte accounting is off \(net\.netfilter\.nf_conntrack_acct=0\): UDP edges and connections that closed between samples have no byte counts; enable it with --conntrack-acct or sysctl -w net\.netfilter\.nf_conntrack_acct=1/;
const ipOf = (n: string) => inspect(n).NetworkSettings.Networks['bridge']?.IPAddress ?? '';

function graph(args: string[] = []): { g: Graph; stderr: string } {
  const r = portolan(['graph', '--json', '--no-dns', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return { g: JSON.parse(r.stdout) as Graph, stderr: r.stderr };
}

function edgeOf(g: Graph, from: string, to: string, protocol: string, port: number): Edge | undefined {
  const id = (n: string) => g.nodes.find((x) => x.name === name(n))?.id;
  return g.edges.find((e) => e.from === id(from) && e.to === id(to) && e.protocol === protocol && e.port === port);
}

/** The kernel's own count: `conntrack -L -o extended` for one flow, original and reply bytes. */
function conntrackBytes(protocol: 'udp' | 'tcp', src: string, dst: string, dport: number): { state: string; sent: number; received: number }[] {
  const r = spawnSync('conntrack', ['-L', '-p', protocol, '-o', 'extended', '--orig-src', src, '--orig-dst', dst, '--dport', String(dport)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`conntrack -L: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const bytes = [...line.matchAll(/\bbytes=(\d+)/g)].map((m) => Number(m[1]));
    const state = protocol === 'tcp' ? (line.split(/\s+/)[5] ?? '') : '';
    return { state, sent: bytes[0] ?? NaN, received: bytes[1] ?? NaN };
  });
}

let original = '';
let agent: ServeProcess | undefined;

beforeAll(() => {
  original = readAcct();
  testImage();
}, 180_000);

afterAll(async () => {
  try {
    await agent?.stop();
    cleanup();
  } finally {
    setAcct(original);
  }
});

describe('accounting off, no flag', () => {
  beforeAll(() => setAcct('0'));

  it('graph and top say so in one line, in their JSON and on stderr, and leave the sysctl alone', () => {
    const { g, stderr } = graph();
    expect(g.warnings.filter((w) => OFF_WARNING.test(w))).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^portolan: warning: ${OFF_WARNING.source.slice(1)}`, 'm'));
    const top = portolan(['top', '--once', '--json', '--interval', '0.5']);
    expect(top.status, top.stderr).toBe(0);
    expect((JSON.parse(top.stdout) as { warnings: string[] }).warnings).toContainEqual(expect.stringMatching(OFF_WARNING));
    expect(readAcct()).toBe('0');
  });
});

describe('--conntrack-acct', () => {
  it('sets the sysctl to 1 in the host namespace and says so, with the value before; then finds it on', () => {
    const r = portolan(['graph', '--json', '--no-dns', '--conntrack-acct']);
    expect(r.status, r.stderr).toBe(0);
    const hostNs = readlinkSync('/proc/self/ns/net');
    expect(r.stderr).toContain(`portolan: conntrack accounting enabled: net.netfilter.nf_conntrack_acct was 0, now 1 in the host network namespace (${hostNs}); only flows that start from now on are counted`);
    expect(readAcct()).toBe('1');
    expect((JSON.parse(r.stdout) as Graph).warnings.filter((w) => OFF_WARNING.test(w))).toEqual([]);
    const again = portolan(['graph', '--json', '--no-dns', '--conntrack-acct']);
    expect(again.stderr).toContain(`portolan: conntrack accounting already on: net.netfilter.nf_conntrack_acct is 1 in the host network namespace (${hostNs}); nothing changed`);
    expect(readAcct()).toBe('1');
  });
});

describe('UDP edges from conntrack accounting', () => {
  beforeAll(async () => {
    expect(readAcct()).toBe('1');
    run('usrv', [], ['node', P, 'udp-server', '5353']);
    const ip = ipOf('usrv');
    // Flows start after accounting is on, so their entries have counters.
    run('usnd', [], ['node', P, 'udp-burst', ip, '5353', String(DATAGRAMS), String(SIZE)]);
    run('utick', [], ['node', P, 'udp-send', ip, '5353', '100']);
    await waitFor(() => docker('logs', name('usnd')).includes(`sent ${DATAGRAMS}`), 30_000, 'the burst sent');
  }, 120_000);

  it('a burst of N datagrams of known size: the edge\'s bytes are conntrack\'s for that flow, ≥ N × (size + 28)', () => {
    const { g, stderr } = graph();
    const flow = conntrackBytes('udp', ipOf('usnd'), ipOf('usrv'), 5353);
    expect(flow).toHaveLength(1);
    const e = edgeOf(g, 'usnd', 'usrv', 'udp', 5353);
    expect(e?.traffic).toEqual({ bytesSent: flow[0]?.sent, bytesReceived: flow[0]?.received, bytesSource: 'conntrack', measuredConnections: 0, conntrackConnections: 1 });
    expect(e?.traffic?.bytesSent).toBeGreaterThanOrEqual(DATAGRAMS * (SIZE + 28));
    expect(e?.traffic?.bytesReceived).toBe(0);
    expect(stderr).not.toMatch(/byte accounting/);
    // The text view marks conntrack's (IP-level) byte counts.
    const text = portolan(['graph', '--no-dns']).stdout;
    expect(text).toMatch(new RegExp(`${name('usnd')}\\s+${name('usrv')}\\s+udp/5353\\s+1\\s+UNREPLIED=1\\s+16\\.4kB → 0B ← \\[conntrack\\]\\s+-\\s+-\\s+conntrack`));
  });

  it('a steady sender has a rate across samples (top), and no RTT or retransmits', () => {
    const r = portolan(['top', '--once', '--json', '--interval', '2']);
    expect(r.status, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { edges: { from: string; to: string; protocol: string; bytesSentPerSec: number | null; rttMeanMs: number | null; retransmits: number | null }[] }).edges;
    const tick = rows.find((x) => x.from === name('utick') && x.to === name('usrv') && x.protocol === 'udp');
    // 10 datagrams a second of 4 bytes: 10 × (4 + 28) = 320 bytes/s on the wire.
    expect(tick?.bytesSentPerSec).toBeGreaterThan(160);
    expect(tick?.bytesSentPerSec).toBeLessThan(640);
    expect(tick).toMatchObject({ rttMeanMs: null, retransmits: null });
  });
});

describe('a TCP connection opened and closed between two samples of portolan serve', () => {
  const topology = async () => (await getJson<Graph>(`${agent?.base ?? ''}/api/v1/topology`)).body;
  const hasNode = (n: string) => async () => ((await topology()).nodes.some((x) => x.name === name(n)) ? true : undefined);
  const sentCounter = async (): Promise<number | undefined> => {
    const text = await (await fetch(`${agent?.base ?? ''}/metrics`)).text();
    const m = new RegExp(`^portolan_edge_sent_bytes_total\\{from="${name('once')}",from_id="[0-9a-f]{12}",from_kind="container",to="${name('sink')}",to_id="[0-9a-f]{12}",to_kind="container",protocol="tcp",port="7300"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  beforeAll(async () => {
    run('sink', [], ['node', P, 'tcp-sink', '7300']);
    // A long interval: only Docker events (containers started below) make it collect.
    agent = await startServe(['--interval', '3600', '--no-history', '--no-dns', '--conntrack-acct']);
    await eventually(hasNode('sink'), 30_000, 'the agent sees sink');
  }, 120_000);

  it('shows its bytes on the edge from conntrack, counted once, in the API and /metrics', async () => {
    expect(agent?.output()).toMatch(/"previous":1,"value":1,.*"msg":"conntrack accounting already on: net\.netfilter\.nf_conntrack_acct is 1/);
    // The client waits 6 s before it connects: the collection its start triggers comes before.
    run('once', [], ['node', P, 'tcp-once', ipOf('sink'), '7300', String(TCP_BYTES), '6000']);
    await eventually(hasNode('once'), 30_000, 'a collection after once started');
    expect(docker('logs', name('once')), 'the connection must happen after that collection').not.toMatch(/connected/);
    await waitFor(() => docker('logs', name('once')).includes('closed'), 30_000, 'once connected, sent and closed');
    run('poke1', [], ['sleep', '1000']);
    await eventually(hasNode('poke1'), 30_000, 'a collection after the connection closed');

    const flow = conntrackBytes('tcp', ipOf('once'), ipOf('sink'), 7300);
    expect(flow.map((f) => f.state)).toEqual(['TIME_WAIT']);
    const e = edgeOf(await topology(), 'once', 'sink', 'tcp', 7300);
    expect(e?.states).toEqual({ TIME_WAIT: 1 });
    expect(e?.traffic).toMatchObject({ bytesSent: flow[0]?.sent, bytesReceived: flow[0]?.received, bytesSource: 'conntrack', measuredConnections: 0, conntrackConnections: 1 });
    expect(e?.traffic?.bytesSent).toBeGreaterThan(TCP_BYTES);
    expect(e?.traffic?.rttMeanMs).toBeUndefined();
    expect(await sentCounter()).toBe(flow[0]?.sent);

    // Another sample while the entry lingers: nothing is added again.
    run('poke2', [], ['sleep', '1000']);
    await eventually(hasNode('poke2'), 30_000, 'one more collection');
    const again = edgeOf(await topology(), 'once', 'sink', 'tcp', 7300);
    expect(again?.traffic).toMatchObject({ bytesSent: flow[0]?.sent, bytesSentPerSec: 0, bytesReceivedPerSec: 0 });
    expect(await sentCounter()).toBe(flow[0]?.sent);
  });
});

describe('--host-pid naming another network namespace', () => {
  it('reads and sets accounting there (through setns), never in portolan\'s own namespace', async () => {
    // A namespace with no Docker in it: only where the sysctl is read and written matters here.
    const child = spawn('unshare', ['-n', 'sleep', '120'], { stdio: 'ignore' });
    try {
      const nsPath = `/proc/${child.pid ?? 0}/ns/net`;
      const own = readlinkSync('/proc/self/ns/net');
      await waitFor(() => readlinkSync(nsPath) !== own, 5_000, 'the new namespace');
      const inside = () => execFileSync('nsenter', [`--net=${nsPath}`, 'cat', ACCT], { encoding: 'utf8' }).trim();
      const mine = readAcct();
      expect(inside()).toBe('0');
      const off = graph(['--host-pid', String(child.pid)]);
      expect(off.g.warnings).toContainEqual(expect.stringMatching(OFF_WARNING));
      const r = portolan(['graph', '--json', '--no-dns', '--host-pid', String(child.pid), '--conntrack-acct']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`net.netfilter.nf_conntrack_acct was 0, now 1 in the host network namespace (${readlinkSync(nsPath)})`);
      expect(inside()).toBe('1');
      expect(readAcct()).toBe(mine);
    } finally {
      child.kill();
    }
  });
});
