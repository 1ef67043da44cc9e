import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProcfs } from '../sources/procfs.js';
import { NetlinkUnavailableError } from '../sources/sock-diag.js';
import { emptyParts, type CollectContext } from './collector.js';
import { createSocketsCollector } from './sockets.js';

// This process's own namespace, read through the real /proc: the /proc path needs no privilege.
const selfNetns = Number(/\d+/.exec(readlinkSync('/proc/self/ns/net'))?.[0]);
const ctx = (): CollectContext => ({
  signal: new AbortController().signal,
  parts: { ...emptyParts(), netns: { host: selfNetns, hostPid: 'self', containers: [] } },
});
const unavailable = () => { throw new NetlinkUnavailableError('setns failed: EPERM (needs CAP_SYS_ADMIN)'); };

describe('sockets collector', () => {
  it('falls back to /proc when netlink cannot load, and says so (auto)', async () => {
    let opens = 0;
    const c = createSocketsCollector({ procfs: createProcfs('/proc'), source: 'auto', openDiag: () => { opens++; return unavailable(); } });
    const first = await c.collect(ctx());
    expect(first.sockets).toEqual([expect.objectContaining({ netns: selfNetns, source: 'proc' })]);
    expect(first.issues?.map((i) => i.message)).toEqual([expect.stringMatching(/^netlink unavailable, reading \/proc instead \(no tcp_info\): setns failed: EPERM/)]);
    // Netlink is not tried again on the next collection.
    await c.collect(ctx());
    expect(opens).toBe(1);
  });

  it('fails instead of falling back when netlink is forced', async () => {
    const c = createSocketsCollector({ procfs: createProcfs('/proc'), source: 'netlink', openDiag: unavailable });
    await expect(c.collect(ctx())).rejects.toThrow(NetlinkUnavailableError);
  });

  it('skips a namespace whose process vanished', async () => {
    const c = createSocketsCollector({ procfs: createProcfs('/proc'), source: 'proc' });
    const gone = { ...ctx(), parts: { ...emptyParts(), netns: { host: 1, hostPid: 2 ** 22 + 7, containers: [] } } };
    expect((await c.collect(gone)).sockets).toEqual([]);
  });
});
