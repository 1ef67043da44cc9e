// The capture glue with its I/O injected: datagrams (real captured bytes) become records at the next collection,
// ENOBUFS brings a resync from a dump that counts what may have been missed, malformed datagrams are counted, the
// records held between collections are bounded, and flows of a container being inspected wait for it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../core/model/container.js';
import type { Procfs } from '../sources/procfs.js';
import type { CtnetlinkEventHandlers } from '../sources/ctnetlink.js';
import { createCaptureReceiver } from './capture.js';
import type { CollectContext } from './collector.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/ctnetlink');
const datagrams = (file: string) => readFileSync(path.join(DIR, file), 'utf8').split('\n').filter(Boolean).map((l) => Buffer.from(l, 'hex'));

const procfs = {
  root: '/proc',
  readLink: () => 'net:[4026531840]',
  pathOf: (pid: number | 'self', rel: string) => `/proc/${pid}/${rel}`,
  readText: () => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); },
} as unknown as Procfs;
const ctx = { signal: new AbortController().signal, parts: { netns: { host: 4026531840, hostPid: 1, containers: [] } } } as unknown as CollectContext;

function setup(options: { maxPending?: number; dump?: Buffer[]; closingStates?: boolean; accounting?: '0' | '1' } = {}) {
  let handlers: CtnetlinkEventHandlers | undefined;
  let dumps = 0;
  let drops = 0;
  let dropping = false;
  let t = 1_000;
  const receiver = createCaptureReceiver({ ...(options.maxPending ? { maxPending: options.maxPending } : {}) }, {
    procfs,
    subscribe: (_ns, h) => { handlers = h; return { recvBufferSize: 1 << 20, closingStates: options.closingStates ?? false, dropClosedTcpDestroys: (on) => { dropping = on; return options.closingStates ?? false; }, drops: () => drops, close: () => undefined }; },
    dump: async () => { dumps++; return options.dump ?? []; },
    readInNetns: (_ns, file) => (file.endsWith('nf_conntrack_acct') ? `${options.accounting ?? '0'}\n` : '0\n'),
    now: () => t,
  });
  return {
    receiver, get handlers() { if (!handlers) throw new Error('not subscribed'); return handlers; }, dumps: () => dumps,
    tick: (ms: number) => { t += ms; },
    drop: (n: number) => { drops += n; },
    dropping: () => dropping,
  };
}

describe('capture receiver', () => {
  it('datagrams read between two collections are the next collection\'s records; the status counts them', async () => {
    const s = setup();
    await s.receiver.start();
    for (const d of datagrams('tcp-acct.hex')) s.handlers.onDatagram(d);
    s.tick(1000);
    const part = (await s.receiver.collector.collect(ctx)).capture;
    expect(part?.records.map((r) => r.kind)).toEqual(['opened', 'opened', 'closed', 'closed']);
    expect(part?.records[2]).toMatchObject({ kind: 'closed', openedAtMs: 1000 });
    expect(part?.status).toMatchObject({ state: 'running', events: 4, namespaces: 1, inFlight: 0, accounting: 'off', timestamps: 'off' });
    const again = (await s.receiver.collector.collect(ctx)).capture;
    expect(again?.records).toEqual([]);
  });

  it('TCP closes: at their closing state where the subscription has those UPDATE events and accounting is off; at the DESTROY (its bytes) with accounting on; as before without them', async () => {
    for (const [closingStates, accounting, mode] of [[true, '0', 'state'], [true, '1', 'destroy'], [false, '0', 'off']] as const) {
      const s = setup({ closingStates, accounting });
      await s.receiver.start();
      expect(s.receiver.status()).toMatchObject({ tcpCloses: mode, accounting: accounting === '1' ? 'on' : 'off' });
      // Reported at the UPDATE, their DESTROYs are dropped by the socket filter; needed for the bytes otherwise.
      expect(s.dropping()).toBe(mode === 'state');
    }
  });

  it('a malformed datagram is counted, never thrown', async () => {
    const s = setup();
    await s.receiver.start();
    const [d] = datagrams('tcp-acct.hex');
    s.handlers.onDatagram(d!.subarray(0, 40));
    s.handlers.onDatagram(Buffer.from('garbage garbage garbage'));
    expect(s.receiver.status().parseErrors).toBe(2);
  });

  it('ENOBUFS: a resync from a dump; flows the dump holds that no event announced count as missed and become records', async () => {
    // The dump holds the UDP flow of udp-plain.hex (its NEW re-typed as a dump entry by the parser: flags differ).
    const [udpNew] = datagrams('udp-plain.hex');
    const asDump = Buffer.from(udpNew!);
    asDump.writeUInt16LE(0x2, 6); // NLM_F_MULTI instead of NLM_F_CREATE|NLM_F_EXCL: a dump entry
    const s = setup({ dump: [asDump] });
    await s.receiver.start();
    s.handlers.onError(Object.assign(new Error('No buffer space available'), { code: 'ENOBUFS' }));
    await new Promise((r) => setImmediate(r));
    expect(s.dumps()).toBe(1);
    expect(s.receiver.status()).toMatchObject({ resyncs: 1, mayHaveMissed: 1, state: 'running' });
    const part = (await s.receiver.collector.collect(ctx)).capture;
    expect(part?.records).toHaveLength(1);
    expect(part?.records[0]).toMatchObject({ kind: 'opened', msg: { protocol: 'udp', original: { dport: 19402 } } });
  });

  it('events the kernel dropped (the socket\'s drop counter grew) bring a resync at the next collection', async () => {
    const s = setup();
    await s.receiver.start();
    await s.receiver.collector.collect(ctx);
    expect(s.dumps()).toBe(0);
    s.drop(5);
    await s.receiver.collector.collect(ctx);
    await new Promise((r) => setImmediate(r));
    expect(s.dumps()).toBe(1);
    expect(s.receiver.status().resyncs).toBe(1);
  });

  it('another socket error ends capture in that namespace, said in the status', async () => {
    const s = setup();
    await s.receiver.start();
    s.handlers.onError(Object.assign(new Error('boom'), { code: 'EIO' }));
    expect(s.receiver.status()).toMatchObject({ state: 'unavailable', namespaces: 0, reason: expect.stringContaining('boom') });
  });

  it('bounded: records beyond maxPending between two collections are dropped and counted', async () => {
    const s = setup({ maxPending: 2 });
    await s.receiver.start();
    for (const d of datagrams('tcp-acct.hex')) s.handlers.onDatagram(d);
    const part = (await s.receiver.collector.collect(ctx)).capture;
    expect(part?.records).toHaveLength(2);
    expect(part?.status).toMatchObject({ dropped: 2, mayHaveMissed: 2 });
  });

  it('flows read while a just-started container is inspected wait for it; then a collection is asked for', async () => {
    const s = setup();
    await s.receiver.start();
    let asked = 0;
    s.receiver.onNews(() => undefined, () => { asked++; });
    let finish: (c: ContainerInfo) => void = () => undefined;
    s.receiver.learn(() => new Promise<ContainerInfo>((r) => { finish = r; }));
    const [n1] = datagrams('tcp-acct.hex');
    s.handlers.onDatagram(n1!);
    const first = (await s.receiver.collector.collect(ctx)).capture;
    expect(first?.records).toEqual([]);
    finish({ id: 'a'.repeat(64), name: 'job', image: 'i', networkMode: { kind: 'none' }, pid: 1, networks: [{ name: 'n', ipv4: '127.0.0.1' }], ports: [], labels: {} });
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(1);
    const second = (await s.receiver.collector.collect(ctx)).capture;
    expect(second?.records).toHaveLength(1);
    expect(second?.started?.[0]?.container.name).toBe('job');
  });

  it('a container\'s exit event is handed to the next collection once, with its time', async () => {
    const s = setup();
    await s.receiver.start();
    await s.receiver.collector.collect(ctx);
    s.tick(250);
    s.receiver.ended('a'.repeat(64));
    const part = (await s.receiver.collector.collect(ctx)).capture;
    expect(part?.ended).toEqual([{ containerId: 'a'.repeat(64), atMs: 1_250 }]);
    expect((await s.receiver.collector.collect(ctx)).capture?.ended).toBeUndefined();
  });

  it('without privilege or module: start rejects with one line, status unavailable', async () => {
    const receiver = createCaptureReceiver({}, {
      procfs, subscribe: () => { throw new Error('cannot create a NETLINK_NETFILTER socket: EPERM'); }, readInNetns: () => '0',
    });
    await expect(receiver.start()).rejects.toThrow(/EPERM/);
    expect(receiver.status()).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('EPERM') });
  });
});
