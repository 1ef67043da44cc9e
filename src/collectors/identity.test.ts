import { mkdirSync, mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProcfs } from '../sources/procfs.js';
import { emptyParts, type CollectContext } from './collector.js';
import { createIdentityCollector } from './identity.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'portolan-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fixtures = new URL('../../test/fixtures/proc/host-addresses/', import.meta.url);
mkdirSync(path.join(root, '4242', 'net'), { recursive: true });
copyFileSync(new URL('fib_trie', fixtures), path.join(root, '4242', 'net', 'fib_trie'));
copyFileSync(new URL('if_inet6', fixtures), path.join(root, '4242', 'net', 'if_inet6'));
mkdirSync(path.join(root, '77', 'net'), { recursive: true });
copyFileSync(new URL('fib_trie', fixtures), path.join(root, '77', 'net', 'fib_trie'));

const ctx = (hostPid: number): CollectContext => ({ signal: AbortSignal.timeout(5000), parts: { ...emptyParts(), netns: { host: 1, hostPid, containers: [] } } });

describe('identity collector', () => {
  it('reads the engine id and name from /info and the addresses of the host pid\'s namespace', async () => {
    let calls = 0;
    const docker = { info: () => { calls++; return Promise.resolve({ ID: 'd1b3c0e2-6a4f-4c1e-9e0a-6c1d2b3a4f5e', Name: 'mh1', Containers: 3 }); } };
    let t = 0;
    const c = createIdentityCollector(docker, createProcfs(root), { hostname: 'kernel-name', repeat: { reuseForMs: 30_000, now: () => t } });
    const first = await c.collect(ctx(4242));
    expect(first.identity).toEqual({ engineId: 'd1b3c0e2-6a4f-4c1e-9e0a-6c1d2b3a4f5e', hostname: 'mh1', addresses: ['127.0.0.1', '172.17.0.1', '192.0.2.2', 'fd00::2'] });
    // Repeating: the same part, without asking Docker, until reuseForMs.
    t = 1000;
    expect((await c.collect(ctx(4242))).identity).toBe(first.identity);
    expect(calls).toBe(1);
    t = 31_000;
    expect((await c.collect(ctx(4242))).identity).toBe(first.identity);
    expect(calls).toBe(2);
  });
  it('a kernel without IPv6 (no if_inet6) gives IPv4 addresses only; no Docker name gives the kernel\'s', async () => {
    const c = createIdentityCollector({ info: () => Promise.resolve({ ID: 'ABCD:EFGH' }) }, createProcfs(root), { hostname: 'kernel-name' });
    expect((await c.collect(ctx(77))).identity).toEqual({ engineId: 'ABCD:EFGH', hostname: 'kernel-name', addresses: ['127.0.0.1', '172.17.0.1', '192.0.2.2'] });
  });
  it('fails with a clear message when /info has no usable ID', async () => {
    const c = createIdentityCollector({ info: () => Promise.resolve({ ID: '../../x y' }) }, createProcfs(root), { hostname: 'h' });
    await expect(c.collect(ctx(77))).rejects.toThrow(/GET \/info gave no usable engine ID/);
  });
});
