// The intermediate result of the topology steps: flows (one per connection or UDP flow), each resolved to the
// node at both ends, before they are grouped into edges.
import type { FlowState, Resolution } from '../model/topology.js';
import type { Endpoint, Protocol } from '../model/socket.js';
import type { EndpointIndex, Owner, PublishedPort, SocketView } from './endpoints.js';

/** The node at one end of a flow, before it becomes a topology node id. */
export type NodeRef = Owner | { readonly kind: 'external'; readonly address: string };

/** One end of a flow: its node, its own endpoint and the pids holding its socket. */
export interface FlowSide {
  readonly node: NodeRef;
  readonly endpoint: Endpoint;
  readonly pids: readonly number[];
}

/** One connection or UDP flow, client → server. */
export interface Flow {
  readonly protocol: Protocol;
  readonly state: FlowState;
  readonly via: Resolution;
  readonly client: FlowSide;
  readonly server: FlowSide;
  /** The host address and port the client dialled, for published ports. */
  readonly published?: Endpoint;
}

/** A server resolved from an address, and how. */
export interface ResolvedServer {
  readonly side: FlowSide;
  readonly via: Resolution;
  readonly published?: Endpoint;
  /** Set when the address was a published port: the container port it reaches. */
  readonly port?: PublishedPort;
}

/** The side a socket stands for. */
export function sideOf(view: SocketView): FlowSide {
  return { node: view.owner, endpoint: view.local, pids: view.pids };
}

/**
 * True when a published port is served by Docker's userland proxy: the host socket on its port is held by
 * `docker-proxy`, or by no known process (fds unreadable). Without the proxy, dockerd itself holds the port
 * open only to reserve it, and traffic goes through iptables DNAT.
 */
export function servedByProxy(index: EndpointIndex, port: PublishedPort): boolean {
  const holder = index.listenerFor(index.hostNetns, port.protocol, port.hostIp, port.hostPort);
  if (!holder) return false;
  return holder.owner.kind === 'host' || (holder.owner.kind === 'process' && holder.owner.command === DOCKER_PROXY);
}

/** Command name of Docker's userland proxy. */
export const DOCKER_PROXY = 'docker-proxy';

/** True when a socket is held by docker-proxy. */
export function isProxySocket(view: SocketView): boolean {
  return view.owner.kind === 'process' && view.owner.command === DOCKER_PROXY;
}

/** The side of the container behind a published port: the process listening on the container port, if seen. */
export function publishedSide(index: EndpointIndex, port: PublishedPort, family: 'ipv4' | 'ipv6' = 'ipv4'): FlowSide {
  const address = index.containerAddress(port.containerId, family) ?? index.containerAddress(port.containerId, family === 'ipv4' ? 'ipv6' : 'ipv4') ?? '';
  const ns = index.netnsOfContainer(port.containerId);
  const listener = ns === undefined ? undefined : index.listenerFor(ns, port.protocol, address, port.containerPort);
  return {
    // A sidecar in `container:` mode may be the one listening: the edge then goes to it.
    node: listener?.owner ?? { kind: 'container', containerId: port.containerId },
    endpoint: { address, port: port.containerPort },
    pids: listener?.pids ?? [],
  };
}
