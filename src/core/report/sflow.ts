// The `/api/v1/sflow` document (pure): the receiver, each agent's status, and what their counter samples say
// about containers (hsflowd), hosts and interfaces.
import type { ContainerInfo } from '../model/container.js';
import type { SflowAgentStatus, SflowPart, SflowReceiverStatus } from '../model/sflow.js';
import { containerOfCounterSource, sflowContainerCounters, type SflowContainerCounters } from '../sflow/containers.js';

/** An interface's counters as an agent reported them (generic interface counters 0:1, port name 1005). */
export interface SflowInterfaceCounters {
  readonly agent: string;
  readonly subAgentId: number;
  readonly source: string;
  readonly ifIndex: number;
  readonly name?: string;
  readonly speed: number;
  /** ifStatus: bit 0 admin up, bit 1 operationally up. */
  readonly adminUp: boolean;
  readonly operUp: boolean;
  readonly inOctets: number;
  readonly outOctets: number;
  readonly inUnicastPackets: number;
  readonly outUnicastPackets: number;
  readonly inErrors: number;
  readonly outErrors: number;
  readonly inDiscards: number;
  readonly outDiscards: number;
  readonly atMs: number;
}

/** A host an agent describes (host_descr 0:2000 of a data source that is no container of the inventory). */
export interface SflowHost {
  readonly agent: string;
  readonly subAgentId: number;
  readonly source: string;
  readonly hostname: string;
  readonly uuid: string;
  readonly osRelease: string;
  readonly atMs: number;
}

/** The `/api/v1/sflow` document. */
export interface SflowReport {
  /** End of the interval the last collection drained. */
  readonly collectedAt: string;
  readonly receiver: SflowReceiverStatus;
  readonly agents: readonly SflowAgentStatus[];
  readonly containers: readonly SflowContainerCounters[];
  readonly hosts: readonly SflowHost[];
  readonly interfaces: readonly SflowInterfaceCounters[];
}

/** Renders the sFlow status of one collection (pure). */
export function toSflowReport(part: SflowPart, containers: readonly ContainerInfo[]): SflowReport {
  const interfaces: SflowInterfaceCounters[] = [];
  const hosts: SflowHost[] = [];
  for (const s of part.counters) {
    let name: string | undefined;
    for (const r of s.records) if (r.kind === 'port-name') name = r.name;
    for (const r of s.records) {
      if (r.kind === 'generic-interface') {
        interfaces.push({
          agent: s.agent, subAgentId: s.subAgentId, source: s.source, ifIndex: r.ifIndex, ...(name !== undefined ? { name } : {}),
          speed: r.ifSpeed, adminUp: (r.ifStatus & 1) !== 0, operUp: (r.ifStatus & 2) !== 0, inOctets: r.inOctets, outOctets: r.outOctets,
          inUnicastPackets: r.inUcastPkts, outUnicastPackets: r.outUcastPkts, inErrors: r.inErrors, outErrors: r.outErrors,
          inDiscards: r.inDiscards, outDiscards: r.outDiscards, atMs: s.atMs,
        });
      } else if (r.kind === 'host-descr' && !containerOfCounterSource(s, containers)) {
        hosts.push({ agent: s.agent, subAgentId: s.subAgentId, source: s.source, hostname: r.hostname, uuid: r.uuid, osRelease: r.osRelease, atMs: s.atMs });
      }
    }
  }
  const byAgent = <T extends { agent: string; subAgentId: number; source: string }>(a: T, b: T) =>
    a.agent.localeCompare(b.agent) || a.subAgentId - b.subAgentId || a.source.localeCompare(b.source, 'en', { numeric: true });
  return {
    collectedAt: new Date(part.toMs).toISOString(),
    receiver: part.receiver,
    agents: [...part.agents].sort((a, b) => a.agent.localeCompare(b.agent) || a.subAgentId - b.subAgentId),
    containers: sflowContainerCounters(part, containers),
    hosts: hosts.sort(byAgent),
    interfaces: interfaces.sort(byAgent),
  };
}
