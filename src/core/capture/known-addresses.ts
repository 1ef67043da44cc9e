// Which captured addresses ask for a collection at once: an address inside a Docker network that no collection has
// named yet (a container that just started). Running containers' addresses, gateways and the addresses of sockets a
// snapshot read are known; addresses outside Docker's networks (external peers) never ask, so a host with
// steady outside traffic does not collect continuously.
import type { Snapshot } from '../model/snapshot.js';

/** What a snapshot names, for telling news from known flows. */
export interface KnownAddresses {
  /** True when `address` looks like a Docker network's (shares a gateway's /16, or IPv6 /64) and is not named yet. */
  isNews(address: string): boolean;
  /** Marks an address as asked for (one collection per address). */
  add(address: string): void;
}

function prefixOf(address: string): string {
  if (address.includes(':')) return address.split(':').slice(0, 4).join(':');
  return address.split('.').slice(0, 2).join('.');
}

/** The addresses a snapshot can attribute, and the prefixes of its Docker networks (pure). */
export function knownAddresses(snapshot: Pick<Snapshot, 'containers'> & Partial<Pick<Snapshot, 'sockets'>>): KnownAddresses {
  const known = new Set<string>(['127.0.0.1', '::1']);
  const prefixes = new Set<string>();
  for (const c of snapshot.containers) {
    for (const n of c.networks) {
      for (const a of [n.ipv4, n.ipv6, n.gateway, n.ipv6Gateway]) if (a) known.add(a);
      for (const g of [n.gateway, n.ipv6Gateway]) if (g) prefixes.add(prefixOf(g));
    }
  }
  for (const ns of snapshot.sockets ?? []) for (const s of ns.sockets) known.add(s.local.address);
  return {
    isNews: (a) => !known.has(a) && prefixes.has(prefixOf(a)),
    add: (a) => { known.add(a); },
  };
}
