// Step 4: connections of which only one socket was seen. Through iptables DNAT (published ports without the
// userland proxy) the client's socket names the host port and the server's names the gateway: conntrack joins
// them. Otherwise the missing end is named by its address (a container, the host, a published port, or an
// external address).
import { type ConntrackIndex, clientAsSeenByServer, isDnat, isSnat, originalClient, originalDestination, realServer } from './conntrack-index.js';
import type { EndpointIndex, SocketView } from './endpoints.js';
import { sideOf, type Flow, type FlowSide, type ResolvedServer } from './flows.js';
import { isProxyLegClient, isProxyLegServer, serverOfSocket } from './published-ports.js';
import { resolveClientByAddress, resolveServerByAddress } from './resolve.js';

/**
 * Resolves client-only sockets first (each may claim the server-only socket of its own connection), then the
 * server-only sockets left (pure; `serverOnly` is not modified).
 */
export function flowsFromHalves(
  index: EndpointIndex, conntrack: ConntrackIndex, clientOnly: readonly SocketView[], serverOnly: readonly SocketView[],
): Flow[] {
  const flows: Flow[] = [];
  const pool = new Set(serverOnly);
  const byPorts = new Map<string, SocketView[]>();
  for (const s of serverOnly) {
    const k = portsKey(s.netns, s.protocol, s.local.port, s.remote.port);
    const list = byPorts.get(k);
    if (list) list.push(s); else byPorts.set(k, [s]);
  }
  const facingHost = (netns: number, protocol: SocketView['protocol'], localPort: number, remotePort: number) =>
    (byPorts.get(portsKey(netns, protocol, localPort, remotePort)) ?? []).find((v) => pool.has(v) && index.isHostAddress(v.remote.address));
  const claim = (v: SocketView | undefined): SocketView | undefined => {
    if (!v || !pool.has(v)) return undefined;
    pool.delete(v);
    return v;
  };

  for (const c of clientOnly) {
    if (isProxyLegClient(index, c)) continue;
    const base = { protocol: c.protocol, state: c.socket.state, client: sideOf(c) } as const;
    const entry = conntrack.byOriginal(c.protocol, c.local, c.remote);
    if (entry && isDnat(entry)) {
      const server = claim(index.socketByTuple(c.protocol, realServer(entry), clientAsSeenByServer(entry), index.hostNetns));
      const side: FlowSide = server
        ? sideOf(server)
        : resolveServerByAddress(index, index.hostNetns, c.protocol, realServer(entry).address, realServer(entry).port).side;
      flows.push({ ...base, via: 'dnat', server: side, published: c.remote });
      continue;
    }
    const resolved = resolveServerByAddress(index, c.netns, c.protocol, c.remote.address, c.remote.port);
    flows.push({ ...base, ...withServerSocket(index, c, resolved, facingHost, claim) });
  }

  for (const s of serverOnly) {
    if (!pool.has(s) || isProxyLegServer(index, s)) continue;
    const own = serverOfSocket(index, s);
    if (own.published) {
      // docker-proxy's accepted socket whose client was not seen: the client is named by its address.
      flows.push({
        protocol: s.protocol, state: s.socket.state, via: 'docker-proxy', server: own.side, published: own.published,
        client: resolveClientByAddress(index, s.netns, s.protocol, s.remote.address, s.remote.port),
      });
      continue;
    }
    const base = { protocol: s.protocol, state: s.socket.state, server: own.side } as const;
    const entry = conntrack.byReply(s.protocol, s.local, s.remote);
    // A reply tuple that conntrack rewrote names the real client (SNAT) or the published port it dialled (DNAT).
    if (entry && (isSnat(entry) || isDnat(entry))) {
      const client = originalClient(entry);
      flows.push({
        ...base,
        via: isDnat(entry) ? 'dnat' : 'address',
        client: resolveClientByAddress(index, index.hostNetns, s.protocol, client.address, client.port),
        ...(isDnat(entry) ? { published: originalDestination(entry) } : {}),
      });
      continue;
    }
    flows.push({ ...base, via: 'address', client: resolveClientByAddress(index, s.netns, s.protocol, s.remote.address, s.remote.port) });
  }
  return flows;
}

/**
 * A published port reached without a conntrack entry (no conntrack, or none for this flow): MASQUERADE keeps
 * the source port when it can, so the container's socket facing a host address from that port is this
 * connection's other end.
 */
function withServerSocket(
  index: EndpointIndex, c: SocketView, resolved: ResolvedServer,
  facingHost: (netns: number, protocol: SocketView['protocol'], localPort: number, remotePort: number) => SocketView | undefined,
  claim: (v: SocketView | undefined) => SocketView | undefined,
): Pick<Flow, 'via' | 'server' | 'published'> {
  const published = resolved.published ? { published: resolved.published } : {};
  if (resolved.port && resolved.via === 'port-binding') {
    const ns = index.netnsOfContainer(resolved.port.containerId);
    const server = claim(ns === undefined ? undefined : facingHost(ns, c.protocol, resolved.port.containerPort, c.local.port));
    if (server) return { via: 'port-binding', server: sideOf(server), ...published };
  }
  return { via: resolved.via, server: resolved.side, ...published };
}

function portsKey(netns: number, protocol: string, localPort: number, remotePort: number): string {
  return `${netns}|${protocol}|${localPort}|${remotePort}`;
}
