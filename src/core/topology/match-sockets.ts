// Step 2: pair connected sockets across namespaces by their 4-tuples (the client's local endpoint is the
// server's remote one and vice versa) and decide which end is the server.
import type { EndpointIndex, SocketView } from './endpoints.js';

/** Two sockets of one connection, both seen. */
export interface SocketPair {
  readonly client: SocketView;
  readonly server: SocketView;
}

/** The outcome of pairing: pairs, and the sockets whose peer was not seen, by the side they stand for. */
export interface Matched {
  readonly pairs: readonly SocketPair[];
  readonly clientOnly: readonly SocketView[];
  readonly serverOnly: readonly SocketView[];
}

// Linux's default net.ipv4.ip_local_port_range starts here; used only to break ties.
const EPHEMERAL_FIRST = 32768;

/** True when a socket's local endpoint is served by a listener in its own namespace (it was accepted there). */
export function isServerSide(index: EndpointIndex, v: SocketView): boolean {
  if (index.listenerFor(v.netns, v.protocol, v.local.address, v.local.port)) return true;
  // An accepted connection outliving its listener: a well-known local port facing an ephemeral remote one.
  return v.protocol === 'tcp' && v.local.port < EPHEMERAL_FIRST && v.remote.port >= EPHEMERAL_FIRST;
}

function serverOf(index: EndpointIndex, a: SocketView, b: SocketView): SocketView {
  const sa = isServerSide(index, a);
  const sb = isServerSide(index, b);
  if (sa !== sb) return sa ? a : b;
  // Both or neither listen on their port: whoever sent the SYN is the client; else the lower port serves.
  if (a.socket.state === 'SYN_SENT') return b;
  if (b.socket.state === 'SYN_SENT') return a;
  return a.local.port <= b.local.port ? a : b;
}

/** Pairs every connected socket with its peer when the peer was read too (pure). */
export function matchSockets(index: EndpointIndex): Matched {
  const pairs: SocketPair[] = [];
  const clientOnly: SocketView[] = [];
  const serverOnly: SocketView[] = [];
  const done = new Set<SocketView>();
  for (const v of index.connected) {
    if (done.has(v)) continue;
    done.add(v);
    const peer = index.peerOf(v);
    if (peer && !done.has(peer)) {
      done.add(peer);
      const server = serverOf(index, v, peer);
      pairs.push({ client: server === v ? peer : v, server });
    } else if (isServerSide(index, v)) {
      serverOnly.push(v);
    } else {
      clientOnly.push(v);
    }
  }
  return { pairs, clientOnly, serverOnly };
}
