// Reverse DNS (PTR) lookups through the system's resolver configuration (/etc/resolv.conf) or given servers.
// Raw answers only: caching and bounding are the caller's job (collectors/reverse-dns.ts).
import { promises as dns } from 'node:dns';

/** Options of createReverseDns. */
export interface ReverseDnsOptions {
  /** DNS servers (`ip` or `ip:port`, `[ip6]:port`); default: the system's. */
  readonly servers?: readonly string[];
  /** Per-query timeout in ms (default 1000). */
  readonly timeoutMs?: number;
  /** Attempts per server (default 1). */
  readonly tries?: number;
}

/** A PTR resolver that can be cancelled (pending lookups reject with ECANCELLED). */
export interface ReverseDns {
  /** PTR names of an address, without the trailing dot; `[]` when it has none (NXDOMAIN, no PTR record). */
  reverse(address: string): Promise<string[]>;
  /** Cancels every pending lookup (so that a process can exit without waiting for timeouts). */
  cancel(): void;
}

const NO_NAME = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

/** Creates a reverse resolver with its own channel (its own servers and timeout). */
export function createReverseDns(options: ReverseDnsOptions = {}): ReverseDns {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 1000, tries: options.tries ?? 1 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  return {
    async reverse(address) {
      try {
        return (await resolver.reverse(address)).map((n) => n.replace(/\.$/, ''));
      } catch (err) {
        if (NO_NAME.has((err as NodeJS.ErrnoException).code ?? '')) return [];
        throw err;
      }
    },
    cancel: () => resolver.cancel(),
  };
}
