/** Transport protocol of a socket. */
export type Protocol = 'tcp' | 'udp';

/** Address family of a socket. */
export type Family = 'ipv4' | 'ipv6';

/** TCP states as the kernel names them (include/net/tcp_states.h), in kernel order starting at 1. */
export const TCP_STATES = [
  'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
  'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
] as const;

/** A TCP state name. */
export type TcpState = (typeof TCP_STATES)[number];

/** A socket state: TCP states, plus `UNCONN` for UDP sockets that have no peer (as `ss` prints it). */
export type SocketState = TcpState | 'UNCONN';

/** Every state name portolan can report, for validating filters. */
export const SOCKET_STATES: readonly SocketState[] = [...TCP_STATES, 'UNCONN'];

/** One end of a socket: address in normal text form (never kernel hex) and port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Per-connection TCP figures from the kernel's `struct tcp_info` (netlink source only). */
export interface TcpInfo {
  /**
   * Payload bytes sent, each byte once: `tcpi_bytes_sent` − `tcpi_bytes_retrans` (not `bytes_acked`, which
   * counts SYN/FIN).
   */
  readonly bytesSent: number;
  /** Payload bytes retransmitted (`tcpi_bytes_retrans`). */
  readonly bytesRetrans: number;
  /** Payload bytes received (`tcpi_bytes_received`). */
  readonly bytesReceived: number;
  /** Bytes acknowledged by the peer (`tcpi_bytes_acked`; counts SYN and FIN). */
  readonly bytesAcked: number;
  /** Smoothed round-trip time in milliseconds. */
  readonly rttMs: number;
  /** Round-trip time variance in milliseconds. */
  readonly rttVarMs: number;
  /** Minimum RTT seen in milliseconds (0 when unknown). */
  readonly minRttMs: number;
  /** Total retransmitted segments over the connection's life (`tcpi_total_retrans`). */
  readonly retransmits: number;
  /** Most recent delivery rate estimate in bytes per second. */
  readonly deliveryRateBps: number;
  /** Segments sent and received. */
  readonly segsOut: number;
  readonly segsIn: number;
  /** Milliseconds since the last data was sent / received (age hints). */
  readonly lastSendMs: number;
  readonly lastReceiveMs: number;
}

/** A socket as one network namespace's kernel table shows it, before attribution to processes. */
export interface RawSocket {
  readonly protocol: Protocol;
  readonly family: Family;
  readonly state: SocketState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Socket inode; 0 for TIME_WAIT and request sockets, which no file descriptor holds. */
  readonly inode: number;
  readonly uid: number;
  readonly txQueue: number;
  readonly rxQueue: number;
  /** Present only when the source read `tcp_info` (netlink). */
  readonly tcp?: TcpInfo;
}

/** Where a namespace's socket table was read from. */
export type SocketSource = 'netlink' | 'proc';

/** All sockets of one network namespace, identified by its nsfs inode. */
export interface NetnsSockets {
  readonly netns: number;
  readonly source: SocketSource;
  /** Whether TCP sockets carry tcp_info: false for /proc, and for netlink asked not to (`--no-tcp-info`). Absent: as the source implies. */
  readonly tcpInfo?: boolean;
  /**
   * Milliseconds since the epoch when the table was read. A repeating collection reuses a table while nothing
   * moved in its namespace, so it can be older than the snapshot (tcp_info's "ms since last data" are as of it).
   */
  readonly readAtMs?: number;
  readonly sockets: readonly RawSocket[];
}
