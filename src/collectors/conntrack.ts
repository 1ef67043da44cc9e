import path from 'node:path';
import type { ConntrackAccounting, ConntrackEntry, ConntrackTable } from '../core/model/conntrack.js';
import type { CollectionIssue, SnapshotParts } from '../core/model/snapshot.js';
import { parseNfConntrack } from '../core/parse/nf-conntrack.js';
import { conntrackEntriesOfDump } from '../core/parse/ctnetlink-table.js';
import { isConntrackEntryUsed } from '../core/topology/conntrack-index.js';
import type { ConntrackDumpFilter } from '../sources/ctnetlink.js';
import { NetnsEntryError, readFileInNetns, writeFileInNetns } from '../sources/netns.js';
import type { Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';
import { containersSocketTraffic } from './namespaces.js';
import { hostNetns } from './netns.js';

const FILE = 'net/nf_conntrack';
/** The accounting sysctl, under `<proc root>/sys/`. */
const ACCT_SYSCTL = 'net/netfilter/nf_conntrack_acct';
/** Its name as sysctl(8) spells it, for messages. */
export const CONNTRACK_ACCT_NAME = 'net.netfilter.nf_conntrack_acct';
const CONNTRACK_ACCT_NAME_ = 'net.netfilter.nf_conntrack_acct';
/** The sysctl that gives conntrack entries their start and stop times (capture's durations), by its dotted name. */
export const CONNTRACK_TIMESTAMP_NAME = 'net.netfilter.nf_conntrack_timestamp';

/** Reads and writes files as a task in another network namespace sees them (sources/netns.ts); injectable for tests. */
export interface NetnsFiles {
  read(nsPath: string, file: string): string;
  write(nsPath: string, file: string, text: string): void;
}

const realNetnsFiles: NetnsFiles = { read: readFileInNetns, write: writeFileInNetns };

/** A filtered ctnetlink dump of the table of the namespace at `nsPath` (sources/ctnetlink.ts); injectable for tests. */
export type ConntrackDump = (nsPath: string, timeoutMs: number, filter: ConntrackDumpFilter) => Promise<Uint8Array[]>;

// CTA_STATUS bits IPS_SRC_NAT and IPS_DST_NAT: nf_nat_setup_info sets them exactly when NAT changed the reply tuple.
const IPS_SRC_NAT = 1 << 4;
const IPS_DST_NAT = 1 << 5;
const NAT = IPS_SRC_NAT | IPS_DST_NAT;
/**
 * The four dumps walk every bucket of the kernel's hash table four times (262,144 buckets here: ~14 ms of CPU with a
 * near-empty table, ~40 ms with 30,000 entries; bench/conntrack-read.mjs), the text costs ~5 µs a line: below this
 * many entries the text is as cheap or cheaper.
 */
export const DUMP_FROM_ENTRIES = 5_000;
/** After a dump failed, the text is read for this long before a dump is tried again. */
const DUMP_RETRY_MS = 5 * 60_000;
const DUMP_TIMEOUT_MS = 10_000;

/**
 * The dumps that together list every entry isConntrackEntryUsed keeps, each once (disjoint by their NAT bits): NATed
 * entries of every family and protocol (two dumps: the kernel matches status bits by value under a mask, with no
 * "either"), and the entries without NAT: UDP ones only when accounting is off (a TCP entry without NAT is used only
 * for its counters), all of them when accounting is on or unknown. A protocol filter needs an address family.
 */
export function conntrackDumpFilters(accounting: ConntrackAccounting): ConntrackDumpFilter[] {
  const noNat = (family: 'ipv4' | 'ipv6'): ConntrackDumpFilter => ({
    family, status: { value: 0, mask: NAT }, ...(accounting === 'off' ? { protocol: 17 } : {}),
  });
  return [
    { status: { value: IPS_SRC_NAT, mask: IPS_SRC_NAT } },
    { status: { value: IPS_DST_NAT, mask: NAT } },
    noNat('ipv4'),
    noNat('ipv6'),
  ];
}

/** Options of the conntrack collector. */
export interface ConntrackCollectorOptions {
  readonly netnsFiles?: NetnsFiles;
  /**
   * Read the table with filtered ctnetlink dumps (the agent passes sources/ctnetlink.ts's dumpConntrack; without it,
   * the text of /proc/<pid>/net/nf_conntrack is read).
   * The kernel then formats only what is used (conntrackDumpFilters) rather than every line of a table that, on a
   * busy host, holds tens of thousands of closed connections (a table under DUMP_FROM_ENTRIES is read as text);
   * should a dump fail (no netlink module, a kernel
   * without dump filters, no privilege), the text is read, and a dump tried again 5 minutes later.
   */
  readonly dump?: ConntrackDump;
  /** Dumps from this many entries on (default DUMP_FROM_ENTRIES; 0: always, e.g. to test the dumps). */
  readonly dumpFromEntries?: number;
  /**
   * For collections that repeat: the table is read again only when a container's sockets sent or received (every
   * flow portolan shows has a container at one end, and its segments or datagrams count there), when the
   * inventory changed, or when the last read is `reuseForMs` old (entries also expire without packets).
   */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
}

type Accounting = { readonly accounting: ConntrackAccounting; readonly accountingReason?: string };

function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return err instanceof NetnsEntryError || !code ? (err as Error).message : code;
}

/**
 * `net.netfilter.nf_conntrack_acct` of the host pid's network namespace. The sysctl is per namespace and
 * /proc/sys shows the reader's, so it is read from inside that namespace (setns, or directly when portolan
 * already is in it). Anything that stops the read makes it `unknown`, with the reason.
 */
function readAccounting(procfs: Procfs, files: NetnsFiles, hostPid: number | 'self'): Accounting {
  const file = path.join(procfs.root, 'sys', ACCT_SYSCTL);
  const nsPath = procfs.pathOf(hostPid, 'ns/net');
  let text: string;
  try {
    text = files.read(nsPath, file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // ENOENT on the namespace itself (not a namespace file: a recorded /proc, or the pid is gone) is not the sysctl's.
    const why = e.code === 'ENOENT' && e.path === nsPath ? `cannot enter the host network namespace: ${nsPath} is not there (ENOENT)`
      : e.code === 'ENOENT' ? `${file} does not exist in the host network namespace`
        : `cannot read ${file} in the host network namespace: ${errorText(err)}`;
    return { accounting: 'unknown', accountingReason: why };
  }
  const value = text.trim();
  if (value === '0') return { accounting: 'off' };
  if (value === '1') return { accounting: 'on' };
  return { accounting: 'unknown', accountingReason: `${file} holds "${value}", expected 0 or 1` };
}

/** The entries of the namespace's table (`net/stat/nf_conntrack`'s first column, hex), or undefined when unreadable. */
function conntrackCount(procfs: Procfs, pid: number | 'self'): number | undefined {
  try {
    const field = procfs.readText(pid, 'net/stat/nf_conntrack').split('\n')[1]?.trim().split(/\s+/)[0] ?? '';
    const n = /^[0-9a-f]{1,8}$/i.test(field) ? parseInt(field, 16) : NaN;
    return Number.isNaN(n) ? undefined : n;
  } catch (err) {
    void err;
    return undefined;
  }
}

/**
 * Reads the Docker host's conntrack table from /proc/<host pid>/net/nf_conntrack (the table of that pid's
 * network namespace), and whether byte accounting is on there. A missing or unreadable table is not a failure:
 * the part says why, and the topology turns that into a warning (UDP flows and DNAT'd connections cannot be
 * resolved without it).
 */
export function createConntrackCollector(procfs: Procfs, options: ConntrackCollectorOptions = {}): Collector<'conntrack'> {
  const files = options.netnsFiles ?? realNetnsFiles;
  const repeat = options.repeat;
  const now = repeat?.now ?? Date.now;
  let last: { key: string; containers: SnapshotParts['containers'] | undefined; atMs: number; table: ConntrackTable } | undefined;
  const dump = options.dump;
  let dumpFailedAt: number | undefined;
  // Why the last dump failed, until a collection has said it.
  let dumpFailure: string | undefined;
  /** The used entries by dumps, or undefined when a dump failed (then the text is read). */
  const readByDump = async (hostPid: number | 'self', accounting: ConntrackAccounting): Promise<{ entries: ConntrackEntry[]; issues: CollectionIssue[] } | undefined> => {
    if (!dump || (dumpFailedAt !== undefined && now() - dumpFailedAt < DUMP_RETRY_MS)) return undefined;
    const count = conntrackCount(procfs, hostPid);
    if (count !== undefined && count < (options.dumpFromEntries ?? DUMP_FROM_ENTRIES)) return undefined;
    const nsPath = procfs.pathOf(hostPid, 'ns/net');
    const datagrams: Uint8Array[] = [];
    try {
      for (const filter of conntrackDumpFilters(accounting)) datagrams.push(...await dump(nsPath, DUMP_TIMEOUT_MS, filter));
    } catch (err) {
      dumpFailedAt = now();
      // Said in the collection's issues (the status, the log): the text then costs more CPU on a big table.
      dumpFailure = `${err instanceof Error ? err.message : String(err)}`;
      return undefined;
    }
    dumpFailedAt = undefined;
    // The kernel's filters only spare work: what is kept is decided here, as for the text. A kernel that ignores
    // a filter (CTA_STATUS before Linux 5.19) lists an entry in more than one dump: each is kept once (an original
    // tuple and zone name one entry).
    const seen = new Set<string>();
    const table = conntrackEntriesOfDump(datagrams, (e) => {
      if (!isConntrackEntryUsed(e)) return false;
      const key = `${e.family}|${e.protocolNumber}|${e.original.src}|${e.original.sport ?? ''}|${e.original.dst}|${e.original.dport ?? ''}|${e.zone ?? 0}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const issues: CollectionIssue[] = table.errors > 0
      ? [{ source: 'conntrack', message: `skipped malformed dump messages, first: ${table.firstError ?? ''}`, count: table.errors }]
      : [];
    return { entries: table.entries, issues };
  };
  const collectOnce = async (parts: Partial<SnapshotParts>): Promise<{ conntrack: ConntrackTable; issues?: CollectionIssue[] }> => {
    const ns = parts.netns;
    if (!ns || ns.host === 0) {
      return { conntrack: { status: 'unavailable', reason: 'the host network namespace is unknown' } satisfies ConntrackTable };
    }
    const accounting = readAccounting(procfs, files, ns.hostPid);
    const dumped = await readByDump(ns.hostPid, accounting.accounting);
    if (dumped) return { conntrack: { status: 'ok', netns: ns.host, entries: dumped.entries, ...accounting }, issues: dumped.issues };
    const tablePath = procfs.pathOf(ns.hostPid, FILE);
    const failed: CollectionIssue[] = dumpFailure === undefined ? [] : [{
      source: 'conntrack', count: 1,
      message: `the conntrack table's filtered dump failed (${dumpFailure}): read as text instead (more CPU on a big table); the dump is tried again in ${DUMP_RETRY_MS / 60_000} minutes`,
    }];
    dumpFailure = undefined;
    let text: string;
    try {
      text = procfs.readText(ns.hostPid, FILE);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return { conntrack: { status: 'unavailable', reason: `${tablePath} does not exist (connection tracking not loaded in the host namespace, or a kernel without CONFIG_NF_CONNTRACK_PROCFS)` } };
      }
      if (code === 'EACCES' || code === 'EPERM') {
        return { conntrack: { status: 'unavailable', reason: `cannot read ${tablePath}: permission denied (run as root)` } };
      }
      throw err;
    }
    const { records, errors } = parseNfConntrack(text, tablePath);
    const issues: CollectionIssue[] = errors.length > 0
      ? [...failed, { source: 'conntrack', message: `skipped malformed lines, first: ${errors[0]?.message ?? ''}`, count: errors.length }]
      : failed;
    const entries = records.filter(isConntrackEntryUsed);
    return { conntrack: { status: 'ok', netns: ns.host, entries, ...accounting }, issues };
  };
  return {
    name: 'conntrack',
    provides: ['conntrack'],
    needs: repeat ? ['netns', 'netdev'] : ['netns'],
    collect: async ({ parts, signal }) => {
      signal.throwIfAborted();
      if (!repeat) return collectOnce(parts);
      const t = now();
      const key = containersSocketTraffic(parts);
      if (last && last.key === key && last.containers === parts.containers && t - last.atMs < repeat.reuseForMs) return { conntrack: last.table };
      const read = await collectOnce(parts);
      // Found as it was (only the entries' timeouts counted down): the same table.
      const result = last && sameTable(last.table, read.conntrack) ? { ...read, conntrack: last.table } : read;
      // Malformed lines are said again at the next read: only a clean read is kept.
      last = result.issues && result.issues.length > 0 ? undefined : { key, containers: parts.containers, atMs: t, table: result.conntrack };
      return result;
    },
  };
}

/** What enabling conntrack accounting did. */
export interface AccountingChange {
  /** The host network namespace whose sysctl was set. */
  readonly netns: number;
  /** The value before: `0`, or `1` when it was on already (then nothing was written). */
  readonly previous: '0' | '1';
}

/**
 * Sets `net.netfilter.nf_conntrack_acct=1` in the Docker host's network namespace (pid 1's, or `hostPid`'s),
 * so that conntrack counts packets and bytes of the flows that start from then on. Only ever called for an
 * explicit flag: accounting costs a little memory per flow and is a host-wide change an operator must choose.
 * Throws with a one-line message when it cannot.
 */
export function enableConntrackAccounting(procfs: Procfs, hostPid: number | undefined, files: NetnsFiles = realNetnsFiles, which: 'acct' | 'timestamp' = 'acct'): AccountingChange {
  const { host, hostPid: pid } = hostNetns(procfs, hostPid);
  const nsPath = procfs.pathOf(pid, 'ns/net');
  // The same switch for timestamps (`--conntrack-timestamps`): per namespace, host-wide in effect, explicit only.
  const CONNTRACK_ACCT_NAME = which === 'acct' ? CONNTRACK_ACCT_NAME_ : CONNTRACK_TIMESTAMP_NAME;
  const file = path.join(procfs.root, 'sys', which === 'acct' ? ACCT_SYSCTL : 'net/netfilter/nf_conntrack_timestamp');
  const fail = (what: string, err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${file} does not exist (connection tracking not loaded in the host namespace)` : errorText(err);
    throw new Error(`cannot ${what} ${CONNTRACK_ACCT_NAME} in the host network namespace: ${why}`, { cause: err });
  };
  let before = '';
  try {
    before = files.read(nsPath, file).trim();
  } catch (err) {
    fail('read', err);
  }
  if (before === '1') return { netns: host, previous: '1' };
  if (before !== '0') throw new Error(`cannot enable ${CONNTRACK_ACCT_NAME}: ${file} holds "${before}", expected 0 or 1`);
  try {
    files.write(nsPath, file, '1\n');
  } catch (err) {
    fail('set', err);
  }
  let after = '';
  try {
    after = files.read(nsPath, file).trim();
  } catch (err) {
    fail('read back', err);
  }
  if (after !== '1') throw new Error(`wrote 1 to ${CONNTRACK_ACCT_NAME} in the host network namespace but it reads "${after}"`);
  return { netns: host, previous: '0' };
}

/** True when two reads of the table hold the same flows in the same state with the same counters (timeouts aside). */
function sameTable(a: ConntrackTable, b: ConntrackTable): boolean {
  if (a.status !== 'ok' || b.status !== 'ok') return a.status === b.status && JSON.stringify(a) === JSON.stringify(b);
  if (a.netns !== b.netns || a.accounting !== b.accounting || a.accountingReason !== b.accountingReason || a.entries.length !== b.entries.length) return false;
  const tuple = (x: ConntrackEntry['original'], y: ConntrackEntry['original']) =>
    x.src === y.src && x.dst === y.dst && x.sport === y.sport && x.dport === y.dport && x.packets === y.packets && x.bytes === y.bytes;
  return a.entries.every((x, i) => {
    const y = b.entries[i];
    return y !== undefined && x.protocol === y.protocol && x.family === y.family && x.state === y.state && x.unreplied === y.unreplied &&
      x.assured === y.assured && x.mark === y.mark && x.zone === y.zone && tuple(x.original, y.original) && tuple(x.reply, y.reply);
  });
}
