import type { ParseError } from '../core/errors.js';
import type { CollectionIssue } from '../core/model/snapshot.js';
import type { Family, NetnsSockets, RawSocket, SocketSource } from '../core/model/socket.js';
import { parseNetTcp } from '../core/parse/net-tcp.js';
import { parseNetUdp } from '../core/parse/net-udp.js';
import { parseSockDiagDump, INET_DIAG_INFO_EXT } from '../core/parse/sock-diag.js';
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
}

const PROC_FILES: readonly { file: string; protocol: 'tcp' | 'udp'; family: Family }[] = [
  { file: 'net/tcp', protocol: 'tcp', family: 'ipv4' },
  { file: 'net/tcp6', protocol: 'tcp', family: 'ipv6' },
  { file: 'net/udp', protocol: 'udp', family: 'ipv4' },
  { file: 'net/udp6', protocol: 'udp', family: 'ipv6' },
];

const NAMESPACE_CONCURRENCY = 8;

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

  async function readNetlink(pid: number | 'self'): Promise<{ sockets: RawSocket[]; errors: ParseError[] }> {
    let diag: SockDiagSocket;
    try {
      diag = openDiag(procfs.pathOf(pid, 'ns/net'));
    } catch (err) {
      if (isVanished(err)) throw new Vanished();
      throw err;
    }
    try {
      const sockets: RawSocket[] = [];
      const errors: ParseError[] = [];
      for (const family of [2, 10] as const) {
        for (const protocol of ['tcp', 'udp'] as const) {
          const ext = protocol === 'tcp' && options.tcpInfo !== false ? INET_DIAG_INFO_EXT : 0;
          const payloads = await diag.dump(family, protocol === 'tcp' ? 6 : 17, ext);
          const r = parseSockDiagDump(payloads, protocol);
          for (const s of r.records) sockets.push(s);
          errors.push(...r.errors);
        }
      }
      return { sockets, errors };
    } finally {
      diag.close();
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
    needs: ['netns'],
    collect: async ({ parts }) => {
      const targets = namespaceTargets(parts.netns);

      const readOne = async ([netns, pid]: [number, number | 'self']) => {
        let source: SocketSource = options.source === 'proc' || netlinkBroken ? 'proc' : 'netlink';
        let result: { sockets: RawSocket[]; errors: ParseError[] } | undefined;
        try {
          if (source === 'netlink') {
            try {
              result = await readNetlink(pid);
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
        return { table: { netns, source, sockets: result.sockets } satisfies NetnsSockets, errors: result.errors };
      };
      // Dumps are I/O waits on the kernel: overlapping a few namespaces hides most of the latency.
      const results = (await mapLimit([...targets], NAMESPACE_CONCURRENCY, readOne)).filter((r) => r !== undefined);
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
