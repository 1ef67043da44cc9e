// The HTTP sink: documents POSTed as NDJSON batches (application/x-ndjson), at least once. A batch leaves the sink
// only when the receiver answered 2xx. While the receiver fails (refused connection, timeout, 5xx, 408, 429) the
// batch waits in a bounded disk buffer (one file per batch, named by sequence and document count) and is retried
// with exponential backoff (0.5 s doubling to 30 s, with jitter), oldest first; new documents join the buffer
// meanwhile, so memory holds at most one batch. When the buffer is full, new batches are dropped and counted
// (status, /metrics, one log line per outage). A 4xx other than 408/429 is the receiver refusing that batch for
// good: it is dropped and counted as `rejected` rather than retried for ever. Batches left on disk by a previous
// run are sent first.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { countDropped, newCounters, statusOf, toLine, type ExportSink, type SinkLogger } from './sink.js';

/** Options of createHttpSink. */
export interface HttpSinkOptions {
  readonly url: string;
  /** Directory of the disk buffer (created when missing). */
  readonly bufferDir: string;
  /** Most bytes the disk buffer holds (default 64 MiB). */
  readonly maxBufferBytes?: number;
  /** Documents per POST (default 500). */
  readonly batchSize?: number;
  /** Longest a document waits for its batch to fill (default 1 s). */
  readonly batchWaitMs?: number;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly logger?: SinkLogger;
  /** Injected for tests; default: global fetch. */
  readonly fetch?: typeof fetch;
}

/** A batch waiting on disk. */
interface Segment {
  readonly file: string;
  readonly docs: number;
  readonly bytes: number;
}

const SEGMENT = /^(\d{16})-(\d{1,9})\.ndjson$/;

/** The target as shown in status and metrics: no credentials, no query. */
export function httpSinkName(url: URL): string {
  return `http:${url.protocol}//${url.host}${url.pathname}`;
}

/** Creates the HTTP sink; its loop starts at once (sending what a previous run left on disk). */
export function createHttpSink(options: HttpSinkOptions): ExportSink {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an HTTP URL: ${options.url}`);
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  // fetch refuses URLs with credentials: they become a basic Authorization header.
  if (url.username !== '' || url.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const name = httpSinkName(url);
  const post = options.fetch ?? fetch;
  const maxBufferBytes = options.maxBufferBytes ?? 64 * 1024 * 1024;
  const batchSize = options.batchSize ?? 500;
  const batchWaitMs = options.batchWaitMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const minBackoff = options.minBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const log = options.logger;
  const c = newCounters();
  c.delivery = 'at-least-once';

  let memory: string[] = [];
  let firstQueuedAt = 0;
  const disk: Segment[] = [];
  let diskBytes = 0;
  let seq = 0;
  let closed = false;
  let failures = 0;
  let fullLogged = false;
  let diskChain: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ready = fs.mkdir(options.bufferDir, { recursive: true, mode: 0o700 }).then(loadSegments);

  async function loadSegments(): Promise<void> {
    const names = (await fs.readdir(options.bufferDir)).filter((n) => SEGMENT.test(n)).sort();
    for (const n of names) {
      const m = SEGMENT.exec(n);
      const file = path.join(options.bufferDir, n);
      const bytes = (await fs.stat(file)).size;
      disk.push({ file, docs: Number(m?.[2]), bytes });
      diskBytes += bytes;
      seq = Math.max(seq, Number(m?.[1]) + 1);
    }
    if (disk.length > 0) log?.info({ sink: name, batches: disk.length, docs: bufferedOnDisk() }, 'export: sending what a previous run left in the buffer');
  }

  const bufferedOnDisk = () => disk.reduce((n, s) => n + s.docs, 0);

  /** Appends a batch to the disk buffer, in order, or drops it when the buffer is full. */
  function spill(lines: string[]): Promise<void> {
    if (lines.length === 0) return diskChain;
    const body = lines.join('');
    const bytes = Buffer.byteLength(body);
    diskChain = diskChain.then(async () => {
      await ready;
      if (diskBytes + bytes > maxBufferBytes) {
        countDropped(c, 'buffer_full', lines.length);
        if (!fullLogged) log?.warn({ sink: name, maxBufferBytes, dropped: c.droppedBy.buffer_full }, 'export: disk buffer full; dropping new events until the receiver takes some (counted in status and /metrics)');
        fullLogged = true;
        return;
      }
      const file = path.join(options.bufferDir, `${String(seq++).padStart(16, '0')}-${lines.length}.ndjson`);
      try {
        await fs.writeFile(file, body, { mode: 0o600 });
        disk.push({ file, docs: lines.length, bytes });
        diskBytes += bytes;
      } catch (err) {
        countDropped(c, 'buffer_error', lines.length);
        log?.error({ sink: name, err: (err as Error).message }, 'export: cannot write the disk buffer; batch dropped');
      }
    });
    return diskChain;
  }

  /** One POST; true on 2xx; false to retry; 'rejected' when the receiver refuses the batch for good. */
  async function send(body: string): Promise<true | false | 'rejected'> {
    try {
      const res = await post(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      c.lastError = `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) return 'rejected';
      return false;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      c.lastError = cause?.code ?? cause?.message ?? (err as Error).message;
      return false;
    }
  }

  function delivered(docs: number): void {
    c.sent += docs;
    c.lastSentAt = new Date().toISOString();
    if (failures > 0) log?.info({ sink: name, afterFailures: failures }, 'export: receiver answers again');
    failures = 0;
    fullLogged = false;
    c.state = 'ok';
  }

  function failed(): number {
    if (failures === 0) log?.warn({ sink: name, err: c.lastError }, 'export: receiver failed; keeping events in the disk buffer and retrying');
    failures++;
    c.state = 'retrying';
    const ms = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 20));
    return ms / 2 + Math.random() * (ms / 2);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        timer = undefined;
        wakeUp = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      timer.unref();
      wakeUp = done;
    });
  }

  async function run(): Promise<void> {
    await ready.catch((err: Error) => {
      c.state = 'down';
      c.lastError = `buffer directory ${options.bufferDir}: ${err.message}`;
      log?.error({ sink: name, err: err.message }, 'export: cannot use the disk buffer directory');
    });
    while (!closed) {
      await diskChain;
      const seg = disk[0];
      if (seg) {
        let body: string;
        try {
          body = await fs.readFile(seg.file, 'utf8');
        } catch (err) {
          countDropped(c, 'buffer_error', seg.docs);
          log?.error({ sink: name, err: (err as Error).message }, 'export: cannot read a buffered batch; dropped');
          disk.shift();
          diskBytes -= seg.bytes;
          continue;
        }
        c.retried += seg.docs;
        const r = await send(body);
        if (r === false) {
          // Meanwhile new documents wait on disk, not in memory.
          await spill(takeMemory());
          await sleep(failed());
          continue;
        }
        if (r === 'rejected') {
          countDropped(c, 'rejected', seg.docs);
          log?.warn({ sink: name, status: c.lastError, docs: seg.docs }, 'export: receiver refused a batch; dropped');
        } else delivered(seg.docs);
        disk.shift();
        diskBytes -= seg.bytes;
        await fs.rm(seg.file, { force: true }).catch(() => undefined);
        continue;
      }
      if (memory.length === 0) {
        await sleep(3_600_000);
        continue;
      }
      const wait = firstQueuedAt + batchWaitMs - Date.now();
      if (memory.length < batchSize && wait > 0) {
        await sleep(wait);
        continue;
      }
      const batch = memory.splice(0, batchSize);
      if (memory.length > 0) firstQueuedAt = Date.now();
      const r = await send(batch.join(''));
      if (r === true) delivered(batch.length);
      else if (r === 'rejected') {
        countDropped(c, 'rejected', batch.length);
        log?.warn({ sink: name, status: c.lastError, docs: batch.length }, 'export: receiver refused a batch; dropped');
      } else {
        await spill(batch);
        await spill(takeMemory());
        await sleep(failed());
      }
    }
  }

  function takeMemory(): string[] {
    const all = memory;
    memory = [];
    return all;
  }

  const loop = run().catch((err: unknown) => {
    c.state = 'down';
    c.lastError = String(err);
    log?.error({ sink: name, err: String(err) }, 'export: sink stopped');
  });

  return {
    name,
    kind: 'http',
    push(docs: readonly ConnbeatDocument[]) {
      if (closed || docs.length === 0) return;
      if (memory.length === 0) firstQueuedAt = Date.now();
      for (const d of docs) memory.push(toLine(d));
      if (c.state === 'retrying' || disk.length > 0) {
        // The receiver is away or behind: full batches go to disk, memory stays at most one batch.
        while (memory.length >= batchSize) void spill(memory.splice(0, batchSize));
        return;
      }
      if (memory.length >= batchSize) wakeUp?.();
      else if (memory.length === docs.length) wakeUp?.();
    },
    status: () => statusOf(name, 'http', c, memory.length + bufferedOnDisk(), diskBytes),
    async close() {
      closed = true;
      wakeUp?.();
      await loop;
      // Whatever is still in memory is kept for the next run.
      await spill(takeMemory());
    },
  };
}
