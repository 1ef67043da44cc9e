// ctnetlink reader (I/O only): a NETLINK_NETFILTER socket inside one network namespace, subscribed to conntrack's
// NEW and DESTROY multicast groups, handing each datagram over as bytes; and a dump of the namespace's conntrack
// table, for resynchronising after the kernel dropped events (ENOBUFS). Decoding is core/parse/ctnetlink.ts.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { endianness } from 'node:os';
import type * as Netlink from 'netlink/dist/raw.js';
import { inNetns, NetnsEntryError } from './netns.js';
import { NetlinkUnavailableError } from './sock-diag.js';

/** Netlink protocol number of nfnetlink. */
export const NETLINK_NETFILTER = 12;
/** Multicast groups of conntrack events. */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;

const NLMSG_HDRLEN = 16;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
// (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET
const CT_GET = (1 << 8) | 1;
const NLMSG_DONE = 3;
const NLMSG_ERROR = 2;
const HOST_LE = endianness() === 'LE';
// The netlink module allocates (and zeroes) a buffer of this size for every datagram it reads, and frees it only
// when the garbage collector finalises the Buffer (V8 is told of the bytes read, not of the allocation): with 64 KiB
// per event, 10,000 events a second made ~640 MB/s of native allocations and the agent's RSS grew with the rate.
// An event is one message per datagram (the kernel sizes it with ctnetlink_nlmsg_size: under 1 KiB with every
// optional attribute; ~150-250 bytes as read here); a larger one arrives truncated, is reported as such (ETRUNC)
// and resynchronised. Dump datagrams are at most 32 KiB.
export const EVENT_DATAGRAM_SIZE = 4096;
const DUMP_DATAGRAM_SIZE = 65536;

/** Callbacks of an event subscription. */
export interface CtnetlinkEventHandlers {
  /** One datagram as read (one or more netlink messages). */
  onDatagram(bytes: Buffer): void;
  /**
   * The socket reported an error. `ENOBUFS`: the kernel dropped events because the receive buffer was full (the
   * subscription goes on; resynchronise). Anything else: the subscription is closed.
   */
  onError(err: Error & { code?: string }): void;
}

/** A subscription to conntrack events in one namespace. */
export interface CtnetlinkSubscription {
  /** The kernel's receive buffer size for this socket (bytes). */
  readonly recvBufferSize: number;
  /**
   * Whether UPDATE events to TCP's closing states (TIME_WAIT, CLOSE) come too: the socket filter that keeps only
   * those of all UPDATE events was attached. Without it (the filter refused) only NEW and DESTROY come.
   */
  readonly closingStates: boolean;
  /**
   * With `on`, TCP DESTROY events in TIME_WAIT or CLOSE are dropped by the filter too (their close was the UPDATE
   * to that state): a third message per connection spared. Returns whether the filter now does what was asked.
   */
  dropClosedTcpDestroys(on: boolean): boolean;
  /**
   * Events the kernel dropped for this socket so far (the Drops column of the namespace's /proc/net/netlink), read
   * now; undefined when it cannot be read. The socket is set NETLINK_NO_ENOBUFS (the netlink module aborts the
   * process on ENOBUFS), so this counter, not an error, tells that events were lost.
   */
  drops(): number | undefined;
  close(): void;
}

// struct sock_filter (classic BPF) instructions and the ancillary loads of netlink attributes (uapi filter.h).
const BPF_LD_B_ABS = 0x30;
const BPF_LD_W_ABS = 0x20;
const BPF_LD_IMM = 0x00;
const BPF_LDX_IMM = 0x01;
const BPF_LD_B_IND = 0x50;
const BPF_JEQ_K = 0x15;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;
const BPF_TAX = 0x07;
const SKF_AD_OFF = 0xfffff000;
const SKF_AD_NLATTR = 12;
const SKF_AD_NLATTR_NEST = 16;

/** One classic BPF instruction. */
export interface SockFilterInstruction { readonly code: number; readonly jt: number; readonly jf: number; readonly k: number }

/**
 * The socket filter of an event subscription (classic BPF, run by the kernel on every event before it is queued):
 * NEW passes; of the UPDATE events (every TCP state change, every status change: several per connection), only
 * those whose CTA_PROTOINFO_TCP_STATE is TIME_WAIT (7) or CLOSE (8) pass, found with the kernel's netlink-attribute
 * loads (SKF_AD_NLATTR, _NEST); DESTROY passes, unless `dropClosedTcpDestroys`: then a TCP DESTROY in TIME_WAIT or
 * CLOSE is dropped (its close was the UPDATE to that state; a UDP flow's or a flushed connection's DESTROY passes).
 * Netlink headers are in host byte order: `littleEndian` says where the message type's and flags' bytes are.
 * Exported for its tests.
 */
export function closingStateFilter(dropClosedTcpDestroys = false, littleEndian = HOST_LE): SockFilterInstruction[] {
  const typeLow = littleEndian ? 4 : 5; // nlmsg_type's low byte: IPCTNL_MSG_CT_*
  const flagsHigh = littleEndian ? 7 : 6; // nlmsg_flags' high byte: NLM_F_CREATE (0x400) is its 0x04
  // A small assembler: instructions with jump targets by label, resolved to the relative offsets cBPF takes.
  type Op = { code: number; k: number; jt?: string; jf?: string; label?: string };
  const ops: Op[] = [];
  const op = (code: number, k: number, jt?: string, jf?: string) => { ops.push({ code, k, ...(jt ? { jt } : {}), ...(jf ? { jf } : {}) }); };
  const label = (name: string) => { ops.push({ code: -1, k: 0, label: name }); };
  // The TCP state of the message: to `closing` for TIME_WAIT or CLOSE, else to `other` (no such attribute too).
  const tcpState = (closing: string, other: string) => {
    op(BPF_LD_IMM, 20); // the attributes, after nlmsghdr (16) and nfgenmsg (4)
    op(BPF_LDX_IMM, 4); // CTA_PROTOINFO
    op(BPF_LD_W_ABS, (SKF_AD_OFF + SKF_AD_NLATTR) >>> 0);
    op(BPF_JEQ_K, 0, other);
    op(BPF_LDX_IMM, 1); // CTA_PROTOINFO_TCP
    op(BPF_LD_W_ABS, (SKF_AD_OFF + SKF_AD_NLATTR_NEST) >>> 0);
    op(BPF_JEQ_K, 0, other);
    op(BPF_LDX_IMM, 1); // CTA_PROTOINFO_TCP_STATE
    op(BPF_LD_W_ABS, (SKF_AD_OFF + SKF_AD_NLATTR_NEST) >>> 0);
    op(BPF_JEQ_K, 0, other);
    op(BPF_TAX, 0);
    op(BPF_LD_B_IND, 4); // the state byte, after the attribute's header
    op(BPF_JEQ_K, 7, closing); // TIME_WAIT
    op(BPF_JEQ_K, 8, closing, other); // CLOSE
  };
  op(BPF_LD_B_ABS, typeLow);
  op(BPF_JEQ_K, 0, undefined, 'destroy'); // not IPCTNL_MSG_CT_NEW: a DESTROY
  op(BPF_LD_B_ABS, flagsHigh);
  op(BPF_JSET_K, 0x04, 'accept'); // NLM_F_CREATE: a NEW
  tcpState('accept', 'drop'); // an UPDATE
  label('destroy');
  if (dropClosedTcpDestroys) tcpState('drop', 'accept');
  else op(BPF_JEQ_K, 0, 'accept', 'accept');
  label('drop');
  op(BPF_RET_K, 0);
  label('accept');
  op(BPF_RET_K, 0xffffffff);
  // Resolve: a label names the index of the next real instruction.
  const at = new Map<string, number>();
  const out: Op[] = [];
  for (const o of ops) {
    if (o.label) at.set(o.label, out.length);
    else out.push(o);
  }
  return out.map((o, i) => {
    const rel = (target: string | undefined) => {
      if (target === undefined) return 0;
      const d = (at.get(target) ?? -1) - i - 1;
      if (d < 0 || d > 255) throw new Error(`socket filter: jump to ${target} out of range`);
      return d;
    };
    return { code: o.code, jt: rel(o.jt), jf: rel(o.jf), k: o.k };
  });
}

const SOL_NETLINK = 270;
const NETLINK_NO_ENOBUFS = 5;
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const SO_ATTACH_FILTER = 26;
let setsockopt: ((fd: number, level: number, name: number, value: number[], len: number) => number) | undefined;
let attachFilter: ((fd: number, program: SockFilterInstruction[]) => number) | undefined;

/** Attaches (or replaces) the socket filter; false when the kernel or the FFI refused it. */
function tryAttach(fd: number, program: SockFilterInstruction[]): boolean {
  try {
    return attachSocketFilter(fd, program) === 0;
  } catch (err) {
    // No filter: the caller goes on without what it would have kept.
    void err;
    return false;
  }
}

/** setsockopt(SO_ATTACH_FILTER) with `program` on `fd`: 0 on success. */
function attachSocketFilter(fd: number, program: SockFilterInstruction[]): number {
  if (!attachFilter) {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof Koffi;
    const SockFilter = koffi.struct('portolan_sock_filter', { code: 'uint16_t', jt: 'uint8_t', jf: 'uint8_t', k: 'uint32_t' });
    const SockFprog = koffi.struct('portolan_sock_fprog', { len: 'uint16_t', filter: koffi.pointer(SockFilter) });
    const fn = koffi.load('libc.so.6').func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(SockFprog), 'uint32_t']);
    attachFilter = (f, p) => {
      // The instructions in memory koffi keeps for the call: the kernel copies the program during setsockopt.
      const mem = koffi.alloc(SockFilter, p.length);
      try {
        koffi.encode(mem, koffi.array(SockFilter, p.length), p);
        return fn(f, SOL_SOCKET, SO_ATTACH_FILTER, { len: p.length, filter: mem }, koffi.sizeof(SockFprog)) as number;
      } finally {
        koffi.free(mem);
      }
    };
  }
  return attachFilter(fd, program);
}

/**
 * Sets NETLINK_NO_ENOBUFS on the socket whose inode is `inode` (found among this process's fds) and, when
 * `forceRecvBufferSize` is given, SO_RCVBUFFORCE to it: with CAP_NET_ADMIN the receive buffer may exceed
 * `net.core.rmem_max` (4 MiB here, where SO_RCVBUF stops). Returns whether the forced size was taken (false without
 * the capability: the buffer stays what SO_RCVBUF got).
 */
function tuneSocket(inode: number, forceRecvBufferSize?: number, filter?: SockFilterInstruction[]): { fd: number; forced: boolean; filtered: boolean } {
  const require = createRequire(import.meta.url);
  if (!setsockopt) {
    const koffi = require('koffi') as typeof Koffi;
    setsockopt = koffi.load('libc.so.6').func('int setsockopt(int fd, int level, int name, const int *value, uint32_t len)') as unknown as typeof setsockopt;
  }
  const target = `socket:[${inode}]`;
  for (const fd of readdirSync('/proc/self/fd')) {
    let link = '';
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch (err) {
      // An fd closed while listing: not ours.
      void err;
      continue;
    }
    if (link !== target) continue;
    if (setsockopt?.(Number(fd), SOL_NETLINK, NETLINK_NO_ENOBUFS, [1], 4) !== 0) throw new Error('setsockopt(NETLINK_NO_ENOBUFS) failed');
    const forced = forceRecvBufferSize !== undefined && setsockopt?.(Number(fd), SOL_SOCKET, SO_RCVBUFFORCE, [forceRecvBufferSize], 4) === 0;
    return { fd: Number(fd), forced, filtered: filter !== undefined && tryAttach(Number(fd), filter) };
  }
  throw new Error(`netlink socket inode ${inode} not found among this process's fds`);
}

/** The line of /proc/net/netlink (text as read in the socket's namespace) for netlink port id `port`: its inode and drops. */
function netlinkLine(text: string, port: number): { inode: number; drops: number } | undefined {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === String(NETLINK_NETFILTER) && f[2] === String(port)) return { inode: Number(f[9]), drops: Number(f[8]) };
  }
  return undefined;
}

interface Natives { readonly RawNetlinkSocket: typeof Netlink.RawNetlinkSocket }
let natives: Natives | undefined;

function loadNatives(): Natives {
  if (natives) return natives;
  const require = createRequire(import.meta.url);
  try {
    natives = { RawNetlinkSocket: (require('netlink/dist/raw.js') as typeof Netlink).RawNetlinkSocket };
  } catch (err) {
    throw new NetlinkUnavailableError(`cannot load the netlink native module: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return natives;
}

function open(nsPath: string, recvBufferSize: number, datagramSize: number): Netlink.RawNetlinkSocket {
  const { RawNetlinkSocket } = loadNatives();
  try {
    return inNetns(nsPath, () => new RawNetlinkSocket(NETLINK_NETFILTER, {
      messagePeeking: false, msgBufferSize: datagramSize, recvBufferSize, sendBufferSize: 0,
    }));
  } catch (err) {
    if (err instanceof NetnsEntryError) throw new NetlinkUnavailableError(err.message, { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPROTONOSUPPORT' || code === 'EAFNOSUPPORT' || code === 'EPERM' || code === 'EACCES') {
      throw new NetlinkUnavailableError(`cannot create a NETLINK_NETFILTER socket in ${nsPath}: ${String(err)}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Subscribes to conntrack NEW and DESTROY events in the namespace at `nsPath` (the socket is created inside it and
 * stays bound to it), and, unless `options.closingStates` is false, to the UPDATE events that take a TCP flow to
 * TIME_WAIT or CLOSE (its close, 120 s before its DESTROY), kept by a socket filter (closingStateFilter). `recvBufferSize` asks for that receive buffer (default 32 MiB: at 10,000 events a second, about
 * 2 s of events the agent may be busy elsewhere, e.g. in a collection, before the kernel drops any); with
 * CAP_NET_ADMIN it is forced past `net.core.rmem_max`, else capped there. Throws NetlinkUnavailableError without the
 * native module or privilege.
 */
export function subscribeConntrackEvents(
  nsPath: string, handlers: CtnetlinkEventHandlers, recvBufferSize = 32 << 20, options: { readonly closingStates?: boolean } = {},
): CtnetlinkSubscription {
  const raw = open(nsPath, recvBufferSize, EVENT_DATAGRAM_SIZE);
  let closingStates = false;
  let fd = -1;
  let droppingClosedDestroys = false;
  const port = raw.address().port;
  // /proc/<pid>/net/netlink of a task in the namespace lists the socket (its drops); nsPath is /proc/<pid>/ns/net.
  const netlinkFile = nsPath.replace(/ns\/net$/, 'net/netlink');
  try {
    const line = netlinkLine(readFileSync(netlinkFile, 'utf8'), port);
    if (!line) throw new Error(`port ${port} not in ${netlinkFile}`);
    const tuned = tuneSocket(line.inode, recvBufferSize, options.closingStates === false ? undefined : closingStateFilter());
    fd = tuned.fd;
    closingStates = tuned.filtered;
    raw.addMembership(NFNLGRP_CONNTRACK_NEW);
    raw.addMembership(NFNLGRP_CONNTRACK_DESTROY);
    // Every state change of every flow, unfiltered, would be several events per connection: only with the filter.
    if (closingStates) raw.addMembership(NFNLGRP_CONNTRACK_UPDATE);
  } catch (err) {
    raw.close();
    throw new NetlinkUnavailableError(`cannot follow conntrack events in ${nsPath}: ${String(err)}`, { cause: err });
  }
  let closed = false;
  // A throw out of a handler would cross the native callback and abort the process (Napi::Error): never let one.
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      try {
        handlers.onError(Object.assign(new Error(`conntrack event handler failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`), { code: 'EHANDLER' }));
      } catch (again) {
        // onError itself threw: nothing left to tell; the datagram is lost, the process lives.
        void again;
      }
    }
  };
  raw.on('message', (buf) => guard(() => handlers.onDatagram(buf)));
  raw.on('truncatedMessage', () => setImmediate(() => guard(() => handlers.onError(Object.assign(new Error(`conntrack event datagram truncated in ${nsPath}`), { code: 'ETRUNC' })))));
  // Errors are handled after the native callback that reported them has returned: a resync opens, sends on and
  // closes another netlink socket, which must not happen inside this one's poll handler.
  raw.on('error', (err) => setImmediate(() => guard(() => {
    if (closed) return;
    if (err.code !== 'ENOBUFS') {
      closed = true;
      // Not from inside the native callback (see dumpConntrack).
      setImmediate(() => {
        try {
          raw.close();
        } catch (closeErr) {
          void closeErr;
        }
      });
    }
    handlers.onError(err);
  })));
  // The subscription must not keep the process alive on its own (the agent's server does).
  raw.unref();
  return {
    recvBufferSize: raw.getRecvBufferSize(),
    closingStates,
    dropClosedTcpDestroys(on) {
      if (closed || !closingStates) return false;
      if (on === droppingClosedDestroys) return true;
      if (!tryAttach(fd, closingStateFilter(on))) return false;
      droppingClosedDestroys = on;
      return true;
    },
    drops() {
      try {
        return netlinkLine(readFileSync(netlinkFile, 'utf8'), port)?.drops;
      } catch (err) {
        void err;
        return undefined;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      raw.close();
    },
  };
}

/**
 * What the kernel itself leaves out of a dump (nf_conntrack_netlink.c, ctnetlink_filter_match): entries whose
 * CTA_STATUS bits under `status.mask` are not `status.value` (CTA_STATUS + CTA_STATUS_MASK, Linux 5.19+), and with
 * `protocol` those of another layer-4 protocol (CTA_FILTER with CTA_FILTER_ORIG_FLAGS = CTA_PROTO_NUM, Linux 5.8+;
 * only with a `family`), with `family` those of the other address family.
 * A kernel without them answers EINVAL (or ignores them: callers check what they got).
 */
export interface ConntrackDumpFilter {
  /** Only this address family (nfgenmsg's; a protocol filter needs one: EOPNOTSUPP with AF_UNSPEC). */
  readonly family?: 'ipv4' | 'ipv6';
  readonly status?: { readonly value: number; readonly mask: number };
  readonly protocol?: number;
}

// Attributes of a filtered dump request (uapi nfnetlink_conntrack.h; the filter flag is kernel-internal,
// CTA_FILTER_F_CTA_PROTO_NUM in nf_conntrack_netlink.c).
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_PROTO_NUM = 1;
const CTA_STATUS = 3;
const CTA_FILTER = 25;
const CTA_STATUS_MASK = 26;
const CTA_FILTER_ORIG_FLAGS = 1;
const CTA_FILTER_F_CTA_PROTO_NUM = 1 << 3;
const NLA_F_NESTED = 0x8000;

/** The netlink attributes (after the nfgenmsg) that ask the kernel for `filter` (exported for a unit test). */
export function dumpFilterAttributes(filter: ConntrackDumpFilter | undefined): Buffer {
  const parts: Buffer[] = [];
  const attr = (type: number, payload: Buffer): Buffer => {
    const len = 4 + payload.length;
    const b = Buffer.alloc((len + 3) & ~3);
    if (HOST_LE) { b.writeUInt16LE(len, 0); b.writeUInt16LE(type, 2); } else { b.writeUInt16BE(len, 0); b.writeUInt16BE(type, 2); }
    payload.copy(b, 4);
    return b;
  };
  const be32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0, 0); return b; };
  if (filter?.status) {
    parts.push(attr(CTA_STATUS, be32(filter.status.value)), attr(CTA_STATUS_MASK, be32(filter.status.mask)));
  }
  if (filter?.protocol !== undefined) {
    const flags = Buffer.alloc(4);
    if (HOST_LE) flags.writeUInt32LE(CTA_FILTER_F_CTA_PROTO_NUM, 0); else flags.writeUInt32BE(CTA_FILTER_F_CTA_PROTO_NUM, 0);
    parts.push(attr(CTA_FILTER | NLA_F_NESTED, attr(CTA_FILTER_ORIG_FLAGS, flags)));
    const proto = attr(CTA_PROTO_NUM, Buffer.from([filter.protocol & 0xff]));
    parts.push(attr(CTA_TUPLE_ORIG | NLA_F_NESTED, attr(CTA_TUPLE_PROTO | NLA_F_NESTED, proto)));
  }
  return Buffer.concat(parts);
}

/**
 * Dumps the conntrack table of the namespace at `nsPath` (every family), or with `filter` only what it lets
 * through: resolves to the datagrams of the dump as read, in order, the last holding NLMSG_DONE. Rejects after
 * `timeoutMs` or on a netlink error (a kernel that does not know a filter: errno 22, EINVAL).
 */
export function dumpConntrack(nsPath: string, timeoutMs = 10_000, filter?: ConntrackDumpFilter): Promise<Buffer[]> {
  const raw = open(nsPath, 4 << 20, DUMP_DATAGRAM_SIZE);
  const datagrams: Buffer[] = [];
  return new Promise<Buffer[]>((resolve, reject) => {
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // Closed outside the native callback that told us: closing the socket from inside it (and again on the
      // error that follows) throws through the callback and aborts the process.
      setImmediate(() => {
        try {
          raw.close();
        } catch (closeErr) {
          void closeErr;
        }
      });
      if (err) reject(err);
      else resolve(datagrams);
    };
    const timer = setTimeout(() => finish(new Error(`conntrack dump in ${nsPath} took over ${timeoutMs} ms`)), timeoutMs);
    raw.on('message', (buf) => {
      if (finished) return;
      try {
        onDumpDatagram(buf);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const onDumpDatagram = (buf: Buffer): void => {
      datagrams.push(buf);
      // The dump ends with NLMSG_DONE (or an error) as the last message of a datagram.
      for (let off = 0, len = 0; off + NLMSG_HDRLEN <= buf.length; off += (len + 3) & ~3) {
        len = HOST_LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
        if (len < NLMSG_HDRLEN) break;
        const type = HOST_LE ? buf.readUInt16LE(off + 4) : buf.readUInt16BE(off + 4);
        if (type === NLMSG_DONE) return finish();
        if (type === NLMSG_ERROR && off + 20 <= buf.length) {
          const errno = -(HOST_LE ? buf.readInt32LE(off + 16) : buf.readInt32BE(off + 16));
          if (errno > 0) return finish(new Error(`conntrack dump in ${nsPath} failed: errno ${errno}`));
        }
      }
    };
    raw.on('error', (err) => finish(err));
    raw.on('truncatedMessage', () => finish(new Error(`conntrack dump datagram truncated in ${nsPath}`)));
    const attributes = dumpFilterAttributes(filter);
    const req = Buffer.alloc(NLMSG_HDRLEN + 4 + attributes.length);
    attributes.copy(req, NLMSG_HDRLEN + 4);
    const w32 = (v: number, o: number) => (HOST_LE ? req.writeUInt32LE(v, o) : req.writeUInt32BE(v, o));
    const w16 = (v: number, o: number) => (HOST_LE ? req.writeUInt16LE(v, o) : req.writeUInt16BE(v, o));
    w32(req.length, 0);
    w16(CT_GET, 4);
    w16(NLM_F_REQUEST | NLM_F_DUMP, 6);
    w32(1, 8);
    w32(0, 12);
    // struct nfgenmsg: AF_UNSPEC (every family) or the filter's, NFNETLINK_V0, res_id 0.
    req[16] = filter?.family === 'ipv4' ? 2 : filter?.family === 'ipv6' ? 10 : 0;
    req[17] = 0;
    raw.send(req, undefined, (err) => {
      if (err) finish(err);
    });
  });
}
