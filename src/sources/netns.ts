// The one way portolan enters another network namespace: the JS thread joins it with setns(2), runs one
// synchronous function (create a socket bound there, read or write a sysctl that shows the reader's namespace),
// and returns to its own. setns(CLONE_NEWNET) affects only the calling thread and is allowed in a multi-threaded
// process; nothing else runs on the JS thread during the synchronous switch.
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import type * as Koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
// The calling thread's own namespace: the live thread, never something under --proc-root.
const SELF_NS = '/proc/thread-self/ns/net';

/** The namespace cannot be entered here (koffi missing, no CAP_SYS_ADMIN or CAP_SYS_PTRACE): callers fall back or say "unknown". */
export class NetnsEntryError extends Error {
  override readonly name = 'NetnsEntryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The JS thread could not return to its own namespace: everything it does from now on (HTTP, the Docker API over
 * TCP, new sockets) would happen in another container's namespace. `fatal` tells every layer to stop the process
 * rather than carry on; this module refuses any further switch.
 */
export class NetnsReturnError extends Error {
  override readonly name = 'NetnsReturnError';
  readonly fatal = true;
  constructor(message: string) {
    super(message);
  }
}

interface SetnsNatives {
  readonly setns: (fd: number, nstype: number) => number;
  readonly errno: () => number;
}

let natives: SetnsNatives | undefined;
let stranded: NetnsReturnError | undefined;

function loadSetns(): SetnsNatives {
  if (natives) return natives;
  const require = createRequire(import.meta.url);
  try {
    const koffi = require('koffi') as typeof Koffi;
    const setns = koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as SetnsNatives['setns'];
    natives = { setns, errno: () => koffi.errno() };
    return natives;
  } catch (err) {
    throw new NetnsEntryError(`cannot bind setns() from libc.so.6 through koffi: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** The name of a positive errno (`EPERM`), or `errno N` when libuv has none. */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`; // an errno libuv has no name for: the number is the whole story
  }
}

/**
 * Runs `fn` synchronously with the JS thread inside the network namespace at `nsPath` (`/proc/<pid>/ns/net`, a
 * Docker SandboxKey, `/var/run/netns/<name>`), then returns the thread to its own; without setns when it is the
 * thread's own namespace already. Throws NetnsEntryError when the namespace cannot be entered (koffi missing,
 * EPERM/EACCES), an ENOENT error when it is gone, a setns errno error otherwise (EINVAL: not a network namespace),
 * `fn`'s own error after returning, and NetnsReturnError (fatal) when the thread cannot return.
 */
export function inNetns<T>(nsPath: string, fn: () => T): T {
  if (stranded) throw stranded;
  const selfFd = openSync(SELF_NS, 'r');
  try {
    let targetFd: number;
    try {
      targetFd = openSync(nsPath, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // /proc/<pid>/ns/* needs ptrace-read access to the task: a privilege problem, not a vanished container.
      if (code === 'EACCES' || code === 'EPERM') throw new NetnsEntryError(`cannot open network namespace ${nsPath}: ${code} (needs root / CAP_SYS_PTRACE)`, { cause: err });
      throw err; // ENOENT: the process or namespace is gone, which callers treat as normal
    }
    try {
      const target = fstatSync(targetFd);
      const own = fstatSync(selfFd);
      // Already there (the host's namespace, read from the host): no switch needed.
      if (target.ino === own.ino && target.dev === own.dev) return fn();
      const { setns, errno } = loadSetns();
      if (setns(targetFd, CLONE_NEWNET) !== 0) {
        const e = errno();
        if (e === 1) throw new NetnsEntryError(`setns(${nsPath}, CLONE_NEWNET) failed: EPERM (needs CAP_SYS_ADMIN)`);
        throw Object.assign(new Error(`setns(${nsPath}, CLONE_NEWNET) failed: ${errnoName(e)}`), { errno: e, code: errnoName(e) });
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
        stranded = new NetnsReturnError(`could not return the JS thread to its own network namespace after entering ${nsPath}: ${errnoName(errno())}`);
        throw stranded;
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
