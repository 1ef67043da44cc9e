import { ParseError, type ParseResult } from '../errors.js';
import { TCP_STATES, type Family, type RawSocket } from '../model/socket.js';
import { parseProcInetTable } from './proc-net-inet.js';

/**
 * Parses /proc/<pid>/net/tcp or /proc/<pid>/net/tcp6 (get_tcp4_sock / get_tcp6_sock) into sockets of that
 * namespace. TIME_WAIT and SYN_RECV lines carry inode 0. No tcp_info is available from this format.
 */
export function parseNetTcp(text: string, file: string, family: Family, littleEndian = true): ParseResult<RawSocket> {
  const { records, errors } = parseProcInetTable(text, file, family, littleEndian);
  const sockets: RawSocket[] = [];
  for (const r of records) {
    const state = TCP_STATES[r.stateCode - 1];
    if (state === undefined) {
      errors.push(new ParseError(file, r.line, `unknown TCP state code ${r.stateCode}`));
      continue;
    }
    sockets.push({
      protocol: 'tcp', family, state, local: r.local, remote: r.remote,
      inode: r.inode, uid: r.uid, txQueue: r.txQueue, rxQueue: r.rxQueue,
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return { records: sockets, errors };
}
