import type { ParseError } from '../core/errors.js';
import type { CollectionIssue } from '../core/model/snapshot.js';
import type { Family, NetnsSockets, RawSocket, SocketSource } from '../core/model/socket.js';
import type { NetnsCounters } from '../core/model/traffic.js';
import { parseNetTcp } from '../core/parse/net-tcp.js';
import { parseNetUdp } from '../core/parse/net-udp.js';
import { parseSockDiagDump, INET_DIAG_INFO_EXT } from '../core/parse/sock-diag.js';
import { socketCounts, sockstatActivity, type SocketCounts } from '../core/parse/sockstat.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import { NetlinkUnavailableError, openSockDiag, type SockDiagSocket } from '../sources/sock-diag.js';
import type { Collector } from './collector.js';
import { containersSocketTraffic, mapLimit, namespaceTargets, socketTraffic } from './namespaces.js';

/** Which socket source to use: netlink with /proc fallback (`auto`), or one forced. */
export type SocketSourceChoice = 'auto' | SocketSource;

/** Options of the sockets collector. */
export interface SocketsCollectorOptions {
  readonly procfs: Procfs;
  readonly source: SocketSourceChoice;
  /** Request tcp_info from netlink (per-connection bytes, RTT); default true. */
  readonly tcpInfo?: boolean;
  /** Opens a sock_diag socket in a namespace; injectable for tests. */
  readonly openDiag?: (nsPath: string) => SockDiagSocket;
  /**
   * For collections that repeat (the agent, `top`): keep each namespace's netlink socket open between them, and
   * reuse a namespace's previous table instead of dumping it again while nothing happened in it (see
   * activityOf), for at most `reuseForMs`. Absent: every collection dumps every namespace afresh.
   */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
  /**
   * `when-shared` (for `ps`, which lists containers' sockets only): the host's table is read only when a
   * host-network container's sockets live there. Default `always`: the topology needs the host's sockets.
   */
  readonly hostTable?: 'always' | 'when-shared';
}

/** A namespace's last table and the activity it was read at. */
interface Dumped {
  readonly activity: string;
  readonly atMs: number;
  readonly table: NetnsSockets;
}

const PROC_FILES: readonly { file: string; protocol: 'tcp' | 'udp'; family: Family }[] = [
  { file: 'net/tcp', protocol: 'tcp', family: 'ipv4' },
  { file: 'net/tcp6', protocol: 'tcp', family: 'ipv6' },
  { file: 'net/udp', protocol: 'udp', family: 'ipv4' },
  { file: 'net/udp6', protocol: 'udp', family: 'ipv6' },
];

const NAMESPACE_CONCURRENCY = 8;

/** The tables a dump asks for (TCP both families in one request where the kernel allows). */
interface WantedTables { readonly tcp: boolean; readonly udp4: boolean; readonly udp6: boolean }
const ALL_TABLES: WantedTables = { tcp: true, udp4: true, udp6: true };

/** Thrown when a namespace's process vanished before its table was read: the namespace is skipped. */
class Vanished extends Error {}

/**
 * Reads the socket table of every distinct network namespace (each container's, and the host's) once:
 * TCP and UDP, IPv4 and IPv6, every state. Netlink sock_diag opened inside the namespace is the primary
 * source (with tcp_info); /proc/<pid>/net/* the fallback. If netlink cannot load, says so once and falls back.
 */
export function createSocketsCollector(options: SocketsCollectorOptions): Collector<'sockets'> {
  const { procfs } = options;
  const openDiag = options.openDiag ?? openSockDiag;
  // Once netlink fails to load it stays broken for this process: later collections go straight to /proc.
  let netlinkBroken: string | undefined;

  // With `repeat`: open sockets and last tables by namespace inode. A namespace is kept alive by the socket
  // bound to it, so its inode cannot be reused while cached; both are dropped once it leaves the targets.
  const open = new Map<number, SockDiagSocket>();
  const dumped = new Map<number, Dumped>();
  const now = options.repeat?.now ?? Date.now;
  // Set when the kernel refuses the legacy both-families TCP request: then IPv4 and IPv6 are dumped apart.
  let compatRefused = false;
  let lastTables: readonly NetnsSockets[] | undefined;
  // Each namespace's last sockstat activity (its per-namespace counts).
  const sockstats = new Map<number, string>();

  /**
   * What changes when anything happens to a namespace's sockets: its socket counts (sockstat's per-namespace
   * ones: sockets of every family in use, TCP and UDP hashed, TIME_WAIT) and its TCP segments and UDP datagrams
   * (net/snmp, from the netdev part read just before; its interface packets when those were not read). Unchanged,
   * no socket changed state and no tcp_info counter moved; what can still differ is a Recv-Q the application
   * drained without a window update, and a socket closed and another opened between two collections —
   * `reuseForMs` bounds both. The host's own segments count only when a host-network container's sockets live
   * there (otherwise they are the machine's ssh, registry and API traffic); instead, any container's traffic
   * counts for the host, whose sockets (docker-proxy, host processes) are the other ends of containers' connections.
   */
  function activityOf(netns: number, pid: number | 'self', netdev: ReadonlyMap<number, NetnsCounters>, host: { readonly isHost: boolean; readonly networked: boolean; readonly containers: string }): string | undefined {
    const counters = netdev.get(netns);
    if (!counters) return undefined;
    const traffic = host.isHost ? `${host.networked ? socketTraffic(counters) : ''}|${host.containers}` : socketTraffic(counters);
    let sockets = sockstats.get(netns);
    // An unchanged file is told by its bytes, without making text of it.
    const text = sockets === undefined ? procfs.readAgain(pid, 'net/sockstat') : procfs.readIfChanged(pid, 'net/sockstat');
    if (text !== undefined) sockstats.set(netns, (sockets = sockstatActivity(text)));
    return `${sockets ?? ''}${traffic}`;
  }

  /**
   * Which tables a namespace has anything in, from its sockstat (TCP, TIME_WAIT, UDP: already read when the
   * collector repeats) and sockstat6 (TCP6, UDP6). A protocol with no hashed socket in either family has nothing to dump; each dump
   * walks the kernel's whole hash table of that protocol, every namespace's, so an empty one is worth skipping.
   * What cannot be read is dumped.
   */
  function wantedTables(netns: number, pid: number | 'self'): WantedTables {
    // A repeating collector read sockstat for the namespace's activity just before; a one-shot one reads it now.
    let v4text = sockstats.get(netns);
    if (v4text === undefined) {
      try {
        v4text = procfs.readText(pid, 'net/sockstat');
      } catch (err) {
        // Gone: the dump says so. Unreadable otherwise: every table is dumped.
        if (!isVanished(err)) throw err;
        v4text = '';
      }
    }
    const v4 = socketCounts(v4text);
    let v6: Partial<SocketCounts> = {};
    try {
      v6 = socketCounts(procfs.readText(pid, 'net/sockstat6'), true);
    } catch (err) {
      // No sockstat6: IPv6 is off in this kernel, so there is no IPv6 socket to dump.
      if (isVanished(err)) v6 = { tcp: 0, udp: 0 };
    }
    const none = (n: number | undefined) => n === 0;
    return {
      tcp: !(none(v4.tcp) && none(v4.tw) && none(v6.tcp)),
      udp4: !none(v4.udp),
      udp6: !none(v6.udp),
    };
  }

  /**
   * The refresh slot a time falls in for a namespace: slots of `reuseForMs`, shifted by a phase of the namespace's
   * own (from its inode), so a host's namespaces, read together whenever their traffic moves together, are read
   * again spread over the period rather than all in the same collection.
   */
  function slotOf(netns: number, atMs: number): number {
    const period = options.repeat?.reuseForMs ?? 1;
    return Math.floor((atMs + ((netns % 997) / 997) * period) / period);
  }

  async function dumpAll(diag: SockDiagSocket, signal: AbortSignal, want: WantedTables = ALL_TABLES): Promise<{ sockets: RawSocket[]; errors: ParseError[] }> {
    const sockets: RawSocket[] = [];
    const errors: ParseError[] = [];
    const add = (payloads: Buffer[], protocol: 'tcp' | 'udp') => {
      const r = parseSockDiagDump(payloads, protocol);
      for (const s of r.records) sockets.push(s);
      for (const e of r.errors) errors.push(e);
    };
    const tcpExt = options.tcpInfo !== false ? INET_DIAG_INFO_EXT : 0;
    let tcpDone = !want.tcp;
    if (!compatRefused && want.tcp) {
      try {
        add(await diag.dump(0, 6, tcpExt, signal), 'tcp');
        tcpDone = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!(err instanceof NetlinkUnavailableError) && code !== 'EINVAL' && code !== 'EOPNOTSUPP') throw err;
        compatRefused = true;
      }
    }
    for (const family of [2, 10] as const) {
      if (!tcpDone) add(await diag.dump(family, 6, tcpExt, signal), 'tcp');
      if (family === 2 ? want.udp4 : want.udp6) add(await diag.dump(family, 17, 0, signal), 'udp');
    }
    return { sockets, errors };
  }

  async function readNetlink(netns: number, pid: number | 'self', signal: AbortSignal, want?: WantedTables): Promise<{ sockets: RawSocket[]; errors: ParseError[] }> {
    const repeat = options.repeat;
    let diag = open.get(netns);
    if (!diag) {
      try {
        diag = openDiag(procfs.pathOf(pid, 'ns/net'));
      } catch (err) {
        if (isVanished(err)) throw new Vanished();
        throw err;
      }
      if (repeat) open.set(netns, diag);
    }
    try {
      return await dumpAll(diag, signal, want);
    } catch (err) {
      // A socket that failed a dump is not trusted again: the next collection opens a new one.
      diag.close();
      open.delete(netns);
      dumped.delete(netns);
      throw err;
    } finally {
      if (!repeat) diag.close();
    }
  }

  function readProc(pid: number | 'self'): { sockets: RawSocket[]; errors: ParseError[] } {
    const sockets: RawSocket[] = [];
    const errors: ParseError[] = [];
    for (const { file, protocol, family } of PROC_FILES) {
      let text: string;
      try {
        text = procfs.readText(pid, file);
      } catch (err) {
        if (!isVanished(err)) throw err;
        // tcp6/udp6 are absent when IPv6 is disabled; a missing IPv4 table means the process is gone.
        if (family === 'ipv4') throw new Vanished();
        continue;
      }
      const path = procfs.pathOf(pid, file);
      const r = protocol === 'tcp' ? parseNetTcp(text, path, family) : parseNetUdp(text, path, family);
      for (const s of r.records) sockets.push(s);
      errors.push(...r.errors);
    }
    return { sockets, errors };
  }

  return {
    name: 'sockets',
    provides: ['sockets'],
    // Repeating, the netdev part tells which namespaces had traffic (and the containers which are host-network).
    needs: options.repeat ? ['containers', 'netns', 'netdev'] : options.hostTable === 'when-shared' ? ['containers', 'netns'] : ['netns'],
    collect: async ({ parts, signal }) => {
      const targets = namespaceTargets(parts.netns);
      const netdev = new Map((parts.netdev ?? []).map((n) => [n.netns, n]));
      const hostNetworked = (parts.containers ?? []).some((c) => c.networkMode.kind === 'host');
      if (options.hostTable === 'when-shared' && !hostNetworked && parts.netns && parts.netns.containers.every((c) => c.netns !== parts.netns?.host)) targets.delete(parts.netns.host);
      const repeat = options.repeat;
      const containersTraffic = repeat ? containersSocketTraffic(parts) : '';

      const readOne = async ([netns, pid]: [number, number | 'self']): Promise<{ table: NetnsSockets; errors: ParseError[] } | undefined> => {
        // Timed out: start nothing more (a running dump rejects by itself).
        signal.throwIfAborted();
        const t = now();
        let activity: string | undefined;
        try {
          if (repeat) {
            const isHost = netns === parts.netns?.host;
            activity = activityOf(netns, pid, netdev, { isHost, networked: hostNetworked, containers: isHost ? containersTraffic : '' });
            const last = dumped.get(netns);
            if (activity !== undefined && last?.activity === activity && t - last.atMs < repeat.reuseForMs && slotOf(netns, t) === slotOf(netns, last.atMs)) return { table: last.table, errors: [] };
          }
          let source: SocketSource = options.source === 'proc' || netlinkBroken ? 'proc' : 'netlink';
          let result: { sockets: RawSocket[]; errors: ParseError[] } | undefined;
          if (source === 'netlink') {
            try {
              result = await readNetlink(netns, pid, signal, !repeat || activity !== undefined ? wantedTables(netns, pid) : undefined);
            } catch (err) {
              if (!(err instanceof NetlinkUnavailableError) || options.source === 'netlink') throw err;
              netlinkBroken = err.message;
              source = 'proc';
            }
          }
          result ??= readProc(pid);
          const tcpInfo = source === 'netlink' && options.tcpInfo !== false;
          const before = dumped.get(netns)?.table;
          // Read again and found as it was (a refresh of an idle namespace): the same table, read when it was.
          const table: NetnsSockets = before && before.source === source && before.tcpInfo === tcpInfo && sameSockets(before.sockets, result.sockets)
            ? before
            : { netns, source, tcpInfo, readAtMs: t, sockets: result.sockets };
          signal.throwIfAborted();
          if (activity !== undefined) dumped.set(netns, { activity, atMs: t, table });
          return { table, errors: result.errors };
        } catch (err) {
          if (isVanished(err) || err instanceof Vanished) return undefined;
          throw err;
        }
      };
      // Dumps are I/O waits on the kernel: overlapping a few namespaces hides most of the latency.
      const results = (await mapLimit([...targets], NAMESPACE_CONCURRENCY, readOne)).filter((r) => r !== undefined);
      signal.throwIfAborted();
      for (const [netns, diag] of open) {
        if (targets.has(netns)) continue;
        diag.close();
        open.delete(netns);
      }
      for (const netns of dumped.keys()) if (!targets.has(netns)) dumped.delete(netns);
      for (const netns of sockstats.keys()) if (!targets.has(netns)) sockstats.delete(netns);
      procfs.releaseExcept(new Set(targets.values()));
      const tables = results.map((r) => r.table);
      const parseErrors = results.flatMap((r) => r.errors);
      const issues: CollectionIssue[] = [];
      if (netlinkBroken) {
        issues.push({ source: 'sockets', message: `netlink unavailable, reading /proc instead (no tcp_info): ${netlinkBroken}`, count: 1 });
      }
      if (parseErrors.length > 0) {
        issues.push({ source: 'sockets', message: `skipped malformed lines, first: ${parseErrors[0]?.message ?? ''}`, count: parseErrors.length });
      }
      // Nothing read again anywhere: the very same tables, so that what is computed from them can be kept too.
      if (lastTables && tables.length === lastTables.length && tables.every((t, i) => t === lastTables?.[i])) return { sockets: lastTables, issues };
      lastTables = tables;
      return { sockets: tables, issues };
    },
  };
}

/**
 * True when two reads of a namespace's table found the same sockets in the same order: every field equal but
 * tcp_info's times since the last data, which grow by themselves (nothing was sent or received when every
 * counter, segments included, is equal; the earlier read aged by the time since is then still exact).
 */
function sameSockets(a: readonly RawSocket[], b: readonly RawSocket[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as RawSocket;
    const y = b[i] as RawSocket;
    if (x.protocol !== y.protocol || x.family !== y.family || x.state !== y.state || x.inode !== y.inode || x.uid !== y.uid ||
      x.txQueue !== y.txQueue || x.rxQueue !== y.rxQueue || x.local.port !== y.local.port || x.local.address !== y.local.address ||
      x.remote.port !== y.remote.port || x.remote.address !== y.remote.address) return false;
    if (x.tcp === undefined || y.tcp === undefined) {
      if (x.tcp !== y.tcp) return false;
      continue;
    }
    const p = x.tcp;
    const q = y.tcp;
    if (p.bytesSent !== q.bytesSent || p.bytesReceived !== q.bytesReceived || p.bytesRetrans !== q.bytesRetrans || p.bytesAcked !== q.bytesAcked ||
      p.segsOut !== q.segsOut || p.segsIn !== q.segsIn || p.retransmits !== q.retransmits || p.rttMs !== q.rttMs || p.rttVarMs !== q.rttVarMs ||
      p.minRttMs !== q.minRttMs || p.deliveryRateBps !== q.deliveryRateBps) return false;
  }
  return true;
}
