// One log line per change of a collector's state, not per collection: while Docker is away the docker
// collector fails every interval, and an agent that said so every time wrote thousands of identical warnings
// an hour. A collector that starts failing is a warning, one that recovers an info line (with how long it
// failed and how often); repeats are debug.
import type { Logger } from 'pino';
import type { CollectorRun } from '../collectors/collector.js';

/** Logs collector runs by change of state. */
export interface CollectorLog {
  report(runs: readonly CollectorRun[], nowMs: number): void;
}

/** Creates the log; `logger` gets warn on failing, info on recovered, debug for every repeat. */
export function createCollectorLog(logger: Pick<Logger, 'info' | 'warn' | 'debug'>): CollectorLog {
  const failing = new Map<string, { error: string; sinceMs: number; count: number }>();
  return {
    report(runs, nowMs) {
      for (const r of runs) {
        const was = failing.get(r.name);
        if (!r.ok) {
          const error = r.error ?? 'failed';
          if (was === undefined) {
            logger.warn({ collector: r.name, error, durationMs: r.durationMs }, 'collector failed (logged again when it recovers)');
            failing.set(r.name, { error, sinceMs: nowMs, count: 1 });
          } else {
            logger.debug({ collector: r.name, error, durationMs: r.durationMs, failures: was.count + 1 }, 'collector still failing');
            failing.set(r.name, { error, sinceMs: was.sinceMs, count: was.count + 1 });
          }
        } else if (was !== undefined) {
          logger.info({ collector: r.name, failedForMs: nowMs - was.sinceMs, failures: was.count, lastError: was.error }, 'collector recovered');
          failing.delete(r.name);
        }
      }
    },
  };
}
