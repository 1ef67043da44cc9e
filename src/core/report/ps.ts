import type { Attribution, AttributedSocket } from '../attribute.js';
import type { ProcessRef } from '../model/process.js';
import { compileGlob } from '../glob.js';
import { escapeJsonForTerminal } from './terminal-text.js';
import { formatNetworkMode, type ContainerHost, type PortBinding } from '../model/container.js';
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
  /** In a fleet (a hub's answer) only: the host it runs on. */
  readonly host?: ContainerHost;
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

/**
 * One container of a ps document, its sockets not rendered yet: `head` holds every field of PsContainer but
 * `sockets`, and `sockets()` renders them one by one (100,000 sockets need not all exist as PsSocket objects at
 * once: `ps --json` writes each as it is rendered).
 */
export interface PsContainerEntry {
  readonly head: Omit<PsContainer, 'sockets'>;
  readonly socketCount: number;
  sockets(): Iterable<PsSocket>;
  /**
   * Each socket as the JSON text of its PsSocket (JSON.stringify's text), safe for a terminal: what came from a
   * container (commands, names) or from an agent is escaped as psJsonChunks requires (escapeJsonForTerminal).
   */
  socketsJson(): Iterable<string>;
}

/** The ps document with its sockets rendered lazily (toPsDocument); toPsReport renders it whole. */
export interface PsDocument {
  readonly takenAt: string;
  readonly host: { readonly hostname: string };
  readonly warnings: readonly string[];
  readonly containers: readonly PsContainerEntry[];
}

/** The attribution as the `ps` document, filtered and sorted, sockets rendered on demand (pure). */
export function toPsDocument(
  snapshot: Snapshot,
  attribution: Attribution,
  filter: PsFilter = {},
  traffic: ReadonlyMap<string, ContainerTraffic> = new Map(),
): PsDocument {
  // Matched without backtracking (core/glob.ts): globs come from API clients.
  const globs = (filter.containers ?? []).map(compileGlob);
  const takenAtMs = Date.parse(snapshot.takenAt);
  const idToName = new Map(snapshot.containers.map((c) => [c.id, c.name]));
  const containers: PsContainerEntry[] = [];
  for (const cs of attribution.containers) {
    const c = cs.container;
    if (globs.length > 0 && !globs.some((g) => g.test(c.name) || g.test(c.id) || g.test(c.id.slice(0, 12)))) continue;
    // A table kept from an earlier read (nothing moved since) is as it stands now: only the idle times grew.
    const age = cs.readAtMs !== undefined && takenAtMs > cs.readAtMs ? takenAtMs - cs.readAtMs : 0;
    const kept = noFilter(filter) ? [...cs.sockets] : cs.sockets.filter((s) => keepSocket(s, filter));
    const sorted = sortSockets(kept);
    // Owners as this container names them, made once per process (a process holds many sockets).
    const owners = new Map<ProcessRef, PsSocket['processes'][number]>();
    const ownerOf = (p: ProcessRef) => {
      let o = owners.get(p);
      if (!o) {
        // Name the real owner when it is not this container: another container, or the host (null).
        const owner = p.containerId === c.id ? undefined : p.containerId ? (idToName.get(p.containerId) ?? p.containerId) : null;
        o = owner === undefined ? { pid: p.pid, command: p.command } : { pid: p.pid, command: p.command, container: owner };
        owners.set(p, o);
      }
      return o;
    };
    const toSocket = (s: AttributedSocket): PsSocket => ({
      protocol: s.protocol,
      family: s.family,
      state: s.state,
      local: s.local,
      remote: s.remote,
      inode: s.inode,
      rxQueue: s.rxQueue,
      txQueue: s.txQueue,
      processes: s.processes.map(ownerOf),
      ...(s.tcp ? { tcp: age > 0 ? { ...s.tcp, lastSendMs: s.tcp.lastSendMs + age, lastReceiveMs: s.tcp.lastReceiveMs + age } : s.tcp } : {}),
    });
    // The same text as JSON.stringify(toSocket(s)), from a template (ps-json.ts), without making the PsSocket.
    const ownerJson = new Map<ProcessRef, string>();
    const ownerText = (p: ProcessRef) => {
      let t = ownerJson.get(p);
      if (t === undefined) {
        t = escapeJsonForTerminal(JSON.stringify(ownerOf(p)));
        ownerJson.set(p, t);
      }
      return t;
    };
    // Nearly every socket has one owner: its cached text as it is.
    const ownersOf = (s: AttributedSocket) => (s.processes.length === 1 ? ownerText(s.processes[0] as ProcessRef) : s.processes.map(ownerText).join(','));
    containers.push({
      head: {
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
        ...(c.host ? { host: c.host } : {}),
        ...(traffic.get(c.id) ? { traffic: traffic.get(c.id) } : {}),
        tcpInfo: cs.tcpInfo,
      },
      socketCount: sorted.length,
      *sockets() {
        for (const s of sorted) yield toSocket(s);
      },
      *socketsJson() {
        for (const s of sorted) yield socketJson(s, ownersOf(s), age, toSocket);
      },
    });
  }
  containers.sort((a, b) => compareText(a.head.name, b.head.name) || compareText(a.head.host?.hostname ?? '', b.head.host?.hostname ?? '') || compareText(a.head.id, b.head.id));
  const warnings = snapshot.issues.map((i) => (i.count > 1 ? `${i.source}: ${i.message} (${i.count} times)` : `${i.source}: ${i.message}`));
  return { takenAt: snapshot.takenAt, host: { hostname: snapshot.hostname }, warnings, containers };
}

/** Renders the attribution as the `ps --json` contract, filtered and sorted (pure). */
export function toPsReport(
  snapshot: Snapshot,
  attribution: Attribution,
  filter: PsFilter = {},
  traffic: ReadonlyMap<string, ContainerTraffic> = new Map(),
): PsReport {
  const doc = toPsDocument(snapshot, attribution, filter, traffic);
  return { ...doc, containers: doc.containers.map((c) => ({ ...c.head, sockets: [...c.sockets()] })) };
}

/** A whole report as a document (for rendering a report read from an agent the same way; all of it foreign). */
export function psDocumentOf(report: PsReport): PsDocument {
  return {
    takenAt: report.takenAt, host: report.host, warnings: report.warnings,
    containers: report.containers.map(({ sockets, ...head }) => ({
      head, socketCount: sockets.length, sockets: () => sockets,
      *socketsJson() {
        for (const s of sockets) yield escapeJsonForTerminal(JSON.stringify(s));
      },
    })),
  };
}

/**
 * A socket's PsSocket as JSON text from a template: the keys in the order toSocket makes them (tcp_info's in the
 * order parseSockDiagDump makes them; a test compares the two on real captures). `age` grows the idle times as
 * toSocket does. Protocols, families, states and addresses are portolan's own text; owners come pre-escaped; every
 * number the parsers make is finite (a socket that is not, whatever made it, goes through JSON.stringify).
 */
function socketJson(s: AttributedSocket, owners: string, age: number, toSocket: (s: AttributedSocket) => PsSocket): string {
  const t = s.tcp;
  if (!(Number.isFinite(s.inode) && Number.isFinite(s.rxQueue) && Number.isFinite(s.txQueue) && (t === undefined || Number.isFinite(t.rttMs + t.rttVarMs + t.minRttMs + t.bytesSent + t.bytesReceived + t.bytesRetrans + t.bytesAcked + t.deliveryRateBps + t.lastSendMs + t.lastReceiveMs + t.retransmits + t.segsIn + t.segsOut)))) {
    return escapeJsonForTerminal(JSON.stringify(toSocket(s)));
  }
  const tcp = t === undefined ? '' : `,"tcp":{"bytesSent":${t.bytesSent},"bytesRetrans":${t.bytesRetrans},"bytesReceived":${t.bytesReceived},` +
    `"bytesAcked":${t.bytesAcked},"rttMs":${t.rttMs},"rttVarMs":${t.rttVarMs},"minRttMs":${t.minRttMs},"retransmits":${t.retransmits},` +
    `"deliveryRateBps":${t.deliveryRateBps},"segsOut":${t.segsOut},"segsIn":${t.segsIn},"lastSendMs":${t.lastSendMs + age},"lastReceiveMs":${t.lastReceiveMs + age}}`;
  return `{"protocol":"${s.protocol}","family":"${s.family}","state":"${s.state}","local":{"address":"${s.local.address}","port":${s.local.port}},` +
    `"remote":{"address":"${s.remote.address}","port":${s.remote.port}},"inode":${s.inode},"rxQueue":${s.rxQueue},"txQueue":${s.txQueue},` +
    `"processes":[${owners}]${tcp}}`;
}

function noFilter(f: PsFilter): boolean {
  return !f.protocol && !f.listening && !(f.states && f.states.length > 0);
}

/** Plain code-unit order (not locale order, which costs ~20x more per comparison and differs between machines). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Listening and unconnected first, then the kernel's order of TCP states.
const STATE_ORDER = new Map<SocketState, number>(SOCKET_STATES.map((s, i) => [s, s === 'LISTEN' ? 0 : s === 'UNCONN' ? 1 : i + 2]));

/**
 * Sorts sockets by protocol, state, local port, remote port, local address and remote address. The first four are
 * packed into one number computed once per socket, so nearly all of the ~1.7 million comparisons of 100,000
 * sockets compare two numbers.
 */
function sortSockets(sockets: AttributedSocket[]): AttributedSocket[] {
  const keys = new Float64Array(sockets.length);
  const order = new Uint32Array(sockets.length);
  for (let i = 0; i < sockets.length; i++) {
    const s = sockets[i] as AttributedSocket;
    keys[i] = (s.protocol === 'tcp' ? 0 : 1) * 2 ** 40 + (STATE_ORDER.get(s.state) ?? 0) * 2 ** 33 + s.local.port * 2 ** 16 + s.remote.port;
    order[i] = i;
  }
  order.sort((x, y) => {
    const d = (keys[x] as number) - (keys[y] as number);
    if (d !== 0) return d;
    const a = sockets[x] as AttributedSocket;
    const b = sockets[y] as AttributedSocket;
    return compareText(a.local.address, b.local.address) || compareText(a.remote.address, b.remote.address);
  });
  const out = new Array<AttributedSocket>(sockets.length);
  for (let i = 0; i < order.length; i++) out[i] = sockets[order[i] as number] as AttributedSocket;
  return out;
}
