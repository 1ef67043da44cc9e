// The export's sinks share one contract: push() takes documents and returns at once (it never waits on a disk,
// a network or a slow reader, so collection never waits on export), status() says what became of them.
import type { ExportSinkKind, ExportSinkState, ExportSinkStatus } from '../core/model/export.js';
import type { ConnbeatDocument } from '../core/report/connbeat.js';

/** Where exported documents go. */
export interface ExportSink {
  readonly name: string;
  readonly kind: ExportSinkKind;
  /** Takes documents; never blocks, never throws (what cannot be kept is dropped and counted). */
  push(docs: readonly ConnbeatDocument[]): void;
  status(): ExportSinkStatus;
  /** Delivers or keeps (HTTP: on disk) what it holds, then releases its resources. */
  close(): Promise<void>;
}

/** What sinks log through (pino's methods). */
export interface SinkLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A sink's counters, kept the same way by every sink. */
export interface SinkCounters {
  state: ExportSinkState;
  sent: number;
  retried: number;
  dropped: number;
  droppedBy: Record<string, number>;
  lastError?: string;
  lastSentAt?: string;
  delivery?: ExportSinkStatus['delivery'];
}

/** Fresh counters. */
export function newCounters(state: ExportSinkState = 'ok'): SinkCounters {
  return { state, sent: 0, retried: 0, dropped: 0, droppedBy: {} };
}

/** Counts `n` documents dropped for `reason`. */
export function countDropped(c: SinkCounters, reason: string, n: number): void {
  if (n <= 0) return;
  c.dropped += n;
  c.droppedBy[reason] = (c.droppedBy[reason] ?? 0) + n;
}

/** The status document of a sink from its counters. */
export function statusOf(name: string, kind: ExportSinkKind, c: SinkCounters, buffered: number, bufferedBytes = 0): ExportSinkStatus {
  return {
    name, kind, state: c.state, sent: c.sent, retried: c.retried, buffered, bufferedBytes, dropped: c.dropped, droppedBy: { ...c.droppedBy },
    ...(c.lastError !== undefined ? { lastError: c.lastError } : {}), ...(c.lastSentAt !== undefined ? { lastSentAt: c.lastSentAt } : {}),
    ...(c.delivery !== undefined ? { delivery: c.delivery } : {}),
  };
}

/** One document as an NDJSON line. */
export function toLine(doc: ConnbeatDocument): string {
  return `${JSON.stringify(doc)}\n`;
}
