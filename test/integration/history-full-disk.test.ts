// A full disk under `portolan serve`, for real: history lives on a 4 MiB tmpfs this test mounts, fills to
// ENOSPC and empties again. While the disk is full a container starts and another stops; the agent must say
// history is failing (status, /metrics), answer `?at=` in the span with "broken", and once space returns
// write the truth: the new container present, the stopped one no ghost — as `docker ps` says.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, name, run, testImage } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';

interface Status { history: { ok: boolean; writeFailures: number; lastError?: { message: string }; brokenSinceMs?: number } }
interface Topology { nodes: { id: string; name: string }[] }
interface History { lastMs: number; broken: { fromMs: number; toMs: number | null; reason: string }[] }

const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-enospc-'));
let mounted = false;
let agent: ServeProcess | undefined;

beforeAll(() => {
  testImage();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'portolan-enospc-test', mountDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
  mounted = true;
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  cleanup();
  if (mounted) spawnSync('umount', [mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

/** Writes a filler file until the filesystem says ENOSPC; returns its path. */
function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  // Bytes a partial block may have left: take them too.
  for (let size = 4096; size >= 1; size >>= 1) {
    try {
      fs.appendFileSync(file, Buffer.alloc(size));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
  }
  return file;
}

describe('portolan serve: history on a disk that fills up and empties again', () => {
  it('says history is failing, answers "broken" for the span, and writes the truth once space returns', async () => {
    const data = path.join(mountDir, 'data');
    run('before', [], ['node', '/opt/peer.mjs', 'tcp-server', '8080']);
    agent = await startServe(['--interval', '1', '--data', data, '--no-dns']);
    const base = agent.base;
    await eventually(async () => (await getJson<Topology>(`${base}/api/v1/topology`)).body.nodes?.some((n) => n.name === name('before')), 30_000, 'before in the topology');

    const filler = fillDisk(mountDir);
    // The disk is full: one container stops, another starts.
    docker('rm', '-f', name('before'));
    run('during', [], ['node', '/opt/peer.mjs', 'tcp-server', '8080']);
    const failing = await eventually(async () => {
      const s = (await getJson<Status>(`${base}/api/v1/status`)).body;
      return s.history.ok === false ? s : undefined;
    }, 30_000, 'status to say history is failing');
    expect(failing.history.writeFailures).toBeGreaterThan(0);
    expect(failing.history.lastError?.message).toMatch(/full|SQLITE_FULL|disk/i);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^portolan_history_ok 0$/m);
    expect(metrics).toMatch(/^portolan_history_write_failures_total [1-9]\d*$/m);
    // The live API still follows Docker; history for now says it is broken.
    await eventually(async () => (await getJson<Topology>(`${base}/api/v1/topology`)).body.nodes?.some((n) => n.name === name('during')), 30_000, 'during in the live topology');
    const now = await getJson<{ code: string; message: string }>(`${base}/api/v1/topology?at=-1ms`);
    expect(now.status).toBe(404);
    expect(now.body).toMatchObject({ code: 'history_broken' });
    const brokenSince = failing.history.brokenSinceMs ?? 0;

    // Space returns.
    fs.rmSync(filler);
    await eventually(async () => (await getJson<Status>(`${base}/api/v1/status`)).body.history.ok === true, 30_000, 'history to be written again');
    const history = (await getJson<History>(`${base}/api/v1/history`)).body;
    expect(history.broken).toHaveLength(1);
    expect(history.broken[0]).toMatchObject({ fromMs: brokenSince, reason: expect.stringMatching(/full|disk/i) });
    const toMs = history.broken[0]?.toMs ?? 0;
    expect(toMs).toBeGreaterThan(brokenSince);
    // In the span: broken, with the reason; after it: what Docker says.
    const inSpan = await getJson<{ code: string }>(`${base}/api/v1/topology?at=${(brokenSince + 1) / 1000}`);
    expect(inSpan.body.code).toBe('history_broken');
    const after = await getJson<Topology>(`${base}/api/v1/topology?at=${toMs / 1000}`);
    expect(after.status).toBe(200);
    const names = after.body.nodes.map((n) => n.name);
    expect(names).toContain(name('during'));
    expect(names).not.toContain(name('before'));
    const running = docker('ps', '--format', '{{.Names}}', '--filter', 'label=org.portolan.test=1').split('\n');
    expect(running).toContain(name('during'));
    expect(running).not.toContain(name('before'));

    await agent.stop();
    agent = undefined;
    const db = new Database(path.join(data, 'history.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
