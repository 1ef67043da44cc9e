// What each export sink (`serve --export`) says about itself: the status document's `export` list and the
// portolan_export_* families of /metrics.

/** The kinds of export sink. */
export type ExportSinkKind = 'stdout' | 'file' | 'http' | 'nats';

/**
 * A sink's state: `ok` (delivering), `retrying` (the last delivery failed; waiting to try again, documents kept),
 * `connecting` (not connected yet), `down` (failed and not retrying: a file that cannot be written).
 */
export type ExportSinkState = 'ok' | 'retrying' | 'connecting' | 'down';

/** One sink's counters since the agent started (documents, not batches). */
export interface ExportSinkStatus {
  /** `<kind>:<target>`, the label of its metrics (an HTTP target without its credentials or query). */
  readonly name: string;
  readonly kind: ExportSinkKind;
  readonly state: ExportSinkState;
  /** Documents delivered (written, accepted with 2xx, published). */
  readonly sent: number;
  /** Documents sent again after a failed attempt (each attempt counts its documents). */
  readonly retried: number;
  /** Documents waiting: in memory and, for HTTP, in the disk buffer. */
  readonly buffered: number;
  /** Bytes of the disk buffer (HTTP), 0 for the others. */
  readonly bufferedBytes: number;
  /** Documents dropped: a buffer full, a receiver refusing them for good (HTTP 4xx); never silently. */
  readonly dropped: number;
  /** Why documents were dropped, with counts. */
  readonly droppedBy: Readonly<Record<string, number>>;
  readonly lastError?: string;
  /** ISO time of the last delivery. */
  readonly lastSentAt?: string;
  /**
   * What delivery the sink can promise: `at-least-once` (HTTP with its disk buffer; NATS when a JetStream stream
   * stores the subject and acknowledges each document) or `at-most-once` (core NATS: subscribers present only).
   * Absent until known (NATS before it connected) and for the file and stdout sinks.
   */
  readonly delivery?: 'at-least-once' | 'at-most-once';
}
