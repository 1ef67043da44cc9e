// Decoder for NETLINK_SOCK_DIAG replies (SOCK_DIAG_BY_FAMILY): include/uapi/linux/inet_diag.h and tcp.h.
import { ParseError, type ParseResult } from '../errors.js';
import { TCP_STATES, type Family, type Protocol, type RawSocket, type SocketState, type TcpInfo } from '../model/socket.js';
import { formatIpv4, formatIpv6 } from './address.js';

/** The `file` that ParseErrors from this parser name: netlink has no path, so a pseudo-path. */
export const SOCK_DIAG_FILE = 'netlink:sock_diag';

/** Size of `struct inet_diag_msg`, the fixed part of every reply payload. */
export const INET_DIAG_MSG_SIZE = 72;

/** rtattr type carrying `struct tcp_info` (INET_DIAG_INFO in enum inet_diag_attrs). */
export const INET_DIAG_INFO = 2;

/** The `idiag_ext` request bit asking the kernel to attach INET_DIAG_INFO: 1 << (INET_DIAG_INFO - 1). */
export const INET_DIAG_INFO_EXT = 1 << (INET_DIAG_INFO - 1);

const AF_INET = 2;
const AF_INET6 = 10;
const TCP_CLOSE = 7;
const RTA_HDR = 4;

/** True when this machine stores integers little-endian; netlink headers and payload integers use host order. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
    : b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

// u64 counters as numbers: exact below 2^53 (8 PiB), which no per-connection byte counter reaches in practice.
function u64(b: Uint8Array, o: number, le: boolean): number {
  return le ? u32(b, o, true) + u32(b, o + 4, true) * 0x100000000 : u32(b, o, false) * 0x100000000 + u32(b, o + 4, false);
}

function fail(index: number, reason: string): never {
  throw new ParseError(SOCK_DIAG_FILE, index, reason);
}

function stateName(code: number, protocol: Protocol): SocketState | undefined {
  // ss prints an unconnected UDP socket (TCP_CLOSE) as UNCONN; connected UDP sockets are TCP_ESTABLISHED.
  if (protocol === 'udp' && code === TCP_CLOSE) return 'UNCONN';
  return TCP_STATES[code - 1];
}

// A struct tcp_info field, or 0 when it ends past the attribute: the struct grew over kernel releases
// (bytes_sent at 200 arrived in 4.19), so such a field must not be read from the next attribute's bytes.
function f32(b: Uint8Array, start: number, len: number, off: number, le: boolean): number {
  return off + 4 <= len ? u32(b, start + off, le) : 0;
}

function f64(b: Uint8Array, start: number, len: number, off: number, le: boolean): number {
  return off + 8 <= len ? u64(b, start + off, le) : 0;
}

/** Decodes `struct tcp_info` (include/uapi/linux/tcp.h) from the `len` bytes at `start`. */
function parseTcpInfo(b: Uint8Array, s: number, len: number, le: boolean): TcpInfo {
  const minRtt = f32(b, s, len, 148, le);
  const bytesRetrans = f64(b, s, len, 208, le);
  return {
    // tcpi_bytes_sent counts retransmitted bytes again; payload sent is that minus tcpi_bytes_retrans.
    bytesSent: Math.max(0, f64(b, s, len, 200, le) - bytesRetrans),
    bytesRetrans,
    bytesReceived: f64(b, s, len, 128, le),
    bytesAcked: f64(b, s, len, 120, le),
    rttMs: f32(b, s, len, 68, le) / 1000,
    rttVarMs: f32(b, s, len, 72, le) / 1000,
    // tcp_min_rtt() is ~0U until the first RTT sample.
    minRttMs: minRtt === 0xffffffff ? 0 : minRtt / 1000,
    retransmits: f32(b, s, len, 100, le),
    deliveryRateBps: f64(b, s, len, 160, le),
    segsOut: f32(b, s, len, 136, le),
    segsIn: f32(b, s, len, 140, le),
    lastSendMs: f32(b, s, len, 44, le),
    // 48 is tcpi_last_ack_sent, which the kernel never fills ("Not remembered, sorry").
    lastReceiveMs: f32(b, s, len, 52, le),
  };
}

/**
 * Address strings already made during one dump. A namespace's sockets share few addresses (its own IP, loopback,
 * a few peers), so reusing the string saves formatting and memory on big dumps.
 */
interface AddressCache {
  readonly v4: Map<number, string>;
  readonly v6: Map<string, string>;
}

const ADDRESS_CACHE_LIMIT = 4096;

function formatAddress(b: Uint8Array, off: number, family: Family, cache: AddressCache | undefined): string {
  if (cache === undefined) return family === 'ipv4' ? formatIpv4(b, off) : formatIpv6(b, off);
  if (family === 'ipv4') {
    const key = u32(b, off, false);
    let text = cache.v4.get(key);
    if (text === undefined) {
      text = formatIpv4(b, off);
      if (cache.v4.size < ADDRESS_CACHE_LIMIT) cache.v4.set(key, text);
    }
    return text;
  }
  // Four 32-bit words as one string key: cheaper than formatting, and exact.
  const key = `${u32(b, off, false)},${u32(b, off + 4, false)},${u32(b, off + 8, false)},${u32(b, off + 12, false)}`;
  let text = cache.v6.get(key);
  if (text === undefined) {
    text = formatIpv6(b, off);
    if (cache.v6.size < ADDRESS_CACHE_LIMIT) cache.v6.set(key, text);
  }
  return text;
}

/**
 * Decodes one SOCK_DIAG_BY_FAMILY reply payload (the bytes after nlmsghdr): `struct inet_diag_msg` and its
 * rtattrs, reading `struct tcp_info` from INET_DIAG_INFO when present. `index` is the message's 1-based position
 * in the dump (ParseError lines are 1-based); integers are in host order (`littleEndian` defaults to this machine's).
 */
export function parseInetDiagMsg(
  payload: Uint8Array,
  protocol: Protocol,
  index = 1,
  littleEndian = HOST_LITTLE_ENDIAN,
): RawSocket {
  return decodeInetDiagMsg(payload, protocol, index, littleEndian, undefined);
}

function decodeInetDiagMsg(
  payload: Uint8Array,
  protocol: Protocol,
  index: number,
  littleEndian: boolean,
  cache: AddressCache | undefined,
): RawSocket {
  const le = littleEndian;
  if (payload.length < INET_DIAG_MSG_SIZE) {
    fail(index, `inet_diag_msg needs ${INET_DIAG_MSG_SIZE} bytes, got ${payload.length}`);
  }
  const familyCode = payload[0]!;
  let family: Family;
  if (familyCode === AF_INET) family = 'ipv4';
  else if (familyCode === AF_INET6) family = 'ipv6';
  else return fail(index, `unknown address family ${familyCode}`);
  const state = stateName(payload[1]!, protocol) ?? fail(index, `unknown ${protocol} state ${payload[1]!}`);

  let tcp: TcpInfo | undefined;
  for (let off = INET_DIAG_MSG_SIZE; off + RTA_HDR <= payload.length; ) {
    const rtaLen = u16(payload, off, le);
    const rtaType = u16(payload, off + 2, le);
    if (rtaLen < RTA_HDR || off + rtaLen > payload.length) {
      fail(index, `rtattr type ${rtaType} at offset ${off} has length ${rtaLen}, ${payload.length - off} bytes left`);
    }
    if (rtaType === INET_DIAG_INFO && protocol === 'tcp') tcp = parseTcpInfo(payload, off + RTA_HDR, rtaLen - RTA_HDR, le);
    off += (rtaLen + 3) & ~3;
  }

  // inet_diag_sockid: ports are __be16, addresses __be32[4] (IPv4 uses the first word).
  const local = { address: formatAddress(payload, 8, family, cache), port: (payload[4]! << 8) | payload[5]! };
  const remote = { address: formatAddress(payload, 24, family, cache), port: (payload[6]! << 8) | payload[7]! };
  const inode = u32(payload, 68, le);
  const uid = u32(payload, 64, le);
  const txQueue = u32(payload, 60, le);
  const rxQueue = u32(payload, 56, le);
  // Two literal shapes instead of a spread: this runs once per socket, 100k times in a big namespace.
  return tcp === undefined
    ? { protocol, family, state, local, remote, inode, uid, txQueue, rxQueue }
    : { protocol, family, state, local, remote, inode, uid, txQueue, rxQueue, tcp };
}

/**
 * Decodes every payload of one sock_diag dump, keeping going past bad messages: each becomes a ParseError whose
 * line is the message's 1-based position in `payloads`.
 */
export function parseSockDiagDump(
  payloads: readonly Uint8Array[],
  protocol: Protocol,
  littleEndian = HOST_LITTLE_ENDIAN,
): ParseResult<RawSocket> {
  const records: RawSocket[] = [];
  const errors: ParseError[] = [];
  const cache: AddressCache = { v4: new Map(), v6: new Map() };
  for (let i = 0; i < payloads.length; i++) {
    try {
      records.push(decodeInetDiagMsg(payloads[i]!, protocol, i + 1, littleEndian, cache));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  return { records, errors };
}
