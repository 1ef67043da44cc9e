// The conntrack event subscription's socket filter on the real kernel: in a throwaway network namespace (conntrack
// on for its loopback), a TCP connection opens, exchanges bytes and closes normally, and another is reset once
// established. `conntrack -E` in the same namespace (the kernel's answer) shows every UPDATE: SYN_RECV, ESTABLISHED,
// FIN_WAIT, LAST_ACK, TIME_WAIT, CLOSE. The subscription must get the NEWs, and of the UPDATEs exactly those to
// TIME_WAIT and CLOSE. The namespace is named pt-ctf-<run> and deleted at the end.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCtnetlinkDatagram } from '../../src/core/parse/ctnetlink.js';
import type { ConntrackEvent } from '../../src/core/model/conntrack.js';
import { subscribeConntrackEvents, type CtnetlinkSubscription } from '../../src/sources/ctnetlink.js';
import { eventually } from './serve-agent.js';

const NS = `pt-ctf-${randomBytes(3).toString('hex')}`;
const ip = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' });

// One connection that closes normally (client first: TIME_WAIT), one reset once established (SO_LINGER 0: CLOSE);
// prints the listener's port and the reset client's port.
const CLIENT = `
import json, socket, struct, time
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4)
c = socket.create_connection(('127.0.0.1', l.getsockname()[1])); a, _ = l.accept()
c.sendall(b'x' * 1000); a.recv(4096); a.sendall(b'y' * 500); c.recv(4096)
time.sleep(0.2); c.close(); a.recv(1); a.close(); time.sleep(0.2)
r = socket.create_connection(('127.0.0.1', l.getsockname()[1])); ra, _ = l.accept()
rport = r.getsockname()[1]
r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); r.close(); time.sleep(0.2)
print(json.dumps({'server': l.getsockname()[1], 'reset': rport}), flush=True)
`;

let sub: CtnetlinkSubscription | undefined;
const received: ConntrackEvent[] = [];
// A process in the namespace: the subscription names a namespace by /proc/<pid>/ns/net (its drops are in that
// pid's net/netlink).
let holder: ReturnType<typeof spawn> | undefined;

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  ip('ip', 'link', 'set', 'lo', 'up');
  // A rule that needs conntrack makes the kernel track this namespace's traffic.
  ip('iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '-j', 'ACCEPT');
  holder = spawn('ip', ['netns', 'exec', NS, 'sleep', '600'], { stdio: 'ignore' });
});

afterAll(() => {
  sub?.close();
  holder?.kill();
  spawnSync('ip', ['netns', 'del', NS]);
});

describe('conntrack events: the socket filter keeps NEW, DESTROY and the UPDATEs to TIME_WAIT and CLOSE only', () => {
  it('against conntrack -E in the same namespace', async () => {
    // ip netns exec then execs sleep: the pid is sleep's once its namespace is NS's.
    const pid = holder?.pid ?? 0;
    const nsInode = execFileSync('stat', ['-Lc', '%i', `/run/netns/${NS}`], { encoding: 'utf8' }).trim();
    await eventually(() => execFileSync('stat', ['-Lc', '%i', `/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim() === nsInode, 10_000, 'the holder in the namespace');
    sub = subscribeConntrackEvents(`/proc/${pid}/ns/net`, {
      onDatagram: (bytes) => {
        for (const m of parseCtnetlinkDatagram(bytes).messages) if (m.kind === 'event') received.push(m.event);
      },
      onError: (err) => { throw err; },
    }, 1 << 20);
    expect(sub.closingStates).toBe(true);
    const kernel = spawn('ip', ['netns', 'exec', NS, 'stdbuf', '-oL', 'conntrack', '-E', '-p', 'tcp']);
    let kernelText = '';
    kernel.stdout.on('data', (d: Buffer) => { kernelText += d.toString(); });
    // conntrack -E is listening once it has subscribed: wait for its socket to show in the namespace's netlink list.
    // (Netfilter sockets with multicast groups: ours and conntrack's; the kernel's own has none.)
    await eventually(() => ip('cat', '/proc/net/netlink').split('\n').filter((l) => /^\S+\s+12\s+\d+\s+0*[1-9a-f]/.test(l)).length >= 2, 10_000, 'conntrack -E to subscribe');
    const ports = JSON.parse(ip('python3', '-c', CLIENT)) as { server: number; reset: number };
    const updates = (text: string) => text.split('\n').filter((l) => l.includes('[UPDATE]'));
    await eventually(() => updates(kernelText).some((l) => l.includes(`sport=${ports.reset} `) && l.includes(' CLOSE ')), 10_000, 'the kernel\'s events');
    await eventually(() => received.some((e) => e.original.sport === ports.reset && e.state === 'CLOSE'), 10_000, 'ours');
    kernel.kill();
    // The kernel's UPDATEs, as (source port, state), against ours.
    const kernelUpdates = updates(kernelText).map((l) => [Number(/sport=(\d+)/.exec(l)?.[1]), / (SYN_RECV|ESTABLISHED|FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE) /.exec(l)?.[1]] as const);
    const states = new Set(kernelUpdates.map(([, s]) => s));
    // What the filter has to drop is there: the test would see a filter that keeps everything.
    expect([...states].sort()).toEqual(expect.arrayContaining(['ESTABLISHED', 'FIN_WAIT', 'LAST_ACK', 'SYN_RECV', 'TIME_WAIT', 'CLOSE']));
    const ours = received.filter((e) => e.kind === 'update').map((e) => [e.original.sport, e.state] as const);
    expect(ours).toEqual(kernelUpdates.filter(([, s]) => s === 'TIME_WAIT' || s === 'CLOSE'));
    expect(ours.length).toBeGreaterThanOrEqual(2);
    // NEWs pass too: one per connection.
    expect(received.filter((e) => e.kind === 'new' && e.original.dport === ports.server)).toHaveLength(2);
  }, 60_000);

  it('told to, it drops the TCP DESTROYs in TIME_WAIT or CLOSE and keeps the others (conntrack -D of every entry)', async () => {
    expect(sub?.dropClosedTcpDestroys(true)).toBe(true);
    // A connection held open (ESTABLISHED), beside the closed ones of the test before (TIME_WAIT for 120 s).
    const held = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', `
import socket, sys
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)
c = socket.create_connection(('127.0.0.1', l.getsockname()[1])); a, _ = l.accept()
print(c.getsockname()[1], flush=True); sys.stdin.read()`]);
    let heldOut = '';
    held.stdout.on('data', (d: Buffer) => { heldOut += d.toString(); });
    try {
      const port = Number(await eventually(() => /^(\d+)\n/.exec(heldOut)?.[1], 10_000, 'the held connection'));
      const table = ip('conntrack', '-L', '-p', 'tcp');
      expect(table).toContain('TIME_WAIT');
      expect(table).toMatch(new RegExp(`ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=${port} `));
      const before = received.length;
      // The kernel's answer: what it destroys, each entry with its state.
      const deleted = spawnSync('ip', ['netns', 'exec', NS, 'conntrack', '-D', '-p', 'tcp'], { encoding: 'utf8' }).stdout;
      const states = deleted.split('\n').filter(Boolean).map((l) => [Number(/sport=(\d+)/.exec(l)?.[1]), / (ESTABLISHED|TIME_WAIT|CLOSE) /.exec(l)?.[1]] as const);
      expect(states.some(([, st]) => st === 'TIME_WAIT')).toBe(true);
      await eventually(() => received.slice(before).some((e) => e.kind === 'destroy' && e.original.sport === port), 10_000, 'the held connection\'s DESTROY');
      const destroys = received.slice(before).filter((e) => e.kind === 'destroy').map((e) => [e.original.sport, e.state] as const);
      expect(destroys).toEqual(states.filter(([, st]) => st !== 'TIME_WAIT' && st !== 'CLOSE'));
    } finally {
      held.kill();
    }
  }, 60_000);
});
