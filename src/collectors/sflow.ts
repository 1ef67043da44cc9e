import type { CollectionIssue } from '../core/model/snapshot.js';
import type { SflowPart } from '../core/model/sflow.js';
import { parseUdpDrops } from '../core/parse/net-udp.js';
import { createSflowAccumulator, type SflowLimits } from '../core/sflow/accumulate.js';
import type { Procfs } from '../sources/procfs.js';
import { listenSflowUdp, type SflowUdpListener, type SflowUdpOptions } from '../sources/sflow-udp.js';
import type { Collector } from './collector.js';

/** Where and how to receive sFlow. */
export interface SflowReceiverConfig {
  readonly host: string;
  readonly port: number;
  readonly limits?: SflowLimits;
}

/** The sFlow receiver: a UDP socket feeding the accumulator, and the collector that drains it. */
export interface SflowReceiver {
  readonly collector: Collector<'sflow'>;
  /** Binds the socket; resolves with `host:port` actually bound, rejects with a one-line reason. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Dependencies of createSflowReceiver (the UDP source and procfs, injected for tests). */
export interface SflowReceiverDeps {
  readonly procfs: Procfs;
  readonly listen?: (options: SflowUdpOptions) => Promise<SflowUdpListener>;
  readonly now?: () => number;
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * sFlow v5 over UDP: each datagram is decoded as it arrives (core/sflow/accumulate) and each collection takes
 * what arrived since the previous one. Problems since the previous collection (datagrams rejected, sequence
 * gaps, datagrams the kernel dropped, a full flow table) become collection issues, besides their counters.
 */
export function createSflowReceiver(config: SflowReceiverConfig, deps: SflowReceiverDeps): SflowReceiver {
  const now = deps.now ?? Date.now;
  const listen = deps.listen ?? listenSflowUdp;
  let listener: SflowUdpListener | undefined;
  let accumulator = createSflowAccumulator(hostPort(config.host, config.port), config.limits);
  let socketError: Error | undefined;
  let previous: SflowPart | undefined;

  // The socket's own line in /proc/self/net/udp*: its drops start at 0 when it is bound.
  const kernelDrops = (): number => {
    if (!listener) return 0;
    const file = listener.family === 'ipv6' ? 'net/udp6' : 'net/udp';
    return parseUdpDrops(deps.procfs.readText('self', file), listener.port) ?? 0;
  };

  const collector: Collector<'sflow'> = {
    name: 'sflow',
    provides: ['sflow'],
    needs: [],
    collect: async () => {
      if (!listener) throw new Error('sflow: the receiver is not listening');
      const issues: CollectionIssue[] = [];
      let queueDropped = previous?.receiver.queueDropped ?? 0;
      try {
        queueDropped = kernelDrops();
      } catch (err) {
        issues.push({ source: 'sflow', message: `cannot read the socket's drop counter: ${(err as Error).message}`, count: 1 });
      }
      const part = accumulator.drain(now(), queueDropped);
      issues.push(...sflowIssues(previous, part));
      if (socketError) {
        issues.push({ source: 'sflow', message: `socket error: ${socketError.message}`, count: 1 });
        socketError = undefined;
      }
      previous = part;
      return { sflow: part, issues };
    },
  };

  return {
    collector,
    async listen() {
      try {
        listener = await listen({
          host: config.host, port: config.port, now,
          onDatagram: (bytes, from, atMs) => accumulator.add(bytes, from, atMs),
          onError: (err) => { socketError = err; },
        });
      } catch (err) {
        throw new Error(`cannot receive sFlow on ${hostPort(config.host, config.port)} (udp): ${(err as Error).message}`);
      }
      const bound = hostPort(listener.host, listener.port);
      // The status names the address really bound (port 0 picks one).
      accumulator = createSflowAccumulator(bound, config.limits);
      return bound;
    },
    async close() {
      await listener?.close();
      listener = undefined;
    },
  };
}

/** What went wrong between two drains, as collection issues (one per kind). */
export function sflowIssues(prev: SflowPart | undefined, next: SflowPart): CollectionIssue[] {
  const issues: CollectionIssue[] = [];
  const sum = (r: SflowPart['receiver']['rejected']) => Object.values(r).reduce((a, b) => a + (b ?? 0), 0);
  const rejected = sum(next.receiver.rejected) - (prev ? sum(prev.receiver.rejected) : 0);
  if (rejected > 0) {
    const last = next.receiver.lastRejected;
    issues.push({ source: 'sflow', message: `dropped datagrams that are no sFlow v5, lie about a length, or come from too many agents${last ? ` (latest from ${last.from}: ${last.reason})` : ''}`, count: rejected });
  }
  const overflow = next.receiver.flowTableOverflow - (prev?.receiver.flowTableOverflow ?? 0);
  if (overflow > 0) issues.push({ source: 'sflow', message: 'flow samples left out: more distinct flows in one interval than the flow table holds', count: overflow });
  const queue = next.receiver.queueDropped - (prev?.receiver.queueDropped ?? 0);
  if (queue > 0) issues.push({ source: 'sflow', message: 'datagrams dropped by the kernel before portolan read them (receive buffer full; raise net.core.rmem_max)', count: queue });
  const lostBefore = new Map((prev?.agents ?? []).map((a) => [`${a.agent}|${a.subAgentId}`, a.lostDatagrams]));
  for (const a of next.agents) {
    const lost = a.lostDatagrams - (lostBefore.get(`${a.agent}|${a.subAgentId}`) ?? 0);
    if (lost > 0) issues.push({ source: 'sflow', message: `datagrams lost from agent ${a.agent} sub-agent ${a.subAgentId} (gaps in its sequence numbers)`, count: lost });
  }
  return issues;
}
