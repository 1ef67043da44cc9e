// From one ctnetlink message to one `connection.opened` / `connection.closed` event (pure): who the client and the
// server were (the containers holding those addresses then, the host, a process a collection saw), when, how long,
// and with accounting, how many bytes each way.
import type { ConnectionBytes, ConnectionDirection, ConnectionEnd, ConnectionEvent, ContainerAt, ProcessAt } from '../model/connection.js';
import type { ConntrackEvent } from '../model/conntrack.js';
import type { Endpoint, Protocol } from '../model/socket.js';

/** What attribution knows about addresses, asked for each end of a flow. */
export interface CaptureAttribution {
  /** The Docker host's name. */
  readonly host: string;
  /** The container that held `address` at `atMs` (ms since the epoch), live or from the address history. */
  containerAt(address: string, atMs: number): ContainerAt | undefined;
  /** Whether `address` is one of the Docker host's own. */
  isHostAddress(address: string): boolean;
  /** The process holding the socket at this end, when a collection saw it. */
  processAt?(protocol: Protocol, endpoint: Endpoint): ProcessAt | undefined;
}

/** Where and when a message was read, and what capture remembers of the flow's opening. */
export interface CaptureContext {
  /** Inode of the network namespace whose socket read it. */
  readonly netns: number;
  /** When the agent read the message (ms since the epoch). */
  readonly receivedAtMs: number;
  /** For a DESTROY: when the agent read the flow's NEW (its in-flight entry), if it did. */
  readonly openedAtMs?: number;
  /**
   * For a TCP close: when the agent read its UPDATE to TIME_WAIT or CLOSE. That is the close; the DESTROY's kernel
   * stop time is the entry's expiry (TIME_WAIT lasts 120 s), not the close.
   */
  readonly closedAtMs?: number;
}

const NS_PER_MS = 1_000_000n;
// IPS_SEEN_REPLY: a packet was seen in the reply direction.
const SEEN_REPLY = 1 << 1;

/**
 * The event a ctnetlink message stands for, or undefined when it stands for none: UPDATE messages and dump entries
 * (they feed resynchronisation, not the journal), protocols other than TCP and UDP, tuples without ports.
 */
export function toConnectionEvent(msg: ConntrackEvent, ctx: CaptureContext, who: CaptureAttribution): ConnectionEvent | undefined {
  if (msg.kind !== 'new' && msg.kind !== 'destroy') return undefined;
  if (msg.protocol !== 'tcp' && msg.protocol !== 'udp') return undefined;
  const o = msg.original;
  const r = msg.reply;
  if (o.sport === undefined || o.dport === undefined || r.sport === undefined) return undefined;
  const protocol: Protocol = msg.protocol;

  const startMs = msg.startNs !== undefined && msg.startNs > 0n ? Number(msg.startNs / NS_PER_MS) : undefined;
  const stopMs = msg.stopNs !== undefined && msg.stopNs > 0n ? Number(msg.stopNs / NS_PER_MS) : undefined;
  const closed = msg.kind === 'destroy';
  const kernel = closed ? startMs !== undefined && stopMs !== undefined && ctx.closedAtMs === undefined : startMs !== undefined;
  const openedMs = startMs ?? (closed ? ctx.openedAtMs : ctx.receivedAtMs);
  const closedMs = closed ? (ctx.closedAtMs ?? stopMs ?? ctx.receivedAtMs) : undefined;
  const atMs = closed ? (closedMs ?? ctx.receivedAtMs) : (openedMs ?? ctx.receivedAtMs);
  // Attribute at the opening: the client's container may be gone by the DESTROY (TIME_WAIT lasts 120 s).
  const whenMs = openedMs ?? atMs;

  const clientEp: Endpoint = { address: o.src, port: o.sport };
  // The reply direction's source is the server after DNAT: the container's own address and port.
  const serverEp: Endpoint = { address: r.src, port: r.sport };
  const client = end(clientEp, protocol, whenMs, who);
  const server = end(serverEp, protocol, whenMs, who);
  const published = o.dst !== r.src || o.dport !== r.sport ? { address: o.dst, port: o.dport } : undefined;
  const bytes = closed ? counters(msg) : undefined;
  const durationMs = openedMs !== undefined && closedMs !== undefined ? Math.max(0, closedMs - openedMs) : undefined;

  // Built by assignment in the order the spreads of conditional parts gave (JSON and exports keep that order):
  // object spreads were a third of this function's time at thousands of events a second.
  const flow: Mutable<ConnectionEvent['flow']> = { source: 'conntrack', netns: ctx.netns } as Mutable<ConnectionEvent['flow']>;
  if (msg.id !== undefined) flow.flowId = msg.id;
  flow.protocol = protocol;
  flow.family = msg.family;
  flow.client = client;
  flow.server = server;
  if (published) flow.published = published;
  flow.direction = direction(client, server);
  if (msg.state !== undefined) flow.state = msg.state;
  flow.unreplied = ((msg.status ?? 0) & SEEN_REPLY) === 0;
  if (openedMs !== undefined) flow.openedAt = isoTime(openedMs);
  if (closedMs !== undefined) flow.closedAt = isoTime(closedMs);
  flow.timing = kernel ? 'kernel' : 'observed';
  if (durationMs !== undefined) flow.durationMs = durationMs;
  if (bytes) flow.bytes = bytes;
  flow.host = who.host;
  return { type: closed ? 'connection.closed' : 'connection.opened', at: isoTime(atMs), flow };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// The last few times formatted: the events of one collection come in time order, many within the same
// millisecond, and an opening's time is formatted again as its event's `at`.
const isoCache = new Map<number, string>();
function isoTime(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (isoCache.size >= 64) isoCache.clear();
    isoCache.set(ms, s);
  }
  return s;
}

function end(ep: Endpoint, protocol: Protocol, atMs: number, who: CaptureAttribution): ConnectionEnd {
  const container = who.containerAt(ep.address, atMs);
  const process = who.processAt?.(protocol, ep);
  const host = !container && who.isHostAddress(ep.address);
  const e: Mutable<ConnectionEnd> = { address: ep.address, port: ep.port };
  if (container) e.container = container;
  if (process) e.process = process;
  if (host) e.host = host;
  return e;
}

/** Where a flow runs relative to this host (see ConnectionDirection). */
function direction(client: ConnectionEnd, server: ConnectionEnd): ConnectionDirection {
  const local = (e: ConnectionEnd) => e.container !== undefined || e.host === true;
  const c = local(client);
  const s = local(server);
  if (c && s) return 'internal';
  if (c) return 'outbound';
  if (s) return 'inbound';
  return 'unknown';
}

/** Both directions' counters, when the message has them (accounting on). */
function counters(msg: ConntrackEvent): ConnectionBytes | undefined {
  const o = msg.original;
  const r = msg.reply;
  if (o.bytes === undefined || r.bytes === undefined) return undefined;
  return { sent: o.bytes, packetsSent: o.packets ?? 0, received: r.bytes, packetsReceived: r.packets ?? 0 };
}
