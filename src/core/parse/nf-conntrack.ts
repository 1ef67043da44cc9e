import { ParseError, type ParseResult } from '../errors.js';
import type { ConntrackEntry, ConntrackTuple } from '../model/conntrack.js';
import type { Family } from '../model/socket.js';
import { canonicalIp, parseIpv4Text, parseIpv6Text } from './ip-text.js';

// Protocols whose tuples carry ports (print_tuple → l4proto tuple printers in net/netfilter/nf_conntrack_proto_*.c).
const PORTED = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp']);
const FLAGS = new Set(['[UNREPLIED]', '[ASSURED]', '[OFFLOAD]', '[HW_OFFLOAD]']);

interface TupleDraft { src?: string; dst?: string; sport?: number; dport?: number; packets?: number; bytes?: number }

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
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    try {
      records.push(parseLine(line, file, i + 1));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  return { records, errors };
}

function parseLine(line: string, file: string, lineNo: number): ConntrackEntry {
  const fail = (reason: string): never => { throw new ParseError(file, lineNo, reason); };
  const tokens = line.split(/\s+/);
  const [l3, l3numText, l4, l4numText] = tokens;
  let family: Family;
  if (l3 === 'ipv4' && l3numText === '2') family = 'ipv4';
  else if (l3 === 'ipv6' && l3numText === '10') family = 'ipv6';
  else return fail(`expected "ipv4 2" or "ipv6 10" at the start, got "${l3 ?? ''} ${l3numText ?? ''}"`);
  if (l4 === undefined || !/^[a-z0-9-]+$/.test(l4)) return fail('missing layer-4 protocol name');
  const protocolNumber = integer(l4numText, 255);
  if (protocolNumber === undefined) return fail(`bad layer-4 protocol number "${l4numText ?? ''}"`);

  let k = 4;
  let timeout: number | undefined;
  let state: string | undefined;
  if (tokens[k] !== undefined && /^\d+$/.test(tokens[k] ?? '')) {
    timeout = integer(tokens[k], Number.MAX_SAFE_INTEGER);
    k++;
  }
  const maybeState = tokens[k];
  if (maybeState !== undefined && /^[A-Z][A-Z0-9_]*$/.test(maybeState)) {
    state = maybeState;
    k++;
  }

  const tuples: TupleDraft[] = [];
  let unreplied = false;
  let assured = false;
  let mark: number | undefined;
  let zone: number | undefined;
  for (; k < tokens.length; k++) {
    const token = tokens[k] ?? '';
    if (token.startsWith('[')) {
      if (!FLAGS.has(token)) return fail(`unknown flag ${token}`);
      if (token === '[UNREPLIED]') unreplied = true;
      if (token === '[ASSURED]') assured = true;
      continue;
    }
    const eq = token.indexOf('=');
    if (eq <= 0) return fail(`unexpected token "${token}"`);
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === 'src') {
      if (tuples.length === 2) return fail('more than two tuples');
      tuples.push({});
    }
    const tuple = tuples[tuples.length - 1];
    switch (key) {
      case 'src':
      case 'dst': {
        if (!tuple) return fail(`${key}= before src=`);
        const ok = family === 'ipv4' ? parseIpv4Text(value) : parseIpv6Text(value);
        if (!ok || (family === 'ipv6' && !value.includes(':'))) return fail(`bad ${family} address "${value}"`);
        tuple[key] = canonicalIp(value);
        break;
      }
      case 'sport':
      case 'dport': {
        const port = integer(value, 65535);
        if (!tuple || port === undefined) return fail(`bad ${key} "${value}"`);
        tuple[key] = port;
        break;
      }
      case 'packets':
      case 'bytes': {
        // Counters are 64-bit in the kernel; beyond 2^53 a JS number would silently lose precision.
        const n = integer(value, Number.MAX_SAFE_INTEGER);
        if (!tuple || n === undefined) return fail(`bad ${key} "${value}"`);
        tuple[key] = n;
        break;
      }
      case 'mark':
      case 'zone': {
        const n = integer(value, 0xffffffff);
        if (n === undefined) return fail(`bad ${key} "${value}"`);
        if (key === 'mark') mark = n; else zone = n;
        break;
      }
      // ICMP (type, code, id), GRE keys, per-direction zones, timestamps, SELinux context, labels, refcount:
      // valid but not used by portolan.
      default:
        break;
    }
  }
  const [orig, reply] = tuples;
  if (!orig || !reply) return fail(`expected two tuples (original and reply), found ${tuples.length}`);
  const original = finishTuple(orig, l4, 'original', fail);
  const replyTuple = finishTuple(reply, l4, 'reply', fail);
  return {
    family,
    protocol: l4,
    protocolNumber,
    ...(timeout !== undefined ? { timeout } : {}),
    ...(state !== undefined ? { state } : {}),
    original,
    reply: replyTuple,
    unreplied,
    assured,
    ...(mark !== undefined ? { mark } : {}),
    ...(zone !== undefined ? { zone } : {}),
  };
}

function finishTuple(t: TupleDraft, l4: string, which: string, fail: (reason: string) => never): ConntrackTuple {
  if (t.src === undefined || t.dst === undefined) fail(`${which} tuple lacks src= or dst=`);
  if (PORTED.has(l4) && (t.sport === undefined || t.dport === undefined)) fail(`${which} ${l4} tuple lacks sport= or dport=`);
  return {
    src: t.src ?? '',
    dst: t.dst ?? '',
    ...(t.sport !== undefined ? { sport: t.sport } : {}),
    ...(t.dport !== undefined ? { dport: t.dport } : {}),
    ...(t.packets !== undefined ? { packets: t.packets } : {}),
    ...(t.bytes !== undefined ? { bytes: t.bytes } : {}),
  };
}

function integer(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}
