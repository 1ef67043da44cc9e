// The topology as a pure function of a snapshot, composed of small steps:
//   attribute sockets → index endpoints → pair sockets → collapse docker-proxy → resolve halves (conntrack DNAT,
//   addresses, published ports) → UDP flows from conntrack → group into edges and nodes.
import { attributeSockets, type Attribution } from '../attribute.js';
import type { ConntrackTable } from '../model/conntrack.js';
import type { Snapshot } from '../model/snapshot.js';
import type { ExternalNode, Topology } from '../model/topology.js';
import { assembleTopology, type AssembleOptions } from './assemble.js';
import { indexConntrack } from './conntrack-index.js';
import { udpFlowsFromConntrack } from './conntrack-udp.js';
import { indexEndpoints } from './endpoints.js';
import { flowsFromHalves } from './halves.js';
import { matchSockets } from './match-sockets.js';
import { flowsFromPairs } from './published-ports.js';

/** Options of buildTopology. */
export interface TopologyOptions extends AssembleOptions {
  /** Reverse-DNS names of external addresses already known (canonical address → name). */
  readonly names?: ReadonlyMap<string, string>;
}

/**
 * Builds who-talks-to-whom from one snapshot (pure, deterministic). Pass the snapshot's attribution when the
 * caller already has it: with 100,000 sockets it is the costliest step to do twice.
 */
export function buildTopology(snapshot: Snapshot, options: TopologyOptions = {}, attribution: Attribution = attributeSockets(snapshot)): Topology {
  const index = indexEndpoints(snapshot, attribution);
  const conntrack = indexConntrack(snapshot.conntrack);
  const { pairs, clientOnly, serverOnly } = matchSockets(index);
  const flows = [
    ...flowsFromPairs(index, pairs),
    ...flowsFromHalves(index, conntrack, clientOnly, serverOnly),
    ...udpFlowsFromConntrack(index, conntrack),
  ];
  const { nodes, edges } = assembleTopology(snapshot, flows, options);
  const topology: Topology = { takenAt: snapshot.takenAt, hostname: snapshot.hostname, warnings: topologyWarnings(snapshot), nodes, edges };
  return options.names ? nameExternalNodes(topology, options.names) : topology;
}

/**
 * Collection issues as one line each, plus what the topology cannot show without conntrack, or without
 * conntrack's byte accounting.
 */
export function topologyWarnings(snapshot: Snapshot): string[] {
  const warnings = snapshot.issues.map((i) => (i.count > 1 ? `${i.source}: ${i.message} (${i.count} times)` : `${i.source}: ${i.message}`));
  if (snapshot.conntrack.status === 'unavailable') {
    warnings.push(`conntrack: ${snapshot.conntrack.reason}; UDP flows sent without a connected socket and connections to published ports through iptables DNAT are not resolved, so some edges are missing or end at the host`);
  } else {
    const acct = accountingWarning(snapshot.conntrack);
    if (acct) warnings.push(acct);
  }
  return warnings;
}

/** How to turn accounting on, for warnings. */
const ENABLE_ACCOUNTING = 'enable it with --conntrack-acct or sysctl -w net.netfilter.nf_conntrack_acct=1 (only flows that start after that are counted)';

/** One line when conntrack's byte accounting is off (or cannot be read) in the host namespace; undefined when on. */
export function accountingWarning(table: Extract<ConntrackTable, { status: 'ok' }>): string | undefined {
  switch (table.accounting) {
    case 'on': return undefined;
    case 'off': return `conntrack: byte accounting is off (net.netfilter.nf_conntrack_acct=0): UDP edges and connections that closed between samples have no byte counts; ${ENABLE_ACCOUNTING}`;
    case 'unknown': return `conntrack: cannot tell whether byte accounting is on (${table.accountingReason ?? 'no reason given'}): UDP edges and connections that closed between samples have byte counts only if it is; ${ENABLE_ACCOUNTING}`;
    // Snapshots recorded before accounting was read carry no state: nothing to say about them.
    default: return undefined;
  }
}

/** Puts reverse-DNS names on external nodes (pure); nodes without a name keep their address as name. */
export function nameExternalNodes(topology: Topology, names: ReadonlyMap<string, string>): Topology {
  let changed = false;
  const nodes = topology.nodes.map((n) => {
    if (n.kind !== 'external') return n;
    const dnsName = names.get(n.address);
    if (dnsName === undefined || dnsName === n.dnsName) return n;
    changed = true;
    const named: ExternalNode = { ...n, name: dnsName, dnsName };
    return named;
  });
  return changed ? { ...topology, nodes } : topology;
}

/** Addresses of the external nodes, for asking reverse DNS. */
export function externalAddresses(topology: Topology): string[] {
  return topology.nodes.flatMap((n) => (n.kind === 'external' ? [n.address] : []));
}
