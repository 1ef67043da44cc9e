// Step 1 of the topology: every socket seen, with its owner (container, host process or the host) and its
// endpoints in canonical form, plus the lookups the later steps need (peer by 4-tuple, listener by address,
// namespace by address, Docker's published ports).
import type { Attribution, AttributedSocket } from '../attribute.js';
import type { ContainerInfo } from '../model/container.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Endpoint, Protocol } from '../model/socket.js';
import { canonicalIp, isLoopbackIp, isUnspecifiedIp } from '../parse/ip-text.js';

/** Who holds a socket, as far as the topology cares. */
export type Owner =
  | { readonly kind: 'container'; readonly containerId: string }
  | { readonly kind: 'process'; readonly command: string }
  | { readonly kind: 'host' };

/** A socket with its namespace, owner, holder pids and canonical endpoints. */
export interface SocketView {
  readonly socket: AttributedSocket;
  readonly protocol: Protocol;
  readonly netns: number;
  readonly owner: Owner;
  readonly pids: readonly number[];
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/** A published port: a host address and port that reach a container's port. */
export interface PublishedPort {
  readonly containerId: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** Canonical host address; `0.0.0.0`/`::` for every address. */
  readonly hostIp: string;
  readonly hostPort: number;
}

/** The lookups over one snapshot's sockets that the topology steps share. */
export interface EndpointIndex {
  readonly snapshot: Snapshot;
  readonly hostNetns: number;
  /** Sockets with a peer (connected TCP in any state but LISTEN, connected UDP), in a stable order. */
  readonly connected: readonly SocketView[];
  readonly containers: ReadonlyMap<string, ContainerInfo>;
  readonly published: readonly PublishedPort[];
  /** The socket whose local and remote endpoints are `local` and `remote` (loopback scoped to `netns`). */
  socketByTuple(protocol: Protocol, local: Endpoint, remote: Endpoint, netns: number): SocketView | undefined;
  /** The peer of a connected socket: the socket with its endpoints swapped. */
  peerOf(view: SocketView): SocketView | undefined;
  /** The listening TCP socket, or bound unconnected UDP socket, that serves `address:port` in `netns`. */
  listenerFor(netns: number, protocol: Protocol, address: string, port: number): SocketView | undefined;
  /** A socket in `netns` bound to `address:port` (exactly or by wildcard), any state, preferring listeners. */
  boundAt(netns: number, protocol: Protocol, address: string, port: number): SocketView | undefined;
  /** The namespace an address belongs to: a container's IP, or one of the host's; undefined for others. */
  netnsOfAddress(address: string): number | undefined;
  /** True for an address of the Docker host itself (bridge gateways, addresses its sockets are bound to). */
  isHostAddress(address: string): boolean;
  /** True for a Docker network gateway (the host's address on a bridge). */
  isGateway(address: string): boolean;
  /** The container that owns a namespace (its `bridge`/`none`/network-mode container), or the host. */
  namespaceOwner(netns: number): Owner;
  /** The namespace of a running container. */
  netnsOfContainer(containerId: string): number | undefined;
  /** The published port that `address:port` on the host reaches, if any. */
  publishedAt(protocol: Protocol, address: string, port: number): PublishedPort | undefined;
  /** The address a container is reached at from the host (first network with an address of that family). */
  containerAddress(containerId: string, family: 'ipv4' | 'ipv6'): string | undefined;
}

const CONNECTION_STATES_EXCLUDED = new Set(['LISTEN', 'UNCONN', 'CLOSE']);
const NO_PIDS: readonly number[] = [];

/** Builds the endpoint index from a snapshot and its attribution (pure). */
export function indexEndpoints(snapshot: Snapshot, attribution: Attribution): EndpointIndex {
  const hostNetns = snapshot.netns.host;
  const containers = new Map(snapshot.containers.map((c) => [c.id, c]));
  const netnsOf = new Map(snapshot.netns.containers.map((c) => [c.containerId, c.netns]));
  const views: SocketView[] = [];
  // Addresses repeat across thousands of sockets: canonicalise each distinct spelling once.
  const canonical = new Map<string, string>();
  const canon = (a: string): string => {
    let c = canonical.get(a);
    if (c === undefined) { c = canonicalIp(a); canonical.set(a, c); }
    return c;
  };
  const isLoopback = (canonicalAddress: string) => canonicalAddress.startsWith('127.') || canonicalAddress === '::1';

  const toView = (s: AttributedSocket, netns: number, owner: Owner): SocketView => ({
    socket: s,
    protocol: s.protocol,
    netns,
    owner,
    pids: s.processes.length === 0 ? NO_PIDS : s.processes.length === 1 ? [s.processes[0]?.pid ?? 0] : [...new Set(s.processes.map((p) => p.pid))].sort((a, b) => a - b),
    local: { address: canon(s.local.address), port: s.local.port },
    remote: { address: canon(s.remote.address), port: s.remote.port },
  });

  const nsOwner = new Map<number, string>();
  for (const cs of attribution.containers) {
    if (cs.ownsNetns) nsOwner.set(cs.netns, cs.container.id);
    for (const s of cs.sockets) views.push(toView(s, cs.netns, { kind: 'container', containerId: cs.container.id }));
  }
  for (const u of attribution.unclaimed) {
    // A namespace no container claims is the host's; other unclaimed namespaces belong to nobody we show.
    if (u.netns !== hostNetns) continue;
    for (const s of u.sockets) {
      const holder = [...s.processes].sort((a, b) => a.pid - b.pid)[0];
      views.push(toView(s, u.netns, holder ? { kind: 'process', command: holder.command } : { kind: 'host' }));
    }
  }

  const isListener = (v: SocketView) => (v.protocol === 'tcp' ? v.socket.state === 'LISTEN' : v.socket.state === 'UNCONN');
  const tupleKey = (protocol: Protocol, local: Endpoint, remote: Endpoint, netns: number) => {
    // Loopback addresses repeat in every namespace: a loopback pair is only a pair within one namespace.
    const scope = isLoopback(local.address) || isLoopback(remote.address) ? `${netns}@` : '';
    return `${protocol}|${scope}${local.address}|${local.port}|${remote.address}|${remote.port}`;
  };
  const byTuple = new Map<string, SocketView>();
  const connected: SocketView[] = [];
  // Sockets by local port: listeners apart, so that a server's many accepted sockets on its port cost nothing.
  const listeners = new Map<string, SocketView[]>();
  const bound = new Map<string, SocketView[]>();
  const boundKey = (netns: number, protocol: Protocol, port: number) => `${netns}|${protocol}|${port}`;
  const push = (map: Map<string, SocketView[]>, k: string, v: SocketView) => {
    const list = map.get(k);
    if (list) list.push(v); else map.set(k, [v]);
  };
  for (const v of views) {
    if (v.local.port !== 0) push(isListener(v) ? listeners : bound, boundKey(v.netns, v.protocol, v.local.port), v);
    if (CONNECTION_STATES_EXCLUDED.has(v.socket.state) || v.remote.port === 0) continue;
    connected.push(v);
    const k = tupleKey(v.protocol, v.local, v.remote, v.netns);
    if (!byTuple.has(k)) byTuple.set(k, v);
  }

  const addressMatches = (boundAddress: string, address: string) =>
    boundAddress === address || (isUnspecifiedIp(boundAddress) && (boundAddress === '::' || !address.includes(':')));

  // Addresses of the host: bridge gateways, every address a host-namespace socket is bound to, and
  // explicitly published host addresses.
  const gateways = new Set<string>();
  const hostAddresses = new Set<string>();
  const containerAddr = new Map<string, number>();
  for (const c of snapshot.containers) {
    const ns = netnsOf.get(c.id);
    for (const n of c.networks) {
      for (const g of [n.gateway, n.ipv6Gateway]) if (g) gateways.add(canonicalIp(g));
      if (ns === undefined || ns === hostNetns) continue;
      for (const a of [n.ipv4, n.ipv6]) if (a) containerAddr.set(canonicalIp(a), ns);
    }
  }
  for (const g of gateways) hostAddresses.add(g);
  for (const v of views) {
    if (v.netns === hostNetns && !isUnspecifiedIp(v.local.address) && !isLoopback(v.local.address)) hostAddresses.add(v.local.address);
  }

  const published: PublishedPort[] = [];
  for (const c of snapshot.containers) {
    for (const p of c.ports) {
      if (p.protocol === 'sctp' || p.hostPort === 0) continue;
      const hostIp = canonicalIp(p.hostIp);
      if (!isUnspecifiedIp(hostIp)) hostAddresses.add(hostIp);
      published.push({ containerId: c.id, containerPort: p.containerPort, protocol: p.protocol, hostIp, hostPort: p.hostPort });
    }
  }

  const netnsOfAddress = (address: string): number | undefined => {
    const a = canon(address);
    return containerAddr.get(a) ?? (hostAddresses.has(a) ? hostNetns : undefined);
  };

  return {
    snapshot,
    hostNetns,
    connected,
    containers,
    published,
    socketByTuple: (protocol, local, remote, netns) =>
      byTuple.get(tupleKey(protocol, { address: canon(local.address), port: local.port }, { address: canon(remote.address), port: remote.port }, netns)),
    peerOf: (v) => {
      const peer = byTuple.get(tupleKey(v.protocol, v.remote, v.local, v.netns));
      return peer === v ? undefined : peer;
    },
    listenerFor: (netns, protocol, address, port) => {
      const a = canon(address);
      const candidates = (listeners.get(boundKey(netns, protocol, port)) ?? []).filter((v) => addressMatches(v.local.address, a));
      // The most specific bind wins, as in the kernel's lookup.
      return candidates.find((v) => v.local.address === a) ?? candidates[0];
    },
    boundAt: (netns, protocol, address, port) => {
      const a = canon(address);
      const k = boundKey(netns, protocol, port);
      const listener = (listeners.get(k) ?? []).find((v) => addressMatches(v.local.address, a));
      return listener ?? (bound.get(k) ?? []).find((v) => addressMatches(v.local.address, a));
    },
    netnsOfAddress,
    isHostAddress: (address) => hostAddresses.has(canon(address)),
    isGateway: (address) => gateways.has(canon(address)),
    namespaceOwner: (netns) => {
      const id = nsOwner.get(netns);
      return id !== undefined ? { kind: 'container', containerId: id } : { kind: 'host' };
    },
    netnsOfContainer: (id) => netnsOf.get(id),
    publishedAt: (protocol, address, port) => {
      const a = canon(address);
      const matches = published.filter((p) => p.protocol === protocol && p.hostPort === port &&
        (p.hostIp === a || (isUnspecifiedIp(p.hostIp) && (isLoopbackIp(a) || hostAddresses.has(a)))));
      return matches.find((p) => p.hostIp === a) ?? matches[0];
    },
    containerAddress: (id, family) => {
      for (const n of containers.get(id)?.networks ?? []) {
        const a = family === 'ipv4' ? n.ipv4 : n.ipv6;
        if (a) return canonicalIp(a);
      }
      return undefined;
    },
  };
}
