// bpftrace's `-f json` output of portolan's probe on the tracepoint `sock:inet_sock_set_state` (see
// BPFTRACE_SOCK_SCRIPT): one JSON object per line, `{"type":"printf","data":"v1 …\n"}` for each TCP state change
// the probe prints, `{"type":"lost_events","data":{"events":N}}` when the perf buffer overflowed, and a few
// others (attached_probes …). Pure; every line has a bounded cost and a malformed one is a ParseError.
import { ParseError } from '../errors.js';
import { parseIpv4Text, parseIpv6Text } from './ip-text.js';

/** Where errors say the input came from. */
const SOURCE = 'bpftrace:sock:inet_sock_set_state';
/** Longest line read: a printf record is ~200 bytes; anything much longer is not ours. */
export const MAX_BPFTRACE_LINE = 4096;

/** TCP states as the kernel numbers them (include/net/tcp_states.h). */
export const TCP_STATE_NAMES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'] as const;

/** One TCP socket's state change, as the probe printed it (local = the socket's own end). */
export interface SockTransition {
  readonly kind: 'transition';
  /** bpftrace's `nsecs`: monotonic ns since boot, as a bigint (exceeds 2^53 after ~104 days). */
  readonly ns: bigint;
  /** The kernel's `struct sock` address: identifies the socket while it lives. */
  readonly sock: bigint;
  /** Network namespace inode of the socket (attribute by this, not by pid). */
  readonly netns: number;
  readonly oldState: string;
  readonly newState: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly local: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string; readonly port: number };
  /** tcp_sock's bytes_acked (sent and acknowledged) and bytes_received at the change. */
  readonly bytesAcked: bigint;
  readonly bytesReceived: bigint;
  /** The context that caused the change: often the peer or a softirq, so only a hint. */
  readonly pid: number;
  readonly comm: string;
}

/** One record of bpftrace's output. */
export type BpftraceRecord =
  | SockTransition
  | { readonly kind: 'lost'; readonly events: number }
  | { readonly kind: 'attached'; readonly probes: number }
  | { readonly kind: 'other'; readonly type: string };

/**
 * The probe: TCP sockets of both families entering ESTABLISHED (1) or CLOSE (7), with the namespace inode read
 * through BTF, and the socket's byte counters. bpftrace 0.17 has no ternary between the two address arrays,
 * hence one probe per family.
 */
export const BPFTRACE_SOCK_SCRIPT = ['2', '10'].map((family) => `tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->family == ${family} && (args->newstate == 1 || args->newstate == 7)/
{
  $sk = (struct sock *)args->skaddr;
  $tp = (struct tcp_sock *)args->skaddr;
  printf("v1 %llu %llu %u %d %d ${family === '2' ? 4 : 6} %s %d %s %d %llu %llu %d %s\\n", nsecs, (uint64)args->skaddr, $sk->__sk_common.skc_net.net->ns.inum,
    args->oldstate, args->newstate, ntop(args->${family === '2' ? 'saddr' : 'saddr_v6'}), args->sport, ntop(args->${family === '2' ? 'daddr' : 'daddr_v6'}), args->dport,
    $tp->bytes_acked, $tp->bytes_received, pid, comm);
}`).join('\n');

const UINT = /^\d{1,20}$/;

function state(text: string, line: number): string {
  const n = Number(text);
  const name = Number.isInteger(n) ? TCP_STATE_NAMES[n] : undefined;
  if (!name) throw new ParseError(SOURCE, line, `unknown TCP state ${JSON.stringify(text.slice(0, 16))}`);
  return name;
}

function uint(text: string | undefined, what: string, line: number, max?: number): number {
  if (text === undefined || !UINT.test(text)) throw new ParseError(SOURCE, line, `${what}: not a number: ${JSON.stringify((text ?? '').slice(0, 24))}`);
  const n = Number(text);
  if (max !== undefined && n > max) throw new ParseError(SOURCE, line, `${what} ${n} out of range`);
  return n;
}

function big(text: string | undefined, what: string, line: number): bigint {
  if (text === undefined || !UINT.test(text)) throw new ParseError(SOURCE, line, `${what}: not a number: ${JSON.stringify((text ?? '').slice(0, 24))}`);
  const n = BigInt(text);
  if (n >= 1n << 64n) throw new ParseError(SOURCE, line, `${what} beyond 64 bits`);
  return n;
}

/** Parses the `data` of one of the probe's printf records. */
export function parseSockTransition(data: string, line = 1): SockTransition {
  const f = data.replace(/\n$/, '').split(' ');
  if (f[0] !== 'v1') throw new ParseError(SOURCE, line, `not a record of portolan's probe: ${JSON.stringify(data.slice(0, 40))}`);
  if (f.length < 15) throw new ParseError(SOURCE, line, `${f.length} fields, expected 15`);
  const family = f[6] === '4' ? 'ipv4' : f[6] === '6' ? 'ipv6' : undefined;
  if (!family) throw new ParseError(SOURCE, line, `family ${JSON.stringify(f[6])}`);
  const addr = (text: string | undefined, what: string) => {
    const ok = (family === 'ipv4' ? parseIpv4Text(text ?? '') : parseIpv6Text(text ?? '')) !== undefined;
    if (!ok) throw new ParseError(SOURCE, line, `${what}: not an ${family} address: ${JSON.stringify((text ?? '').slice(0, 48))}`);
    return text ?? '';
  };
  return {
    kind: 'transition', ns: big(f[1], 'nsecs', line), sock: big(f[2], 'skaddr', line), netns: uint(f[3], 'netns', line, 0xffffffff),
    oldState: state(f[4] ?? '', line), newState: state(f[5] ?? '', line), family,
    local: { address: addr(f[7], 'saddr'), port: uint(f[8], 'sport', line, 65535) },
    remote: { address: addr(f[9], 'daddr'), port: uint(f[10], 'dport', line, 65535) },
    bytesAcked: big(f[11], 'bytes_acked', line), bytesReceived: big(f[12], 'bytes_received', line),
    pid: uint(f[13], 'pid', line, 0x7fffffff), comm: f.slice(14).join(' ').slice(0, 64),
  };
}

/** Parses one line of `bpftrace -f json` output. */
export function parseBpftraceLine(text: string, line = 1): BpftraceRecord {
  if (text.length > MAX_BPFTRACE_LINE) throw new ParseError(SOURCE, line, `line of ${text.length} characters (at most ${MAX_BPFTRACE_LINE})`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ParseError(SOURCE, line, `not JSON: ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (typeof doc !== 'object' || doc === null || typeof (doc as { type?: unknown }).type !== 'string') throw new ParseError(SOURCE, line, 'not a bpftrace record (no "type")');
  const { type, data } = doc as { type: string; data?: unknown };
  switch (type) {
    case 'printf':
      if (typeof data !== 'string') throw new ParseError(SOURCE, line, 'printf record without a string "data"');
      return parseSockTransition(data, line);
    case 'lost_events': {
      const n = (data as { events?: unknown } | undefined)?.events;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ParseError(SOURCE, line, 'lost_events without a count');
      return { kind: 'lost', events: n };
    }
    case 'attached_probes': {
      const n = (data as { probes?: unknown } | undefined)?.probes;
      return { kind: 'attached', probes: typeof n === 'number' && Number.isSafeInteger(n) ? n : 0 };
    }
    default:
      return { kind: 'other', type: type.slice(0, 32) };
  }
}
