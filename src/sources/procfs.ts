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
}

/** Creates a procfs reader rooted at `root`. */
export function createProcfs(root = '/proc'): Procfs {
  const pathOf = (pid: number | 'self', rel: string) => path.join(root, String(pid), rel);
  return {
    root,
    pathOf,
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
