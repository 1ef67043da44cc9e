// The agent's side of history: records each accepted state, prunes on schedule, and logs by change of state
// — the write that broke history (error), the one that mended it (info) — not every failed retry.
import type { Logger } from 'pino';
import type { Topology } from '../core/model/topology.js';
import type { ContainerTraffic } from '../core/model/traffic.js';
import type { HistoryStore } from './history.js';

/** Writes the agent's states to history. */
export interface HistoryWriter {
  write(nowMs: number, topology: Topology, traffic: ReadonlyMap<string, ContainerTraffic>): void;
}

/** Creates the writer over a store; prunes at most every `pruneEveryMs`. */
export function createHistoryWriter(store: HistoryStore, logger: Pick<Logger, 'info' | 'error' | 'debug'>, pruneEveryMs: number): HistoryWriter {
  let lastPrune = 0;
  let pruneFailing = false;
  return {
    write(nowMs, topology, traffic) {
      const r = store.record(nowMs, topology, traffic);
      if (!r.ok) {
        if (r.first) {
          logger.error({ err: r.error, lastWrittenMs: r.brokenSinceMs },
            'history write failed: history is marked broken from the last tick written until a write succeeds again (retried every collection)');
        } else logger.debug({ error: r.error.message }, 'history write failed again');
        return;
      }
      if (r.recovered) logger.info({ brokenFromMs: r.recovered.fromMs, brokenToMs: r.recovered.toMs, reason: r.recovered.reason }, 'history written again; the span in between is marked broken');
      if (nowMs - lastPrune < pruneEveryMs) return;
      lastPrune = nowMs;
      try {
        const removed = store.prune(nowMs);
        if (removed > 0) logger.info({ removed }, 'history pruned');
        pruneFailing = false;
      } catch (err) {
        // The store counts it (health); logged once until pruning works again.
        if (!pruneFailing) logger.error({ err }, 'history prune failed (retried hourly)');
        pruneFailing = true;
      }
    },
  };
}
