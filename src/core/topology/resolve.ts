// Naming the node behind an address when its socket was not seen (or not paired): a container's IP, an
// address of the host (and then a published port or a host listener), or an external address.
import type { Protocol } from '../model/socket.js';
import { isLoopbackIp } from '../parse/ip-text.js';
import type { EndpointIndex } from './endpoints.js';
import { publishedSide, servedByProxy, type FlowSide, type ResolvedServer } from './flows.js';

function namespaceFor(index: EndpointIndex, contextNetns: number, address: string): number | undefined {
  // A loopback address means the namespace the socket that named it lives in.
  return isLoopbackIp(address) ? contextNetns : index.netnsOfAddress(address);
}

/**
 * The server behind `address:port` as dialled from `contextNetns`: a published port of the host (→ the
 * container behind it), the listener that serves it (→ its owner: a container, a sidecar, a host process),
 * the owner of the namespace the address belongs to, or an external node.
 */
export function resolveServerByAddress(
  index: EndpointIndex, contextNetns: number, protocol: Protocol, address: string, port: number,
): ResolvedServer {
  const endpoint = { address, port };
  const ns = namespaceFor(index, contextNetns, address);
  if (ns === undefined) return { side: { node: { kind: 'external', address }, endpoint, pids: [] }, via: 'address' };
  if (ns === index.hostNetns) {
    const published = index.publishedAt(protocol, address, port);
    if (published) {
      return {
        side: publishedSide(index, published, address.includes(':') ? 'ipv6' : 'ipv4'),
        via: servedByProxy(index, published) ? 'docker-proxy' : 'port-binding',
        published: endpoint,
        port: published,
      };
    }
  }
  const listener = index.listenerFor(ns, protocol, address, port);
  if (listener) return { side: { node: listener.owner, endpoint, pids: listener.pids }, via: 'address' };
  return { side: { node: index.namespaceOwner(ns), endpoint, pids: [] }, via: 'address' };
}

/**
 * The client at `address:port` as seen from `contextNetns`: for UDP the socket bound there (a `sendto`
 * sender's unconnected socket), else the owner of the namespace the address belongs to, or an external node.
 * TCP clients are only ever named by their namespace here: their own sockets, when seen, were paired earlier.
 */
export function resolveClientByAddress(
  index: EndpointIndex, contextNetns: number, protocol: Protocol, address: string, port: number,
): FlowSide {
  const endpoint = { address, port };
  const ns = namespaceFor(index, contextNetns, address);
  if (ns === undefined) return { node: { kind: 'external', address }, endpoint, pids: [] };
  const bound = protocol === 'udp' ? index.boundAt(ns, protocol, address, port) : undefined;
  if (bound) return { node: bound.owner, endpoint, pids: bound.pids };
  return { node: index.namespaceOwner(ns), endpoint, pids: [] };
}
