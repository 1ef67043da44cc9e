import type { ProcessInfo } from '../core/model/process.js';
import type { NetnsSockets } from '../core/model/socket.js';
import { parseNsLink, parsePidCgroup, parseSocketLink } from '../core/parse/pid-cgroup.js';
import type { ProcScanResult, RawProcessEntry } from '../sources/proc-scan.js';
import type { Collector } from './collector.js';

/** The walks the processes collector can make. */
export interface ProcessScans {
  /** Every process (scanProcessesInWorker in production, scanProcesses against a fixture tree in tests). */
  readonly full: () => Promise<ProcScanResult>;
  /** Only these pids (inline: a handful of processes). Needed by `repeat`. */
  readonly some?: (pids: readonly number[]) => ProcScanResult;
  /** Every pid now visible. Needed by `repeat`. */
  readonly listPids?: () => number[];
}

/** Options of the processes collector. */
export interface ProcessesCollectorOptions {
  /**
   * For collections that repeat (the agent, `top`): remember which process holds which socket and walk fds only
   * where something is new — processes born since, and the processes of a namespace where a socket no known
   * process holds appeared (every process when that does not find its holder) — plus every process once per
   * `fullEveryMs`, which bounds how long a socket handed to another process (fork, SCM_RIGHTS) shows its old
   * holder. A process that exits is dropped at once (its pid is gone from /proc). Needs the sockets, so it runs
   * after them instead of beside them.
   */
  readonly repeat?: { readonly fullEveryMs: number; readonly now?: () => number };
}

/**
 * Lists every host process that holds at least one socket: pid, command, network namespace, container (by
 * cgroup) and socket inodes — the same walk `ss -p` does over /proc/<pid>/fd.
 */
export function createProcessesCollector(scans: ProcessScans, options: ProcessesCollectorOptions = {}): Collector<'processes'> {
  const repeat = options.repeat;
  if (!repeat) {
    return {
      name: 'processes',
      provides: ['processes'],
      needs: [],
      collect: async ({ signal }) => {
        const r = await scans.full();
        signal.throwIfAborted();
        return toProcesses(r);
      },
    };
  }
  const { some: maybeSome, listPids: maybeList } = scans;
  if (!maybeSome || !maybeList) throw new Error('the repeating processes collector needs partial scans and a pid list');
  const some = maybeSome;
  const listPids = maybeList;
  const now = repeat.now ?? Date.now;
  const fullEveryMs = repeat.fullEveryMs;

  // What the walks found, by pid: the raw entry, or null for a process holding no socket.
  const known = new Map<number, RawProcessEntry | null>();
  let denied: ProcScanResult['denied'] = [];
  // Socket inodes the last full walk could not place (held by a process whose fds are unreadable, or by none
  // visible here): not looked for again until the next full walk.
  let unplaced = new Set<number>();
  let lastFullMs = -Infinity;

  const remember = (r: ProcScanResult) => {
    const found = new Map(r.entries.map((e) => [e.pid, e]));
    for (const pid of r.scanned) known.set(pid, found.get(pid) ?? null);
  };
  const held = () => {
    const inodes = new Set<number>();
    for (const e of known.values()) if (e) for (const inode of toProcess(e).socketInodes) inodes.add(inode);
    return inodes;
  };

  return {
    name: 'processes',
    provides: ['processes'],
    needs: ['sockets'],
    collect: ({ parts, signal }) => collectAgain(parts.sockets ?? [], false, signal),
  };

  async function collectAgain(tables: readonly NetnsSockets[], forceFull: boolean, signal: AbortSignal): Promise<ReturnType<typeof toProcesses>> {
    const t = now();
    if (forceFull || t - lastFullMs >= fullEveryMs) {
      const r = await scans.full();
      // Timed out while the walk ran: what it found is not this collection's, and the caches stay as they were.
      signal.throwIfAborted();
      known.clear();
      remember(r);
      denied = r.denied;
      lastFullMs = t;
      const h = held();
      unplaced = new Set([...socketInodes(tables).keys()].filter((i) => !h.has(i)));
      return toProcesses({ entries: entries(), denied, scanned: r.scanned });
    }
    const alive = new Set(listPids());
    for (const pid of known.keys()) if (!alive.has(pid)) known.delete(pid);
    const born = [...alive].filter((pid) => !known.has(pid));
    let h = held();
    const unknown = [...socketInodes(tables)].filter(([inode]) => !h.has(inode) && !unplaced.has(inode));
    const where = new Set(unknown.map(([, netns]) => netns));
    const suspects = [...known].filter(([, e]) => e && where.has(toProcess(e).netns)).map(([pid]) => pid);
    // A process with no socket last time may hold the new one, so in those namespaces every process is a suspect:
    // their namespaces are only known for holders, hence all socketless processes too when anything is unknown.
    if (unknown.length > 0) for (const [pid, e] of known) if (e === null) suspects.push(pid);
    const walk = [...new Set([...born, ...suspects])];
    if (walk.length > 0) {
      const r = some(walk);
      remember(r);
      denied = mergeDenied(denied, r.denied, alive);
      h = held();
    }
    // Held by a process in another namespace (dockerd's embedded DNS sockets in a new container), or by one whose
    // fds are unreadable: walk all — but not more often than every few seconds, for the second kind.
    if (unknown.some(([inode]) => !h.has(inode)) && t - lastFullMs >= FORCED_FULL_GAP_MS) return collectAgain(tables, true, signal);
    return toProcesses({ entries: entries(), denied: denied.filter((d) => alive.has(d.pid)), scanned: [...known.keys()] });
  }

  function entries(): RawProcessEntry[] {
    const out: RawProcessEntry[] = [];
    for (const e of known.values()) if (e) out.push(e);
    return out.sort((a, b) => a.pid - b.pid);
  }
}

// Shortest time between two full walks forced by sockets no process was found holding.
const FORCED_FULL_GAP_MS = 5_000;

/** Non-zero socket inodes of the tables, with their namespace (TIME_WAIT and request sockets have inode 0). */
function socketInodes(tables: readonly NetnsSockets[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of tables) for (const s of t.sockets) if (s.inode !== 0) out.set(s.inode, t.netns);
  return out;
}


function mergeDenied(before: ProcScanResult['denied'], now: ProcScanResult['denied'], alive: ReadonlySet<number>): ProcScanResult['denied'] {
  const byPid = new Map(before.filter((d) => alive.has(d.pid)).map((d) => [d.pid, d]));
  for (const d of now) byPid.set(d.pid, d);
  return [...byPid.values()];
}

// Parsed once per walked entry: a repeating collection hands the same entries out again and again.
const parsed = new WeakMap<RawProcessEntry, ProcessInfo>();

function toProcess(e: RawProcessEntry): ProcessInfo {
  let p = parsed.get(e);
  if (p) return p;
  const socketInodes: number[] = [];
  for (const link of e.socketLinks) {
    const inode = parseSocketLink(link);
    if (inode !== undefined) socketInodes.push(inode);
  }
  const containerId = parsePidCgroup(e.cgroup);
  p = { pid: e.pid, command: e.comm, netns: parseNsLink(e.netLink), ...(containerId ? { containerId } : {}), socketInodes };
  parsed.set(e, p);
  return p;
}

function toProcesses({ entries, denied }: ProcScanResult): { processes: ProcessInfo[]; issues: { source: string; message: string; count: number }[] } {
  const processes = entries.map(toProcess);
  const names = denied.slice(0, 5).map((d) => `${d.pid} ${d.comm}`).join(', ');
  const issues = denied.length > 0
    ? [{ source: 'processes', message: `permission denied reading the fds of ${denied.length} process(es) (${names}${denied.length > 5 ? ', …' : ''}): their sockets show no owner (run as root with CAP_SYS_PTRACE)`, count: 1 }]
    : [];
  return { processes, issues };
}
