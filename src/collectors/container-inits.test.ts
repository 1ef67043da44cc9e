import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcfs } from '../sources/procfs.js';
import { findContainerInits } from './container-inits.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const D = 'd'.repeat(64);

interface Proc { pid: number; pidNs?: number; cgroup: string; nsPid?: number[] }

/** A /proc tree of processes: ns/pid links, cgroup and status files as the kernel shows them. */
function tree(procs: readonly Proc[]): string {
  const root = mkdtempSync(join(tmpdir(), 'portolan-inits-'));
  for (const p of procs) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'ns'), { recursive: true });
    if (p.pidNs !== undefined) symlinkSync(`pid:[${p.pidNs}]`, join(dir, 'ns/pid'));
    writeFileSync(join(dir, 'cgroup'), p.cgroup);
    writeFileSync(join(dir, 'status'), `Name:\tx\nPid:\t${p.pid}\n${p.nsPid ? `NSpid:\t${p.nsPid.join('\t')}\n` : ''}`);
  }
  return root;
}

const cg = (id: string) => `0::/system.slice/docker-${id}.scope\n`;
let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});
const find = (procs: readonly Proc[], ids: readonly string[]) => {
  const root = tree(procs);
  roots.push(root);
  return Object.fromEntries(findContainerInits(createProcfs(root), new Set(ids)));
};

const host = [
  { pid: 1, pidNs: 100, cgroup: '0::/init.scope\n', nsPid: [1] },
  { pid: 50, pidNs: 100, cgroup: '0::/system.slice/containerd.service\n', nsPid: [50] },
];

describe('findContainerInits', () => {
  it('finds the only process of a container\'s pid namespace, and the NSpid-1 one among several', () => {
    expect(find([
      ...host,
      { pid: 300, pidNs: 201, cgroup: cg(A), nsPid: [300, 1] },
      // B: the init and an exec'd shell, started in the other order of pids.
      { pid: 410, pidNs: 202, cgroup: cg(B), nsPid: [410, 7] },
      { pid: 400, pidNs: 202, cgroup: cg(B), nsPid: [400, 1] },
    ], [A, B])).toEqual({ [A]: 300, [B]: 400 });
  });

  it('leaves out containers in the host\'s pid namespace, without an init of their own or with two, and unwanted ones', () => {
    expect(find([
      ...host,
      // --pid host: its process is in the host's namespace.
      { pid: 500, pidNs: 100, cgroup: cg(A), nsPid: [500] },
      // --pid container:<C>: B's process sits in C's namespace, where C's init is pid 1.
      { pid: 600, pidNs: 203, cgroup: cg(C), nsPid: [600, 1] },
      { pid: 610, pidNs: 203, cgroup: cg(B), nsPid: [610, 2] },
      // D runs a nested pid namespace: two processes are pid 1 of theirs.
      { pid: 700, pidNs: 204, cgroup: cg(D), nsPid: [700, 1] },
      { pid: 710, pidNs: 205, cgroup: cg(D), nsPid: [710, 5, 1] },
    ], [A, B, C, D])).toEqual({ [C]: 600 });
  });

  it('checks NSpid when a process\'s namespace cannot be read, and is never fooled by the smaller namespace', () => {
    // 810's ns/pid is unreadable (no link here: ENOENT counts as vanished; EACCES is below), so 800 alone is checked.
    const procs: Proc[] = [
      ...host,
      { pid: 800, pidNs: 206, cgroup: cg(A), nsPid: [800, 3] },
      { pid: 900, pidNs: 207, cgroup: cg(B), nsPid: [900, 1] },
    ];
    const root = tree(procs);
    roots.push(root);
    const procfs = createProcfs(root);
    const denied = (pid: number | 'self', rel: string) => {
      if (pid === 810 && rel === 'ns/pid') throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      return procfs.readLink(pid, rel);
    };
    const withHidden = {
      ...procfs,
      listPids: () => [...procfs.listPids(), 810],
      readLink: denied,
      readText: (pid: number | 'self', rel: string) => (pid === 810 && rel === 'cgroup' ? cg(A) : procfs.readText(pid, rel)),
    };
    // A's only visible process is not its init (NSpid ends in 3): A is left to Docker. B is unaffected.
    expect(Object.fromEntries(findContainerInits(withHidden, new Set([A, B])))).toEqual({ [B]: 900 });
  });

  it('falls back to its own pid namespace when pid 1 refuses, and finds nothing when that fails too', () => {
    const procs: Proc[] = [{ pid: 50, pidNs: 100, cgroup: '0::/\n', nsPid: [50] }, { pid: 300, pidNs: 201, cgroup: cg(A), nsPid: [300, 1] }];
    const root = tree(procs);
    roots.push(root);
    mkdirSync(join(root, 'self/ns'), { recursive: true });
    symlinkSync('pid:[100]', join(root, 'self/ns/pid'));
    expect(Object.fromEntries(findContainerInits(createProcfs(root), new Set([A])))).toEqual({ [A]: 300 });
    rmSync(join(root, 'self'), { recursive: true });
    expect(Object.fromEntries(findContainerInits(createProcfs(root), new Set([A])))).toEqual({});
  });

  it('asks for nothing when no container is wanted', () => {
    expect(find(host, [])).toEqual({});
  });
});
