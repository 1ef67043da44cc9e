import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsEntryError } from '../sources/netns.js';
import { createProcfs, type Procfs } from '../sources/procfs.js';
import { emptyParts, type CollectContext } from './collector.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConntrackEntry } from '../core/model/conntrack.js';
import type { ConntrackDumpFilter } from '../sources/ctnetlink.js';
import { conntrackDumpFilters, createConntrackCollector, DUMP_FROM_ENTRIES, enableConntrackAccounting, type ConntrackDump, type NetnsFiles } from './conntrack.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'portolan-conntrack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ctx = (hostPid: number | 'self', host = 4026531833): CollectContext => ({
  signal: AbortSignal.timeout(5000),
  parts: { ...emptyParts(), netns: { host, hostPid, containers: [] } },
});

const TCP = 'ipv4     2 tcp      6 431997 ESTABLISHED src=10.77.91.2 dst=10.77.91.2 sport=38524 dport=18082 src=172.31.77.2 dst=172.31.77.1 sport=8080 dport=38524 [ASSURED] mark=0 zone=0 use=2';
const UDP = 'ipv4     2 udp      17 29 src=172.17.0.4 dst=172.17.0.2 sport=37393 dport=5353 [UNREPLIED] src=172.17.0.2 dst=172.17.0.4 sport=5353 dport=37393 mark=0 zone=0 use=2';
const IGMP = 'ipv4     2 unknown  2 531 src=172.20.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=172.20.0.1 mark=0 zone=0 use=2';

function failingProcfs(code: string): Procfs {
  const real = createProcfs(root);
  return { ...real, readText: () => { throw Object.assign(new Error(`${code}: nope`), { code }); } };
}

/** A namespace's files held in memory: what was read and written, by path. */
function fakeFiles(initial: Record<string, string | Error>): NetnsFiles & { reads: string[][]; writes: string[][]; files: Record<string, string | Error> } {
  const files = { ...initial };
  const reads: string[][] = [];
  const writes: string[][] = [];
  return {
    files, reads, writes,
    read(nsPath, file) {
      reads.push([nsPath, file]);
      const v = files[file];
      if (v === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      if (v instanceof Error) throw v;
      return v;
    },
    write(nsPath, file, text) {
      writes.push([nsPath, file, text]);
      const v = files[file];
      if (v instanceof Error) throw v;
      files[file] = text;
    },
  };
}
const ACCT = path.join(root, 'sys/net/netfilter/nf_conntrack_acct');
const acctIs = (value: string | Error) => fakeFiles({ [ACCT]: value });

describe('conntrack collector', () => {
  it('reads the host pid\'s table, keeps TCP and UDP, and counts malformed lines as one issue', async () => {
    mkdirSync(path.join(root, '77/net'), { recursive: true });
    writeFileSync(path.join(root, '77/net/nf_conntrack'), [TCP, IGMP, 'garbage', UDP, ''].join('\n'));
    const files = acctIs('0\n');
    const r = await createConntrackCollector(createProcfs(root), { netnsFiles: files }).collect(ctx(77));
    expect(r.conntrack.status).toBe('ok');
    if (r.conntrack.status !== 'ok') return;
    expect(r.conntrack.netns).toBe(4026531833);
    expect(r.conntrack.entries.map((e) => e.protocol)).toEqual(['tcp', 'udp']);
    expect(r.issues).toEqual([{ source: 'conntrack', message: expect.stringMatching(/77\/net\/nf_conntrack:3: expected "ipv4 2"/), count: 1 }]);
    // Accounting is read from inside the host pid's namespace, not portolan's.
    expect(r.conntrack.accounting).toBe('off');
    expect(files.reads).toEqual([[path.join(root, '77/ns/net'), ACCT]]);
  });

  it('accounting: 1 is on; a namespace it cannot enter, a missing sysctl or an odd value are unknown, with the reason', async () => {
    const accounting = async (files: NetnsFiles) => {
      const r = await createConntrackCollector(createProcfs(root), { netnsFiles: files }).collect(ctx(77));
      if (r.conntrack.status !== 'ok') throw new Error('table expected');
      return { accounting: r.conntrack.accounting, reason: r.conntrack.accountingReason };
    };
    expect(await accounting(acctIs('1\n'))).toEqual({ accounting: 'on', reason: undefined });
    expect(await accounting(acctIs(new NetnsEntryError('setns(/proc/77/ns/net, CLONE_NEWNET) failed: EPERM (needs CAP_SYS_ADMIN)'))))
      .toEqual({ accounting: 'unknown', reason: expect.stringMatching(/cannot read .*nf_conntrack_acct in the host network namespace: setns.*EPERM/) });
    expect(await accounting(fakeFiles({}))).toEqual({ accounting: 'unknown', reason: expect.stringMatching(/nf_conntrack_acct does not exist in the host network namespace/) });
    expect(await accounting(acctIs('2\n'))).toEqual({ accounting: 'unknown', reason: expect.stringMatching(/holds "2", expected 0 or 1/) });
  });

  it('a missing table is unavailable with a reason, not a failure', async () => {
    const r = await createConntrackCollector(createProcfs(root)).collect(ctx('self'));
    expect(r.conntrack).toEqual({ status: 'unavailable', reason: expect.stringMatching(/self\/net\/nf_conntrack does not exist/) });
  });

  it('permission denied is unavailable with a reason', async () => {
    const r = await createConntrackCollector(failingProcfs('EACCES')).collect(ctx(1));
    expect(r.conntrack).toEqual({ status: 'unavailable', reason: expect.stringMatching(/cannot read .*1\/net\/nf_conntrack: permission denied/) });
  });

  it('an unknown host namespace is unavailable; other errors fail the collector', async () => {
    const r = await createConntrackCollector(createProcfs(root)).collect(ctx(1, 0));
    expect(r.conntrack.status).toBe('unavailable');
    await expect(createConntrackCollector(failingProcfs('EIO')).collect(ctx(1))).rejects.toThrow(/EIO/);
  });
});

describe('conntrack collector with dumps', () => {
  // A real dump and the text read right after it (test/fixtures/ctnetlink/README.md).
  const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/ctnetlink');
  const datagrams = readFileSync(path.join(FIX, 'dump-acct.hex'), 'utf8').split('\n').filter(Boolean).map((l) => new Uint8Array(Buffer.from(l, 'hex')));
  mkdirSync(path.join(root, '66/net'), { recursive: true });
  writeFileSync(path.join(root, '66/net/nf_conntrack'), readFileSync(path.join(FIX, 'dump-acct.txt'), 'utf8'));
  // The namespace's entry count (net/stat/nf_conntrack, first column, hex), per CPU: at the threshold, dumps are read.
  const STAT_HEAD = 'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart';
  const stat = (entries: number) => `${STAT_HEAD}\n${[entries.toString(16).padStart(8, '0'), ...Array(16).fill('00000000')].join(' ')}\n`;
  mkdirSync(path.join(root, '66/net/stat'), { recursive: true });
  writeFileSync(path.join(root, '66/net/stat/nf_conntrack'), stat(DUMP_FROM_ENTRIES));
  const comparable = (entries: readonly ConntrackEntry[]) => entries.map(({ timeout: _t, ...e }) => JSON.stringify(e)).sort();
  /** A dump that answers the first filter with the whole fixture and the others with nothing; records the calls. */
  const fakeDump = (answer: (i: number) => Promise<Uint8Array[]> = (i) => Promise.resolve(i === 0 ? datagrams : [])) => {
    const calls: { nsPath: string; filter: ConntrackDumpFilter }[] = [];
    const dump: ConntrackDump = (nsPath, _timeoutMs, filter) => answer(calls.push({ nsPath, filter }) - 1);
    return { dump, calls };
  };
  const entriesOf = async (c: ReturnType<typeof createConntrackCollector>) => {
    const r = await c.collect(ctx(66));
    if (r.conntrack.status !== 'ok') throw new Error('table expected');
    return { entries: r.conntrack.entries, issues: r.issues };
  };

  it('gives the entries the text gives (the used ones), from the host pid\'s namespace, with the four dumps', async () => {
    const { dump, calls } = fakeDump();
    const byDump = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('1\n'), dump }));
    const byText = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('1\n') }));
    expect(byDump.issues).toEqual([]);
    expect(byDump.entries.length).toBe(10);
    expect(comparable(byDump.entries)).toEqual(comparable(byText.entries));
    expect(calls.map((c) => c.nsPath)).toEqual(Array(4).fill(path.join(root, '66/ns/net')));
    expect(calls.map((c) => c.filter)).toEqual(conntrackDumpFilters('on'));
  });

  it('a kernel that ignores the filters (every dump the whole table): each entry kept once', async () => {
    const { dump, calls } = fakeDump(() => Promise.resolve(datagrams));
    const byDump = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('1\n'), dump }));
    const byText = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('1\n') }));
    expect(calls).toHaveLength(4);
    expect(comparable(byDump.entries)).toEqual(comparable(byText.entries));
  });

  it('a small table (under DUMP_FROM_ENTRIES) is read as text: four walks of the hash table cost more', async () => {
    const { dump, calls } = fakeDump();
    writeFileSync(path.join(root, '66/net/stat/nf_conntrack'), stat(DUMP_FROM_ENTRIES - 1));
    try {
      const r = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('1\n'), dump }));
      expect(calls).toHaveLength(0);
      expect(r.entries.length).toBe(10);
    } finally {
      writeFileSync(path.join(root, '66/net/stat/nf_conntrack'), stat(DUMP_FROM_ENTRIES));
    }
  });

  it('asks the kernel for NATed entries and, without NAT, for UDP only when accounting is off, for TCP too otherwise', () => {
    const nat = [{ status: { value: 16, mask: 16 } }, { status: { value: 32, mask: 48 } }];
    expect(conntrackDumpFilters('off')).toEqual([...nat,
      { family: 'ipv4', status: { value: 0, mask: 48 }, protocol: 17 }, { family: 'ipv6', status: { value: 0, mask: 48 }, protocol: 17 }]);
    for (const a of ['on', 'unknown'] as const) {
      expect(conntrackDumpFilters(a)).toEqual([...nat, { family: 'ipv4', status: { value: 0, mask: 48 } }, { family: 'ipv6', status: { value: 0, mask: 48 } }]);
    }
  });

  it('a failed dump: the text is read, the failure said once in the issues, and no dump tried again for 5 minutes', async () => {
    let t = 1_000_000;
    const { dump, calls } = fakeDump(() => Promise.reject(new Error('conntrack dump failed: errno 22')));
    const c = createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('0\n'), dump, repeat: { reuseForMs: 0, now: () => t } });
    const byText = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('0\n') }));
    const first = await entriesOf(c);
    expect(comparable(first.entries)).toEqual(comparable(byText.entries));
    expect(calls).toHaveLength(1);
    // Said once, not silently: the text costs more on a big table.
    expect(first.issues).toEqual([{ source: 'conntrack', count: 1, message: 'the conntrack table\'s filtered dump failed (conntrack dump failed: errno 22): read as text instead (more CPU on a big table); the dump is tried again in 5 minutes' }]);
    t += 299_000;
    const later = await entriesOf(c);
    expect(comparable(later.entries)).toEqual(comparable(byText.entries));
    expect(later.issues ?? []).toEqual([]);
    expect(calls).toHaveLength(1);
    t += 2_000;
    await entriesOf(c);
    expect(calls).toHaveLength(2);
  });

  it('malformed dump messages are skipped and said as one issue', async () => {
    const cut = datagrams[0]!.subarray(0, 100);
    const { dump } = fakeDump((i) => Promise.resolve(i === 0 ? [cut, ...datagrams.slice(1)] : []));
    const r = await entriesOf(createConntrackCollector(createProcfs(root), { netnsFiles: acctIs('0\n'), dump }));
    expect(r.issues).toEqual([{ source: 'conntrack', message: expect.stringMatching(/^skipped malformed dump messages, first: /), count: 1 }]);
  });
});

describe('enableConntrackAccounting', () => {
  mkdirSync(path.join(root, '88/ns'), { recursive: true });
  writeFileSync(path.join(root, '88/ns/net'), '');
  // readlink of the fixture's ns/net: a symlink named like the kernel's.
  const procfs: Procfs = { ...createProcfs(root), readLink: (pid, rel) => (pid === 88 && rel === 'ns/net' ? 'net:[4026531999]' : createProcfs(root).readLink(pid, rel)) };

  it('writes 1 in the host pid\'s namespace when it was 0, reads it back, and says what it was', () => {
    const files = acctIs('0\n');
    expect(enableConntrackAccounting(procfs, 88, files)).toEqual({ netns: 4026531999, previous: '0' });
    expect(files.writes).toEqual([[path.join(root, '88/ns/net'), ACCT, '1\n']]);
    expect(files.files[ACCT]).toBe('1\n');
  });

  it('writes nothing when it is on already', () => {
    const files = acctIs('1\n');
    expect(enableConntrackAccounting(procfs, 88, files)).toEqual({ netns: 4026531999, previous: '1' });
    expect(files.writes).toEqual([]);
  });

  it('fails with one clear line when it cannot set or read it', () => {
    const readOnly = { ...acctIs('0\n'), write: () => { throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }); } };
    expect(() => enableConntrackAccounting(procfs, 88, readOnly)).toThrow(/^cannot set net\.netfilter\.nf_conntrack_acct in the host network namespace: EROFS$/);
    expect(() => enableConntrackAccounting(procfs, 88, fakeFiles({}))).toThrow(/cannot read .*nf_conntrack_acct does not exist \(connection tracking not loaded/);
    const ignored = { ...acctIs('0\n'), write: () => undefined };
    expect(() => enableConntrackAccounting(procfs, 88, ignored)).toThrow(/wrote 1 .* but it reads "0"/);
  });
});
