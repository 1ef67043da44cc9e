// Names for external addresses, resolved in the background and cached: lookups never delay a collection (the
// topology takes whatever names are known now), answers live for a TTL, and memory is bounded however many
// addresses show up (a bounded cache, a bounded queue, a bounded number of lookups in flight).
import { createTtlCache } from '../core/ttl-cache.js';
import { createReverseDns, type ReverseDns, type ReverseDnsOptions } from '../sources/reverse-dns.js';

/** Options of createNameResolver. */
export interface NameResolverOptions extends ReverseDnsOptions {
  /** How long a found name is kept (default 10 min). */
  readonly ttlMs?: number;
  /** How long "no name" or a failed lookup is kept before asking again (default 1 min). */
  readonly negativeTtlMs?: number;
  /** Most addresses remembered (default 4096). */
  readonly maxEntries?: number;
  /** Most addresses waiting for a lookup; requests beyond it are dropped and asked again later (default 256). */
  readonly maxQueued?: number;
  /** Lookups in flight at once (default 8). */
  readonly concurrency?: number;
  /** Injected for tests: the resolver and the clock. */
  readonly dns?: ReverseDns;
  readonly now?: () => number;
}

/** Figures of a name resolver, for logs and metrics. */
export interface NameResolverStats {
  readonly cached: number;
  readonly queued: number;
  readonly inFlight: number;
  /** Requests dropped because the queue was full. */
  readonly dropped: number;
  /** Lookups that failed (timeouts, refused, SERVFAIL), cached as "no name" for the negative TTL. */
  readonly failed: number;
}

/** A background reverse-DNS cache. */
export interface NameResolver {
  /** Known names of these addresses (only those with a name). Never waits. */
  names(addresses: Iterable<string>): Map<string, string>;
  /** Queues lookups for addresses not cached and not already asked. Never waits. */
  request(addresses: Iterable<string>): void;
  /** Resolves when nothing is queued or in flight, or after `timeoutMs`, whichever comes first. */
  settle(timeoutMs: number): Promise<void>;
  stats(): NameResolverStats;
  /** Cancels pending lookups and drops the queue. */
  close(): void;
}

/** Creates a name resolver over the system's DNS (or the given servers). */
export function createNameResolver(options: NameResolverOptions = {}): NameResolver {
  const dns = options.dns ?? createReverseDns(options);
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const negativeTtlMs = options.negativeTtlMs ?? 60_000;
  const maxQueued = options.maxQueued ?? 256;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  // `null` = looked up, no name.
  const cache = createTtlCache<string, string | null>(options.maxEntries ?? 4096);
  const queue: string[] = [];
  const queued = new Set<string>();
  const inFlight = new Set<string>();
  let dropped = 0;
  let failed = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const notifyIdle = () => {
    if (queue.length > 0 || inFlight.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const pump = () => {
    while (!closed && inFlight.size < concurrency && queue.length > 0) {
      const address = queue.shift() as string;
      queued.delete(address);
      inFlight.add(address);
      dns.reverse(address).then(
        (names) => {
          const name = names[0];
          cache.set(address, name ?? null, name === undefined ? negativeTtlMs : ttlMs, now());
        },
        () => {
          failed++;
          cache.set(address, null, negativeTtlMs, now());
        },
      ).finally(() => {
        inFlight.delete(address);
        pump();
        notifyIdle();
      });
    }
  };

  return {
    names(addresses) {
      const out = new Map<string, string>();
      const t = now();
      for (const a of addresses) {
        const name = cache.get(a, t);
        if (typeof name === 'string') out.set(a, name);
      }
      return out;
    },
    request(addresses) {
      if (closed) return;
      const t = now();
      for (const a of addresses) {
        if (cache.has(a, t) || queued.has(a) || inFlight.has(a)) continue;
        if (queue.length >= maxQueued) { dropped++; continue; }
        queue.push(a);
        queued.add(a);
        pump();
      }
    },
    settle(timeoutMs) {
      if (queue.length === 0 && inFlight.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          idleWaiters = idleWaiters.filter((w) => w !== done);
          resolve();
        }
        idleWaiters.push(done);
      });
    },
    stats: () => ({ cached: cache.size, queued: queue.length, inFlight: inFlight.size, dropped, failed }),
    close() {
      closed = true;
      queue.length = 0;
      queued.clear();
      dns.cancel();
      notifyIdle();
    },
  };
}
