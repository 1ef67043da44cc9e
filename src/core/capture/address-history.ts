// Who held which address when: (container, network, address, from, until), from the containers each collection
// lists and the Docker events that say one is gone. So an address of a container that has exited (a
// `docker run --rm` client) is still named by that container, live and in history, never `external:172.x`.
// Bounded in count and age; pure (times are parameters).
import type { ContainerAt } from '../model/connection.js';
import type { ContainerInfo } from '../model/container.js';

/** One container holding one address on one network over a time span. */
export interface AddressHolding {
  readonly address: string;
  readonly containerId: string;
  readonly name: string;
  readonly image: string;
  readonly network: string;
  /** When it was first seen holding the address (ms since the epoch). */
  readonly fromMs: number;
  /** When it stopped (exited, left the network, or was no longer listed); absent while it holds it. */
  readonly untilMs?: number;
}

/** Options of createAddressHistory. */
export interface AddressHistoryOptions {
  /** Most holdings kept (oldest ended ones dropped first). Default 20,000. */
  readonly capacity?: number;
  /** Ended holdings are forgotten this long after they ended. Default one hour. */
  readonly keepMs?: number;
}

/** The address history (mutable, owned by one pipeline memory). */
export interface AddressHistory {
  /**
   * What a collection at `atMs` listed: running containers' addresses begin (or go on) holding; holdings of
   * containers no longer listed end at `atMs` (or at their exit time, when an event said so first).
   */
  observe(containers: readonly ContainerInfo[], atMs: number): void;
  /**
   * A container seen at `atMs` outside a collection (inspected on its start event): its addresses begin holding,
   * nothing else ends. The next observe ends them if it is not listed any more.
   */
  learn(container: ContainerInfo, atMs: number): void;
  /** A container was seen gone (Docker `die`, `destroy`, network `disconnect`) at `atMs`. */
  ended(containerId: string, atMs: number): void;
  /** The container that held `address` at `atMs`: the holding covering that time, else undefined. */
  at(address: string, atMs: number): ContainerAt | undefined;
  /** The latest holding of `address` (live or ended), whatever the time. */
  latest(address: string): AddressHolding | undefined;
  /** Every holding kept, oldest first (for history and tests). */
  holdings(): AddressHolding[];
  readonly size: number;
}

// seenMs: when portolan first saw it (a listing's time, or when a start event's inspect returned).
interface Holding { address: string; containerId: string; name: string; image: string; network: string; fromMs: number; untilMs?: number; seenMs: number }

/** Creates an empty address history. */
export function createAddressHistory(options: AddressHistoryOptions = {}): AddressHistory {
  const capacity = options.capacity ?? 20_000;
  const keepMs = options.keepMs ?? 3_600_000;
  // Per address, its holdings oldest first (a handful: addresses are reused by later containers).
  const byAddress = new Map<string, Holding[]>();
  const live = new Map<string, Holding>();
  // Containers an event said are gone, and when (bounded): an inspect that returns after the exit event still ends
  // the holding at the exit.
  const died = new Map<string, number>();
  let size = 0;
  const liveKey = (containerId: string, network: string, address: string) => `${containerId}|${network}|${address}`;

  function add(h: Holding): void {
    let list = byAddress.get(h.address);
    if (!list) byAddress.set(h.address, (list = []));
    // Docker gives an address to one container at a time: a holder that began before this one ended when it began;
    // one that began after it (learnt first: inspects finish out of order) ends this one.
    for (const other of list) {
      if (other.untilMs !== undefined || other.containerId === h.containerId) continue;
      if (other.fromMs <= h.fromMs) end(other, h.fromMs);
      else if (h.untilMs === undefined || h.untilMs > other.fromMs) h.untilMs = other.fromMs;
    }
    list.push(h);
    // Kept in start order, so the newest holder is last.
    list.sort((a, b) => a.fromMs - b.fromMs);
    size++;
  }

  function end(h: Holding, atMs: number): void {
    if (h.untilMs !== undefined) return;
    h.untilMs = Math.max(h.fromMs, atMs);
    live.delete(liveKey(h.containerId, h.network, h.address));
  }

  function prune(nowMs: number): void {
    if (size <= capacity && byAddress.size < capacity) {
      // Age only: cheap enough to check on each observe (one pass over addresses).
      for (const [a, list] of byAddress) {
        const kept = list.filter((h) => h.untilMs === undefined || nowMs - h.untilMs <= keepMs);
        if (kept.length !== list.length) {
          size -= list.length - kept.length;
          if (kept.length === 0) byAddress.delete(a);
          else byAddress.set(a, kept);
        }
      }
      return;
    }
    // Over capacity: drop the ended holdings that ended first until under it.
    const ended = [...byAddress.values()].flat().filter((h) => h.untilMs !== undefined).sort((x, y) => (x.untilMs ?? 0) - (y.untilMs ?? 0));
    const drop = new Set(ended.slice(0, Math.max(0, size - capacity) + Math.floor(capacity / 10)));
    for (const [a, list] of byAddress) {
      const kept = list.filter((h) => !drop.has(h));
      size -= list.length - kept.length;
      if (kept.length === 0) byAddress.delete(a);
      else byAddress.set(a, kept);
    }
  }

  /** Begins (or goes on with) the holdings of these containers; returns the live keys they hold. */
  function hold(containers: readonly ContainerInfo[], atMs: number): Set<string> {
    const seen = new Set<string>();
    for (const c of containers) {
      for (const n of c.networks) {
        for (const address of [n.ipv4, n.ipv6]) {
          if (!address) continue;
          const k = liveKey(c.id, n.name, address);
          seen.add(k);
          if (live.has(k)) continue;
          // First seen now; it may have started a little before (its start time, when Docker says).
          const started = c.startedAt ? Date.parse(c.startedAt) : NaN;
          const fromMs = Number.isFinite(started) && started <= atMs && atMs - started < 60_000 ? started : atMs;
          const h: Holding = { address, containerId: c.id, name: c.name, image: c.image, network: n.name, fromMs, seenMs: atMs };
          // Its exit event came first (a short-lived container): it held the address until then. An exit before
          // this start is a container started again.
          const diedAt = died.get(c.id);
          if (diedAt !== undefined && diedAt >= fromMs) h.untilMs = diedAt;
          add(h);
          if (h.untilMs === undefined) live.set(k, h);
        }
      }
    }
    return seen;
  }

  const holdingOf = ({ seenMs: _seen, ...h }: Holding): AddressHolding => h;
  const toAt = (h: Holding): ContainerAt => ({
    id: h.containerId, name: h.name, image: h.image, network: h.network,
    ...(h.untilMs !== undefined ? { exitedAt: new Date(h.untilMs).toISOString() } : {}),
  });

  return {
    observe(containers, atMs) {
      const seen = hold(containers, atMs);
      // Not listed: gone, unless first seen after `atMs` (a start event's inspect that returned after the listing
      // began; the listing may not have had it yet). The next observe, or its exit event, ends that one.
      for (const [k, h] of live) if (!seen.has(k) && h.seenMs <= atMs) end(h, atMs);
      prune(atMs);
    },
    learn(container, atMs) {
      hold([container], atMs);
    },
    ended(containerId, atMs) {
      died.delete(containerId);
      died.set(containerId, atMs);
      if (died.size > 10_000) died.delete(died.keys().next().value as string);
      for (const h of live.values()) if (h.containerId === containerId) end(h, atMs);
    },
    at(address, atMs) {
      const list = byAddress.get(address);
      if (!list) return undefined;
      // Whoever held it at that very time; addresses are reused within seconds (`docker run --rm` one after another).
      for (let i = list.length - 1; i >= 0; i--) {
        const h = list[i]!;
        if (atMs >= h.fromMs && (h.untilMs === undefined || atMs <= h.untilMs)) return toAt(h);
      }
      // Else a holder first seen just after: a flow read a moment before the listing (or the start time Docker
      // reports) that first named its container (2 s of slack), the earliest such one.
      for (const h of list) {
        if (atMs >= h.fromMs - 2_000 && atMs < h.fromMs) return toAt(h);
      }
      return undefined;
    },
    latest(address) {
      const list = byAddress.get(address);
      const h = list?.[list.length - 1];
      return h ? holdingOf(h) : undefined;
    },
    holdings() {
      return [...byAddress.values()].flat().sort((a, b) => a.fromMs - b.fromMs).map(holdingOf);
    },
    get size() {
      return size;
    },
  };
}
