// The stdout sink (and any writable stream): NDJSON lines written as they come; while the reader is slower
// than the events (a full pipe), lines wait in memory up to a bound, beyond which they are dropped and counted.
import type { Writable } from 'node:stream';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { countDropped, newCounters, statusOf, toLine, type ExportSink } from './sink.js';

/** Options of createStreamSink. */
export interface StreamSinkOptions {
  readonly stream: Writable;
  readonly name?: string;
  /** Most lines kept while the stream is full (default 10,000). */
  readonly maxQueued?: number;
}

/** Creates a sink writing NDJSON to a stream (stdout by default in the CLI). */
export function createStreamSink(options: StreamSinkOptions): ExportSink {
  const { stream } = options;
  const max = options.maxQueued ?? 10_000;
  const c = newCounters();
  let queue: string[] = [];
  let waiting = false;
  let broken = false;
  stream.on('error', (err: Error) => {
    broken = true;
    c.state = 'down';
    c.lastError = err.message;
    countDropped(c, 'stream_error', queue.length);
    queue = [];
  });
  const flush = () => {
    waiting = false;
    while (queue.length > 0 && !waiting && !broken) {
      // One write per burst: fewer syscalls than a line each.
      const chunk = queue.join('');
      const n = queue.length;
      queue = [];
      c.sent += n;
      c.lastSentAt = new Date().toISOString();
      if (!stream.write(chunk)) {
        waiting = true;
        stream.once('drain', flush);
      }
    }
  };
  return {
    name: options.name ?? 'stdout',
    kind: 'stdout',
    push(docs: readonly ConnbeatDocument[]) {
      if (broken) {
        countDropped(c, 'stream_error', docs.length);
        return;
      }
      for (const d of docs) {
        if (queue.length >= max) countDropped(c, 'buffer_full', 1);
        else queue.push(toLine(d));
      }
      if (!waiting) flush();
    },
    status: () => statusOf(options.name ?? 'stdout', 'stdout', c, queue.length),
    async close() {
      if (waiting && !broken) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      flush();
    },
  };
}
