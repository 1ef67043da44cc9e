// From what the eBPF probe saw on one socket (sock:inet_sock_set_state, collectors/ebpf.ts) to a captured
// `connection.opened` / `connection.closed` event like conntrack's (model/connection.ts), attributed by the
// socket's network namespace: the connections conntrack cannot see are loopback inside a namespace and a socket
// talking to its own address, so both ends are in that namespace. Pure.
import type { ConnectionEnd, ConnectionEvent, ContainerAt } from '../model/connection.js';
import type { Endpoint } from '../model/socket.js';

/** One TCP socket's end of a connection, opened or closed, as the eBPF feed reports it (`local` = the socket's own). */
export interface EbpfSocketEvent {
  readonly kind: 'opened' | 'closed';
  /** Wall-clock ISO time the agent read it. */
  readonly at: string;
  readonly netns: number;
  /** client: the socket connected out (SYN_SENT → ESTABLISHED); server: it was accepted (SYN_RECV → ESTABLISHED). */
  readonly role: 'client' | 'server';
  readonly family: 'ipv4' | 'ipv6';
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly durationMs?: number;
  /** Payload bytes this socket sent (acknowledged) and received, at close. */
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
}

/** What the eBPF source is doing (`/api/v1/status`). */
export interface EbpfStatus {
  readonly state: 'off' | 'starting' | 'running' | 'unavailable' | 'failed' | 'stopped';
  /** Why it is not running, in one sentence; `fix` is the one command that would let it. */
  readonly reason?: string;
  readonly fix?: string;
  readonly transitions: number;
  readonly connections: number;
  /** Events the kernel's perf buffer lost (bpftrace's lost_events). */
  readonly lost: number;
  readonly parseErrors: number;
  /** Open sockets forgotten because the table of open sockets was full (their close gives no event). */
  readonly evicted: number;
}

/** What attribution knows about namespaces. */
export interface EbpfAttribution {
  /** The Docker host's name. */
  readonly host: string;
  /** The host's network namespace inode. */
  readonly hostNetns: number | undefined;
  /** The container owning a network namespace (its own, not one joined with `container:`). */
  containerOfNetns(netns: number): ContainerAt | undefined;
}

/**
 * The event of a client socket's opening or closing, or undefined for a server socket (the client's socket, in the
 * same namespace, carries the connection: one event per connection, as conntrack gives) and for a socket in a
 * namespace that is neither the host's nor a known container's.
 */
export function toEbpfConnectionEvent(e: EbpfSocketEvent, who: EbpfAttribution): ConnectionEvent | undefined {
  if (e.role !== 'client') return undefined;
  const container = who.containerOfNetns(e.netns);
  const host = container === undefined && e.netns === who.hostNetns;
  if (!container && !host) return undefined;
  const end = (ep: Endpoint): ConnectionEnd => ({ address: ep.address, port: ep.port, ...(container ? { container } : { host: true }) });
  const closed = e.kind === 'closed';
  const atMs = Date.parse(e.at);
  const openedAt = closed && e.durationMs !== undefined && Number.isFinite(atMs) ? new Date(atMs - e.durationMs).toISOString() : closed ? undefined : e.at;
  return {
    type: closed ? 'connection.closed' : 'connection.opened',
    at: e.at,
    flow: {
      source: 'ebpf', netns: e.netns, protocol: 'tcp', family: e.family,
      client: end(e.local), server: end(e.remote), direction: 'internal',
      state: closed ? 'CLOSE' : 'ESTABLISHED', unreplied: false,
      ...(openedAt !== undefined ? { openedAt } : {}), ...(closed ? { closedAt: e.at } : {}),
      timing: 'observed',
      ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
      // tcp_sock's payload counters, not IP bytes like conntrack's; packets are not counted by the probe.
      ...(closed && e.bytesSent !== undefined && e.bytesReceived !== undefined ? { bytes: { sent: e.bytesSent, packetsSent: 0, received: e.bytesReceived, packetsReceived: 0 } } : {}),
      host: who.host,
    },
  };
}
