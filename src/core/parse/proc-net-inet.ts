import { ParseError, type ParseResult } from '../errors.js';
import type { Endpoint, Family, Protocol, RawSocket, SocketState } from '../model/socket.js';
import { formatIpv4, formatIpv6 } from './address.js';

/** Fields common to the socket lines of /proc/<pid>/net/{tcp,tcp6,udp,udp6}. */
export interface ProcInetLine {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly stateCode: number;
  readonly txQueue: number;
  readonly rxQueue: number;
  readonly uid: number;
  readonly inode: number;
  /** 1-based line number in the file, for errors found later. */
  readonly line: number;
}

const HEX_RE = /^[0-9A-Fa-f]+$/;

/**
 * Decodes a kernel hex address from /proc/net/{tcp,udp}{,6}: each 32-bit word is printed as a host-order
 * integer (`%08X` of a __be32), so on little-endian hosts every word's bytes are reversed.
 */
export function decodeProcAddress(hex: string, family: Family, littleEndian = true): string {
  const words = family === 'ipv4' ? 1 : 4;
  if (hex.length !== words * 8 || !HEX_RE.test(hex)) throw new Error(`bad ${family} address "${hex}"`);
  const bytes = new Uint8Array(words * 4);
  for (let w = 0; w < words; w++) {
    for (let b = 0; b < 4; b++) {
      const byte = parseInt(hex.slice(w * 8 + b * 2, w * 8 + b * 2 + 2), 16);
      bytes[w * 4 + (littleEndian ? 3 - b : b)] = byte;
    }
  }
  return family === 'ipv4' ? formatIpv4(bytes) : formatIpv6(bytes);
}

function decodeEndpoint(field: string, family: Family, littleEndian: boolean): Endpoint {
  const colon = field.indexOf(':');
  if (colon < 0) throw new Error(`bad endpoint "${field}"`);
  const portHex = field.slice(colon + 1);
  if (portHex.length !== 4 || !HEX_RE.test(portHex)) throw new Error(`bad port in "${field}"`);
  return { address: decodeProcAddress(field.slice(0, colon), family, littleEndian), port: parseInt(portHex, 16) };
}

function decimal(field: string | undefined, what: string): number {
  if (field === undefined || !/^\d+$/.test(field)) throw new Error(`bad ${what} "${field ?? ''}"`);
  const n = Number(field);
  if (!Number.isSafeInteger(n)) throw new Error(`${what} ${field} exceeds 2^53`);
  return n;
}

function hexNumber(field: string | undefined, what: string): number {
  if (field === undefined || !HEX_RE.test(field)) throw new Error(`bad ${what} "${field ?? ''}"`);
  return parseInt(field, 16);
}

/**
 * Parses the socket table text of /proc/<pid>/net/{tcp,tcp6,udp,udp6} into lines; a malformed line becomes
 * a ParseError naming file and line and does not stop the rest. The header line is skipped.
 */
export function parseProcInetTable(
  text: string,
  file: string,
  family: Family,
  littleEndian = true,
): ParseResult<ProcInetLine> {
  const records: ProcInetLine[] = [];
  const errors: ParseError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw === undefined) continue;
    const line = raw.trim();
    if (line === '') continue;
    if (i === 0 && line.startsWith('sl')) continue;
    try {
      const f = line.split(/\s+/);
      // [0]sl: [1]local [2]remote [3]st [4]tx:rx [5]tr:when [6]retrnsmt [7]uid [8]timeout [9]inode ...
      if (f.length < 10 || !f[0]?.endsWith(':')) throw new Error(`expected at least 10 fields, got ${f.length}`);
      const queues = (f[4] ?? '').split(':');
      if (queues.length !== 2) throw new Error(`bad tx:rx queue "${f[4] ?? ''}"`);
      records.push({
        local: decodeEndpoint(f[1] ?? '', family, littleEndian),
        remote: decodeEndpoint(f[2] ?? '', family, littleEndian),
        stateCode: hexNumber(f[3], 'state'),
        txQueue: hexNumber(queues[0], 'tx_queue'),
        rxQueue: hexNumber(queues[1], 'rx_queue'),
        uid: decimal(f[7], 'uid'),
        inode: decimal(f[9], 'inode'),
        line: i + 1,
      });
    } catch (err) {
      errors.push(new ParseError(file, i + 1, err instanceof Error ? err.message : String(err)));
    }
  }
  return { records, errors };
}

/**
 * Parses a /proc socket table into sockets of one protocol, mapping each kernel state code with `stateOf`;
 * a code it does not know becomes a ParseError on that line.
 */
export function parseProcSockets(
  text: string,
  file: string,
  family: Family,
  protocol: Protocol,
  stateOf: (code: number) => SocketState | undefined,
  littleEndian: boolean,
): ParseResult<RawSocket> {
  const { records, errors } = parseProcInetTable(text, file, family, littleEndian);
  const sockets: RawSocket[] = [];
  for (const r of records) {
    const state = stateOf(r.stateCode);
    if (state === undefined) {
      errors.push(new ParseError(file, r.line, `unknown ${protocol.toUpperCase()} state code ${r.stateCode}`));
      continue;
    }
    sockets.push({ protocol, family, state, local: r.local, remote: r.remote, inode: r.inode, uid: r.uid, txQueue: r.txQueue, rxQueue: r.rxQueue });
  }
  errors.sort((a, b) => a.line - b.line);
  return { records: sockets, errors };
}
