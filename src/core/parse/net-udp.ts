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
