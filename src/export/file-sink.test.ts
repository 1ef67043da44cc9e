import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { createFileSink } from './file-sink.js';

const doc = (seq: number): ConnbeatDocument => ({
  '@timestamp': 't', type: 'connbeat', event: 'container.started', beat: { hostname: 'h', name: 'portolan', version: '0' }, local_process: null,
  container: { id: String(seq).padStart(64, '0'), name: `c${seq}`, image: 'i', labels: {}, ports: [] }, docker_host: { hostname: 'h', ips: [] },
});

describe('file sink', () => {
  it('rotates by size and keeps at most maxFiles files, each at most maxBytes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-file-sink-'));
    const file = path.join(dir, 'events.ndjson');
    const sink = createFileSink({ file, maxBytes: 4096, maxFiles: 3 });
    for (let i = 0; i < 200; i++) sink.push([doc(i)]);
    await sink.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['events.ndjson', 'events.ndjson.1', 'events.ndjson.2']);
    const lines = ['events.ndjson.2', 'events.ndjson.1', 'events.ndjson'].flatMap((f) => {
      expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(4096);
      return fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter((l) => l !== '');
    });
    // The newest lines, in order, with no line cut.
    const names = lines.map((l) => (JSON.parse(l) as ConnbeatDocument).container?.name);
    expect(names.at(-1)).toBe('c199');
    expect(names).toEqual(names.map((_, i) => `c${200 - names.length + i}`));
    expect(sink.status()).toMatchObject({ sent: 200, dropped: 0, state: 'ok' });
    fs.rmSync(dir, { recursive: true });
  });

  it('says when it cannot write and keeps a bounded queue', async () => {
    const sink = createFileSink({ file: '/proc/portolan-cannot-write/events.ndjson', maxQueued: 10 });
    sink.push(Array.from({ length: 15 }, (_, i) => doc(i)));
    for (let i = 0; i < 200 && sink.status().state !== 'retrying'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sink.status()).toMatchObject({ state: 'retrying', buffered: 10, dropped: 5, droppedBy: { buffer_full: 5 } });
    expect(sink.status().lastError).toMatch(/ENOENT|EACCES|EROFS/);
  });
});
