import type { ParseError } from '../core/errors.js';
import type { CollectionIssue } from '../core/model/snapshot.js';
import type { Family, NetnsSockets, RawSocket, SocketSource } from '../core/model/socket.js';
import type { NetnsCounters } from '../core/model/traffic.js';
import { parseNetTcp } from '../core/parse/net-tcp.js';
import { parseNetUdp } from '../core/parse/net-udp.js';
import { parseSockDiagDump, INET_DIAG_INFO_EXT } from '../core/parse/sock-diag.js';
import { sockstatActivity } from '../core/parse/sockstat.js';
import { isVanished, type Procfs } from '../sources/procfs.js';
import { NetlinkUnavailableError, openSockDiag, type SockDiagSocket } from '../sources/sock-diag.js';
import type { Collector } from './collector.js';
import { mapLimit, namespaceTargets } from './namespaces.js';

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
}

/** A namespace's last dumped table and the activity it was dumped at. */
interface Dumped {
  readonly activity: string;
  readonly atMs: number;
  readonly sockets: readonly RawSocket[];
}

const PROC_FILES: readonly { file: string; protocol: 'tcp' | 'udp'; family: Family }[] = [
  { file: 'net/tcp', protocol: 'tcp', family: 'ipv4' },
  { file: 'net/tcp6', protocol: 'tcp', family: 'ipv6' },
  { file: 'net/udp', protocol: 'udp', family: 'ipv4' },
  { file: 'net/udp6', protocol: 'udp', family: 'ipv6' },
];

const NAMESPACE_CONCURRENCY = 8;

/**
 * A reused table as it stands `elapsedMs` after its dump: nothing moved (that is why it is reused), so only
 * the times since the last data sent and received grew.
 */
function aged(sockets: readonly RawSocket[], elapsedMs: number): RawSocket[] {
  return sockets.map((s) => (s.tcp ? { ...s, tcp: { ...s.tcp, lastSendMs: s.tcp.lastSendMs + elapsedMs, lastReceiveMs: s.tcp.lastReceiveMs + elapsedMs } } : s));
}

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

  /**
   * What changes when anything happens to a namespace's sockets: its socket counts (sockstat's per-namespace
   * ones: sockets of every family in use, TCP and UDP hashed, TIME_WAIT) and the packets of all its interfaces,
   * `lo` included (every segment or datagram sent or received; from the netdev part, read just before).
   * Unchanged, no socket changed state and no tcp_info counter moved; what can still differ is a Recv-Q the
   * application drained without a window update, and a socket closed and another opened between two
   * collections — `reuseForMs` bounds both.
   */
  function activityOf(netns: number, pid: number | 'self', netdev: ReadonlyMap<number, NetnsCounters>): string | undefined {
    const counters = netdev.get(netns);
    if (!counters) return undefined;
    let packets = counters.loopback ? counters.loopback.rxPackets + counters.loopback.txPackets : 0;
    for (const i of counters.interfaces) packets += i.rxPackets + i.txPackets;
    return `${sockstatActivity(procfs.readText(pid, 'net/sockstat'))}packets=${packets}`;
  }

  async function dumpAll(diag: SockDiagSocket, signal: AbortSignal): Promise<{ sockets: RawSocket[]; errors: ParseError[] }> {
    const sockets: RawSocket[] = [];
    const errors: ParseError[] = [];
    const add = (payloads: Buffer[], protocol: 'tcp' | 'udp') => {
      const r = parseSockDiagDump(payloads, protocol);
      for (const s of r.records) sockets.push(s);
      for (const e of r.errors) errors.push(e);
    };
    const tcpExt = options.tcpInfo !== false ? INET_DIAG_INFO_EXT : 0;
    let tcpDone = false;
    if (!compatRefused) {
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
      add(await diag.dump(family, 17, 0, signal), 'udp');
    }
    return { sockets, errors };
  }

  async function readNetlink(netns: number, pid: number | 'self', netdev: ReadonlyMap<number, NetnsCounters>, signal: AbortSignal): Promise<{ sockets: RawSocket[]; errors: ParseError[] }> {
    const repeat = options.repeat;
    let activity: string | undefined;
    if (repeat) {
      try {
        activity = activityOf(netns, pid, netdev);
      } catch (err) {
        if (isVanished(err)) throw new Vanished();
        throw err;
      }
      const last = dumped.get(netns);
      const t = now();
      if (activity !== undefined && last?.activity === activity && t - last.atMs < repeat.reuseForMs) return { sockets: aged(last.sockets, t - last.atMs), errors: [] };
    }
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
      const atMs = now();
      const result = await dumpAll(diag, signal);
      if (activity !== undefined) dumped.set(netns, { activity, atMs, sockets: result.sockets });
      return result;
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
    // Repeating, the netdev part tells which namespaces had traffic.
    needs: options.repeat ? ['netns', 'netdev'] : ['netns'],
    collect: async ({ parts, signal }) => {
      const targets = namespaceTargets(parts.netns);
      const netdev = new Map((parts.netdev ?? []).map((n) => [n.netns, n]));

      const readOne = async ([netns, pid]: [number, number | 'self']) => {
        // Timed out: start nothing more (a running dump rejects by itself).
        signal.throwIfAborted();
        let source: SocketSource = options.source === 'proc' || netlinkBroken ? 'proc' : 'netlink';
        let result: { sockets: RawSocket[]; errors: ParseError[] } | undefined;
        try {
          if (source === 'netlink') {
            try {
              result = await readNetlink(netns, pid, netdev, signal);
            } catch (err) {
              if (!(err instanceof NetlinkUnavailableError) || options.source === 'netlink') throw err;
              netlinkBroken = err.message;
              source = 'proc';
            }
          }
          result ??= readProc(pid);
        } catch (err) {
          if (err instanceof Vanished) return undefined;
          throw err;
        }
        const tcpInfo = source === 'netlink' && options.tcpInfo !== false;
        return { table: { netns, source, tcpInfo, sockets: result.sockets } satisfies NetnsSockets, errors: result.errors };
      };
      // Dumps are I/O waits on the kernel: overlapping a few namespaces hides most of the latency.
      const results = (await mapLimit([...targets], NAMESPACE_CONCURRENCY, readOne)).filter((r) => r !== undefined);
      for (const [netns, diag] of open) {
        if (targets.has(netns)) continue;
        diag.close();
        open.delete(netns);
      }
      for (const netns of dumped.keys()) if (!targets.has(netns)) dumped.delete(netns);
      const tables = results.map((r) => r.table);
      const parseErrors = results.flatMap((r) => r.errors);
      const issues: CollectionIssue[] = [];
      if (netlinkBroken) {
        issues.push({ source: 'sockets', message: `netlink unavailable, reading /proc instead (no tcp_info): ${netlinkBroken}`, count: 1 });
      }
      if (parseErrors.length > 0) {
        issues.push({ source: 'sockets', message: `skipped malformed lines, first: ${parseErrors[0]?.message ?? ''}`, count: parseErrors.length });
      }
      return { sockets: tables, issues };
    },
  };
}
