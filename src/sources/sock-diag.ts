// NETLINK_SOCK_DIAG reader: opens a netlink socket inside another network namespace and returns raw dump replies.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type * as Netlink from 'netlink/dist/raw.js';
import { errnoName, inNetns, NetnsEntryError } from './netns.js';

/** Netlink protocol number of socket diagnostics (NETLINK_SOCK_DIAG, formerly NETLINK_INET_DIAG). */
export const NETLINK_SOCK_DIAG = 4;
/** nlmsg_type of an inet_diag_req_v2 request and of its replies. */
export const SOCK_DIAG_BY_FAMILY = 20;
/**
 * nlmsg_type of the legacy TCP request (`struct inet_diag_req`) and of its replies. The kernel serves it with
 * sdiag_family AF_UNSPEC (inet_diag_dump_compat), so one walk of the TCP hash tables returns IPv4 and IPv6
 * sockets: the walk of the established hash, which is global (every namespace's sockets, 262,144 buckets on a
 * 24 GB host) and costs ~0.25 ms of kernel time however few sockets the namespace has, is done once, not twice.
 */
export const TCPDIAG_GETSOCK = 18;

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
const INET_DIAG_REQ_V2_SIZE = 56;
const INET_DIAG_REQ_V1_SIZE = 60;
// The kernel caps each dump datagram at SKB_WITH_OVERHEAD(32768) once recvmsg() offers that much
// (netlink_recvmsg records max_recvmsg_len); a fixed 32 KiB buffer skips the MSG_PEEK syscall per datagram
// and gets ~8x fewer, fuller datagrams than peeking, which sizes each read to the previous 4 KiB skb.
const RECV_BUFFER_SIZE = 32768;
/**
 * idiag_states of every request: every state but TCP_BOUND_INACTIVE (13, Linux 6.5+), the pseudo-state of TCP
 * sockets bound but neither listening nor connected. Asking for it makes the kernel walk its TCP bind hash too
 * (~0.3 ms a dump here, in every namespace), and returns sockets that neither `ss -a` nor /proc/net/tcp list
 * (reported as CLOSE): without it, netlink lists what /proc and `ss` do. UDP ignores the bit.
 */
export const DIAG_STATES = 0xffffffff & ~(1 << 13);
const HOST_LE = endianness() === 'LE';

/** Netlink socket diagnostics cannot be used here (native module missing, no privilege, kernel without it). */
export class NetlinkUnavailableError extends Error {
  override readonly name = 'NetlinkUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A netlink socket bound inside one network namespace, answering sock_diag dumps. */
export interface SockDiagSocket {
  /**
   * Dumps every socket of `family` (2 AF_INET, 10 AF_INET6; 0 both, for TCP only, with the legacy request) and
   * `protocol` (6 TCP, 17 UDP) in the namespace, in all states (DIAG_STATES), asking for the extensions in `ext` (the idiag_ext
   * bitmask; 2 = tcp_info). Resolves to one Buffer per reply, holding the bytes after its nlmsghdr. Dumps on one
   * socket run one at a time.
   */
  dump(family: 0 | 2 | 10, protocol: 6 | 17, ext: number, signal?: AbortSignal): Promise<Buffer[]>;
  /** Closes the socket; pending dumps reject. */
  close(): void;
}

interface Natives {
  readonly RawNetlinkSocket: typeof Netlink.RawNetlinkSocket;
}

let natives: Natives | undefined;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Loads the netlink addon once; it is native and may be missing on this platform. */
function loadNatives(): Natives {
  if (natives) return natives;
  const require = createRequire(import.meta.url);
  try {
    // Only the raw socket: the package's index also builds the rtnetlink, genl and nl80211 struct codecs (~25-60 ms
    // of start-up every `ps` would pay for nothing).
    natives = { RawNetlinkSocket: (require('netlink/dist/raw.js') as typeof Netlink).RawNetlinkSocket };
  } catch (err) {
    throw new NetlinkUnavailableError(`cannot load the netlink native module: ${message(err)}`, { cause: err });
  }
  return natives;
}

/**
 * A dump request: nlmsghdr (`type`, NLM_F_REQUEST|NLM_F_DUMP, `seq`, pid 0 so the kernel answers the sending
 * socket) followed by `bodySize` bytes that `fill` writes, in host byte order.
 */
function dumpRequest(type: number, seq: number, bodySize: number, littleEndian: boolean, fill: (buf: Buffer, w32: (v: number, o: number) => number) => void): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + bodySize);
  const w32 = (v: number, o: number): number => (littleEndian ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  const w16 = (v: number, o: number): number => (littleEndian ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  w32(buf.length, 0);
  w16(type, 4);
  w16(NLM_F_REQUEST | NLM_F_DUMP, 6);
  w32(seq >>> 0, 8);
  w32(0, 12);
  fill(buf, w32);
  return buf;
}

/**
 * Encodes the request of a sock_diag dump: nlmsghdr (type SOCK_DIAG_BY_FAMILY) and `struct inet_diag_req_v2`
 * with every state of DIAG_STATES and a zero inet_diag_sockid, in host byte order.
 */
export function encodeSockDiagRequest(seq: number, family: number, protocol: number, ext: number, littleEndian = HOST_LE): Buffer {
  return dumpRequest(SOCK_DIAG_BY_FAMILY, seq, INET_DIAG_REQ_V2_SIZE, littleEndian, (buf, w32) => {
    buf[16] = family;
    buf[17] = protocol;
    buf[18] = ext;
    w32(DIAG_STATES >>> 0, 20); // idiag_states
  });
}

/**
 * Encodes the legacy request for every TCP socket of both families: nlmsghdr (type TCPDIAG_GETSOCK) and
 * `struct inet_diag_req` (family, src_len, dst_len, ext, inet_diag_sockid, states, dbs), the states of DIAG_STATES.
 */
export function encodeTcpDiagCompatRequest(seq: number, ext: number, littleEndian = HOST_LE): Buffer {
  return dumpRequest(TCPDIAG_GETSOCK, seq, INET_DIAG_REQ_V1_SIZE, littleEndian, (buf, w32) => {
    buf[16] = 2; // idiag_family: ignored by the dump, which asks for AF_UNSPEC
    buf[19] = ext;
    w32(DIAG_STATES >>> 0, NLMSG_HDRLEN + 4 + 48); // idiag_states, after the 48-byte inet_diag_sockid
  });
}

interface ActiveDump {
  readonly seq: number;
  readonly payloads: Buffer[];
  settle(err: Error | undefined): void;
}

function errnoError(errno: number, what: string): Error & { errno: number; code: string } {
  const code = errnoName(errno);
  return Object.assign(new Error(`${what}: ${code}`), { errno, code });
}

function wrapSocket(raw: Netlink.RawNetlinkSocket, nsPath: string): SockDiagSocket {
  let closed = false;
  let seq = 0;
  let active: ActiveDump | undefined;
  let queue: Promise<void> = Promise.resolve();
  const le = HOST_LE;
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  let brokenBy: Error | undefined;
  const closedError = (): Error =>
    new Error(`sock_diag socket for ${nsPath} is closed${brokenBy ? ` after an error: ${brokenBy.message}` : ''}`, { cause: brokenBy });
  // After a socket error or an unreadable datagram the rest of a running kernel dump cannot be trusted (and a new
  // request would get EBUSY): fail the dump and close, so the caller opens a fresh socket.
  const breakSocket = (err: Error): void => {
    if (closed) return;
    brokenBy = err;
    closed = true;
    active?.settle(err);
    raw.close();
  };

  // One datagram carries many nlmsghdr-framed replies; payloads are views into it, not copies.
  raw.on('message', (buf) => {
    const dump = active;
    if (!dump) return;
    for (let off = 0, len = 0; off + NLMSG_HDRLEN <= buf.length; off += (len + 3) & ~3) {
      len = u32(buf, off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) {
        breakSocket(new Error(`malformed netlink datagram from ${nsPath}: message length ${len} at offset ${off} of ${buf.length}`));
        return;
      }
      // Replies to an aborted earlier request (other seq) are drained and ignored.
      if (u32(buf, off + 8) === dump.seq) {
        const type = u16(buf, off + 4);
        if (type === SOCK_DIAG_BY_FAMILY || type === TCPDIAG_GETSOCK) {
          dump.payloads.push(buf.subarray(off + NLMSG_HDRLEN, off + len));
        } else if (type === NLMSG_DONE || type === NLMSG_ERROR) {
          // Both end the dump. DONE carries the dump's final return value, ERROR a negative errno (0 = ACK).
          const errno = len >= NLMSG_HDRLEN + 4 ? -(le ? buf.readInt32LE(off + 16) : buf.readInt32BE(off + 16)) : 0;
          if (errno <= 0) {
            if (type === NLMSG_ERROR) continue;
            dump.settle(undefined);
            return;
          }
          // inet_diag answers ENOENT when no handler (tcp_diag / udp_diag module) serves the family+protocol.
          dump.settle(errno === 2 || errno === 95
            ? new NetlinkUnavailableError(`sock_diag dump in ${nsPath} refused: ${errnoName(errno)} (kernel lacks inet_diag support for this protocol?)`)
            : errnoError(errno, `sock_diag dump in ${nsPath} failed`));
          return;
        }
      }
    }
  });
  raw.on('truncatedMessage', (_buf, rinfo) => {
    breakSocket(new Error(`netlink datagram from ${nsPath} truncated: ${rinfo.truncated ?? '?'} bytes > ${RECV_BUFFER_SIZE}`));
  });
  // Also when idle: the next dump then rejects with this error instead of it going unseen.
  raw.on('error', (err) => breakSocket(err));
  // An idle cached socket must not keep the process alive; a running dump does.
  raw.unref();

  const dump = (family: 0 | 2 | 10, protocol: 6 | 17, ext: number, signal?: AbortSignal): Promise<Buffer[]> => {
    if (closed) return Promise.reject(closedError());
    if (family === 0 && protocol !== 6) return Promise.reject(new Error('a dump of both families is only possible for TCP'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    let resolveOuter!: (payloads: Buffer[]) => void;
    let rejectOuter!: (err: unknown) => void;
    const result = new Promise<Buffer[]>((resolve, reject) => {
      resolveOuter = resolve;
      rejectOuter = reject;
    });
    // Abort settles the caller at once, but the kernel dump keeps running on this socket (a new one would get
    // EBUSY), so the next dump waits in the queue until this one has drained.
    const onAbort = (): void => rejectOuter(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const turn = queue.then(
      () =>
        new Promise<void>((finish) => {
          if (closed || signal?.aborted) {
            signal?.removeEventListener('abort', onAbort);
            rejectOuter(closed ? closedError() : signal?.reason);
            finish();
            return;
          }
          seq = (seq % 0xffffffff) + 1;
          const current: ActiveDump = {
            seq,
            payloads: [],
            settle(err) {
              if (active !== current) return;
              active = undefined;
              if (!closed) raw.unref();
              signal?.removeEventListener('abort', onAbort);
              if (err) rejectOuter(err);
              else resolveOuter(current.payloads);
              finish();
            },
          };
          active = current;
          raw.ref();
          const request = family === 0 ? encodeTcpDiagCompatRequest(seq, ext) : encodeSockDiagRequest(seq, family, protocol, ext);
          raw.send(request, undefined, (err) => {
            if (err) current.settle(err);
          });
        }),
    );
    queue = turn;
    return result;
  };

  return {
    dump,
    close() {
      if (closed) return;
      closed = true;
      active?.settle(closedError());
      raw.close();
    },
  };
}

/**
 * Opens a NETLINK_SOCK_DIAG socket inside the network namespace at `nsPath` (`/proc/<pid>/ns/net`, a Docker
 * SandboxKey or `/var/run/netns/<name>`): created inside it (sources/netns.ts), it stays bound to it. Throws
 * NetlinkUnavailableError when the native modules cannot load or privileges are missing; an ENOENT error when the
 * namespace is gone; NetnsReturnError (fatal) when the thread could not return to its own namespace.
 */
export function openSockDiag(nsPath: string): SockDiagSocket {
  const { RawNetlinkSocket } = loadNatives();
  let raw: Netlink.RawNetlinkSocket;
  try {
    raw = inNetns(nsPath, () => new RawNetlinkSocket(NETLINK_SOCK_DIAG, {
      messagePeeking: false,
      msgBufferSize: RECV_BUFFER_SIZE,
      recvBufferSize: 0,
      sendBufferSize: 0,
    }));
  } catch (err) {
    if (err instanceof NetnsEntryError) throw new NetlinkUnavailableError(err.message, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPROTONOSUPPORT' || code === 'EAFNOSUPPORT' || code === 'EPERM' || code === 'EACCES') {
      throw new NetlinkUnavailableError(`cannot create a NETLINK_SOCK_DIAG socket in ${nsPath}: ${message(err)}`, { cause: err });
    }
    throw err;
  }
  return wrapSocket(raw, nsPath);
}
