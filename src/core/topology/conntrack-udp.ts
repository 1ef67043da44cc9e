// Step 5: UDP flows that no connected socket shows. A sender using sendto() keeps an unconnected socket, so its
// peer is only known to conntrack, which the host keeps for bridged container traffic (br_netfilter).
import { type ConntrackIndex, isDnat, originalClient, originalDestination, realServer } from './conntrack-index.js';
import type { EndpointIndex } from './endpoints.js';
import type { Flow } from './flows.js';
import { resolveClientByAddress, resolveServerByAddress } from './resolve.js';

/**
 * One flow per UDP conntrack entry not already covered by a connected socket (either direction), resolved at
 * both ends by address: the sender by its bound socket or its namespace, the receiver by its bound socket, a
 * published port, or its namespace (pure). Entries where neither end is a container are left to the assembler
 * to drop. State: `REPLIED` once the receiver answered, else `UNREPLIED`.
 */
export function udpFlowsFromConntrack(index: EndpointIndex, conntrack: ConntrackIndex): Flow[] {
  const flows: Flow[] = [];
  const host = index.hostNetns;
  for (const e of conntrack.entries) {
    if (e.protocol !== 'udp') continue;
    const client = originalClient(e);
    const dialled = originalDestination(e);
    const server = realServer(e);
    if (index.socketByTuple('udp', client, dialled, host) || index.socketByTuple('udp', server, { address: e.reply.dst, port: e.reply.dport ?? 0 }, host)) continue;
    const dnat = isDnat(e);
    const resolved = dnat
      ? resolveServerByAddress(index, host, 'udp', server.address, server.port)
      : resolveServerByAddress(index, host, 'udp', dialled.address, dialled.port);
    flows.push({
      protocol: 'udp',
      state: e.unreplied ? 'UNREPLIED' : 'REPLIED',
      via: dnat ? 'dnat' : resolved.via === 'address' ? 'conntrack' : resolved.via,
      client: resolveClientByAddress(index, host, 'udp', client.address, client.port),
      server: resolved.side,
      ...(dnat ? { published: dialled } : resolved.published ? { published: resolved.published } : {}),
    });
  }
  return flows;
}
