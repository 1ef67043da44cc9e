import fs from 'node:fs';
import path from 'node:path';

/**
 * Reads raw text and links from a procfs tree rooted at `root` (default /proc; a fixture tree in tests).
 * Synchronous on purpose: procfs reads never touch a disk, and thread-pool hops cost more than the reads
 * themselves when scanning thousands of fd links. Functions throw the fs error (ENOENT/ESRCH when a process
 * vanished); callers decide whether that is normal.
 */
export interface Procfs {
  readonly root: string;
  /** Numeric entries of the root: every pid visible. */
  listPids(): number[];
  /** `/proc/<pid>/<rel>` as text. */
  readText(pid: number | 'self', rel: string): string;
  /** Target of a link under `/proc/<pid>/`, e.g. `ns/net` → `net:[4026531833]`. */
  readLink(pid: number | 'self', rel: string): string;
  /** Targets of every fd link of a process (entries that vanish mid-scan are skipped). */
  readFdLinks(pid: number): string[];
  /** Filesystem path of `/proc/<pid>/<rel>`, for handing to setns. */
  pathOf(pid: number | 'self', rel: string): string;
  /**
   * `/proc/<pid>/<rel>` as text, read through a file kept open since the first call: one pread(2) instead of open,
   * fstat, read and close — for files read again every collection (net/dev, net/snmp, net/sockstat). A kept file of
   * `/proc/<pid>/net/*` shows the namespace the pid was in when it was opened, and keeps that namespace alive until
   * released.
   */
  readAgain(pid: number | 'self', rel: string): string;
  /**
   * Like readAgain, but undefined when the file holds the very bytes it held at the last read of it (compared
   * before any text is made: an unchanged file costs one pread and a memcmp).
   */
  readIfChanged(pid: number | 'self', rel: string): string | undefined;
  /**
   * How many fds the process has open, from one stat of `/proc/<pid>/fd` (its size, since Linux 6.2); 0 when the
   * kernel does not say.
   */
  fdCount(pid: number): number;
  /** Closes the kept files of every pid not in `pids`. */
  releaseExcept(pids: ReadonlySet<number | 'self'>): void;
}

/** Creates a procfs reader rooted at `root`. */
export function createProcfs(root = '/proc'): Procfs {
  const pathOf = (pid: number | 'self', rel: string) => path.join(root, String(pid), rel);
  // Kept files by pid, then by relative path: the open fd and the bytes of its last read.
  const kept = new Map<number | 'self', Map<string, { fd: number; last: Buffer | undefined }>>();
  let buf = Buffer.allocUnsafe(16384);
  const closeAll = (files: Map<string, { fd: number }>) => {
    for (const f of files.values()) fs.closeSync(f.fd);
  };
  /** Reads a kept file (opening it on first use); returns its bytes (a view into the shared buffer) and its entry. */
  const readKept = (pid: number | 'self', rel: string): { bytes: Buffer; file: { fd: number; last: Buffer | undefined } } => {
    let files = kept.get(pid);
    let file = files?.get(rel);
    if (file === undefined) {
      file = { fd: fs.openSync(pathOf(pid, rel), 'r'), last: undefined };
      if (!files) kept.set(pid, (files = new Map()));
      files.set(rel, file);
    }
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(file.fd, buf, 0, buf.length, 0);
      } catch (err) {
        // Gone (ESRCH on a task that exited): forget it, so the next call opens afresh or fails like readText.
        fs.closeSync(file.fd);
        files?.delete(rel);
        throw err;
      }
      // A full buffer may have cut the file short: read it again into a bigger one.
      if (n < buf.length) return { bytes: buf.subarray(0, n), file };
      buf = Buffer.allocUnsafe(buf.length * 2);
    }
  };
  return {
    root,
    pathOf,
    readAgain(pid, rel) {
      const { bytes, file } = readKept(pid, rel);
      file.last = Buffer.from(bytes);
      return bytes.toString('utf8');
    },
    readIfChanged(pid, rel) {
      const { bytes, file } = readKept(pid, rel);
      if (file.last && file.last.equals(bytes)) return undefined;
      file.last = Buffer.from(bytes);
      return bytes.toString('utf8');
    },
    fdCount: (pid) => fs.statSync(pathOf(pid, 'fd')).size,
    releaseExcept(pids) {
      for (const [owner, files] of kept) {
        if (pids.has(owner)) continue;
        closeAll(files);
        kept.delete(owner);
      }
    },
    listPids() {
      const pids: number[] = [];
      for (const name of fs.readdirSync(root)) {
        const c = name.charCodeAt(0);
        if (c >= 48 && c <= 57) pids.push(Number(name));
      }
      return pids;
    },
    readText: (pid, rel) => fs.readFileSync(pathOf(pid, rel), 'utf8'),
    readLink: (pid, rel) => fs.readlinkSync(pathOf(pid, rel)),
    readFdLinks(pid) {
      const dir = pathOf(pid, 'fd');
      const out: string[] = [];
      for (const fd of fs.readdirSync(dir)) {
        try {
          out.push(fs.readlinkSync(path.join(dir, fd)));
        } catch (err) {
          // An fd closed between readdir and readlink is normal churn; anything else is the caller's problem.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      return out;
    },
  };
}

/** True for errors meaning "the process or file went away while we read it". */
export function isVanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}
