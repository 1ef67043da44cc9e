import path from 'node:path';
import type { ConntrackAccounting, ConntrackTable } from '../core/model/conntrack.js';
import type { CollectionIssue } from '../core/model/snapshot.js';
import { parseNfConntrack } from '../core/parse/nf-conntrack.js';
import { NetnsEntryError, readFileInNetns, writeFileInNetns } from '../sources/netns.js';
import type { Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';
import { hostNetns } from './netns.js';

const FILE = 'net/nf_conntrack';
/** The accounting sysctl, under `<proc root>/sys/`. */
const ACCT_SYSCTL = 'net/netfilter/nf_conntrack_acct';
/** Its name as sysctl(8) spells it, for messages. */
export const CONNTRACK_ACCT_NAME = 'net.netfilter.nf_conntrack_acct';

/** Reads and writes files as a task in another network namespace sees them (sources/netns.ts); injectable for tests. */
export interface NetnsFiles {
  read(nsPath: string, file: string): string;
  write(nsPath: string, file: string, text: string): void;
}

const realNetnsFiles: NetnsFiles = { read: readFileInNetns, write: writeFileInNetns };

/** Options of the conntrack collector. */
export interface ConntrackCollectorOptions {
  readonly netnsFiles?: NetnsFiles;
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
  let text: string;
  try {
    text = files.read(procfs.pathOf(hostPid, 'ns/net'), file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${file} does not exist in the host network namespace` : `cannot read ${file} in the host network namespace: ${errorText(err)}`;
    return { accounting: 'unknown', accountingReason: why };
  }
  const value = text.trim();
  if (value === '0') return { accounting: 'off' };
  if (value === '1') return { accounting: 'on' };
  return { accounting: 'unknown', accountingReason: `${file} holds "${value}", expected 0 or 1` };
}

/**
 * Reads the Docker host's conntrack table from /proc/<host pid>/net/nf_conntrack (the table of that pid's
 * network namespace), and whether byte accounting is on there. A missing or unreadable table is not a failure:
 * the part says why, and the topology turns that into a warning (UDP flows and DNAT'd connections cannot be
 * resolved without it).
 */
export function createConntrackCollector(procfs: Procfs, options: ConntrackCollectorOptions = {}): Collector<'conntrack'> {
  const files = options.netnsFiles ?? realNetnsFiles;
  return {
    name: 'conntrack',
    provides: ['conntrack'],
    needs: ['netns'],
    collect: async ({ parts }) => {
      const ns = parts.netns;
      if (!ns || ns.host === 0) {
        return { conntrack: { status: 'unavailable', reason: 'the host network namespace is unknown' } satisfies ConntrackTable };
      }
      const tablePath = procfs.pathOf(ns.hostPid, FILE);
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
        ? [{ source: 'conntrack', message: `skipped malformed lines, first: ${errors[0]?.message ?? ''}`, count: errors.length }]
        : [];
      const entries = records.filter((e) => e.protocol === 'tcp' || e.protocol === 'udp');
      const accounting = readAccounting(procfs, files, ns.hostPid);
      return { conntrack: { status: 'ok', netns: ns.host, entries, ...accounting }, issues };
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
export function enableConntrackAccounting(procfs: Procfs, hostPid: number | undefined, files: NetnsFiles = realNetnsFiles): AccountingChange {
  const { host, hostPid: pid } = hostNetns(procfs, hostPid);
  const nsPath = procfs.pathOf(pid, 'ns/net');
  const file = path.join(procfs.root, 'sys', ACCT_SYSCTL);
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
