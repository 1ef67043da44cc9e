// Decoder for ctnetlink messages (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK): the conntrack events of the
// NEW, UPDATE and DESTROY multicast groups and the replies of a table dump. Layouts from the kernel's uapi headers
// include/uapi/linux/netfilter/nfnetlink_conntrack.h (CTA_* attributes), nfnetlink.h (struct nfgenmsg) and
// netlink.h (struct nlmsghdr, struct nlattr); what each event carries from net/netfilter/nf_conntrack_netlink.c
// (ctnetlink_conntrack_event). Netlink headers are in host byte order; every CTA_* integer is big-endian.
import type { ConntrackEvent, ConntrackEventKind, ConntrackTuple } from '../model/conntrack.js';
import type { Family } from '../model/socket.js';
import { formatIpv4, formatIpv6 } from './address.js';
import { HOST_LITTLE_ENDIAN } from './sock-diag.js';

/** Netlink protocol number of nfnetlink (socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)). */
export const NETLINK_NETFILTER = 12;
/** nfnetlink subsystem of conntrack. */
export const NFNL_SUBSYS_CTNETLINK = 1;
/** Multicast groups of conntrack events (for NETLINK_ADD_MEMBERSHIP). */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
/** Message types within the subsystem (IPCTNL_MSG_CT_*). */
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;

const NLMSG_HDRLEN = 16;
const NFGENMSG_LEN = 4;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_OVERRUN = 4;
const NLM_F_MULTI = 0x2;
const NLM_F_CREATE = 0x400;
const NLA_TYPE_MASK = 0x3fff;
const AF_INET = 2;
const AF_INET6 = 10;

// enum ctattr_type
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_STATUS = 3;
const CTA_PROTOINFO = 4;
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_COUNTERS_ORIG = 9;
const CTA_COUNTERS_REPLY = 10;
const CTA_ID = 12;
const CTA_ZONE = 18;
const CTA_TIMESTAMP = 20;
// enum ctattr_tuple, ctattr_ip, ctattr_l4proto
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_IP_V6_SRC = 3;
const CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
// enum ctattr_protoinfo, ctattr_protoinfo_tcp
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;
// enum ctattr_counters
const CTA_COUNTERS_PACKETS = 1;
const CTA_COUNTERS_BYTES = 2;
const CTA_COUNTERS32_PACKETS = 3;
const CTA_COUNTERS32_BYTES = 4;
// enum ctattr_tstamp
const CTA_TIMESTAMP_START = 1;
const CTA_TIMESTAMP_STOP = 2;

/** enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h), named as `conntrack -L` prints them. */
export const CT_TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'] as const;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite', 47: 'gre' };

/** A message that could not be decoded, with why (the caller counts these). */
export class CtnetlinkParseError extends Error {
  override readonly name = 'CtnetlinkParseError';
}

/** What one netlink message of a ctnetlink socket was. */
export type CtnetlinkMessage =
  | { readonly kind: 'event'; readonly event: ConntrackEvent }
  /** End of a dump. */
  | { readonly kind: 'done' }
  /** NLMSG_ERROR: `errno` is positive (0 is an acknowledgement). */
  | { readonly kind: 'error'; readonly errno: number }
  /** A message of another type or subsystem (skipped). */
  | { readonly kind: 'other'; readonly type: number };

/** Everything one datagram (one recv) held: its messages, and those that failed to decode. */
export interface CtnetlinkBatch {
  readonly messages: CtnetlinkMessage[];
  readonly errors: CtnetlinkParseError[];
}

interface Reader { readonly b: Uint8Array; readonly v: DataView }

/**
 * Decodes every netlink message of one datagram. A message whose header lies (a length past the datagram or under
 * the header) ends the datagram: nothing after it can be framed. A message whose payload is malformed is skipped
 * with an error, the rest decoded. Never throws; cost is linear in the datagram's size.
 */
export function parseCtnetlinkDatagram(bytes: Uint8Array): CtnetlinkBatch {
  const r: Reader = { b: bytes, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  const messages: CtnetlinkMessage[] = [];
  const errors: CtnetlinkParseError[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= bytes.length) {
    const len = r.v.getUint32(off, HOST_LITTLE_ENDIAN);
    if (len < NLMSG_HDRLEN || off + len > bytes.length) {
      errors.push(new CtnetlinkParseError(`netlink message at ${off}: length ${len} outside the datagram of ${bytes.length} bytes`));
      break;
    }
    try {
      messages.push(parseMessage(r, off, len));
    } catch (err) {
      errors.push(err instanceof CtnetlinkParseError ? err : new CtnetlinkParseError(`message at ${off}: ${String(err)}`));
    }
    off += align4(len);
  }
  if (off < bytes.length && off + NLMSG_HDRLEN > bytes.length && errors.length === 0) {
    errors.push(new CtnetlinkParseError(`${bytes.length - off} trailing bytes after the last message`));
  }
  return { messages, errors };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function parseMessage(r: Reader, off: number, len: number): CtnetlinkMessage {
  const le = HOST_LITTLE_ENDIAN;
  const type = r.v.getUint16(off + 4, le);
  const flags = r.v.getUint16(off + 6, le);
  if (type === NLMSG_DONE) return { kind: 'done' };
  if (type === NLMSG_ERROR) {
    if (len < NLMSG_HDRLEN + 4) throw new CtnetlinkParseError(`NLMSG_ERROR of ${len} bytes`);
    return { kind: 'error', errno: -r.v.getInt32(off + NLMSG_HDRLEN, le) };
  }
  if (type === NLMSG_OVERRUN || type >> 8 !== NFNL_SUBSYS_CTNETLINK) return { kind: 'other', type };
  const msg = type & 0xff;
  let kind: ConntrackEventKind;
  if (msg === IPCTNL_MSG_CT_DELETE) kind = 'destroy';
  else if (msg === IPCTNL_MSG_CT_NEW) kind = (flags & NLM_F_CREATE) !== 0 ? 'new' : (flags & NLM_F_MULTI) !== 0 ? 'dump' : 'update';
  else return { kind: 'other', type };
  if (len < NLMSG_HDRLEN + NFGENMSG_LEN) throw new CtnetlinkParseError(`conntrack message of ${len} bytes has no nfgenmsg`);
  const afCode = r.b[off + NLMSG_HDRLEN]!;
  const family: Family | undefined = afCode === AF_INET ? 'ipv4' : afCode === AF_INET6 ? 'ipv6' : undefined;
  if (!family) throw new CtnetlinkParseError(`conntrack message of address family ${afCode}`);
  return { kind: 'event', event: parseConntrack(r, off + NLMSG_HDRLEN + NFGENMSG_LEN, off + len, kind, family) };
}

/**
 * The attribute at `o` in [o, end): its type in `at.type`, payload in [o + 4, at.end), the next one's offset
 * returned; throws on a length that does not fit. (A loop over this rather than a callback per attribute: the
 * decoder runs for every event, and closures made per message were a good part of its allocations.)
 */
const at = { type: 0, end: 0 };
function attrAt(r: Reader, o: number, end: number): number {
  const len = r.v.getUint16(o, HOST_LITTLE_ENDIAN);
  const type = r.v.getUint16(o + 2, HOST_LITTLE_ENDIAN) & NLA_TYPE_MASK;
  if (len < 4 || o + len > end) throw new CtnetlinkParseError(`attribute ${type} at ${o}: length ${len} outside its parent`);
  at.type = type;
  at.end = o + len;
  return o + align4(len);
}

function need(s: number, e: number, n: number, what: string): void {
  if (e - s < n) throw new CtnetlinkParseError(`${what}: ${e - s} bytes, want ${n}`);
}

function be32(r: Reader, s: number, e: number, what: string): number {
  need(s, e, 4, what);
  return r.v.getUint32(s, false);
}

function be64(r: Reader, s: number, e: number, what: string): bigint {
  need(s, e, 8, what);
  return r.v.getBigUint64(s, false);
}

// Counters as numbers: exact below 2^53, which no per-flow counter reaches; a larger value is a lie, rejected.
function counter(r: Reader, type: number, s: number, e: number, what: string): number {
  const v = type === CTA_COUNTERS32_PACKETS || type === CTA_COUNTERS32_BYTES ? BigInt(be32(r, s, e, what)) : be64(r, s, e, what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CtnetlinkParseError(`${what}: ${v} exceeds 2^53`);
  return Number(v);
}

interface MutableTuple { src?: string; dst?: string; sport?: number; dport?: number; proto?: number; packets?: number; bytes?: number }

function parseTuple(r: Reader, s: number, e: number, family: Family, t: MutableTuple): void {
  for (let o = s; o + 4 <= e;) {
    const next = attrAt(r, o, e);
    const type = at.type;
    const ae = at.end;
    if (type === CTA_TUPLE_IP) {
      for (let i = o + 4; i + 4 <= ae;) {
        const inext = attrAt(r, i, ae);
        const ip = at.type;
        const is = i + 4;
        const ie = at.end;
        if (ip === CTA_IP_V4_SRC || ip === CTA_IP_V4_DST) {
          if (family !== 'ipv4') throw new CtnetlinkParseError('IPv4 address in an IPv6 flow');
          need(is, ie, 4, 'CTA_IP_V4');
          const a = formatIpv4(r.b, is);
          if (ip === CTA_IP_V4_SRC) t.src = a;
          else t.dst = a;
        } else if (ip === CTA_IP_V6_SRC || ip === CTA_IP_V6_DST) {
          if (family !== 'ipv6') throw new CtnetlinkParseError('IPv6 address in an IPv4 flow');
          need(is, ie, 16, 'CTA_IP_V6');
          const a = formatIpv6(r.b, is);
          if (ip === CTA_IP_V6_SRC) t.src = a;
          else t.dst = a;
        }
        i = inext;
      }
    } else if (type === CTA_TUPLE_PROTO) {
      for (let i = o + 4; i + 4 <= ae;) {
        const inext = attrAt(r, i, ae);
        const p = at.type;
        const ps = i + 4;
        const pe = at.end;
        if (p === CTA_PROTO_NUM) { need(ps, pe, 1, 'CTA_PROTO_NUM'); t.proto = r.b[ps]!; }
        else if (p === CTA_PROTO_SRC_PORT) { need(ps, pe, 2, 'CTA_PROTO_SRC_PORT'); t.sport = r.v.getUint16(ps, false); }
        else if (p === CTA_PROTO_DST_PORT) { need(ps, pe, 2, 'CTA_PROTO_DST_PORT'); t.dport = r.v.getUint16(ps, false); }
        i = inext;
      }
    }
    o = next;
  }
}

function parseCounters(r: Reader, s: number, e: number, t: MutableTuple): void {
  for (let o = s; o + 4 <= e;) {
    const next = attrAt(r, o, e);
    const type = at.type;
    if (type === CTA_COUNTERS_PACKETS || type === CTA_COUNTERS32_PACKETS) t.packets = counter(r, type, o + 4, at.end, 'CTA_COUNTERS_PACKETS');
    else if (type === CTA_COUNTERS_BYTES || type === CTA_COUNTERS32_BYTES) t.bytes = counter(r, type, o + 4, at.end, 'CTA_COUNTERS_BYTES');
    o = next;
  }
}

/** A tuple as decoded, with only the fields it had (the reply's addresses from the original's when it lacks them). */
function toTuple(t: MutableTuple, fallback: MutableTuple): ConntrackTuple {
  const out: { -readonly [K in keyof ConntrackTuple]: ConntrackTuple[K] } = { src: t.src ?? fallback.dst ?? '', dst: t.dst ?? fallback.src ?? '' };
  if (t.sport !== undefined) out.sport = t.sport;
  if (t.dport !== undefined) out.dport = t.dport;
  if (t.packets !== undefined) out.packets = t.packets;
  if (t.bytes !== undefined) out.bytes = t.bytes;
  return out;
}

function parseConntrack(r: Reader, s: number, e: number, kind: ConntrackEventKind, family: Family): ConntrackEvent {
  const orig: MutableTuple = {};
  const reply: MutableTuple = {};
  let status: number | undefined;
  let state: string | undefined;
  let timeout: number | undefined;
  let id: number | undefined;
  let mark: number | undefined;
  let zone: number | undefined;
  let startNs: bigint | undefined;
  let stopNs: bigint | undefined;
  let seenOrig = false;
  let seenReply = false;
  for (let o = s; o + 4 <= e;) {
    const next = attrAt(r, o, e);
    const type = at.type;
    const as = o + 4;
    const ae = at.end;
    switch (type) {
      case CTA_TUPLE_ORIG: seenOrig = true; parseTuple(r, as, ae, family, orig); break;
      case CTA_TUPLE_REPLY: seenReply = true; parseTuple(r, as, ae, family, reply); break;
      case CTA_STATUS: status = be32(r, as, ae, 'CTA_STATUS'); break;
      case CTA_TIMEOUT: timeout = be32(r, as, ae, 'CTA_TIMEOUT'); break;
      case CTA_MARK: mark = be32(r, as, ae, 'CTA_MARK'); break;
      case CTA_ID: id = be32(r, as, ae, 'CTA_ID'); break;
      case CTA_ZONE: need(as, ae, 2, 'CTA_ZONE'); zone = r.v.getUint16(as, false); break;
      case CTA_COUNTERS_ORIG: parseCounters(r, as, ae, orig); break;
      case CTA_COUNTERS_REPLY: parseCounters(r, as, ae, reply); break;
      case CTA_PROTOINFO:
        for (let p = as; p + 4 <= ae;) {
          const pnext = attrAt(r, p, ae);
          const pe = at.end;
          if (at.type === CTA_PROTOINFO_TCP) {
            for (let f = p + 4; f + 4 <= pe;) {
              const fnext = attrAt(r, f, pe);
              if (at.type === CTA_PROTOINFO_TCP_STATE) {
                need(f + 4, at.end, 1, 'CTA_PROTOINFO_TCP_STATE');
                const code = r.b[f + 4]!;
                state = CT_TCP_STATES[code] ?? `STATE_${code}`;
              }
              f = fnext;
            }
          }
          p = pnext;
        }
        break;
      case CTA_TIMESTAMP:
        for (let t = as; t + 4 <= ae;) {
          const tnext = attrAt(r, t, ae);
          if (at.type === CTA_TIMESTAMP_START) startNs = be64(r, t + 4, at.end, 'CTA_TIMESTAMP_START');
          else if (at.type === CTA_TIMESTAMP_STOP) stopNs = be64(r, t + 4, at.end, 'CTA_TIMESTAMP_STOP');
          t = tnext;
        }
        break;
      default: break;
    }
    o = next;
  }
  if (!seenOrig || orig.src === undefined || orig.dst === undefined) throw new CtnetlinkParseError('conntrack message without an original tuple');
  if (orig.proto === undefined) throw new CtnetlinkParseError('conntrack message without a layer-4 protocol');
  const protocolNumber = orig.proto;
  // A DESTROY always carries both tuples; should one lack the reply, it is the original reversed (no NAT).
  let replyTuple: ConntrackTuple;
  if (seenReply && reply.src !== undefined) replyTuple = toTuple(reply, orig);
  else {
    const reversed: MutableTuple = { src: orig.dst, dst: orig.src, sport: orig.dport, dport: orig.sport, packets: reply.packets, bytes: reply.bytes };
    replyTuple = toTuple(reversed, {});
  }
  const event: { -readonly [K in keyof ConntrackEvent]: ConntrackEvent[K] } = {
    kind, family, protocol: PROTOCOL_NAMES[protocolNumber] ?? 'unknown', protocolNumber, original: toTuple(orig, {}), reply: replyTuple,
  };
  if (id !== undefined) event.id = id;
  if (status !== undefined) event.status = status;
  if (state !== undefined) event.state = state;
  if (timeout !== undefined) event.timeout = timeout;
  if (startNs !== undefined) event.startNs = startNs;
  if (stopNs !== undefined) event.stopNs = stopNs;
  if (mark !== undefined) event.mark = mark;
  if (zone !== undefined) event.zone = zone;
  return event;
}
