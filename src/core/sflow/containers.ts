// hsflowd's Docker module reports each container as a data source of its own (3:N) whose host_descr (0:2000)
// names it: hostname = the container name (`name.shortid` when names repeat), uuid = the first 32 hex digits of
// its id. These map such data sources, and their virt_net_io (0:2104) counters, to the inventory.
import type { ContainerInfo } from '../model/container.js';
import type { SflowCounterSource, SflowPart } from '../model/sflow.js';

/** One container's network counters as an sFlow agent reported them (virt_net_io, 0:2104), with whose they are. */
export interface SflowContainerCounters {
  readonly containerId: string;
  readonly name: string;
  readonly agent: string;
  readonly subAgentId: number;
  /** The agent's data source for the container, `3:<index>` for hsflowd. */
  readonly source: string;
  readonly atMs: number;
  /** Received by the container (virt_net_io bytes_in, pkts_in, errs_in, drops_in). */
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxErrors: number;
  readonly rxDrops: number;
  /** Sent by the container (virt_net_io bytes_out …). */
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txErrors: number;
  readonly txDrops: number;
  /** host_parent (0:2002): the data source of the host the container runs on, e.g. `2:1`. */
  readonly parent?: string;
}

/** The container a host_descr names, by id prefix (uuid), else by name (or `name.shortid`); undefined when none. */
export function containerOfHostDescr(hostname: string, uuid: string, containers: readonly ContainerInfo[]): ContainerInfo | undefined {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  // An all-zero uuid means "unknown", not a container whose id starts with zeros.
  if (/^[0-9a-f]{32}$/.test(hex) && !/^0+$/.test(hex)) {
    const byId = containers.find((c) => c.id.startsWith(hex));
    if (byId) return byId;
  }
  const byName = containers.find((c) => c.name === hostname);
  if (byName) return byName;
  const dotted = /^(.*)\.([0-9a-f]{12})$/.exec(hostname);
  return dotted ? containers.find((c) => c.id.startsWith(dotted[2] ?? '') && c.name === dotted[1]) : undefined;
}

/** The container an hsflowd counter source stands for, when its host_descr names one in the inventory. */
export function containerOfCounterSource(source: SflowCounterSource, containers: readonly ContainerInfo[]): ContainerInfo | undefined {
  for (const r of source.records) if (r.kind === 'host-descr') return containerOfHostDescr(r.hostname, r.uuid, containers);
  return undefined;
}

/** Every counter source naming a container of the inventory, with its virt_net_io counters; sorted by name, agent. */
export function sflowContainerCounters(part: SflowPart | undefined, containers: readonly ContainerInfo[]): SflowContainerCounters[] {
  if (!part) return [];
  const out: SflowContainerCounters[] = [];
  for (const s of part.counters) {
    const c = containerOfCounterSource(s, containers);
    if (!c) continue;
    let nio: Extract<SflowCounterSource['records'][number], { kind: 'virt-net-io' }> | undefined;
    let parent: string | undefined;
    for (const r of s.records) {
      if (r.kind === 'virt-net-io') nio = r;
      else if (r.kind === 'host-parent') parent = `${r.containerType}:${r.containerIndex}`;
    }
    if (!nio) continue;
    out.push({
      containerId: c.id, name: c.name, agent: s.agent, subAgentId: s.subAgentId, source: s.source, atMs: s.atMs,
      rxBytes: nio.bytesIn, rxPackets: nio.pktsIn, rxErrors: nio.errsIn, rxDrops: nio.dropsIn,
      txBytes: nio.bytesOut, txPackets: nio.pktsOut, txErrors: nio.errsOut, txDrops: nio.dropsOut,
      ...(parent !== undefined ? { parent } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.agent.localeCompare(b.agent) || a.subAgentId - b.subAgentId || a.source.localeCompare(b.source));
}
