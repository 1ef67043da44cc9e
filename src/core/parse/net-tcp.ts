import type { ParseResult } from '../errors.js';
import { TCP_STATES, type Family, type RawSocket } from '../model/socket.js';
import { parseProcSockets } from './proc-net-inet.js';

/**
 * Parses /proc/<pid>/net/tcp or /proc/<pid>/net/tcp6 (get_tcp4_sock / get_tcp6_sock) into sockets of that
 * namespace. TIME_WAIT and SYN_RECV lines carry inode 0. No tcp_info is available from this format.
 */
export function parseNetTcp(text: string, file: string, family: Family, littleEndian = true): ParseResult<RawSocket> {
  return parseProcSockets(text, file, family, 'tcp', (code) => TCP_STATES[code - 1], littleEndian);
}
