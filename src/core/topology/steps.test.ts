// The topology steps on small snapshots, one corner case each.
import { describe, expect, it } from 'vitest';
import { attributeSockets } from '../attribute.js';
import type { ConntrackEntry } from '../model/conntrack.js';
import type { ContainerInfo } from '../model/container.js';
import type { ProcessInfo } from '../model/process.js';
import type { Snapshot } from '../model/snapshot.js';
import type { RawSocket, SocketState } from '../model/socket.js';
import { buildTopology } from './build-topology.js';
import { indexEndpoints } from './endpoints.js';
import { matchSockets } from './match-sockets.js';

const H = 4026531833;
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function sock(inode: number, state: SocketState, local: string, remote: string, protocol: 'tcp' | 'udp' = 'tcp'): RawSocket {
  const split = (e: string) => { const i = e.lastIndexOf(':'); return { address: e.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(e.slice(i + 1)) }; };
  const l = split(local);
  return { protocol, family: l.address.includes(':') && !l.address.startsWith('::ffff:') ? 'ipv6' : 'ipv4', state, local: l, remote: split(remote), inode, uid: 0, txQueue: 0, rxQueue: 0 };
}
const bridged = (id: string, name: string, ip: string, pid: number, extra: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id, name, image: 'img', networkMode: { kind: 'bridge', name: 'bridge' }, pid,
  networks: [{ name: 'bridge', ipv4: ip, gateway: '172.17.0.1' }], ports: [], labels: {}, ...extra,
});
const proc = (pid: number, command: string, netns: number, containerId: string | undefined, socketInodes: number[]): ProcessInfo =>
  ({ pid, command, netns, ...(containerId ? { containerId } : {}), socketInodes });

function snapshot(parts: { containers: ContainerInfo[]; netns: [string, number, number][]; processes: ProcessInfo[]; tables: [number, RawSocket[]][]; conntrack?: ConntrackEntry[] }): Snapshot {
  return {
    takenAt: '2026-11-21T00:00:00.000Z', hostname: 'vm', issues: [],
    containers: parts.containers,
    netns: { host: H, hostPid: 1, containers: parts.netns.map(([containerId, netns, pid]) => ({ containerId, netns, pid })) },
    processes: parts.processes,
    sockets: parts.tables.map(([netns, sockets]) => ({ netns, source: 'netlink', sockets })),
    netdev: [],
    conntrack: parts.conntrack ? { status: 'ok', netns: H, entries: parts.conntrack, accounting: 'on' } : { status: 'unavailable', reason: 'test' },
  };
}

describe('endpoint index', () => {
  const s = snapshot({
    containers: [bridged(A, 'a', '172.17.0.2', 10)],
    netns: [[A, 100, 10]],
    processes: [proc(10, 'srv', 100, A, [1, 2, 3])],
    tables: [[100, [sock(1, 'LISTEN', '0.0.0.0:80', '0.0.0.0:0'), sock(2, 'LISTEN', '127.0.0.1:80', '0.0.0.0:0'), sock(3, 'LISTEN', '[::]:443', '[::]:0')]]],
  });
  const index = indexEndpoints(s, attributeSockets(s));

  it('the most specific bind serves an address; 0.0.0.0 never serves IPv6, :: serves both', () => {
    expect(index.listenerFor(100, 'tcp', '127.0.0.1', 80)?.socket.inode).toBe(2);
    expect(index.listenerFor(100, 'tcp', '172.17.0.2', 80)?.socket.inode).toBe(1);
    expect(index.listenerFor(100, 'tcp', 'fd00::2', 80)).toBeUndefined();
    expect(index.listenerFor(100, 'tcp', '172.17.0.2', 443)?.socket.inode).toBe(3);
    expect(index.listenerFor(100, 'tcp', '::ffff:172.17.0.2', 443)?.socket.inode).toBe(3);
    expect(index.listenerFor(100, 'udp', '172.17.0.2', 80)).toBeUndefined();
  });

  it('knows container addresses, the bridge gateway as a host address, and nothing else', () => {
    expect(index.netnsOfAddress('172.17.0.2')).toBe(100);
    expect(index.netnsOfAddress('172.17.0.1')).toBe(H);
    expect(index.isGateway('172.17.0.1')).toBe(true);
    expect(index.netnsOfAddress('8.8.8.8')).toBeUndefined();
  });
});

describe('direction', () => {
  it('without a listener, a well-known port facing an ephemeral one serves; a SYN_SENT socket is the client', () => {
    const s = snapshot({
      containers: [bridged(A, 'a', '172.17.0.2', 10), bridged(B, 'b', '172.17.0.3', 20)],
      netns: [[A, 100, 10], [B, 200, 20]],
      processes: [],
      tables: [
        [100, [sock(1, 'ESTABLISHED', '172.17.0.2:5432', '172.17.0.3:40000'), sock(3, 'SYN_SENT', '172.17.0.2:50000', '172.17.0.3:50001')]],
        [200, [sock(2, 'ESTABLISHED', '172.17.0.3:40000', '172.17.0.2:5432'), sock(4, 'SYN_RECV', '172.17.0.3:50001', '172.17.0.2:50000')]],
      ],
    });
    const { pairs } = matchSockets(indexEndpoints(s, attributeSockets(s)));
    expect(pairs.map((p) => [p.client.socket.inode, p.server.socket.inode])).toEqual([[2, 1], [3, 4]]);
  });

  it('loopback pairs only within one namespace', () => {
    const s = snapshot({
      containers: [bridged(A, 'a', '172.17.0.2', 10), bridged(B, 'b', '172.17.0.3', 20)],
      netns: [[A, 100, 10], [B, 200, 20]],
      processes: [],
      tables: [[100, [sock(1, 'ESTABLISHED', '127.0.0.1:40000', '127.0.0.1:9000')]], [200, [sock(2, 'ESTABLISHED', '127.0.0.1:9000', '127.0.0.1:40000')]]],
    });
    const m = matchSockets(indexEndpoints(s, attributeSockets(s)));
    expect(m.pairs).toEqual([]);
    expect(m.clientOnly.map((v) => v.socket.inode)).toEqual([1]);
    expect(m.serverOnly.map((v) => v.socket.inode)).toEqual([2]);
  });
});

describe('published ports', () => {
  const published = { ports: [{ containerPort: 8080, protocol: 'tcp' as const, hostIp: '0.0.0.0', hostPort: 18081 }] };

  it('docker-proxy\'s accepted socket whose client is not seen: client named by address, edge to the container', () => {
    const s = snapshot({
      containers: [bridged(B, 'b', '172.17.0.3', 20, published)],
      netns: [[B, 200, 20]],
      processes: [proc(20, 'srv', 200, B, [1]), proc(900, 'docker-proxy', H, undefined, [2, 3])],
      tables: [
        [200, [sock(1, 'LISTEN', '[::]:8080', '[::]:0')]],
        [H, [sock(2, 'LISTEN', '0.0.0.0:18081', '0.0.0.0:0'), sock(3, 'ESTABLISHED', '192.0.2.2:18081', '198.51.100.9:50000')]],
      ],
    });
    const t = buildTopology(s);
    expect(t.edges.map((e) => [e.from, e.to, e.port, e.via, e.details?.[0]?.published])).toEqual([
      ['external:198.51.100.9', B, 8080, ['docker-proxy'], { address: '192.0.2.2', port: 18081 }],
    ]);
  });

  it('a container socket facing the gateway on a proxied port is docker-proxy\'s leg even when the proxy socket is gone', () => {
    const s = snapshot({
      containers: [bridged(B, 'b', '172.17.0.3', 20, published)],
      netns: [[B, 200, 20]],
      processes: [proc(20, 'srv', 200, B, [1, 4]), proc(900, 'docker-proxy', H, undefined, [2])],
      tables: [
        [200, [sock(1, 'LISTEN', '[::]:8080', '[::]:0'), sock(4, 'CLOSE_WAIT', '[::ffff:172.17.0.3]:8080', '[::ffff:172.17.0.1]:43000')]],
        [H, [sock(2, 'LISTEN', '0.0.0.0:18081', '0.0.0.0:0')]],
      ],
    });
    expect(buildTopology(s).edges).toEqual([]);
  });

  it('hairpin through DNAT with MASQUERADE, client socket not seen: conntrack\'s original source names the client container', () => {
    const s = snapshot({
      containers: [bridged(A, 'a', '172.17.0.2', 10), bridged(B, 'b', '172.17.0.3', 20, published)],
      netns: [[A, 100, 10], [B, 200, 20]],
      processes: [proc(20, 'srv', 200, B, [1, 4]), proc(800, 'dockerd', H, undefined, [2])],
      tables: [
        [200, [sock(1, 'LISTEN', '[::]:8080', '[::]:0'), sock(4, 'ESTABLISHED', '[::ffff:172.17.0.3]:8080', '[::ffff:172.17.0.1]:43000')]],
        [H, [sock(2, 'LISTEN', '0.0.0.0:18081', '0.0.0.0:0')]],
      ],
      conntrack: [{
        family: 'ipv4', protocol: 'tcp', protocolNumber: 6, state: 'ESTABLISHED', unreplied: false, assured: true,
        original: { src: '172.17.0.2', dst: '192.0.2.2', sport: 43000, dport: 18081 },
        reply: { src: '172.17.0.3', dst: '172.17.0.1', sport: 8080, dport: 43000 },
      }],
    });
    const t = buildTopology(s);
    expect(t.edges.map((e) => [e.from, e.to, e.port, e.via, e.details?.[0]?.client, e.details?.[0]?.published])).toEqual([
      [A, B, 8080, ['dnat'], { address: '172.17.0.2', port: 43000 }, { address: '192.0.2.2', port: 18081 }],
    ]);
  });
});

describe('nodes', () => {
  it('host processes with one command are one node listing every pid; sockets of exited containers are no edges', () => {
    const s = snapshot({
      containers: [bridged(A, 'a', '172.17.0.2', 10), bridged(B, 'gone', '172.17.0.3', 20)],
      // `gone` exited between Docker's answer and the namespace read: no netns entry.
      netns: [[A, 100, 10]],
      processes: [proc(10, 'cli', 100, A, [1, 2]), proc(501, 'agent', H, undefined, [11, 12]), proc(502, 'agent', H, undefined, [13, 14])],
      tables: [
        [100, [sock(1, 'ESTABLISHED', '172.17.0.2:40000', '172.17.0.1:7000'), sock(2, 'ESTABLISHED', '172.17.0.2:40001', '172.17.0.1:7001')]],
        [H, [
          sock(11, 'LISTEN', '0.0.0.0:7000', '0.0.0.0:0'), sock(12, 'ESTABLISHED', '172.17.0.1:7000', '172.17.0.2:40000'),
          sock(13, 'LISTEN', '0.0.0.0:7001', '0.0.0.0:0'), sock(14, 'ESTABLISHED', '172.17.0.1:7001', '172.17.0.2:40001'),
        ]],
      ],
    });
    const t = buildTopology(s);
    expect(t.nodes.map((n) => n.id)).toEqual([A, 'process:agent']);
    expect(t.nodes[1]).toMatchObject({ pids: [501, 502] });
    expect(t.edges.map((e) => e.id)).toEqual([`${A}->process:agent/tcp/7000`, `${A}->process:agent/tcp/7001`]);
  });
});
