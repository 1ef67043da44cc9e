// A UDP socket receiving sFlow datagrams (node:dgram): hands each datagram over as raw bytes with its sender and
// arrival time. No decoding here.
import dgram from 'node:dgram';
import net from 'node:net';

/** Options of listenSflowUdp. */
export interface SflowUdpOptions {
  /** Address to bind (`0.0.0.0`, `::`, `127.0.0.1`…). */
  readonly host: string;
  /** UDP port (sFlow's is 6343; 0 picks a free one). */
  readonly port: number;
  /** Called for every datagram, synchronously, with bytes that stay valid only during the call unless copied. */
  readonly onDatagram: (bytes: Uint8Array, from: string, atMs: number) => void;
  /** Called when the socket fails after it was bound. */
  readonly onError?: (err: Error) => void;
  /** Receive buffer to ask the kernel for (bounded by net.core.rmem_max); default 4 MiB. */
  readonly receiveBufferBytes?: number;
  readonly now?: () => number;
}

/** A bound sFlow socket. */
export interface SflowUdpListener {
  /** Where it is bound: host and the actual port. */
  readonly host: string;
  readonly port: number;
  /** `ipv4` or `ipv6`: which /proc/net/udp* lists the socket. */
  readonly family: 'ipv4' | 'ipv6';
  /** The receive buffer the kernel granted, in bytes. */
  readonly receiveBufferBytes: number;
  close(): Promise<void>;
}

/** Binds a UDP socket for sFlow; rejects with the bind error (EADDRINUSE, EACCES…). */
export function listenSflowUdp(options: SflowUdpOptions): Promise<SflowUdpListener> {
  const family = net.isIPv6(options.host) ? 'ipv6' : 'ipv4';
  const socket = dgram.createSocket({ type: family === 'ipv6' ? 'udp6' : 'udp4' });
  const now = options.now ?? Date.now;
  return new Promise((resolve, reject) => {
    const onBindError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onBindError);
    socket.on('message', (msg, rinfo) => options.onDatagram(msg, rinfo.address, now()));
    socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
      socket.off('error', onBindError);
      socket.on('error', (err) => options.onError?.(err));
      let granted = 0;
      try {
        socket.setRecvBufferSize(options.receiveBufferBytes ?? 4 * 1024 * 1024);
      } catch (err) {
        // Refused sizes leave the default buffer; the granted size below says what we have.
        options.onError?.(err as Error);
      }
      granted = socket.getRecvBufferSize();
      const bound = socket.address();
      resolve({
        host: bound.address,
        port: bound.port,
        family,
        receiveBufferBytes: granted,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
