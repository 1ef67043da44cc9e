// Lookups into the host's conntrack table by either direction's tuple, and what NAT did to a flow.
import type { ConntrackEntry, ConntrackTable, ConntrackTuple } from '../model/conntrack.js';
import type { Endpoint, Protocol } from '../model/socket.js';

/** Conntrack entries by original and by reply tuple. */
export interface ConntrackIndex {
  readonly available: boolean;
  readonly entries: readonly ConntrackEntry[];
  /** The NATed entry whose original direction is `src → dst` (as the initiator sent it). */
  byOriginal(protocol: Protocol, src: Endpoint, dst: Endpoint): ConntrackEntry | undefined;
  /** The NATed entry whose reply direction is `src → dst` (as the responder answers). */
  byReply(protocol: Protocol, src: Endpoint, dst: Endpoint): ConntrackEntry | undefined;
}

const key = (protocol: string, src: string, sport: number | undefined, dst: string, dport: number | undefined) =>
  `${protocol}|${src}|${sport ?? 0}|${dst}|${dport ?? 0}`;
const tupleKey = (protocol: string, t: ConntrackTuple) => key(protocol, t.src, t.sport, t.dst, t.dport);

/** Indexes a conntrack table (an unavailable one gives an empty index). */
export function indexConntrack(table: ConntrackTable): ConntrackIndex {
  const entries = table.status === 'ok' ? table.entries : [];
  const orig = new Map<string, ConntrackEntry>();
  const reply = new Map<string, ConntrackEntry>();
  for (const e of entries) {
    // Only NAT makes a socket's tuple differ from its peer's: entries without NAT are never looked up by tuple
    // (the sockets pair by themselves), so they are not indexed — most of a busy table.
    if (!isDnat(e) && !isSnat(e)) continue;
    const ko = tupleKey(e.protocol, e.original);
    const kr = tupleKey(e.protocol, e.reply);
    // Zones could repeat a tuple; the first entry wins, which is all the topology needs.
    if (!orig.has(ko)) orig.set(ko, e);
    if (!reply.has(kr)) reply.set(kr, e);
  }
  return {
    available: table.status === 'ok',
    entries,
    byOriginal: (protocol, src, dst) => orig.get(key(protocol, src.address, src.port, dst.address, dst.port)),
    byReply: (protocol, src, dst) => reply.get(key(protocol, src.address, src.port, dst.address, dst.port)),
  };
}

/**
 * Whether anything portolan derives from the polled table reads this entry (pure): NATed TCP and UDP entries
 * (lookups by tuple here, the fleet's NATed flows), every UDP entry (flows no connected socket shows, their bytes),
 * and TCP entries that are over (TIME_WAIT, CLOSE) with counters (bytes of connections that closed between samples,
 * report/edge-bytes.ts). The rest — most of a busy table: open or closed TCP connections without NAT or counters —
 * is read by nothing, so the collector keeps none of it and need not ask the kernel for it.
 */
export function isConntrackEntryUsed(e: ConntrackEntry): boolean {
  if (e.protocol === 'udp') return true;
  if (e.protocol !== 'tcp') return false;
  if (isDnat(e) || isSnat(e)) return true;
  return e.original.bytes !== undefined && e.reply.bytes !== undefined && (e.state === 'TIME_WAIT' || e.state === 'CLOSE');
}

/** True when the destination was rewritten (DNAT, e.g. a published port without the userland proxy). */
export function isDnat(e: ConntrackEntry): boolean {
  return e.reply.src !== e.original.dst || e.reply.sport !== e.original.dport;
}

/** True when the source was rewritten (SNAT/MASQUERADE, e.g. hairpin or host-local DNAT). */
export function isSnat(e: ConntrackEntry): boolean {
  return e.reply.dst !== e.original.src || e.reply.dport !== e.original.sport;
}

/** The real server of a flow (where the reply comes from). */
export function realServer(e: ConntrackEntry): Endpoint {
  return { address: e.reply.src, port: e.reply.sport ?? 0 };
}

/** The server's view of the client (the reply's destination, after any SNAT). */
export function clientAsSeenByServer(e: ConntrackEntry): Endpoint {
  return { address: e.reply.dst, port: e.reply.dport ?? 0 };
}

/** The client as it sent the flow. */
export function originalClient(e: ConntrackEntry): Endpoint {
  return { address: e.original.src, port: e.original.sport ?? 0 };
}

/** The destination the client dialled. */
export function originalDestination(e: ConntrackEntry): Endpoint {
  return { address: e.original.dst, port: e.original.dport ?? 0 };
}
