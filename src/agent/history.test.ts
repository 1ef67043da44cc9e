import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { withoutContainers } from '../../test/fixtures/agent/fake-collection.js';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { EdgeSflow, Topology } from '../core/model/topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { diffTopology } from '../core/topology/diff-topology.js';
import { openHistory } from './history.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-history-'));
  dirs.push(d);
  return d;
};
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

const count = (file: string, table: string) => {
  const db = new Database(file, { readonly: true });
  try { return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n; } finally { db.close(); }
};
const strip = (t: ReturnType<typeof buildTopology>) => ({ ...t, takenAt: '', edges: t.edges.map(({ details: _d, ...e }) => e) });
const traffic = (rx: number): Map<string, ContainerTraffic> => new Map([[IDS.web, {
  rxBytes: rx, txBytes: 2 * rx, rxPackets: 1, txPackets: 1, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0, scope: 'container', interfaces: [],
}]]);

describe('openHistory', () => {
  it('stores changes only and answers the topology at any time it covers', () => {
    const dir = tmp();
    const h = openHistory({ dir, now: () => 1000, trafficStepMs: 0 });
    const a = buildTopology(syntheticSnapshot());
    const b = buildTopology(withoutContainers(syntheticSnapshot(), [IDS.udpc]));
    h.record(1000, a, traffic(10));
    const rows = count(h.file, 'versions');
    h.record(2000, a, traffic(10));
    h.record(3000, a, traffic(10));
    // Unchanged state writes nothing but the run's heartbeat; unchanged counters no traffic row.
    expect(count(h.file, 'versions')).toBe(rows);
    expect(count(h.file, 'traffic')).toBe(1);
    h.record(4000, b, traffic(20));
    // One new version per item added or changed; removed ones are only closed.
    const d = diffTopology(a, b);
    const changed = d.nodes.added.length + d.nodes.updated.length + d.edges.added.length + d.edges.updated.length + (d.warnings ? 1 : 0);
    expect(d.nodes.removed).toContain(IDS.udpc);
    expect(count(h.file, 'versions')).toBe(rows + changed);
    expect(count(h.file, 'traffic')).toBe(2);
    expect(strip(h.topologyAt(2500) ?? a)).toEqual({ ...strip(a), hostname: '' });
    expect(h.topologyAt(4000)?.nodes.some((n) => n.id === IDS.udpc)).toBe(false);
    expect(h.topologyAt(999)).toBeUndefined();
    expect(h.topologyAt(4001)).toBeUndefined();
    expect(h.range()).toEqual({ firstMs: 1000, lastMs: 4000 });
    expect(h.traffic(IDS.web, 0, 5000).map((r) => r.rxBytes)).toEqual([10, 20]);
    h.close();
  });

  it('after a crash, what was open ends at the last tick; the time away has no history', () => {
    const dir = tmp();
    const a = buildTopology(syntheticSnapshot());
    const h1 = openHistory({ dir, now: () => 1000 });
    h1.record(1000, a, new Map());
    h1.record(2000, a, new Map());
    // No close(): as if killed. A second agent opens the same file.
    const h2 = openHistory({ dir, now: () => 10_000 });
    h2.record(10_000, a, new Map());
    expect(h2.topologyAt(1500)?.nodes.length).toBe(a.nodes.length);
    expect(h2.topologyAt(5000)).toBeUndefined();
    expect(h2.topologyAt(10_000)?.nodes.length).toBe(a.nodes.length);
    h1.close();
    h2.close();
  });

  it('lists the instants the topology changed at, and the runs', () => {
    const dir = tmp();
    const a = buildTopology(syntheticSnapshot());
    const b = buildTopology(withoutContainers(syntheticSnapshot(), [IDS.udpc]));
    const h1 = openHistory({ dir, now: () => 500 });
    h1.record(1000, a, new Map());
    h1.record(2000, a, new Map());
    h1.record(3000, b, new Map());
    h1.record(4000, b, new Map());
    // The run's start, the first record, the change; the current run's last tick is "now", not a change.
    expect(h1.changes(0, 10_000, 100)).toEqual([500, 1000, 3000]);
    expect(h1.changes(900, 2999, 100)).toEqual([1000]);
    expect(h1.changes(0, 10_000, 2)).toEqual([500, 1000]);
    const names = (t: ReturnType<typeof h1.topologyAt>) => t?.nodes.map((n) => n.id).sort();
    expect(names(h1.topologyAt(2999))).not.toEqual(names(h1.topologyAt(3000)));
    // A second agent after a crash: the first run's end closed what was open, so it is a change too.
    const h2 = openHistory({ dir, now: () => 10_000 });
    h2.record(11_000, a, new Map());
    expect(h2.changes(0, 20_000, 100)).toEqual([500, 1000, 3000, 4000, 10_000, 11_000]);
    expect(h2.runs(0, 20_000)).toEqual([{ startMs: 500, lastMs: 4000 }, { startMs: 10_000, lastMs: 11_000 }]);
    expect(h2.runs(5000, 9000)).toEqual([]);
    expect(h2.runs(3500, 10_000)).toEqual([{ startMs: 500, lastMs: 4000 }, { startMs: 10_000, lastMs: 11_000 }]);
    h1.close();
    h2.close();
  });

  it('prunes what is older than the retention', () => {
    const dir = tmp();
    const h = openHistory({ dir, now: () => 0, retentionMs: 10_000, trafficStepMs: 0 });
    const a = buildTopology(syntheticSnapshot());
    const b = buildTopology(withoutContainers(syntheticSnapshot(), [IDS.udpc]));
    h.record(0, a, traffic(1));
    h.record(5000, b, traffic(2));
    h.record(20_000, b, traffic(3));
    expect(h.prune(20_000)).toBeGreaterThan(0);
    expect(h.topologyAt(2000)).toBeUndefined();
    expect(h.topologyAt(15_000)?.nodes.length).toBe(b.nodes.length);
    expect(h.traffic(IDS.web, 0, 30_000).map((r) => r.rxBytes)).toEqual([3]);
    h.close();
  });

  it('migrates a new file and refuses a schema from the future', () => {
    const dir = tmp();
    openHistory({ dir }).close();
    const db = new Database(path.join(dir, 'history.sqlite'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.pragma('user_version = 99');
    db.close();
    expect(() => openHistory({ dir })).toThrow(/schema version 99 is newer/);
  });

  it('keeps sFlow edges with where sFlow saw them, not their moving estimate', () => {
    const h = openHistory({ dir: tmp(), now: () => 1000 });
    const base = buildTopology(syntheticSnapshot());
    const sflow = (bytes: number): EdgeSflow => ({
      bytesSource: 'sflow', agents: ['10.0.0.9'], samplingRates: [10], bytesSent: bytes, bytesReceived: 0, packetsSent: 1, packetsReceived: 0,
      bytesSentPerSec: bytes, bytesReceivedPerSec: 0, samples: 1, errorPercent: 196, firstSampleAt: '', lastSampleAt: '',
    });
    const withSflow = (bytes: number): Topology => ({
      ...base,
      edges: [...base.edges, { id: `${IDS.web}->external:203.0.113.9/udp/53`, from: IDS.web, to: 'external:203.0.113.9', protocol: 'udp', port: 53, connections: 0, states: {}, via: [], sflow: sflow(bytes) }],
      nodes: [...base.nodes, { kind: 'external', id: 'external:203.0.113.9', name: '203.0.113.9', address: '203.0.113.9' }],
    });
    h.record(1000, withSflow(100), new Map());
    const rows = count(h.file, 'versions');
    h.record(2000, withSflow(900), new Map());
    expect(count(h.file, 'versions')).toBe(rows);
    const back = h.topologyAt(1500)?.edges.find((e) => e.to === 'external:203.0.113.9');
    expect(back).toEqual({ id: `${IDS.web}->external:203.0.113.9/udp/53`, from: IDS.web, to: 'external:203.0.113.9', protocol: 'udp', port: 53, connections: 0, states: {}, via: [], sflow: { bytesSource: 'sflow', agents: ['10.0.0.9'], samplingRates: [10] } });
    h.close();
  });
});

describe('a full disk (issue #11: memory changed inside a transaction that rolled back; ghosts and missing containers after)', () => {
  // A container that starts while the disk is full, its image name big enough to need new pages.
  const started = (): ReturnType<typeof syntheticSnapshot> => {
    const s = syntheticSnapshot();
    const web = s.containers.find((c) => c.id === IDS.web);
    if (!web) throw new Error('no web');
    const late = { ...web, id: 'e'.repeat(63) + '9', name: 'late', image: `registry.example/${'x'.repeat(64 * 1024)}` };
    return { ...s, containers: [...s.containers, late], netns: { ...s.netns, containers: [...s.netns.containers, { containerId: late.id, netns: 4026532999, pid: 4242 }] } };
  };

  function fill(file: string, pages: number): Database.Database {
    // Another connection takes the space left under the cap: a filler table the test drops when "space returns".
    const db = new Database(file);
    db.exec('CREATE TABLE filler (b BLOB)');
    const ins = db.prepare('INSERT INTO filler VALUES (?)');
    while ((db.pragma('page_count', { simple: true }) as number) < pages) ins.run(Buffer.alloc(4000));
    return db;
  }

  it('a failed write changes nothing in memory, marks the span broken, and the first write after space returns is the truth', () => {
    const dir = tmp();
    const a = buildTopology(syntheticSnapshot());
    // The file may not grow past 400 pages (as a 1.6 MB disk).
    const h = openHistory({ dir, now: () => 1000, maxPageCount: 400 });
    expect(h.record(1000, a, new Map())).toEqual({ ok: true });
    expect(h.record(2000, a, new Map())).toEqual({ ok: true });
    expect(h.health()).toEqual({ ok: true, writeFailures: 0 });
    const filler = fill(h.file, 400);

    // Disk full: the late container starts and udpc stops.
    const full = buildTopology(withoutContainers(started(), [IDS.udpc]));
    const w1 = h.record(3000, full, new Map());
    expect(w1).toMatchObject({ ok: false, first: true, brokenSinceMs: 2000 });
    expect(!w1.ok && w1.error.message).toMatch(/full/);
    expect(h.record(4000, full, new Map())).toMatchObject({ ok: false, first: false, brokenSinceMs: 2000 });
    expect(h.health()).toMatchObject({ ok: false, writeFailures: 2, brokenSinceMs: 2000, lastError: { atMs: 4000, message: expect.stringMatching(/SQLITE_FULL/) } });
    // What was written is still answered; after it, history says it is broken, not the old state.
    expect(h.topologyAt(2000)?.nodes.some((n) => n.id === IDS.udpc)).toBe(true);
    expect(h.brokenAt(2000)).toBeUndefined();
    expect(h.brokenAt(3500)).toEqual({ fromMs: 2000, toMs: null, reason: expect.stringMatching(/SQLITE_FULL/) });

    // Space returns.
    filler.exec('DROP TABLE filler');
    filler.close();
    const w3 = h.record(5000, full, new Map());
    expect(w3).toEqual({ ok: true, recovered: { fromMs: 2000, toMs: 5000, reason: expect.stringMatching(/SQLITE_FULL/) } });
    expect(h.health()).toMatchObject({ ok: true, writeFailures: 2 });
    expect(h.health().brokenSinceMs).toBeUndefined();
    // The container started while the disk was full is there; the one that stopped is no ghost.
    const now = h.topologyAt(5000);
    expect(now?.nodes.some((n) => n.name === 'late')).toBe(true);
    expect(now?.nodes.some((n) => n.id === IDS.udpc)).toBe(false);
    // And the next writes are plain changes again: udpc comes back.
    expect(h.record(6000, buildTopology(started()), new Map())).toEqual({ ok: true });
    expect(h.topologyAt(6000)?.nodes.some((n) => n.id === IDS.udpc)).toBe(true);
    // The span is recorded: ?at= in it says so, runs end and start around it, and it is listed.
    expect(h.topologyAt(3000)).toBeUndefined();
    expect(h.brokenAt(3000)).toEqual({ fromMs: 2000, toMs: 5000, reason: expect.stringMatching(/SQLITE_FULL/) });
    expect(h.brokenAt(5000)).toBeUndefined();
    expect(h.runs(0, 10_000)).toEqual([{ startMs: 1000, lastMs: 2000 }, { startMs: 5000, lastMs: 6000 }]);
    expect(h.brokenSpans(0, 10_000)).toHaveLength(1);
    expect(h.changes(0, 10_000, 100)).toEqual(expect.arrayContaining([2000, 5000]));
    h.close();

    // A restart reads the same story from the file.
    const again = openHistory({ dir, now: () => 7000 });
    expect(again.brokenAt(3000)).toMatchObject({ fromMs: 2000, toMs: 5000 });
    expect(again.topologyAt(5500)?.nodes.some((n) => n.name === 'late')).toBe(true);
    again.close();
  });
});
