import { ParseError, type ParseResult } from '../errors.js';
import type { InterfaceCounters } from '../model/traffic.js';

/**
 * Parses /proc/<pid>/net/dev (dev_seq_printf_stats, net/core/net-procfs.c): two header lines, then per
 * interface `name: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast tx_bytes tx_packets
 * tx_errs tx_drop fifo colls carrier compressed`. Includes `lo`; callers drop it.
 */
export function parseNetDev(text: string, file: string): ParseResult<InterfaceCounters> {
  const records: InterfaceCounters[] = [];
  const errors: ParseError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || line.includes('|')) continue;
    const colon = line.indexOf(':');
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    const nums = fields.map(Number);
    if (colon < 0 || fields.length !== 16 || !nums.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      errors.push(new ParseError(file, i + 1, colon < 0 ? 'no interface name' : `expected 16 counters, got "${fields.join(' ')}"`));
      continue;
    }
    const n = (k: number) => nums[k] ?? 0;
    records.push({
      name: line.slice(0, colon).trim(),
      rxBytes: n(0), rxPackets: n(1), rxErrors: n(2), rxDropped: n(3),
      txBytes: n(8), txPackets: n(9), txErrors: n(10), txDropped: n(11),
    });
  }
  return { records, errors };
}
