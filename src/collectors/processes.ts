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
  /**
   * How many fds a process has open now (one stat; 0 when the kernel does not say, which means "walk it"). With
   * `repeat`, most periodic walks then walk only the processes whose count changed.
   */
  readonly fdCount?: (pid: number) => number;
  /** The network namespace of a process (`/proc/<pid>/ns/net`), for `targeted` walks; throws as procfs does. */
  readonly netnsOf?: (pid: number) => number;
}

/** Options of the processes collector. */
export interface ProcessesCollectorOptions {
  /**
   * For collections that repeat (the agent, `top`): remember which process holds which socket and walk fds only
   * where something is new — processes born since, and the processes of a namespace where a socket no known
   * process holds appeared (every process when that does not find its holder) — plus every process once per
   * `fullEveryMs`, which bounds how long a socket handed to another process (fork, SCM_RIGHTS) shows its old
   * holder, or one that exited is still listed. With `fdCount`, that periodic walk takes one stat per process and
   * walks only those born since, gone, refused before or whose number of open fds changed (a socket received or
   * closed changes it); every tenth is a walk of everything, which bounds the rest (a process that closed one fd
   * and received a socket in between). Needs the sockets, so it runs after them instead of beside them.
   */
  readonly repeat?: { readonly fullEveryMs: number; readonly now?: () => number };
  /**
   * For a one-shot collection of a few namespaces (`ps --container`): after the sockets, walk the processes of the
   * namespaces read first, then the host's (dockerd's embedded DNS, docker-proxy), then every other one — each
   * step only while a socket of the tables has no holder yet. What it cannot see: a socket held both by a process
   * found and by one of another namespace (passed over a unix socket, or inherited across setns) lists only the
   * first. Needs `some`, `listPids` and `netnsOf`.
   */
  readonly targeted?: boolean;
}

/**
 * Lists every host process that holds at least one socket: pid, command, network namespace, container (by
 * cgroup) and socket inodes — the same walk `ss -p` does over /proc/<pid>/fd.
 */
export function createProcessesCollector(scans: ProcessScans, options: ProcessesCollectorOptions = {}): Collector<'processes'> {
  const repeat = options.repeat;
  if (options.targeted) return targetedCollector(scans);
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
  // When everything was last walked, and each process's fd count at its last walk.
  let lastWholeMs = -Infinity;
  const counts = new Map<number, number>();
  const countsOf = (r: ProcScanResult) => { for (const [pid, n] of r.fdCounts ?? []) counts.set(pid, n); };

  let last: { tables: readonly NetnsSockets[]; result: ReturnType<typeof toProcesses> } | undefined;

  const remember = (r: ProcScanResult, previous: ReadonlyMap<number, RawProcessEntry | null> = known) => {
    const found = new Map(r.entries.map((e) => [e.pid, e]));
    for (const pid of r.scanned) {
      const now = found.get(pid) ?? null;
      const before = previous.get(pid);
      // An entry walked again unchanged stays the same object, so that an unchanged answer is the same answer.
      known.set(pid, now && before && sameEntry(before, now) ? before : now);
    }
  };
  // The last answer, kept while the holders, the refusals and the sockets without an owner are the same.
  let answer: { entries: readonly RawProcessEntry[]; key: string; result: ReturnType<typeof toProcesses> } | undefined;
  const answerFor = (all: ProcScanResult, tables: readonly NetnsSockets[]): ReturnType<typeof toProcesses> => {
    // Only holders of sockets in the tables read matter (a process of a namespace portolan does not read, e.g. the
    // machine's own when the Docker host is another namespace, is nobody's owner here); and only they are compared.
    const inodes = socketInodes(tables);
    const r = { ...all, entries: all.entries.filter((e) => toProcess(e).socketInodes.some((i) => inodes.has(i))) };
    const unowned = r.denied.length > 0 ? countUnowned(r.entries, inodes) : 0;
    const key = `${unowned}|${r.denied.map((d) => `${d.pid} ${d.comm}`).join('|')}`;
    const sameEntries = answer !== undefined && answer.entries.length === r.entries.length && answer.entries.every((e, i) => e === r.entries[i]);
    if (answer && sameEntries && answer.key === key) return answer.result;
    // The same holders keep the same processes part, whatever the refusals say now.
    const result = toProcesses(r, unowned, sameEntries ? answer?.result.processes : undefined);
    answer = { entries: r.entries, key, result };
    return result;
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
    collect: async ({ parts, signal }) => {
      const tables = parts.sockets ?? [];
      // No socket table read again: no new socket to find a holder for. A process born since can only hold sockets
      // that already had holders (inherited by fork, passed by SCM_RIGHTS): like one that exited, it is seen at the
      // next collection that reads anything again, or at the next full walk.
      if (last && last.tables === tables && now() - lastFullMs < fullEveryMs) return last.result;
      const result = await collectAgain(tables, false, signal);
      last = { tables, result };
      return result;
    },
  };

  async function collectAgain(tables: readonly NetnsSockets[], forceFull: boolean, signal: AbortSignal): Promise<ReturnType<typeof toProcesses>> {
    const t = now();
    const fdCount = scans.fdCount;
    if (!forceFull && fdCount && t - lastFullMs >= fullEveryMs && t - lastWholeMs < fullEveryMs * WHOLE_EVERY) {
      // The periodic walk, by fd counts: walk what was born, refused, or whose count moved.
      const alive = listPids();
      const aliveSet = new Set(alive);
      for (const pid of known.keys()) if (!aliveSet.has(pid)) { known.delete(pid); counts.delete(pid); }
      const refused = new Set(denied.map((d) => d.pid));
      const walk: number[] = [];
      for (const pid of alive) {
        let n = 0;
        try {
          n = fdCount(pid);
        } catch (err) {
          // Gone since the listing (ENOENT), or unreadable (EACCES: walked, so that the refusal is said): either way, walk.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        }
        if (n === 0 || !known.has(pid) || refused.has(pid) || counts.get(pid) !== n) walk.push(pid);
      }
      const r = some(walk);
      remember(r);
      countsOf(r);
      denied = mergeDenied(denied.filter((d) => !walk.includes(d.pid)), r.denied, aliveSet);
      lastFullMs = t;
      const h = held();
      unplaced = new Set([...socketInodes(tables).keys()].filter((i) => !h.has(i)));
      return answerFor({ entries: entries(), denied, scanned: [...known.keys()] }, tables);
    }
    if (forceFull || t - lastFullMs >= fullEveryMs) {
      const r = await scans.full();
      // Timed out while the walk ran: what it found is not this collection's, and the caches stay as they were.
      signal.throwIfAborted();
      const previous = new Map(known);
      known.clear();
      remember(r, previous);
      counts.clear();
      countsOf(r);
      denied = r.denied;
      lastFullMs = t;
      lastWholeMs = t;
      const h = held();
      unplaced = new Set([...socketInodes(tables).keys()].filter((i) => !h.has(i)));
      return answerFor({ entries: entries(), denied, scanned: r.scanned }, tables);
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
      countsOf(r);
      denied = mergeDenied(denied, r.denied, alive);
      h = held();
    }
    // Held by a process in another namespace (dockerd's embedded DNS sockets in a new container), or by one whose
    // fds are unreadable: walk all — but not more often than every few seconds, for the second kind.
    if (unknown.some(([inode]) => !h.has(inode)) && t - lastFullMs >= FORCED_FULL_GAP_MS) return collectAgain(tables, true, signal);
    return answerFor({ entries: entries(), denied: denied.filter((d) => alive.has(d.pid)), scanned: [...known.keys()] }, tables);
  }

  function entries(): RawProcessEntry[] {
    const out: RawProcessEntry[] = [];
    for (const e of known.values()) if (e) out.push(e);
    return out.sort((a, b) => a.pid - b.pid);
  }
}

/** The `targeted` one-shot collector (see ProcessesCollectorOptions.targeted). */
function targetedCollector(scans: ProcessScans): Collector<'processes'> {
  const { some, listPids, netnsOf } = scans;
  if (!some || !listPids || !netnsOf) throw new Error('the targeted processes collector needs partial scans, a pid list and namespaces');
  return {
    name: 'processes',
    provides: ['processes'],
    needs: ['netns', 'sockets'],
    collect: async ({ parts, signal }) => {
      const tables = parts.sockets ?? [];
      const inodes = socketInodes(tables);
      const wanted = new Set(tables.map((t) => t.netns));
      const host = parts.netns?.host;
      const pids = listPids();
      const nsOf = new Map<number, number | undefined>();
      for (const pid of pids) {
        try {
          nsOf.set(pid, netnsOf(pid));
        } catch (err) {
          // Gone: nothing to walk. Unreadable (EACCES): walked last, so that the refusal is said if it matters.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') nsOf.set(pid, undefined);
        }
      }
      const entries: RawProcessEntry[] = [];
      const denied: ProcScanResult['denied'] = [];
      const held = new Set<number>();
      const walked = new Set<number>();
      const walk = (pick: (ns: number | undefined) => boolean) => {
        const batch = [...nsOf].filter(([pid, ns]) => !walked.has(pid) && pick(ns)).map(([pid]) => pid);
        for (const pid of batch) walked.add(pid);
        const r = some(batch);
        for (const e of r.entries) {
          entries.push(e);
          for (const i of toProcess(e).socketInodes) held.add(i);
        }
        denied.push(...r.denied);
      };
      const unheld = () => [...inodes.keys()].some((i) => !held.has(i));
      walk((ns) => ns !== undefined && wanted.has(ns));
      if (unheld()) walk((ns) => ns === host);
      if (unheld()) walk(() => true);
      signal.throwIfAborted();
      entries.sort((a, b) => a.pid - b.pid);
      return toProcesses({ entries, denied, scanned: [...walked] }, denied.length > 0 ? countUnowned(entries, inodes) : 0);
    },
  };
}

function sameEntry(a: RawProcessEntry, b: RawProcessEntry): boolean {
  return a.pid === b.pid && a.comm === b.comm && a.netLink === b.netLink && a.cgroup === b.cgroup &&
    a.socketLinks.length === b.socketLinks.length && a.socketLinks.every((l, i) => l === b.socketLinks[i]);
}

// Every this many periodic walks, one walks everything (the others walk what their fd counts point at).
const WHOLE_EVERY = 10;

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

/** How many socket inodes of the tables no entry holds. */
function countUnowned(entries: readonly RawProcessEntry[], inodes: ReadonlyMap<number, number>): number {
  const held = new Set<number>();
  for (const e of entries) for (const i of toProcess(e).socketInodes) held.add(i);
  let unowned = 0;
  for (const i of inodes.keys()) if (!held.has(i)) unowned++;
  return unowned;
}

/**
 * The processes part. Processes whose fds could not be read are worth a warning only while `unowned` sockets of the
 * tables have no known owner (they may hold them); when that is not known (one-shot collections, which walk beside
 * the dumps), whenever there are any.
 */
function toProcesses({ entries, denied }: ProcScanResult, unowned?: number, known?: ProcessInfo[]): { processes: ProcessInfo[]; issues: { source: string; message: string; count: number }[] } {
  const processes = known ?? entries.map(toProcess);
  const names = denied.slice(0, 5).map((d) => `${d.pid} ${d.comm}`).join(', ');
  const issues = denied.length > 0 && unowned !== 0
    ? [{ source: 'processes', message: `permission denied reading the fds of ${denied.length} process(es) (${names}${denied.length > 5 ? ', …' : ''}): ${unowned === undefined ? 'their sockets show' : `${unowned} socket(s) show`} no owner (run as root with CAP_SYS_PTRACE)`, count: 1 }]
    : [];
  return { processes, issues };
}
