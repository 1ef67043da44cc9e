// The optional eBPF source: TCP connections conntrack cannot see — loopback inside a container's namespace, a
// host-network process talking to the host's own address — from the tracepoint sock:inet_sock_set_state through
// bpftrace (sources/bpftrace.ts), parsed by core (parse/bpftrace-sock.ts). Each socket that reaches ESTABLISHED
// gives an `opened` connection end, each that reaches CLOSE after it a `closed` one with its duration and bytes,
// attributed by the socket's network namespace inode (never by pid: the pid is whoever caused the change).
// When it cannot load, it says why once (with the command that fixes it) and stays off; nothing else depends on it.
import type { EbpfSocketEvent, EbpfStatus } from '../core/capture/ebpf-event.js';
import { BPFTRACE_SOCK_SCRIPT, parseBpftraceLine, type SockTransition } from '../core/parse/bpftrace-sock.js';
import { isLoopbackIp } from '../core/parse/ip-text.js';
import { checkBpftrace, runBpftrace, type BpftraceProcess } from '../sources/bpftrace.js';

/** Options of createEbpfFeed. */
export interface EbpfFeedOptions {
  /** Called for each connection end conntrack cannot see. */
  onConnection(end: EbpfSocketEvent): void;
  /** Told once when the source cannot load or stops working (one line for the log). */
  onNotice(message: string): void;
  readonly env?: NodeJS.ProcessEnv;
  readonly tracefsRoots?: readonly string[];
  /** Most open sockets remembered for their close (default 65,536). */
  readonly maxOpen?: number;
  /** Keep every connection, not only those conntrack cannot see (for tests). */
  readonly all?: boolean;
  readonly now?: () => number;
}

export type { EbpfSocketEvent, EbpfStatus };

/** The running eBPF feed. */
export interface EbpfFeed {
  /** Starts bpftrace; resolves once it attached its probes, or with the reason it could not. */
  start(): Promise<EbpfStatus>;
  status(): EbpfStatus;
  stop(): Promise<void>;
}

/** Whether a connection is one conntrack cannot see: both ends loopback, or a socket talking to its own address. */
export function invisibleToConntrack(local: { address: string }, remote: { address: string }): boolean {
  return (isLoopbackIp(local.address) && isLoopbackIp(remote.address)) || local.address === remote.address;
}

/** Creates the feed (not started). */
export function createEbpfFeed(options: EbpfFeedOptions): EbpfFeed {
  const maxOpen = options.maxOpen ?? 65_536;
  const now = options.now ?? Date.now;
  let status: { -readonly [K in keyof EbpfStatus]: EbpfStatus[K] } = { state: 'off', transitions: 0, connections: 0, lost: 0, parseErrors: 0, evicted: 0 };
  let proc: BpftraceProcess | undefined;
  let stopping = false;
  const open = new Map<bigint, { ns: bigint; role: 'client' | 'server' }>();
  const stderr: string[] = [];

  const transition = (t: SockTransition) => {
    status.transitions++;
    if (!options.all && !invisibleToConntrack(t.local, t.remote)) return;
    const at = new Date(now()).toISOString();
    if (t.newState === 'ESTABLISHED') {
      const role = t.oldState === 'SYN_SENT' ? 'client' : 'server';
      open.delete(t.sock);
      open.set(t.sock, { ns: t.ns, role });
      if (open.size > maxOpen) {
        const oldest = open.keys().next().value;
        if (oldest !== undefined) open.delete(oldest);
        status.evicted++;
      }
      status.connections++;
      options.onConnection({ kind: 'opened', at, netns: t.netns, role, family: t.family, local: t.local, remote: t.remote });
      return;
    }
    const was = open.get(t.sock);
    if (!was) return;
    open.delete(t.sock);
    // tcp_sock counts sequence numbers: the client's SYN is in bytes_acked, and after a graceful close (the socket
    // leaves LAST_ACK, FIN_WAIT2, TIME_WAIT or CLOSING) each side's FIN is one more. Payload is what remains.
    const fins = ['LAST_ACK', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSING'].includes(t.oldState) ? 1n : 0n;
    const syn = was.role === 'client' ? 1n : 0n;
    const payload = (n: bigint) => Number(n > 0n ? n : 0n);
    options.onConnection({
      kind: 'closed', at, netns: t.netns, role: was.role, family: t.family, local: t.local, remote: t.remote,
      durationMs: Number((t.ns - was.ns) / 1_000_000n), bytesSent: payload(t.bytesAcked - syn - fins), bytesReceived: payload(t.bytesReceived - fins),
    });
  };

  return {
    status: () => ({ ...status }),
    start() {
      const check = checkBpftrace('sock:inet_sock_set_state', options.env, options.tracefsRoots);
      if (!check.ok) {
        status = { ...status, state: 'unavailable', reason: check.reason, ...(check.fix ? { fix: check.fix } : {}) };
        options.onNotice(`eBPF source off: ${check.reason}${check.fix ? ` (to enable it: ${check.fix})` : ''}; everything else works without it`);
        return Promise.resolve({ ...status });
      }
      status.state = 'starting';
      return new Promise((resolve) => {
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          resolve({ ...status });
        };
        let line = 0;
        proc = runBpftrace(check.bpftrace, BPFTRACE_SOCK_SCRIPT, {
          onLine(text) {
            line++;
            let r;
            try {
              r = parseBpftraceLine(text, line);
            } catch {
              status.parseErrors++;
              return;
            }
            if (r.kind === 'attached') {
              status.state = 'running';
              settle();
            } else if (r.kind === 'lost') status.lost += r.events;
            else if (r.kind === 'transition') transition(r);
          },
          onStderr(text) {
            // bpftrace says this on every run without CAP_SYS_RESOURCE; it is harmless (memcg accounting).
            if (/RLIMIT_MEMLOCK/.test(text)) return;
            if (stderr.length < 20) stderr.push(text);
          },
          onExit(code, signal) {
            if (stopping) {
              status.state = 'stopped';
              settle();
              return;
            }
            const error = stderr.find((l) => /ERROR|permission|not permitted/i.test(l)) ?? stderr[0] ?? `exit ${code ?? signal ?? '?'}`;
            const wasRunning = status.state === 'running';
            status = { ...status, state: 'failed', reason: `bpftrace ${wasRunning ? 'stopped' : 'could not load the probe'}: ${error.slice(0, 300)}` };
            if (/permission|not permitted|EPERM/i.test(error)) status.fix = 'run as root (or with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)';
            options.onNotice(`eBPF source off: ${status.reason}${status.fix ? ` (${status.fix})` : ''}; everything else works without it`);
            settle();
          },
        });
      });
    },
    async stop() {
      stopping = true;
      await proc?.stop();
      if (status.state === 'running' || status.state === 'starting') status.state = 'stopped';
    },
  };
}
