// Reads and writes files whose content depends on the reader's network namespace (/proc/sys/net/*: a sysctl
// shows and sets the value of the namespace of the task that opens it, whatever procfs mount it goes through).
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import type * as Koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
// The calling thread's own namespace: the live thread, never something under --proc-root.
const SELF_NS = '/proc/thread-self/ns/net';

/** The namespace cannot be entered here (koffi missing, no CAP_SYS_ADMIN): the caller says "unknown". */
export class NetnsEntryError extends Error {
  override readonly name = 'NetnsEntryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface SetnsNatives {
  readonly setns: (fd: number, nstype: number) => number;
  readonly errno: () => number;
}

let natives: SetnsNatives | undefined;

function loadSetns(): SetnsNatives {
  if (natives) return natives;
  const require = createRequire(import.meta.url);
  try {
    const koffi = require('koffi') as typeof Koffi;
    const setns = koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as SetnsNatives['setns'];
    natives = { setns, errno: () => koffi.errno() };
    return natives;
  } catch (err) {
    throw new NetnsEntryError(`cannot bind setns() through koffi: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`; // an errno libuv has no name for: the number is the whole story
  }
}

/** True when `nsPath` names the namespace the calling thread is already in (then no setns is needed). */
function isOwnNetns(nsPath: string): boolean {
  const target = statSync(nsPath);
  const own = statSync(SELF_NS);
  return target.ino === own.ino && target.dev === own.dev;
}

/**
 * Runs `fn` synchronously with the JS thread inside the network namespace at `nsPath` (`/proc/<pid>/ns/net`),
 * then returns the thread to its own; without setns when it is the thread's own namespace already. Throws
 * NetnsEntryError when the namespace cannot be entered (koffi missing, EPERM), an ENOENT error when it is gone.
 */
function inNetns<T>(nsPath: string, fn: () => T): T {
  if (isOwnNetns(nsPath)) return fn();
  const { setns, errno } = loadSetns();
  const selfFd = openSync(SELF_NS, 'r');
  try {
    let targetFd: number;
    try {
      targetFd = openSync(nsPath, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new NetnsEntryError(`cannot open ${nsPath}: ${code} (needs root / CAP_SYS_PTRACE)`, { cause: err });
      throw err;
    }
    try {
      if (setns(targetFd, CLONE_NEWNET) !== 0) {
        const e = errno();
        throw new NetnsEntryError(`setns(${nsPath}, CLONE_NEWNET) failed: ${errnoName(e)}${e === 1 ? ' (needs CAP_SYS_ADMIN)' : ''}`);
      }
      let result: { value: T } | undefined;
      let failure: unknown;
      try {
        result = { value: fn() };
      } catch (err) {
        failure = err;
      }
      // Restores unconditionally: fn's error was caught above (no throw from a finally, which lint forbids).
      if (setns(selfFd, CLONE_NEWNET) !== 0) {
        // Everything else this thread does (HTTP, Docker API over TCP) would now happen in the wrong namespace.
        throw new Error(`FATAL: could not return the JS thread to its own network namespace after entering ${nsPath}: ${errnoName(errno())}`);
      }
      if (result === undefined) throw failure;
      return result.value;
    } finally {
      closeSync(targetFd);
    }
  } finally {
    closeSync(selfFd);
  }
}

/** Reads `file` (e.g. `/proc/sys/net/netfilter/nf_conntrack_acct`) as a task in the namespace at `nsPath` sees it. */
export function readFileInNetns(nsPath: string, file: string): string {
  return inNetns(nsPath, () => readFileSync(file, 'utf8'));
}

/** Writes `text` to `file` as a task in the namespace at `nsPath` (sets that namespace's sysctl). */
export function writeFileInNetns(nsPath: string, file: string, text: string): void {
  inNetns(nsPath, () => writeFileSync(file, text));
}
