// The export: listens to the agent's events, maps each to connbeat documents (core/report/connbeat.ts), keeps
// those the filter passes and hands them to every sink. It runs inside the agent's update callback, so it only
// maps and queues: sinks deliver in the background and never make a collection wait.
import type { Agent, AgentState } from '../agent/loop.js';
import type { ExportSinkStatus } from '../core/model/export.js';
import type { ConnectionDetail } from '../core/model/topology.js';
import type { ChangeEvent } from '../core/report/changes.js';
import { toConnbeatDocuments, type ConnbeatBeat, type ConnbeatContext, type ConnbeatDocument, type ConnbeatDockerHost, type ConnectionFacts, type ExportContainer } from '../core/report/connbeat.js';
import { matchesExportFilter, type ExportFilter } from '../core/report/export-filter.js';
import type { ExportSink, SinkLogger } from './sink.js';

/** Options of createExporter. */
export interface ExporterOptions {
  readonly agent: Pick<Agent, 'subscribe'>;
  readonly sinks: readonly ExportSink[];
  readonly filter: ExportFilter;
  readonly beat: ConnbeatBeat;
  readonly dockerHost: ConnbeatDockerHost;
  readonly logger?: SinkLogger;
  /**
   * Whether connection events captured from the kernel (conntrack, eBPF) are being produced: then the connection
   * events two collections derive from topology changes are left out (the same connections, seen later and
   * without their short-lived siblings). Default: never (export both).
   */
  readonly capturing?: () => boolean;
  /** Most exited containers remembered for naming their late events (default 4,096). */
  readonly maxRemembered?: number;
}

/** The running export. */
export interface Exporter {
  status(): ExportSinkStatus[];
  /** Documents the filter held back, since start. */
  filtered(): number;
  /** Maps, filters and delivers events (what the agent's updates do; callable directly). */
  publish(events: readonly ChangeEvent[], state?: AgentState): void;
  close(): Promise<void>;
}

const endpointKey = (d: { client: { address: string; port: number }; server: { address: string; port: number } }) =>
  `${d.client.address}|${d.client.port}|${d.server.address}|${d.server.port}`;

/** Creates the export and subscribes it to the agent. */
export function createExporter(options: ExporterOptions): Exporter {
  const maxRemembered = options.maxRemembered ?? 4096;
  // Containers by id, the latest facts first seen last: an exited container keeps its labels for its late events.
  const known = new Map<string, ExportContainer>();
  let lastContainers: AgentState['snapshot']['containers'] | undefined;
  let prev: AgentState | undefined;
  let held = 0;

  const remember = (state: AgentState) => {
    if (state.snapshot.containers === lastContainers) return;
    lastContainers = state.snapshot.containers;
    for (const c of state.snapshot.containers) {
      known.delete(c.id);
      known.set(c.id, { id: c.id, name: c.name, image: c.image, labels: c.labels, ports: c.ports });
    }
    for (const id of known.keys()) {
      if (known.size <= maxRemembered) break;
      known.delete(id);
    }
  };

  /** The process of a connection's end: the pids topology saw on that socket, named by the snapshot's processes. */
  const processLookup = (states: readonly (AgentState | undefined)[]): ConnbeatContext['process'] => {
    let details: Map<string, ConnectionDetail> | undefined;
    let commands: Map<number, string> | undefined;
    return (end, facts: ConnectionFacts) => {
      if (!details) {
        details = new Map();
        commands = new Map();
        for (const s of states) {
          if (!s) continue;
          for (const e of s.topology.edges) for (const d of e.details ?? []) if (!details.has(endpointKey(d))) details.set(endpointKey(d), d);
          for (const p of s.snapshot.processes) commands.set(p.pid, p.command);
        }
      }
      const d = details.get(endpointKey(facts));
      const pid = (end === 'client' ? d?.clientPids : d?.serverPids)?.[0];
      const command = pid !== undefined ? commands?.get(pid) : undefined;
      return pid !== undefined && command !== undefined ? { binary: command, pid } : undefined;
    };
  };

  const exporter: Exporter = {
    publish(events, state) {
      if (events.length === 0) return;
      const ctx: ConnbeatContext = {
        beat: options.beat, dockerHost: options.dockerHost, containers: known,
        ...(state ? { process: processLookup([state, prev]) } : {}),
      };
      const docs: ConnbeatDocument[] = [];
      const capturing = options.capturing?.() === true;
      for (const e of events) {
        if (capturing && 'connection' in e) continue;
        for (const d of toConnbeatDocuments(e, ctx)) {
          if (matchesExportFilter(d, options.filter)) docs.push(d);
          else held++;
        }
      }
      if (docs.length === 0) return;
      for (const s of options.sinks) s.push(docs);
    },
    status: () => options.sinks.map((s) => s.status()),
    filtered: () => held,
    async close() {
      unsubscribe();
      await Promise.all(options.sinks.map(async (s) => {
        try {
          await s.close();
        } catch (err) {
          options.logger?.error({ sink: s.name, err: (err as Error).message }, 'export: sink did not close cleanly');
        }
      }));
    },
  };
  const unsubscribe = options.agent.subscribe((u) => {
    // Captured between collections (the agent's publish): mapped with what the last collection knew.
    if (u.kind === 'events') {
      exporter.publish(u.events, prev);
      return;
    }
    if (u.kind !== 'state') return;
    remember(u.state);
    exporter.publish(u.events, u.state);
    prev = u.state;
  });
  return exporter;
}
