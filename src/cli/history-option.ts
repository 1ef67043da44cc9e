// The history of `serve` and `hub` (`--data`, `--retention`, `--no-history`), opened the one way both use. Its own
// module: only the long-running commands load SQLite, never `ps` or `graph`.
import os from 'node:os';
import { openHistory, type HistoryStore } from '../agent/history.js';
import { CliError } from './common.js';

/** Opens the history store the flags ask for (undefined with --no-history); a failure is one line naming --data. */
export function openHistoryOf(flags: { readonly history?: boolean; readonly data: string; readonly retention: number }): HistoryStore | undefined {
  if (!flags.history) return undefined;
  try {
    return openHistory({ dir: flags.data, retentionMs: flags.retention, hostname: os.hostname() });
  } catch (err) {
    throw new CliError(`cannot open history in ${flags.data}: ${(err as Error).message} (choose another --data DIR, or --no-history)`);
  }
}
