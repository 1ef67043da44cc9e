import type { ParseResult } from '../errors.js';
import type { Family, RawSocket } from '../model/socket.js';
import { parseProcSockets } from './proc-net-inet.js';

/**
 * Parses /proc/<pid>/net/udp or /proc/<pid>/net/udp6 (udp4_format_sock / __ip6_dgram_sock_seq_show).
 * State 07 (TCP_CLOSE) is an unconnected socket, reported as `UNCONN` as `ss` does; 01 is a connected one.
 */
export function parseNetUdp(text: string, file: string, family: Family, littleEndian = true): ParseResult<RawSocket> {
  return parseProcSockets(text, file, family, 'udp', udpState, littleEndian);
}

/** Maps a UDP socket's kernel state number to its `ss` name. */
export function udpState(code: number): 'UNCONN' | 'ESTABLISHED' | undefined {
  if (code === 7) return 'UNCONN';
  if (code === 1) return 'ESTABLISHED';
  return undefined;
}

/**
 * Sums the `drops` column (the last: datagrams the kernel discarded for the socket, e.g. because its receive
 * buffer was full) of the sockets in /proc/<pid>/net/udp or udp6 bound to local `port`; undefined when none is.
 * Lines that do not parse are ignored here: only a bound port's own line matters.
 */
export function parseUdpDrops(text: string, port: number): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !/^\d+:$/.test(f[0] ?? '')) continue;
    const local = f[1] ?? '';
    const colon = local.lastIndexOf(':');
    if (colon < 0 || parseInt(local.slice(colon + 1), 16) !== port) continue;
    const drops = Number(f[f.length - 1]);
    if (Number.isSafeInteger(drops)) total = (total ?? 0) + drops;
  }
  return total;
}
