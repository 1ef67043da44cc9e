// Step 3: published ports through Docker's userland proxy. A client's connection to a published host port ends
// at docker-proxy (a host process); docker-proxy opens a second connection from the bridge gateway to the
// container. The two collapse into one flow client → container, and docker-proxy never appears as a peer.
import type { EndpointIndex, SocketView } from './endpoints.js';
import type { Endpoint } from '../model/socket.js';
import { isProxySocket, publishedSide, servedByProxy, sideOf, type Flow, type FlowSide } from './flows.js';
import type { SocketPair } from './match-sockets.js';

/**
 * True when a client-side socket is docker-proxy's own leg towards a container: held by docker-proxy, or held
 * by no known process (a TIME_WAIT socket, unreadable fds) in the host namespace, from a bridge gateway, to a
 * container port that a proxy publishes. (A host process talking straight to a container's published port from
 * the gateway address is kept as long as its socket names its process.)
 */
export function isProxyLegClient(index: EndpointIndex, v: SocketView): boolean {
  if (isProxySocket(v)) return true;
  if (v.netns !== index.hostNetns || v.owner.kind !== 'host' || !index.isGateway(v.local.address)) return false;
  const ns = index.netnsOfAddress(v.remote.address);
  return ns !== undefined && ns !== index.hostNetns && proxiedContainerPort(index, ns, v.protocol, v.remote.port);
}

/**
 * True when a server-side socket in a container is the far end of a docker-proxy leg whose proxy socket was
 * not seen: its peer is a bridge gateway and the container port is published through a proxy.
 */
export function isProxyLegServer(index: EndpointIndex, v: SocketView): boolean {
  if (v.netns === index.hostNetns || !index.isGateway(v.remote.address)) return false;
  return proxiedContainerPort(index, v.netns, v.protocol, v.local.port);
}

function proxiedContainerPort(index: EndpointIndex, netns: number, protocol: SocketView['protocol'], port: number): boolean {
  return index.published.some((p) => p.protocol === protocol && p.containerPort === port &&
    index.netnsOfContainer(p.containerId) === netns && servedByProxy(index, p));
}

/**
 * The server a server-side socket stands for: the container behind a published port when the socket is
 * docker-proxy's accepted socket (or an ownerless one) on that port in the host namespace, else its own owner.
 */
export function serverOfSocket(index: EndpointIndex, server: SocketView): { side: FlowSide; published?: Endpoint } {
  if (server.netns === index.hostNetns && (isProxySocket(server) || server.owner.kind === 'host')) {
    const port = index.publishedAt(server.protocol, server.local.address, server.local.port);
    if (port) return { side: publishedSide(index, port), published: server.local };
  }
  return { side: sideOf(server) };
}

/**
 * Turns socket pairs into flows: a pair whose server socket is a published host port (docker-proxy's accepted
 * socket) becomes a flow to the container behind it; docker-proxy's own legs are dropped; any other pair is a
 * direct flow.
 */
export function flowsFromPairs(index: EndpointIndex, pairs: readonly SocketPair[]): Flow[] {
  const flows: Flow[] = [];
  for (const { client, server } of pairs) {
    if (isProxyLegClient(index, client)) continue;
    const resolved = serverOfSocket(index, server);
    flows.push({
      protocol: client.protocol,
      state: client.socket.state,
      via: resolved.published ? 'docker-proxy' : 'socket',
      client: sideOf(client),
      server: resolved.side,
      ...(resolved.published ? { published: resolved.published } : {}),
    });
  }
  return flows;
}
