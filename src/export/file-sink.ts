// The rotated file sink: NDJSON appended to FILE; when the next write would take it past maxBytes, FILE becomes
// FILE.1 (FILE.1 becomes FILE.2 …) and the oldest beyond maxFiles is removed, so the sink never holds more than
// maxFiles × maxBytes on disk. Writes run one at a time off the event loop; lines wait in memory up to a bound.
import fs from 'node:fs/promises';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { countDropped, newCounters, statusOf, toLine, type ExportSink, type SinkLogger } from './sink.js';

/** Options of createFileSink. */
export interface FileSinkOptions {
  readonly file: string;
  /** Size at which the file is rotated (default 10 MiB). */
  readonly maxBytes?: number;
  /** Files kept, the live one included (default 5). */
  readonly maxFiles?: number;
  /** Most lines waiting for the disk (default 50,000). */
  readonly maxQueued?: number;
  readonly logger?: SinkLogger;
}

/** Creates the rotated file sink (the file is opened at the first write, created when missing). */
export function createFileSink(options: FileSinkOptions): ExportSink {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const maxFiles = Math.max(1, options.maxFiles ?? 5);
  const maxQueued = options.maxQueued ?? 50_000;
  const name = `file:${options.file}`;
  const c = newCounters();
  let queue: string[] = [];
  let size: number | undefined;
  let writing: Promise<void> | undefined;
  let failing = false;

  async function rotate(): Promise<void> {
    // FILE.(n-1) → FILE.n … FILE → FILE.1; the one beyond maxFiles - 1 is overwritten by the rename.
    if (maxFiles === 1) {
      await fs.rm(options.file, { force: true });
    } else {
      for (let i = maxFiles - 2; i >= 1; i--) await fs.rename(`${options.file}.${i}`, `${options.file}.${i + 1}`).catch(ignoreMissing);
      await fs.rename(options.file, `${options.file}.1`).catch(ignoreMissing);
    }
    size = 0;
  }

  async function writeAll(): Promise<void> {
    while (queue.length > 0) {
      if (size === undefined) size = await fs.stat(options.file).then((s) => s.size, () => 0);
      // Lines up to what fits in this file (at least one: a line longer than maxBytes gets a file of its own).
      let bytes = 0;
      let n = 0;
      for (const line of queue) {
        const b = Buffer.byteLength(line);
        if (n > 0 && size + bytes + b > maxBytes) break;
        if (n === 0 && size > 0 && size + b > maxBytes) break;
        bytes += b;
        n++;
      }
      if (n === 0) {
        await rotate();
        continue;
      }
      const lines = queue.slice(0, n);
      await fs.appendFile(options.file, lines.join(''), { mode: 0o640 });
      queue = queue.slice(n);
      size += bytes;
      c.sent += n;
      c.lastSentAt = new Date().toISOString();
    }
  }

  function kick(): void {
    if (writing) return;
    writing = writeAll().then(() => {
      if (failing) options.logger?.info({ sink: name }, 'export file writable again');
      failing = false;
      c.state = 'ok';
    }, (err: Error) => {
      // The lines stay queued (bounded): a full disk that frees up loses only what overflowed the queue.
      if (!failing) options.logger?.error({ sink: name, err: err.message }, 'export file cannot be written; keeping events in memory up to the bound');
      failing = true;
      c.state = 'retrying';
      c.lastError = err.message;
      size = undefined;
    }).finally(() => {
      writing = undefined;
      if (failing && queue.length > 0) setTimeout(kick, 1000).unref();
      else if (queue.length > 0) kick();
    });
  }

  return {
    name,
    kind: 'file',
    push(docs: readonly ConnbeatDocument[]) {
      for (const d of docs) {
        if (queue.length >= maxQueued) countDropped(c, 'buffer_full', 1);
        else queue.push(toLine(d));
      }
      if (!failing) kick();
    },
    status: () => statusOf(name, 'file', c, queue.length),
    async close() {
      while (writing) await writing;
      if (!failing && queue.length > 0) {
        kick();
        while (writing) await writing;
      }
    },
  };
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
