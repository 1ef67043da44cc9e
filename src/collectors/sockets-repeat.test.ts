// The sockets collector for repeated collections: cached netlink sockets, one TCP dump for both families, and
// tables reused while a namespace shows no activity.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { InterfaceCounters } from '../core/model/traffic.js';
import type { Procfs } from '../sources/procfs.js';
import type { SockDiagSocket } from '../sources/sock-diag.js';
import { emptyParts, type CollectContext } from './collector.js';
import { createSocketsCollector } from './sockets.js';

interface Fixture { dumps: { family: number; protocol: number; ext: number; payloads: string[] }[] }
const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/sock-diag/loopback.json', import.meta.url), 'utf8')) as Fixture;
const payloads = (family: number, protocol: number) =>
  fixture.dumps.filter((d) => d.family === family && d.protocol === protocol && (protocol === 17 || d.ext !== 0)).slice(0, 1)
    .flatMap((d) => d.payloads.map((h) => Buffer.from(h, 'hex')));

const SOCKSTAT = (tcp: number, udp = 1) => `sockets: used 9\nTCP: inuse ${tcp} orphan 3 tw 0 alloc 77 mem 12\nUDP: inuse ${udp} mem 0\n`;
const SOCKSTAT6 = (tcp: number, udp: number) => `TCP6: inuse ${tcp}\nUDP6: inuse ${udp}\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n`;
const counters = (packets: number): InterfaceCounters => ({
  name: 'lo', rxBytes: 1000, rxPackets: packets, rxErrors: 0, rxDropped: 0, txBytes: 1000, txPackets: packets, txErrors: 0, txDropped: 0,
});

interface World { tcp: number; packets: number; orphan?: number; eth?: number; udp?: number; tcp6?: number; udp6?: number }

/** A procfs whose sockstat says what `world` holds; pid 10 is namespace 100, pid 20 namespace 200. */
function fakeProcfs(state: World): Procfs {
  const readText = (pid: number | 'self', rel: string) => {
    if (rel === 'net/sockstat') return SOCKSTAT(state.tcp, state.udp).replace('orphan 3', `orphan ${state.orphan ?? 3}`);
    if (rel === 'net/sockstat6') return SOCKSTAT6(state.tcp6 ?? 1, state.udp6 ?? 1);
    throw Object.assign(new Error(`ENOENT ${pid}/${rel}`), { code: 'ENOENT' });
  };
  return {
    root: '/fake',
    listPids: () => [10, 20],
    readText,
    readAgain: readText,
    readIfChanged: readText,
    fdCount: () => 0,
    releaseExcept: () => undefined,
    readLink: () => { throw new Error('unused'); },
    readFdLinks: () => [],
    pathOf: (pid, rel) => `/fake/${pid}/${rel}`,
  };
}

function fakeDiag(options: { refuseCompat?: boolean; failNext?: { on: boolean } } = {}) {
  const log = { opens: [] as string[], closes: [] as string[], dumps: [] as string[] };
  const open = (nsPath: string): SockDiagSocket => {
    log.opens.push(nsPath);
    return {
      dump: async (family, protocol, ext) => {
        log.dumps.push(`${nsPath} ${family}/${protocol}/${ext}`);
        if (options.failNext?.on) {
          options.failNext.on = false;
          throw new Error('recvmsg: ENOBUFS');
        }
        if (family === 0) {
          if (options.refuseCompat) throw Object.assign(new Error('sock_diag dump failed: EINVAL'), { code: 'EINVAL' });
          return [...payloads(2, 6), ...payloads(10, 6)];
        }
        return payloads(family, protocol);
      },
      close: () => { log.closes.push(nsPath); },
    };
  };
  return { open, log };
}

/** Collection context: the namespaces (host 100 and `containers`) and their interface counters from `world`. */
const ctx = (world: World, ...containers: number[]): CollectContext => ({
  signal: new AbortController().signal,
  parts: {
    ...emptyParts(),
    netns: { host: 100, hostPid: 10, containers: containers.map((netns) => ({ containerId: `c${netns}`, pid: netns / 10, netns })) },
    netdev: [100, ...containers].map((netns) => ({
      netns, readAtMs: 0, loopback: counters(world.packets), interfaces: [{ ...counters(world.eth ?? 0), name: 'eth0' }],
    })),
  },
});

describe('sockets collector, repeated collections', () => {
  it('dumps TCP of both families at once and UDP per family, and keeps the socket open', async () => {
    const diag = fakeDiag();
    let t = 0;
    const world = { tcp: 1, packets: 5 };
    const c = createSocketsCollector({ procfs: fakeProcfs(world), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 30_000, now: () => t } });
    expect(c.needs).toEqual(['containers', 'netns', 'netdev']);
    const first = await c.collect(ctx(world));
    expect(diag.log.dumps).toEqual(['/fake/10/ns/net 0/6/2', '/fake/10/ns/net 2/17/0', '/fake/10/ns/net 10/17/0']);
    const sockets = first.sockets?.[0]?.sockets ?? [];
    expect(sockets.some((s) => s.family === 'ipv4' && s.protocol === 'tcp')).toBe(true);
    expect(sockets.some((s) => s.family === 'ipv6' && s.protocol === 'tcp')).toBe(true);
    expect(diag.log.closes).toEqual([]);
    t = 1000;
    const second = await c.collect(ctx(world));
    // Nothing moved: no new dump, and the very same tables (what is computed from them can be kept too), read at 0.
    expect(diag.log.dumps).toHaveLength(3);
    expect(diag.log.opens).toHaveLength(1);
    expect(second.sockets).toBe(first.sockets);
    expect(second.sockets?.[0]?.readAtMs).toBe(0);
  });

  it('dumps again when packets moved, sockets were opened or closed, or the table is older than reuseForMs', async () => {
    const diag = fakeDiag();
    const state: World = { tcp: 1, packets: 5, orphan: 3 };
    let t = 0;
    const c = createSocketsCollector({ procfs: fakeProcfs(state), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 10_000, now: () => t } });
    // Namespace 200 is a container's (pid 20); 100 the host's.
    const dumps = async () => { await c.collect(ctx(state, 200)); return diag.log.dumps.filter((d) => d.startsWith('/fake/20/')).length / 3; };
    expect(await dumps()).toBe(1);
    state.orphan = 9; // a kernel-wide counter: other namespaces' business
    expect(await dumps()).toBe(1);
    state.packets = 6;
    expect(await dumps()).toBe(2);
    state.eth = 1; // a packet on eth0
    expect(await dumps()).toBe(3);
    state.tcp = 2;
    expect(await dumps()).toBe(4);
    // Read again within reuseForMs, at the namespace's own phase of the period (200 % 997 / 997 of it: 2,006 ms
    // early), so that namespaces whose traffic moved together are not all read again in the same collection.
    t = 7_993;
    expect(await dumps()).toBe(4);
    t = 7_994;
    expect(await dumps()).toBe(5);
    t = 17_993;
    expect(await dumps()).toBe(5);
    t = 17_994;
    expect(await dumps()).toBe(6);
  });

  it('a protocol with no socket in the namespace (sockstat, sockstat6) is not dumped', async () => {
    const diag = fakeDiag();
    const state: World = { tcp: 1, packets: 5, udp: 0, udp6: 0 };
    const c = createSocketsCollector({ procfs: fakeProcfs(state), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 30_000, now: () => 0 } });
    await c.collect(ctx(state));
    expect(diag.log.dumps).toEqual(['/fake/10/ns/net 0/6/2']);
    // A UDP6 socket opened (sockstat's `sockets: used`, here TCP's count, moves with it).
    Object.assign(state, { udp6: 1, tcp: 2 });
    await c.collect(ctx(state));
    expect(diag.log.dumps.slice(1)).toEqual(['/fake/10/ns/net 0/6/2', '/fake/10/ns/net 10/17/0']);
    // No TCP socket of either family and none in TIME_WAIT: no TCP dump.
    Object.assign(state, { tcp: 0, tcp6: 0, udp: 1, udp6: 0 });
    await c.collect(ctx(state));
    expect(diag.log.dumps.slice(3)).toEqual(['/fake/10/ns/net 2/17/0']);
  });

  it('the host namespace is dumped again for its sockets and for containers\' traffic, for its own only when a container shares it', async () => {
    const diag = fakeDiag();
    const state: World = { tcp: 1, packets: 5 };
    const c = createSocketsCollector({ procfs: fakeProcfs(state), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 30_000, now: () => 0 } });
    const hostDumps = async (host: { eth: number; lo: number }, container: number, hostNetworked = false) => {
      const containers = hostNetworked ? [{ id: 'h', name: 'h', image: 'i', networkMode: { kind: 'host' as const }, pid: 10, networks: [], ports: [], labels: {} }] : [];
      const netdev = [
        { netns: 100, readAtMs: 0, loopback: counters(host.lo), interfaces: [{ ...counters(host.eth), name: 'eth0' }] },
        { netns: 200, readAtMs: 0, loopback: counters(0), interfaces: [{ ...counters(container), name: 'eth0' }] },
      ];
      const context = ctx(state, 200);
      await c.collect({ ...context, parts: { ...context.parts, containers, netdev } });
      return diag.log.dumps.filter((d) => d.startsWith('/fake/10/')).length / 3;
    };
    expect(await hostDumps({ eth: 0, lo: 0 }, 0)).toBe(1);
    // The machine's own traffic (ssh, the API), on eth0 or loopback: nobody's sockets here changed.
    expect(await hostDumps({ eth: 5, lo: 5 }, 0)).toBe(1);
    state.tcp = 2; // a socket opened or closed on the host
    expect(await hostDumps({ eth: 5, lo: 5 }, 0)).toBe(2);
    // A container's traffic: its other end may be a host socket (docker-proxy, a host process).
    expect(await hostDumps({ eth: 5, lo: 5 }, 3)).toBe(3);
    // A host-network container's traffic is the host's own.
    expect(await hostDumps({ eth: 6, lo: 5 }, 3, true)).toBe(4);
  });

  it('falls back to one TCP dump per family when the kernel refuses the legacy request, once', async () => {
    const diag = fakeDiag({ refuseCompat: true });
    const state: World = { tcp: 1, packets: 5 };
    const c = createSocketsCollector({ procfs: fakeProcfs(state), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 30_000 } });
    const r = await c.collect(ctx(state));
    expect(r.sockets?.[0]?.sockets.some((s) => s.family === 'ipv6' && s.protocol === 'tcp')).toBe(true);
    state.tcp = 7;
    await c.collect(ctx(state));
    expect(diag.log.dumps.filter((d) => d.includes(' 0/6/'))).toHaveLength(1);
    expect(diag.log.dumps.filter((d) => d.includes(' 10/6/'))).toHaveLength(2);
  });

  it('closes the socket of a namespace that is gone, and replaces a socket whose dump failed', async () => {
    const failNext = { on: false };
    const diag = fakeDiag({ failNext });
    const state: World = { tcp: 1, packets: 5 };
    const c = createSocketsCollector({ procfs: fakeProcfs(state), source: 'netlink', openDiag: diag.open, repeat: { reuseForMs: 30_000 } });
    await c.collect(ctx(state, 200));
    expect(diag.log.opens).toEqual(['/fake/10/ns/net', '/fake/20/ns/net']);
    await c.collect(ctx(state));
    expect(diag.log.closes).toEqual(['/fake/20/ns/net']);
    state.tcp = 8;
    failNext.on = true;
    await expect(c.collect(ctx(state))).rejects.toThrow(/ENOBUFS/);
    expect(diag.log.closes).toEqual(['/fake/20/ns/net', '/fake/10/ns/net']);
    await c.collect(ctx(state));
    expect(diag.log.opens).toEqual(['/fake/10/ns/net', '/fake/20/ns/net', '/fake/10/ns/net']);
  });

  it('without repeat too, a protocol sockstat reads as empty right before is not dumped (ps over many namespaces)', async () => {
    const diag = fakeDiag();
    const world: World = { tcp: 2, packets: 5, udp: 0, udp6: 1 };
    const c = createSocketsCollector({ procfs: fakeProcfs(world), source: 'netlink', openDiag: diag.open });
    await c.collect(ctx(world));
    expect(diag.log.dumps).toEqual(['/fake/10/ns/net 0/6/2', '/fake/10/ns/net 10/17/0']);
    // Read afresh each time: a UDP socket opened since, and every TCP one closed.
    Object.assign(world, { tcp: 0, tcp6: 0, udp: 1, udp6: 0 });
    await c.collect(ctx(world));
    expect(diag.log.dumps.slice(2)).toEqual(['/fake/10/ns/net 2/17/0']);
  });

  it('without repeat, every collection opens, dumps and closes', async () => {
    const diag = fakeDiag();
    const world = { tcp: 1, packets: 5 };
    const c = createSocketsCollector({ procfs: fakeProcfs(world), source: 'netlink', openDiag: diag.open });
    expect(c.needs).toEqual(['netns']);
    await c.collect(ctx(world));
    await c.collect(ctx(world));
    expect(diag.log.opens).toHaveLength(2);
    expect(diag.log.closes).toHaveLength(2);
    expect(diag.log.dumps).toHaveLength(6);
  });
});
