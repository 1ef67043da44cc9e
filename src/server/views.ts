// What the routes send, rendered from the agent's state with the core report functions and kept per state:
// 200 clients asking for the topology between two collections cost one JSON.stringify, not 200.
import type { AgentState, AgentStatus } from '../agent/loop.js';
import { containerIdsOfHost, topologyOfHost } from '../core/fleet/host-filter.js';
import { toContainersReport } from '../core/report/containers.js';
import { toOutpost } from '../core/report/outpost.js';
import { toPsReport, type PsFilter, type PsReport } from '../core/report/ps.js';
import { toTopContainers } from '../core/report/top.js';
import { toCrossHostTopology } from '../core/topology/cross-host.js';

/** Fields every document from a live agent carries besides its own. */
export interface Freshness {
  /** True while Docker is away: this is the last state collected before. */
  readonly stale: boolean;
  readonly staleSince?: string;
}

/** Freshness from the agent's status. */
export function freshness(status: AgentStatus): Freshness {
  return status.stale ? { stale: true, ...(status.staleSince ? { staleSince: status.staleSince } : {}) } : { stale: false };
}

/** A report's containers on one fleet host only (by the topology's container nodes); all without a host. */
function onHost<T extends { readonly containers: readonly { readonly id: string }[] }>(report: T, state: AgentState, host: string | undefined): T {
  if (host === undefined) return report;
  const ids = containerIdsOfHost(state.topology, host);
  return { ...report, containers: report.containers.filter((c) => ids.has(c.id)) };
}

/** Renders documents of a state, caching the unfiltered ones as JSON text per state and freshness. */
export function createViews(outpostInterfaces: readonly string[]) {
  const cache = new WeakMap<AgentState, Map<string, string>>();
  const memo = (state: AgentState, key: string, render: () => string): string => {
    let m = cache.get(state);
    if (!m) {
      m = new Map();
      cache.set(state, m);
    }
    let text = m.get(key);
    if (text === undefined) {
      text = render();
      m.set(key, text);
    }
    return text;
  };
  const ps = (state: AgentState, filter: PsFilter = {}): PsReport => toPsReport(state.snapshot, state.attribution, filter, state.traffic);
  const fkey = (f: Freshness) => `${f.stale}|${f.staleSince ?? ''}`;
  return {
    /** `/api/v1/sockets`: the `ps --json` document. */
    sockets(state: AgentState, f: Freshness, filter: PsFilter, host?: string): string {
      const unfiltered = Object.values(filter).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
      const render = () => JSON.stringify({ ...onHost(ps(state, filter), state, host), ...f });
      return unfiltered ? memo(state, `sockets|${fkey(f)}|${host ?? ''}`, render) : render();
    },
    /** `/api/v1/containers`; with a fleet host id, that host's containers only. */
    containers(state: AgentState, f: Freshness, host?: string): string {
      return memo(state, `containers|${fkey(f)}|${host ?? ''}`, () =>
        JSON.stringify({ ...onHost(toContainersReport(ps(state), toTopContainers(state.attribution, state.traffic, 'name')), state, host), ...f }));
    },
    /** `/api/v1/topology`; with a fleet host id, that host's part. */
    topology(state: AgentState, f: Freshness, host?: string): string {
      return memo(state, `topology|${fkey(f)}|${host ?? ''}`, () => JSON.stringify({ ...(host !== undefined ? topologyOfHost(state.topology, host) : state.topology), ...f }));
    },
    /**
     * The topology stream's first document with `?edges=cross-host`: every node, only the edges between two fleet
     * hosts, and `partial` saying how many were left out (the whole topology on one agent); with a host, of its part.
     */
    crossHostTopology(state: AgentState, f: Freshness, host?: string): string {
      return memo(state, `topology-cross-host|${fkey(f)}|${host ?? ''}`, () => {
        const { topology, partial } = toCrossHostTopology(host !== undefined ? topologyOfHost(state.topology, host) : state.topology);
        return JSON.stringify({ ...topology, ...f, ...(partial ? { partial } : {}) });
      });
    },
    /** `GET /` for outpost clients. */
    outpost(state: AgentState): string {
      return memo(state, 'outpost', () => JSON.stringify(toOutpost(ps(state), outpostInterfaces)));
    },
  };
}

/** The views of an app. */
export type Views = ReturnType<typeof createViews>;
