// Topology and traffic history in SQLite (better-sqlite3, WAL): only changes are written. Each node, edge and
// the warnings are stored as versions valid over [from_ms, to_ms); a version stays open (to_ms NULL) while
// it is unchanged. `runs` records when the agent was collecting, so a time when it was not answers "no
// history" instead of a stale guess. A kill -9 loses at most the transaction of the running tick; WAL keeps
// the file consistent.
//
// History never lies about a write that failed (a full disk, an I/O error): what the store remembers of the
// open versions changes only after a transaction commits, so memory and file never disagree. From the first
// failed write on, history is *broken* since the last tick that was written; every later record() retries,
// and the first that commits closes what was open at that tick, records the span in `gaps` with its reason,
// starts a new run and writes the whole state afresh. `?at=` in the span answers that history is broken
// there (and why), never the state before it.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Topology, TopologyEdge, TopologyNode } from '../core/model/topology.js';
import { jsonOf } from '../core/topology/diff-topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import { DEFAULT_RETENTION_MS } from './retention.js';

/** One stored traffic sample of a container. */
export interface TrafficRow {
  readonly containerId: string;
  readonly atMs: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytesPerSec: number | null;
  readonly txBytesPerSec: number | null;
}

/** A span history could not be written (a full disk…): nothing is known about it. */
export interface BrokenSpan {
  /** The last tick written before the failure. */
  readonly fromMs: number;
  /** The first tick written after it; null while writes still fail. */
  readonly toMs: number | null;
  /** The first error, e.g. `SQLITE_FULL: database or disk is full`. */
  readonly reason: string;
}

/** What one record() did. */
export type HistoryWrite =
  | { readonly ok: true; /** Set when this write ended a broken span. */ readonly recovered?: BrokenSpan }
  | { readonly ok: false; readonly error: Error; /** True for the write that broke history (false while it stays broken). */ readonly first: boolean; readonly brokenSinceMs: number };

/** How history writing is doing, for /api/v1/status and /metrics. */
export interface HistoryHealth {
  /** False from a failed write until a write succeeds again. */
  readonly ok: boolean;
  /** Failed writes (record and prune) since the agent started. */
  readonly writeFailures: number;
  readonly lastError?: { readonly atMs: number; readonly message: string };
  /** While broken: the last tick written. */
  readonly brokenSinceMs?: number;
}

/** The history store the agent writes and the server reads. */
export interface HistoryStore {
  /** Path of the database file. */
  readonly file: string;
  /**
   * Records the state at `atMs`: writes what changed since the last call, and extends the current run. Never
   * throws on a failed write: it says so, and the next call retries (see the file's comment).
   */
  record(atMs: number, topology: Topology, traffic: ReadonlyMap<string, ContainerTraffic>): HistoryWrite;
  /** The topology as it was at `atMs`; undefined when portolan was not collecting then (or it was pruned). */
  topologyAt(atMs: number): Topology | undefined;
  /** The broken span `atMs` falls in (strictly after its last written tick), if any. */
  brokenAt(atMs: number): BrokenSpan | undefined;
  /** Broken spans overlapping [sinceMs, untilMs], oldest first; the current one (toMs null) last. */
  brokenSpans(sinceMs: number, untilMs: number): BrokenSpan[];
  /** Whether writes succeed, and how many failed. */
  health(): HistoryHealth;
  /** Stored traffic samples of one container in [sinceMs, untilMs], oldest first. */
  traffic(containerId: string, sinceMs: number, untilMs: number): TrafficRow[];
  /** First and last instant history covers; undefined when empty. */
  range(): { readonly firstMs: number; readonly lastMs: number } | undefined;
  /** The runs (times portolan was collecting) overlapping [sinceMs, untilMs], oldest first. */
  runs(sinceMs: number, untilMs: number): HistoryRun[];
  /**
   * The instants in [sinceMs, untilMs] at which the stored topology changed, ascending and distinct: where a
   * version of a node, an edge or the warnings began or ended, and where a run began or (for runs other than
   * the current one) ended. At most `limit`, the earliest first.
   */
  changes(sinceMs: number, untilMs: number, limit: number): number[];
  /** Deletes what is older than the retention; returns the rows removed. */
  prune(nowMs: number): number;
  /** Bytes on disk (database + WAL). */
  sizeBytes(): number;
  close(): void;
}

/** A time portolan was collecting: from its start to its last recorded tick. */
export interface HistoryRun {
  readonly startMs: number;
  readonly lastMs: number;
}

/** Options of openHistory. */
export interface HistoryOptions {
  /** Directory holding `history.sqlite` (created 0700 when missing). */
  readonly dir: string;
  /** Age beyond which history is deleted (default 7 days). */
  readonly retentionMs?: number;
  /** Shortest gap between two stored traffic samples of a container (default 30 s). */
  readonly trafficStepMs?: number;
  /** Host name written into topologies read back. */
  readonly hostname?: string;
  /** Wall clock (for the start of the run). */
  readonly now?: () => number;
  /**
   * A hard cap on the file, in database pages (SQLite's max_page_count, 4 KiB each): writes that need more
   * fail with SQLITE_FULL, exactly as on a full disk. Default: none.
   */
  readonly maxPageCount?: number;
}

export { DEFAULT_RETENTION_MS } from './retention.js';

/** Schema migrations, applied in order; PRAGMA user_version counts the applied ones. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE runs (id INTEGER PRIMARY KEY, started_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL);
   CREATE TABLE versions (
     kind TEXT NOT NULL CHECK (kind IN ('node', 'edge', 'warnings')),
     key TEXT NOT NULL,
     from_ms INTEGER NOT NULL,
     to_ms INTEGER,
     body TEXT NOT NULL
   );
   CREATE INDEX versions_open ON versions (kind, key) WHERE to_ms IS NULL;
   CREATE INDEX versions_from ON versions (from_ms);
   CREATE INDEX versions_to ON versions (to_ms);
   CREATE TABLE traffic (
     container_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
     rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL, rx_packets INTEGER NOT NULL, tx_packets INTEGER NOT NULL,
     rx_rate REAL, tx_rate REAL,
     PRIMARY KEY (container_id, at_ms)
   ) WITHOUT ROWID;
   CREATE INDEX traffic_at ON traffic (at_ms);`,
  // Spans a write failed for (from the last tick written to the first written again), with the first error.
  `CREATE TABLE gaps (from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, reason TEXT NOT NULL);
   CREATE INDEX gaps_to ON gaps (to_ms);`,
];

/** Opens (creating or migrating) the history database in `dir`. */
export function openHistory(options: HistoryOptions): HistoryStore {
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const file = path.join(options.dir, 'history.sqlite');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash (kill -9); only a power loss may drop the last ones.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.max(1, Math.trunc(options.maxPageCount))}`);

  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const trafficStepMs = options.trafficStepMs ?? 30_000;
  const hostname = options.hostname ?? '';
  const now = options.now ?? Date.now;

  const q = {
    lastRun: db.prepare<[], { id: number; last_ms: number }>('SELECT id, last_ms FROM runs ORDER BY id DESC LIMIT 1'),
    closeAllOpen: db.prepare<[number]>('UPDATE versions SET to_ms = ? WHERE to_ms IS NULL'),
    newRun: db.prepare<[number, number]>('INSERT INTO runs (started_ms, last_ms) VALUES (?, ?)'),
    extendRun: db.prepare<[number, number]>('UPDATE runs SET last_ms = ? WHERE id = ?'),
    runAt: db.prepare<[number, number], { id: number }>('SELECT id FROM runs WHERE started_ms <= ? AND last_ms >= ? LIMIT 1'),
    open: db.prepare<[string, string, number, string]>('INSERT INTO versions (kind, key, from_ms, to_ms, body) VALUES (?, ?, ?, NULL, ?)'),
    close: db.prepare<[number, string, string]>('UPDATE versions SET to_ms = ? WHERE kind = ? AND key = ? AND to_ms IS NULL'),
    at: db.prepare<[number, number], { kind: string; body: string }>(
      'SELECT kind, body FROM versions WHERE from_ms <= ? AND (to_ms IS NULL OR to_ms > ?) ORDER BY rowid'),
    range: db.prepare<[], { first: number | null; last: number | null }>('SELECT MIN(started_ms) AS first, MAX(last_ms) AS last FROM runs'),
    runs: db.prepare<[number, number], { id: number; started_ms: number; last_ms: number }>(
      'SELECT id, started_ms, last_ms FROM runs WHERE last_ms >= ? AND started_ms <= ? ORDER BY started_ms'),
    // UNION (not UNION ALL) makes the instants distinct; each arm uses the index on its column.
    changes: db.prepare<[number, number, number, number, number, number, number, number, number, number], { t: number }>(
      `SELECT t FROM (
         SELECT from_ms AS t FROM versions WHERE from_ms >= ? AND from_ms <= ?
         UNION SELECT to_ms FROM versions WHERE to_ms >= ? AND to_ms <= ?
         UNION SELECT started_ms FROM runs WHERE started_ms >= ? AND started_ms <= ?
         UNION SELECT last_ms FROM runs WHERE last_ms >= ? AND last_ms <= ? AND id <> ?
       ) ORDER BY t LIMIT ?`),
    insertTraffic: db.prepare<[string, number, number, number, number, number, number | null, number | null]>(
      'INSERT OR REPLACE INTO traffic (container_id, at_ms, rx_bytes, tx_bytes, rx_packets, tx_packets, rx_rate, tx_rate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    traffic: db.prepare<[string, number, number], { container_id: string; at_ms: number; rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number; rx_rate: number | null; tx_rate: number | null }>(
      'SELECT * FROM traffic WHERE container_id = ? AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms'),
    pruneVersions: db.prepare<[number]>('DELETE FROM versions WHERE to_ms IS NOT NULL AND to_ms < ?'),
    pruneTraffic: db.prepare<[number]>('DELETE FROM traffic WHERE at_ms < ?'),
    pruneRuns: db.prepare<[number]>('DELETE FROM runs WHERE last_ms < ?'),
    pruneGaps: db.prepare<[number]>('DELETE FROM gaps WHERE to_ms < ?'),
    newGap: db.prepare<[number, number, string]>('INSERT INTO gaps (from_ms, to_ms, reason) VALUES (?, ?, ?)'),
    gapAt: db.prepare<[number, number], { from_ms: number; to_ms: number; reason: string }>('SELECT from_ms, to_ms, reason FROM gaps WHERE from_ms < ? AND to_ms > ? LIMIT 1'),
    gaps: db.prepare<[number, number], { from_ms: number; to_ms: number; reason: string }>('SELECT from_ms, to_ms, reason FROM gaps WHERE to_ms >= ? AND from_ms <= ? ORDER BY from_ms'),
    trimRuns: db.prepare<[number, number]>('UPDATE runs SET started_ms = ? WHERE started_ms < ?'),
  };

  // A previous agent that died (kill -9, power loss) left versions open: they were true until its last tick.
  const startMs = now();
  let runId = 0;
  db.transaction(() => {
    const last = q.lastRun.get();
    if (last) q.closeAllOpen.run(last.last_ms);
    runId = Number(q.newRun.run(startMs, startMs).lastInsertRowid);
  })();

  /** Open versions as their JSON text, by `kind|key`, so an unchanged item costs a string compare. Committed state only. */
  let current = new Map<string, string>();
  let lastTraffic = new Map<string, { atMs: number; rx: number; tx: number }>();
  let lastWrittenMs = startMs;
  let broken: { sinceMs: number; reason: string } | undefined;
  let writeFailures = 0;
  let lastError: { atMs: number; message: string } | undefined;

  /** What a transaction will change in memory once it commits. */
  interface Pending {
    readonly set: [string, string][];
    readonly drop: string[];
    readonly traffic: [string, { atMs: number; rx: number; tx: number }][];
  }

  /** Writes the changes from `base` (the committed open versions) to this state; returns them for memory. */
  function writeState(atMs: number, base: ReadonlyMap<string, string>, baseTraffic: ReadonlyMap<string, { atMs: number; rx: number; tx: number }>,
    topology: Topology, traffic: ReadonlyMap<string, ContainerTraffic>): Pending {
    const pending: Pending = { set: [], drop: [], traffic: [] };
    const seen = new Set<string>();
    const put = (kind: 'node' | 'edge' | 'warnings', key: string, body: string) => {
      const k = `${kind}|${key}`;
      seen.add(k);
      const old = base.get(k);
      if (old === body) return;
      if (old !== undefined) q.close.run(atMs, kind, key);
      q.open.run(kind, key, atMs, body);
      pending.set.push([k, body]);
    };
    for (const n of topology.nodes) put('node', n.id, jsonOf(n));
    // Per-connection details churn with every ephemeral port and traffic with every byte: history keeps the
    // edge's shape (traffic history is per container, below).
    for (const e of topology.edges) put('edge', e.id, edgeShapeJson(e));
    put('warnings', '', JSON.stringify(topology.warnings));
    for (const k of base.keys()) {
      if (seen.has(k)) continue;
      const i = k.indexOf('|');
      q.close.run(atMs, k.slice(0, i), k.slice(i + 1));
      pending.drop.push(k);
    }
    for (const [id, t] of traffic) {
      const last = baseTraffic.get(id);
      if (last && (atMs - last.atMs < trafficStepMs || (last.rx === t.rxBytes && last.tx === t.txBytes))) continue;
      q.insertTraffic.run(id, atMs, t.rxBytes, t.txBytes, t.rxPackets, t.txPackets, t.rxBytesPerSec ?? null, t.txBytesPerSec ?? null);
      pending.traffic.push([id, { atMs, rx: t.rxBytes, tx: t.txBytes }]);
    }
    q.extendRun.run(atMs, runId);
    return pending;
  }

  const recordChanges = db.transaction((atMs: number, topology: Topology, traffic: ReadonlyMap<string, ContainerTraffic>) =>
    writeState(atMs, current, lastTraffic, topology, traffic));

  // After a broken span: end the old run at its last written tick, record the span, start a new run with
  // the whole state.
  const recordRecovery = db.transaction((atMs: number, since: { sinceMs: number; reason: string }, topology: Topology, traffic: ReadonlyMap<string, ContainerTraffic>) => {
    q.closeAllOpen.run(since.sinceMs);
    q.newGap.run(since.sinceMs, atMs, since.reason);
    runId = Number(q.newRun.run(atMs, atMs).lastInsertRowid);
    return writeState(atMs, new Map(), new Map(), topology, traffic);
  });

  function fail(atMs: number, err: unknown): HistoryWrite {
    const error = err instanceof Error ? err : new Error(String(err));
    const code = (error as { code?: unknown }).code;
    const message = typeof code === 'string' && !error.message.startsWith(code) ? `${code}: ${error.message}` : error.message;
    writeFailures++;
    lastError = { atMs, message };
    const first = broken === undefined;
    broken ??= { sinceMs: lastWrittenMs, reason: message };
    return { ok: false, error, first, brokenSinceMs: broken.sinceMs };
  }

  const self: HistoryStore = {
    file,
    record(atMs, topology, traffic) {
      const recovering = broken;
      const runBefore = runId;
      let pending: Pending;
      try {
        pending = recovering ? recordRecovery(atMs, recovering, topology, traffic) : recordChanges(atMs, topology, traffic);
      } catch (err) {
        // Rolled back: memory still describes what the file holds.
        runId = runBefore;
        return fail(atMs, err);
      }
      // Committed: now memory follows.
      if (recovering) {
        current = new Map();
        lastTraffic = new Map();
      }
      for (const [k, body] of pending.set) current.set(k, body);
      for (const k of pending.drop) current.delete(k);
      for (const [id, t] of pending.traffic) lastTraffic.set(id, t);
      for (const id of [...lastTraffic.keys()]) if (!traffic.has(id)) lastTraffic.delete(id);
      lastWrittenMs = atMs;
      broken = undefined;
      return recovering ? { ok: true, recovered: { fromMs: recovering.sinceMs, toMs: atMs, reason: recovering.reason } } : { ok: true };
    },
    brokenAt(atMs) {
      if (broken && atMs > broken.sinceMs) return { fromMs: broken.sinceMs, toMs: null, reason: broken.reason };
      const g = q.gapAt.get(atMs, atMs);
      return g ? { fromMs: g.from_ms, toMs: g.to_ms, reason: g.reason } : undefined;
    },
    brokenSpans(sinceMs, untilMs) {
      const spans: BrokenSpan[] = q.gaps.all(sinceMs, untilMs).map((g) => ({ fromMs: g.from_ms, toMs: g.to_ms, reason: g.reason }));
      if (broken && broken.sinceMs <= untilMs) spans.push({ fromMs: broken.sinceMs, toMs: null, reason: broken.reason });
      return spans;
    },
    health() {
      return {
        ok: broken === undefined, writeFailures,
        ...(lastError ? { lastError } : {}),
        ...(broken ? { brokenSinceMs: broken.sinceMs } : {}),
      };
    },
    topologyAt(atMs) {
      if (!q.runAt.get(atMs, atMs)) return undefined;
      const nodes: TopologyNode[] = [];
      const edges: TopologyEdge[] = [];
      let warnings: string[] = [];
      for (const row of q.at.all(atMs, atMs)) {
        if (row.kind === 'node') nodes.push(JSON.parse(row.body) as TopologyNode);
        else if (row.kind === 'edge') edges.push(JSON.parse(row.body) as TopologyEdge);
        else warnings = JSON.parse(row.body) as string[];
      }
      const nameOf = new Map(nodes.map((n) => [n.id, n.name]));
      nodes.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      edges.sort((a, b) => (nameOf.get(a.from) ?? a.from).localeCompare(nameOf.get(b.from) ?? b.from) ||
        (nameOf.get(a.to) ?? a.to).localeCompare(nameOf.get(b.to) ?? b.to) || a.port - b.port || a.id.localeCompare(b.id));
      return { takenAt: new Date(atMs).toISOString(), hostname, warnings, nodes, edges };
    },
    traffic(containerId, sinceMs, untilMs) {
      return q.traffic.all(containerId, sinceMs, untilMs).map((r) => ({
        containerId: r.container_id, atMs: r.at_ms, rxBytes: r.rx_bytes, txBytes: r.tx_bytes, rxPackets: r.rx_packets, txPackets: r.tx_packets,
        rxBytesPerSec: r.rx_rate, txBytesPerSec: r.tx_rate,
      }));
    },
    range() {
      const r = q.range.get();
      return r && r.first !== null && r.last !== null ? { firstMs: r.first, lastMs: r.last } : undefined;
    },
    runs(sinceMs, untilMs) {
      return q.runs.all(sinceMs, untilMs).map((r) => ({ startMs: r.started_ms, lastMs: r.last_ms }));
    },
    changes(sinceMs, untilMs, limit) {
      // The current run's last tick is "now", not a change: it moves with every collection.
      return q.changes.all(sinceMs, untilMs, sinceMs, untilMs, sinceMs, untilMs, sinceMs, untilMs, runId, limit).map((r) => r.t);
    },
    prune(nowMs) {
      const cutoff = nowMs - retentionMs;
      try {
        const removed = db.transaction(() => {
          const n = q.pruneVersions.run(cutoff).changes + q.pruneTraffic.run(cutoff).changes + q.pruneRuns.run(cutoff).changes +
            q.pruneGaps.run(cutoff).changes;
          // A run that began before the cutoff now covers only what is kept.
          q.trimRuns.run(cutoff, cutoff);
          return n;
        })();
        if (removed > 0) db.pragma('wal_checkpoint(TRUNCATE)');
        return removed;
      } catch (err) {
        // Nothing in memory depends on it; counted, and the caller logs it.
        writeFailures++;
        lastError = { atMs: nowMs, message: (err as Error).message };
        throw err;
      }
    },
    sizeBytes() {
      let total = 0;
      for (const f of [file, `${file}-wal`]) {
        try {
          total += fs.statSync(f).size;
        } catch (err) {
          // No WAL file between checkpoints is normal.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      return total;
    },
    close() {
      db.close();
    },
  };
  return self;
}

// The order buildTopology lists nodes in.
const KIND_ORDER: Record<TopologyNode['kind'], number> = { container: 0, process: 1, host: 2, external: 3 };

// An idle agent records the same edge objects tick after tick: each one's shape is serialised once.
const shapes = new WeakMap<TopologyEdge, string>();

function edgeShapeJson(e: TopologyEdge): string {
  let text = shapes.get(e);
  if (text === undefined) {
    const { details: _d, traffic: _t, sflow, ...rest } = e;
    // sFlow's estimate moves with every sample: history keeps that sFlow saw the edge, through which agents and rates.
    text = JSON.stringify(sflow ? { ...rest, sflow: { bytesSource: sflow.bytesSource, agents: sflow.agents, samplingRates: sflow.samplingRates } } : rest);
    shapes.set(e, text);
  }
  return text;
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`history database schema version ${version} is newer than this portolan knows (${MIGRATIONS.length}): upgrade portolan or use another --data directory`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
