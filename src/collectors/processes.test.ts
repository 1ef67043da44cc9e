// The processes collector for repeated collections: fds walked again only where something is new.
import { describe, expect, it } from 'vitest';
import type { NetnsSockets, RawSocket } from '../core/model/socket.js';
import type { ProcScanResult, RawProcessEntry } from '../sources/proc-scan.js';
import { emptyParts, type CollectContext } from './collector.js';
import { createProcessesCollector } from './processes.js';

/** A fake /proc: pid → (netns, socket inodes, other open fds); `denied` = fds unreadable. */
type World = Map<number, { netns: number; inodes: number[]; denied?: boolean; others?: number }>;

function scans(world: World) {
  const log = { full: 0, some: [] as number[][] };
  const entry = (pid: number): RawProcessEntry | undefined => {
    const p = world.get(pid);
    if (!p || p.inodes.length === 0) return undefined;
    return { pid, comm: `p${pid}`, netLink: `net:[${p.netns}]`, cgroup: '0::/\n', socketLinks: [...p.inodes.map((i) => `socket:[${i}]`), 'pipe:[1]'] };
  };
  const scan = (pids: readonly number[]): ProcScanResult => {
    const entries: RawProcessEntry[] = [];
    const denied: ProcScanResult['denied'] = [];
    for (const pid of pids) {
      if (world.get(pid)?.denied) { denied.push({ pid, comm: `p${pid}` }); continue; }
      const e = entry(pid);
      if (e) entries.push(e);
    }
    const fdCounts = pids.filter((p) => world.has(p) && !world.get(p)?.denied).map((p): [number, number] => [p, fdsOf(p)]);
    return { entries, denied, scanned: pids.filter((p) => world.has(p)), fdCounts };
  };
  // Its sockets, a pipe, and `others`.
  const fdsOf = (pid: number) => (world.get(pid)?.inodes.length ?? 0) + 1 + (world.get(pid)?.others ?? 0);
  return {
    log,
    scans: {
      full: async () => { log.full++; return scan([...world.keys()]); },
      some: (pids: readonly number[]) => { log.some.push([...pids].sort((a, b) => a - b)); return scan(pids); },
      listPids: () => [...world.keys()],
    },
    /** The same, able to tell a process's fd count by one stat. */
    withCounts: {
      full: async () => { log.full++; return scan([...world.keys()]); },
      some: (pids: readonly number[]) => { log.some.push([...pids].sort((a, b) => a - b)); return scan(pids); },
      listPids: () => [...world.keys()],
      fdCount: (pid: number) => {
        if (!world.has(pid)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return fdsOf(pid);
      },
    },
  };
}

const sock = (inode: number): RawSocket => ({
  protocol: 'tcp', family: 'ipv4', state: 'ESTABLISHED', local: { address: '10.0.0.1', port: 1 }, remote: { address: '10.0.0.2', port: 2 }, inode, uid: 0, txQueue: 0, rxQueue: 0,
});
/** Tables from the world as the kernel would show them (every socket of every process, by namespace). */
function tables(world: World, extra: [number, number][] = []): NetnsSockets[] {
  const byNs = new Map<number, RawSocket[]>();
  for (const p of world.values()) for (const i of p.inodes) byNs.set(p.netns, [...(byNs.get(p.netns) ?? []), sock(i)]);
  for (const [netns, inode] of extra) byNs.set(netns, [...(byNs.get(netns) ?? []), sock(inode)]);
  return [...byNs].map(([netns, sockets]) => ({ netns, source: 'netlink', sockets }));
}
const ctx = (t: NetnsSockets[]): CollectContext => ({ signal: new AbortController().signal, parts: { ...emptyParts(), sockets: t } });
const owners = (r: { processes?: readonly { pid: number; socketInodes: readonly number[] }[] }) =>
  Object.fromEntries((r.processes ?? []).map((p) => [p.pid, p.socketInodes]));

describe('processes collector, repeated collections', () => {
  it('walks everything once, then nothing while no socket is new', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }], [2, { netns: 200, inodes: [21, 22] }], [3, { netns: 200, inodes: [] }]]);
    const { scans: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    expect(c.needs).toEqual(['sockets']);
    expect(owners(await c.collect(ctx(tables(world))))).toEqual({ 1: [11], 2: [21, 22] });
    t = 1000;
    expect(owners(await c.collect(ctx(tables(world))))).toEqual({ 1: [11], 2: [21, 22] });
    expect(log).toEqual({ full: 1, some: [] });
  });

  it('a new socket: walks the processes of its namespace (and those with none), finds its holder', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }], [2, { netns: 200, inodes: [21] }], [3, { netns: 200, inodes: [] }]]);
    const { scans: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    await c.collect(ctx(tables(world)));
    world.set(3, { netns: 200, inodes: [31] });
    t = 1000;
    expect(owners(await c.collect(ctx(tables(world))))).toEqual({ 1: [11], 2: [21], 3: [31] });
    expect(log).toEqual({ full: 1, some: [[2, 3]] });
  });

  it('a process born since is walked, one gone is dropped', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }], [2, { netns: 200, inodes: [21] }]]);
    const { scans: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    await c.collect(ctx(tables(world)));
    // A fork inherits socket 21: no new inode, but a new process holding it.
    world.set(4, { netns: 200, inodes: [21] });
    world.delete(1);
    t = 1000;
    expect(owners(await c.collect(ctx(tables(world))))).toEqual({ 2: [21], 4: [21] });
    expect(log.some).toEqual([[4]]);
    expect(log.full).toBe(1);
  });

  it('a new socket no process of its namespace holds: one full walk, then it is left alone', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }], [2, { netns: 200, inodes: [] }], [9, { netns: 100, inodes: [], denied: true }]]);
    const { scans: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    await c.collect(ctx(tables(world)));
    // dockerd (pid 1, namespace 100) opens its DNS socket inside container namespace 200.
    world.set(1, { netns: 100, inodes: [11, 201] });
    t = 6000;
    expect(owners(await c.collect(ctx(tables(world).map((tb) => (tb.netns === 100 ? { ...tb, sockets: tb.sockets.filter((x) => x.inode !== 201) } : tb)).concat([{ netns: 200, source: 'netlink', sockets: [sock(201)] }]))))).toEqual({ 1: [11, 201] });
    expect(log.full).toBe(2);
    // A socket held by a process whose fds are unreadable: found by no walk; after one full walk it is not looked for again.
    const withHidden = (): NetnsSockets[] => tables(world, [[100, 999]]);
    t = 12_000;
    const r = await c.collect(ctx(withHidden()));
    expect(log.full).toBe(3);
    expect(r.issues?.[0]?.message).toMatch(/permission denied reading the fds of 1 process\(es\) \(9 p9\)/);
    t = 13_000;
    await c.collect(ctx(withHidden()));
    expect(log.full).toBe(3);
  });

  it('walks everything again every fullEveryMs', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }]]);
    const { scans: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    for (t = 0; t <= 60_000; t += 1000) await c.collect(ctx(tables(world)));
    expect(log.full).toBe(3);
  });

  it('without repeat: one full walk per collection, beside the sockets', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }]]);
    const { scans: s, log } = scans(world);
    const c = createProcessesCollector({ full: s.full });
    expect(c.needs).toEqual([]);
    await c.collect(ctx([]));
    await c.collect(ctx([]));
    expect(log.full).toBe(2);
  });

  it('the periodic walk walks only what is new, refused, or whose fd count moved; every tenth walks everything', async () => {
    const world: World = new Map([[1, { netns: 100, inodes: [11] }], [2, { netns: 200, inodes: [21] }], [3, { netns: 200, inodes: [] }]]);
    const { withCounts: s, log } = scans(world);
    let t = 0;
    const c = createProcessesCollector(s, { repeat: { fullEveryMs: 30_000, now: () => t } });
    await c.collect(ctx(tables(world)));
    expect(log.full).toBe(1);
    // Pid 3 received socket 21 from pid 2 (SCM_RIGHTS): its count moved; no table changed.
    world.set(3, { netns: 200, inodes: [21] });
    t = 30_000;
    expect(owners(await c.collect(ctx(tables(world))))).toEqual({ 1: [11], 2: [21], 3: [21] });
    expect(log.full).toBe(1);
    expect(log.some).toEqual([[3]]);
    // Nothing moved: the next periodic walk walks nobody.
    t = 60_000;
    await c.collect(ctx(tables(world)));
    expect(log.some).toEqual([[3], []]);
    for (let i = 3; i <= 10; i++) {
      t = i * 30_000;
      await c.collect(ctx(tables(world)));
    }
    expect(log.full).toBe(2);
  });
});

