import { describe, expect, it } from 'vitest';
import { attributeSockets } from './attribute.js';
import type { ContainerInfo, NetworkMode } from './model/container.js';
import type { ProcessInfo } from './model/process.js';
import type { Snapshot } from './model/snapshot.js';
import type { RawSocket } from './model/socket.js';
import { toPsReport } from './report/ps.js';

const HOST_NS = 4026531833;
const id = (c: string) => c.repeat(64);
const container = (name: string, c: string, pid: number, networkMode: NetworkMode): ContainerInfo => ({
  id: id(c), name, image: 'img', networkMode, pid, networks: [], ports: [], labels: {},
});
const sock = (inode: number, port: number, state: RawSocket['state'] = 'LISTEN', protocol: RawSocket['protocol'] = 'tcp'): RawSocket => ({
  protocol, family: 'ipv4', state, local: { address: '0.0.0.0', port }, remote: { address: '0.0.0.0', port: 0 }, inode, uid: 0, txQueue: 0, rxQueue: 0,
});
const proc = (pid: number, command: string, netns: number, containerId: string | undefined, socketInodes: number[]): ProcessInfo => ({
  pid, command, netns, ...(containerId ? { containerId } : {}), socketInodes,
});

// web (bridge, ns 100) with a sidecar in container:web mode; hostc in host mode; idle (none, ns 200).
const web = container('web', 'a', 10, { kind: 'bridge', name: 'bridge' });
const side = container('side', 'b', 20, { kind: 'container', containerId: id('a') });
const hostc = container('hostc', 'c', 30, { kind: 'host' });
const idle = container('idle', 'd', 40, { kind: 'none' });
const gone = container('gone', 'e', 50, { kind: 'bridge', name: 'bridge' });

const snapshot: Snapshot = {
  takenAt: '2026-11-21T00:00:00.000Z',
  hostname: 'h',
  issues: [],
  containers: [web, side, hostc, idle, gone],
  netns: {
    host: HOST_NS, hostPid: 1,
    // `gone` exited before its namespace was read: no entry.
    containers: [
      { containerId: web.id, netns: 100, pid: 10 }, { containerId: side.id, netns: 100, pid: 20 },
      { containerId: hostc.id, netns: HOST_NS, pid: 30 }, { containerId: idle.id, netns: 200, pid: 40 },
    ],
  },
  processes: [
    proc(10, 'httpd', 100, web.id, [1001]),
    proc(20, 'envoy', 100, side.id, [1002, 1003]),
    proc(900, 'dockerd', HOST_NS, undefined, [1004, 9001]),
    proc(30, 'sh', HOST_NS, hostc.id, []),
    proc(31, 'nc', HOST_NS, hostc.id, [9002]), // a child of the host-mode container, not its PID 1
    proc(1, 'sshd', HOST_NS, undefined, [9003]),
  ],
  sockets: [
    { netns: 100, source: 'netlink', sockets: [sock(1001, 80), sock(1002, 15000), sock(1003, 0, 'ESTABLISHED'), sock(1004, 53, 'UNCONN', 'udp'), sock(0, 80, 'TIME_WAIT')] },
    { netns: HOST_NS, source: 'netlink', sockets: [sock(9001, 2375), sock(9002, 7000), sock(9003, 22)] },
    { netns: 200, source: 'proc', sockets: [] },
  ],
  netdev: [],
  conntrack: { status: 'unavailable', reason: 'not collected' },
};

const inodes = (name: string) => attributeSockets(snapshot).containers.find((c) => c.container.name === name)?.sockets.map((s) => s.inode);

describe('attributeSockets', () => {
  it('rule 1: the namespace owner lists every socket of its namespace but the sidecar\'s', () => {
    expect(inodes('web')).toEqual([1001, 1004, 0]);
  });
  it('rule 2: a container:<x> container lists only the sockets its processes hold', () => {
    expect(inodes('side')).toEqual([1002, 1003]);
  });
  it('rule 3: a host-mode container lists the sockets of all its processes, not just PID 1, and no host socket', () => {
    expect(inodes('hostc')).toEqual([9002]);
  });
  it('rule 4: a socket held by a process of no container stays with the namespace owner and names that owner', () => {
    const dns = attributeSockets(snapshot).containers.find((c) => c.container.name === 'web')?.sockets.find((s) => s.inode === 1004);
    expect(dns?.processes).toEqual([{ pid: 900, command: 'dockerd', containerId: null }]);
  });
  it('lists a container with no sockets, skips one that exited, and lists nothing twice', () => {
    const a = attributeSockets(snapshot);
    expect(a.containers.map((c) => c.container.name)).toEqual(['web', 'side', 'hostc', 'idle']);
    expect(inodes('idle')).toEqual([]);
    const all = a.containers.flatMap((c) => c.sockets.map((s) => `${s.inode}:${s.local.port}`));
    expect(new Set(all).size).toBe(all.length);
  });
  it('keeps host sockets of no container as unclaimed, for the topology', () => {
    const u = attributeSockets(snapshot).unclaimed;
    expect(u).toEqual([{ netns: HOST_NS, sockets: [expect.objectContaining({ inode: 9001 }), expect.objectContaining({ inode: 9003 })] }]);
  });
});

describe('toPsReport', () => {
  const report = toPsReport(snapshot, attributeSockets(snapshot));
  it('renders the contract: names, network modes, owners outside the container named', () => {
    const w = report.containers.find((c) => c.name === 'web');
    expect(w).toMatchObject({ id: id('a'), networkMode: 'bridge', pid: 10, netns: 100, ownsNetns: true, source: 'netlink' });
    expect(w?.sockets.find((s) => s.inode === 1004)?.processes).toEqual([{ pid: 900, command: 'dockerd', container: null }]);
    expect(w?.sockets.find((s) => s.inode === 1001)?.processes).toEqual([{ pid: 10, command: 'httpd' }]);
    expect(report.containers.find((c) => c.name === 'side')?.networkMode).toBe(`container:${id('a')}`);
  });
  it('filters by container glob, protocol, state and listening', () => {
    const names = (f: Parameters<typeof toPsReport>[2]) => toPsReport(snapshot, attributeSockets(snapshot), f).containers.map((c) => `${c.name}:${c.sockets.map((s) => s.inode).join(',')}`);
    expect(names({ containers: ['w*'] })).toEqual(['web:1001,0,1004']);
    expect(names({ containers: ['s?de', 'idle'] })).toEqual(['idle:', 'side:1002,1003']);
    expect(names({ containers: [id('c').slice(0, 12)] })).toEqual(['hostc:9002']);
    expect(names({ containers: ['web'], protocol: 'udp' })).toEqual(['web:1004']);
    expect(names({ containers: ['web'], states: ['TIME_WAIT'] })).toEqual(['web:0']);
    expect(names({ containers: ['web', 'side'], listening: true })).toEqual(['side:1002', 'web:1001,1004']);
  });
});
