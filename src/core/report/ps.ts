import type { Attribution, AttributedSocket } from '../attribute.js';
import { compileGlob } from '../glob.js';
import { formatNetworkMode, type PortBinding } from '../model/container.js';
import type { Snapshot } from '../model/snapshot.js';
import type { ContainerTraffic } from '../model/traffic.js';
import { SOCKET_STATES, type Endpoint, type Protocol, type SocketState, type TcpInfo } from '../model/socket.js';

/** Filters of `portolan ps` (and of `/api/v1/sockets`). */
export interface PsFilter {
  /** Container name or id globs (`*`, `?`); any match keeps the container. */
  readonly containers?: readonly string[];
  readonly states?: readonly SocketState[];
  readonly protocol?: Protocol;
  /** Only listening TCP sockets and unconnected UDP sockets. */
  readonly listening?: boolean;
}

/** One socket in the `ps --json` contract. */
export interface PsSocket {
  readonly protocol: Protocol;
  readonly family: 'ipv4' | 'ipv6';
  readonly state: SocketState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly inode: number;
  readonly rxQueue: number;
  readonly txQueue: number;
  readonly processes: readonly { pid: number; command: string; container?: string | null }[];
  readonly tcp?: Omit<TcpInfo, never>;
}

/** One container in the `ps --json` contract. */
export interface PsContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly networkMode: string;
  readonly pid: number;
  readonly netns: number;
  readonly ownsNetns: boolean;
  readonly source: 'netlink' | 'proc' | null;
  readonly networks: readonly { name: string; ipv4?: string; ipv6?: string }[];
  readonly ports: readonly PortBinding[];
  readonly labels: Readonly<Record<string, string>>;
  /** Interface counters (and rates when two samples exist); absent when the namespace was not read. */
  readonly traffic?: Omit<ContainerTraffic, 'interfaces'> & { interfaces: ContainerTraffic['interfaces'] };
  /** Whether per-connection tcp_info (bytes, RTT) was read; false with the /proc source. */
  readonly tcpInfo: boolean;
  readonly sockets: readonly PsSocket[];
}

/** The whole `portolan ps --json` document. */
export interface PsReport {
  readonly takenAt: string;
  readonly host: { readonly hostname: string };
  readonly warnings: readonly string[];
  readonly containers: readonly PsContainer[];
}

/** Parses a state filter word as a user would type it (`listen`, `time-wait`, `TIME_WAIT`, `unconn`). */
export function parseStateFilter(word: string): SocketState {
  const norm = word.trim().toUpperCase().replace(/-/g, '_');
  const found = SOCKET_STATES.find((s) => s === norm);
  if (!found) throw new Error(`unknown state "${word}" (one of: ${SOCKET_STATES.join(', ').toLowerCase()})`);
  return found;
}

function keepSocket(s: AttributedSocket, f: PsFilter): boolean {
  if (f.protocol && s.protocol !== f.protocol) return false;
  if (f.listening && s.state !== 'LISTEN' && s.state !== 'UNCONN') return false;
  if (f.states && f.states.length > 0 && !f.states.includes(s.state)) return false;
  return true;
}

/** Renders the attribution as the `ps --json` contract, filtered and sorted (pure). */
export function toPsReport(
  snapshot: Snapshot,
  attribution: Attribution,
  filter: PsFilter = {},
  traffic: ReadonlyMap<string, ContainerTraffic> = new Map(),
): PsReport {
  // Matched without backtracking (core/glob.ts): globs come from API clients.
  const globs = (filter.containers ?? []).map(compileGlob);
  const takenAtMs = Date.parse(snapshot.takenAt);
  const idToName = new Map(snapshot.containers.map((c) => [c.id, c.name]));
  const containers: PsContainer[] = [];
  for (const cs of attribution.containers) {
    const c = cs.container;
    if (globs.length > 0 && !globs.some((g) => g.test(c.name) || g.test(c.id) || g.test(c.id.slice(0, 12)))) continue;
    // A table kept from an earlier read (nothing moved since) is as it stands now: only the idle times grew.
    const age = cs.readAtMs !== undefined && takenAtMs > cs.readAtMs ? takenAtMs - cs.readAtMs : 0;
    const sockets = cs.sockets.filter((s) => keepSocket(s, filter)).map((s): PsSocket => ({
      protocol: s.protocol,
      family: s.family,
      state: s.state,
      local: s.local,
      remote: s.remote,
      inode: s.inode,
      rxQueue: s.rxQueue,
      txQueue: s.txQueue,
      processes: s.processes.map((p) => {
        // Name the real owner when it is not this container: another container, or the host (null).
        const owner = p.containerId === c.id ? undefined : p.containerId ? (idToName.get(p.containerId) ?? p.containerId) : null;
        return owner === undefined ? { pid: p.pid, command: p.command } : { pid: p.pid, command: p.command, container: owner };
      }),
      ...(s.tcp ? { tcp: age > 0 ? { ...s.tcp, lastSendMs: s.tcp.lastSendMs + age, lastReceiveMs: s.tcp.lastReceiveMs + age } : s.tcp } : {}),
    }));
    sockets.sort(compareSockets);
    containers.push({
      id: c.id,
      name: c.name,
      image: c.image,
      networkMode: formatNetworkMode(c.networkMode),
      pid: c.pid,
      netns: cs.netns,
      ownsNetns: cs.ownsNetns,
      source: cs.source ?? null,
      networks: c.networks.map((n) => ({ name: n.name, ...(n.ipv4 ? { ipv4: n.ipv4 } : {}), ...(n.ipv6 ? { ipv6: n.ipv6 } : {}) })),
      ports: c.ports,
      labels: c.labels,
      ...(traffic.get(c.id) ? { traffic: traffic.get(c.id) } : {}),
      tcpInfo: cs.tcpInfo,
      sockets,
    });
  }
  containers.sort((a, b) => a.name.localeCompare(b.name));
  const warnings = snapshot.issues.map((i) => (i.count > 1 ? `${i.source}: ${i.message} (${i.count} times)` : `${i.source}: ${i.message}`));
  return { takenAt: snapshot.takenAt, host: { hostname: snapshot.hostname }, warnings, containers };
}

const STATE_ORDER = new Map<SocketState, number>(SOCKET_STATES.map((s, i) => [s, s === 'LISTEN' ? -2 : s === 'UNCONN' ? -1 : i]));

function compareSockets(a: PsSocket, b: PsSocket): number {
  return (
    a.protocol.localeCompare(b.protocol) ||
    (STATE_ORDER.get(a.state) ?? 0) - (STATE_ORDER.get(b.state) ?? 0) ||
    a.local.port - b.local.port ||
    a.local.address.localeCompare(b.local.address) ||
    a.remote.address.localeCompare(b.remote.address) ||
    a.remote.port - b.remote.port
  );
}
