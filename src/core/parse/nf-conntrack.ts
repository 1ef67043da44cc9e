import { ParseError, type ParseResult } from '../errors.js';
import type { ConntrackEntry, ConntrackTuple } from '../model/conntrack.js';
import type { Family } from '../model/socket.js';
import { canonicalIp, parseIpv4Text, parseIpv6Text } from './ip-text.js';

// Protocols whose tuples carry ports (print_tuple → l4proto tuple printers in net/netfilter/nf_conntrack_proto_*.c).
const PORTED = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp']);
const FLAGS = new Set(['[UNREPLIED]', '[ASSURED]', '[OFFLOAD]', '[HW_OFFLOAD]']);

/**
 * Parses /proc/<pid>/net/nf_conntrack (ct_seq_show in net/netfilter/nf_conntrack_standalone.c): one entry per
 * line, `<l3 name> <l3 num> <l4 name> <l4 num> [<timeout s>] [<state>] <original tuple> [packets= bytes=]
 * [[UNREPLIED]] <reply tuple> [packets= bytes=] [[ASSURED]] [secctx=…] mark=… [zone=…] [delta-time=…] use=…`.
 * IPv6 addresses (printed uncompressed by `%pI6`) come out in canonical form. Malformed lines become one
 * ParseError each; the rest are returned.
 */
export function parseNfConntrack(text: string, file: string): ParseResult<ConntrackEntry> {
  const records: ConntrackEntry[] = [];
  const errors: ParseError[] = [];
  // A busy host has hundreds of thousands of entries over a few thousand addresses: validate and
  // canonicalise each distinct address text once.
  const addresses = new Map<string, string | null>();
  let start = 0;
  for (let lineNo = 1; start < text.length; lineNo++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    try {
      records.push(parseLine(line, file, lineNo, addresses));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  return { records, errors };
}

function parseLine(line: string, file: string, lineNo: number, addresses: Map<string, string | null>): ConntrackEntry {
  const fail = (reason: string): never => { throw new ParseError(file, lineNo, reason); };
  // A scanner over the line rather than split(): this runs for every line of a table that can hold 262,144
  // entries, and only the few values kept need their own strings. Fields are separated by single spaces,
  // plus padding (`%-8s`).
  const n = line.length;
  let i = 0;
  let start = 0;
  let end = 0;
  const next = (): boolean => {
    while (i < n && line.charCodeAt(i) === 32) i++;
    if (i >= n) return false;
    start = i;
    const sp = line.indexOf(' ', i);
    end = sp < 0 ? n : sp;
    i = end;
    return true;
  };
  const text = () => line.slice(start, end);

  const l3 = next() ? text() : '';
  const l3num = next() ? text() : '';
  let family: Family;
  if (l3 === 'ipv4' && l3num === '2') family = 'ipv4';
  else if (l3 === 'ipv6' && l3num === '10') family = 'ipv6';
  else return fail(`expected "ipv4 2" or "ipv6 10" at the start, got "${l3} ${l3num}"`);
  const l4 = next() ? text() : '';
  if (!L4_NAME.test(l4)) return fail('missing layer-4 protocol name');
  const l4num = next() ? text() : '';
  const protocolNumber = integer(l4num, 255);
  if (protocolNumber === undefined) return fail(`bad layer-4 protocol number "${l4num}"`);

  // Every field present from the start (undefined until seen; JSON leaves those out) keeps one object shape.
  const entry: Mutable<ConntrackEntry> = {
    family, protocol: l4, protocolNumber, timeout: undefined, state: undefined, original: EMPTY_TUPLE, reply: EMPTY_TUPLE,
    unreplied: false, assured: false, mark: undefined, zone: undefined,
  };
  let more = next();
  if (more && isDigit(line.charCodeAt(start))) {
    const timeout = integerAt(line, start, end, Number.MAX_SAFE_INTEGER);
    if (timeout === undefined) return fail(`bad timeout "${text()}"`);
    entry.timeout = timeout;
    more = next();
  }
  if (more && STATE.test(text())) {
    entry.state = text();
    more = next();
  }

  let tuples = 0;
  let tuple: Mutable<ConntrackTuple> | undefined;
  for (; more; more = next()) {
    if (line.charCodeAt(start) === 91 /* [ */) {
      const flag = text();
      if (!FLAGS.has(flag)) return fail(`unknown flag ${flag}`);
      if (flag === '[UNREPLIED]') entry.unreplied = true;
      else if (flag === '[ASSURED]') entry.assured = true;
      continue;
    }
    const eq = line.indexOf('=', start);
    if (eq <= start || eq >= end) return fail(`unexpected token "${text()}"`);
    const key = keyAt(line, start, eq);
    if (key === undefined) continue; // ICMP type/code/id, GRE keys, per-direction zones, timestamps, secctx, labels, use
    if (key === 'src') {
      if (tuples === 2) return fail('more than two tuples');
      tuple = { src: '', dst: '', sport: undefined, dport: undefined, packets: undefined, bytes: undefined };
      if (tuples++ === 0) entry.original = tuple; else entry.reply = tuple;
    }
    if (key === 'mark' || key === 'zone') {
      const v = integerAt(line, eq + 1, end, 0xffffffff);
      if (v === undefined) return fail(`bad ${key} "${line.slice(eq + 1, end)}"`);
      entry[key] = v;
      continue;
    }
    if (!tuple) return fail(`${key}= before src=`);
    if (key === 'src' || key === 'dst') {
      const value = line.slice(eq + 1, end);
      const cacheKey = family === 'ipv4' ? value : `6|${value}`;
      let address = addresses.get(cacheKey);
      if (address === undefined) {
        const ok = family === 'ipv4' ? parseIpv4Text(value) : value.includes(':') ? parseIpv6Text(value) : undefined;
        address = ok ? canonicalIp(value) : null;
        addresses.set(cacheKey, address);
      }
      if (address === null) return fail(`bad ${family} address "${value}"`);
      tuple[key] = address;
    } else {
      // Ports, and counters (64-bit in the kernel: beyond 2^53 a JS number would silently lose precision).
      const v = integerAt(line, eq + 1, end, key === 'sport' || key === 'dport' ? 65535 : Number.MAX_SAFE_INTEGER);
      if (v === undefined) return fail(`bad ${key} "${line.slice(eq + 1, end)}"`);
      tuple[key] = v;
    }
  }
  if (tuples !== 2) return fail(`expected two tuples (original and reply), found ${tuples}`);
  checkTuple(entry.original, l4, 'original', fail);
  checkTuple(entry.reply, l4, 'reply', fail);
  return entry;
}

type Key = 'src' | 'dst' | 'sport' | 'dport' | 'packets' | 'bytes' | 'mark' | 'zone';
const KEYS: readonly Key[] = ['src', 'dst', 'sport', 'dport', 'packets', 'bytes', 'mark', 'zone'];

/** The known key spelled by line[from, eq), without making a string of it. */
function keyAt(line: string, from: number, eq: number): Key | undefined {
  const len = eq - from;
  for (const k of KEYS) if (k.length === len && line.startsWith(k, from)) return k;
  return undefined;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The decimal integer in line[from, to), if it is one no greater than `max`. */
function integerAt(line: string, from: number, to: number, max: number): number | undefined {
  if (to <= from || to - from > 20) return undefined;
  let v = 0;
  for (let j = from; j < to; j++) {
    const c = line.charCodeAt(j);
    if (!isDigit(c)) return undefined;
    v = v * 10 + (c - 48);
  }
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const L4_NAME = /^[a-z0-9-]+$/;
const STATE = /^[A-Z][A-Z0-9_]*$/;
const EMPTY_TUPLE: ConntrackTuple = { src: '', dst: '' };

function checkTuple(t: ConntrackTuple, l4: string, which: string, fail: (reason: string) => never): void {
  if (t.src === '' || t.dst === '') fail(`${which} tuple lacks src= or dst=`);
  if (PORTED.has(l4) && (t.sport === undefined || t.dport === undefined)) fail(`${which} ${l4} tuple lacks sport= or dport=`);
}

function integer(text: string | undefined, max: number): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 20) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}
