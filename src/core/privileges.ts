// Which privileges a collection needs, judged from the process's own capability set (pure). Missing ones are
// told up front, each with what it is for, instead of a run that silently sees nothing.
import type { PidStatus } from './parse/pid-status.js';

/** Capability numbers (linux/capability.h) portolan's collection depends on. */
export const CAPABILITIES = {
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
} as const;

/** A privilege the collection needs and does not have. */
export interface MissingPrivilege {
  /** What is missing: a capability name, or `docker` for the Docker socket. */
  readonly name: string;
  /** What it is needed for, as a short phrase. */
  readonly why: string;
}

/** What the collection is asked to do, as far as privileges go. */
export interface PrivilegeNeeds {
  /** netlink socket diagnostics in each namespace (`--source auto|netlink`): setns needs CAP_SYS_ADMIN. */
  readonly setns: boolean;
}

const has = (caps: bigint, cap: number) => (caps & (1n << BigInt(cap))) !== 0n;

/**
 * The capabilities missing from `status` for a collection with `needs` (pure): CAP_SYS_ADMIN for setns (unless
 * `--source proc`), CAP_SYS_PTRACE to read other processes' `ns/net` links and fds, and CAP_DAC_READ_SEARCH (or
 * CAP_DAC_OVERRIDE) to list the fd directories of processes of other users.
 */
export function missingCapabilities(status: PidStatus, needs: PrivilegeNeeds): MissingPrivilege[] {
  const missing: MissingPrivilege[] = [];
  const caps = status.capEff;
  if (needs.setns && !has(caps, CAPABILITIES.CAP_SYS_ADMIN)) {
    missing.push({ name: 'CAP_SYS_ADMIN', why: 'setns into network namespaces; or --source proc' });
  }
  if (!has(caps, CAPABILITIES.CAP_SYS_PTRACE)) {
    missing.push({ name: 'CAP_SYS_PTRACE', why: 'read other processes\' ns/net and fd links' });
  }
  if (!has(caps, CAPABILITIES.CAP_DAC_READ_SEARCH) && !has(caps, CAPABILITIES.CAP_DAC_OVERRIDE)) {
    missing.push({ name: 'CAP_DAC_READ_SEARCH', why: 'list fds of other users\' processes' });
  }
  return missing;
}

/** The one line that says what is missing and how to grant it. */
export function privilegeMessage(missing: readonly MissingPrivilege[]): string {
  const caps = missing.filter((m) => m.name.startsWith('CAP_'));
  const list = missing.map((m) => `${m.name} (${m.why})`).join(', ');
  const grant = caps.length > 0
    ? `; run as root or grant ${caps.length > 1 ? 'them' : 'it'} (docker run ${caps.map((c) => `--cap-add ${c.name.slice(4)}`).join(' ')}; systemd AmbientCapabilities=${caps.map((c) => c.name).join(' ')})`
    : '';
  return `missing privileges: ${list}${grant}`;
}
