import type { ContainerInfo } from './model/container.js';
import type { ProcessRef } from './model/process.js';
import type { Snapshot } from './model/snapshot.js';
import type { RawSocket, SocketSource } from './model/socket.js';

/** A socket listed under a container, with the processes that hold it open. */
export interface AttributedSocket extends RawSocket {
  readonly processes: readonly ProcessRef[];
}

/** A running container with the sockets attributed to it by the rules below. */
export interface ContainerSockets {
  readonly container: ContainerInfo;
  readonly netns: number;
  /** Whether this container owns its namespace (false for `host` and `container:` modes). */
  readonly ownsNetns: boolean;
  readonly source: SocketSource | undefined;
  /** Whether its TCP sockets carry tcp_info (see NetnsSockets.tcpInfo). */
  readonly tcpInfo: boolean;
  /** When its namespace's table was read (NetnsSockets.readAtMs), when known. */
  readonly readAtMs?: number;
  readonly sockets: readonly AttributedSocket[];
}

/** Sockets of a namespace that no container claims (host netns leftovers), for the topology's host processes. */
export interface UnclaimedSockets {
  readonly netns: number;
  readonly sockets: readonly AttributedSocket[];
}

/** Result of attribution: per container, plus everything in read namespaces that no container owns. */
export interface Attribution {
  readonly containers: readonly ContainerSockets[];
  readonly unclaimed: readonly UnclaimedSockets[];
}

/**
 * Attributes every socket read to containers (pure):
 * 1. a container that owns its namespace (bridge, none, user-defined network) lists every socket of it,
 *    except sockets held only by processes of another container sharing that namespace;
 * 2. a `container:<x>` container lists the sockets its own processes hold; the rest stay with `<x>`;
 * 3. a `host` container lists only the sockets held by its processes (found by cgroup, any pid);
 * 4. sockets in a container's namespace held by a process of no container (dockerd's embedded DNS) stay
 *    with the namespace owner and name their real owner.
 * No socket is listed twice. Containers whose namespace could not be resolved (exited mid-read) are skipped.
 */
export function attributeSockets(snapshot: Snapshot): Attribution {
  // One shared, read-only owner list per inode: 100,000 sockets must not mean 100,000 copies. A socket with one
  // holder (nearly all) shares its process's one-element list; a second holder (or fd) gets the socket a list of its own.
  const byInode = new Map<number, readonly ProcessRef[]>();
  for (const p of snapshot.processes) {
    const ref: ProcessRef = { pid: p.pid, command: p.command, containerId: p.containerId ?? null };
    const alone: readonly ProcessRef[] = [ref];
    for (const inode of p.socketInodes) {
      const held = byInode.get(inode);
      if (held === undefined) byInode.set(inode, alone);
      else byInode.set(inode, [...held, ref]);
    }
  }
  const netnsOf = new Map(snapshot.netns.containers.map((c) => [c.containerId, c.netns]));
  const tables = new Map(snapshot.sockets.map((t) => [t.netns, t]));

  // The owner of a namespace is the container whose own namespace it is; the host namespace has none.
  const owner = new Map<number, string>();
  for (const c of snapshot.containers) {
    const ns = netnsOf.get(c.id);
    if (ns === undefined || ns === snapshot.netns.host) continue;
    if (c.networkMode.kind === 'host' || c.networkMode.kind === 'container') continue;
    owner.set(ns, c.id);
  }
  const present = new Set(snapshot.containers.filter((c) => netnsOf.has(c.id)).map((c) => c.id));

  const none: readonly ProcessRef[] = [];
  const perContainer = new Map<string, AttributedSocket[]>();
  const unclaimed = new Map<number, AttributedSocket[]>();
  for (const table of snapshot.sockets) {
    const ns = table.netns;
    const nsOwner = owner.get(ns);
    // Most sockets of a namespace go to its owner: its list is looked up once per table.
    let ownerList: AttributedSocket[] | undefined;
    for (const s of table.sockets) {
      const holders = s.inode === 0 ? undefined : byInode.get(s.inode);
      let id = nsOwner;
      if (holders && holders.length > 0 && !(nsOwner !== undefined && holders.some((h) => h.containerId === nsOwner))) {
        // Not held by the namespace owner's processes (rule 1 wins for shared fds): a present container of the same
        // namespace whose process holds it claims it (rules 2 and 3).
        const other = holders.find((h) => typeof h.containerId === 'string' && present.has(h.containerId));
        if (typeof other?.containerId === 'string' && netnsOf.get(other.containerId) === ns) id = other.containerId;
      }
      // Written out rather than spread: the same fields in the same order, at a fraction of the cost at 100,000 sockets.
      const attributed: AttributedSocket = s.tcp === undefined
        ? { protocol: s.protocol, family: s.family, state: s.state, local: s.local, remote: s.remote, inode: s.inode, uid: s.uid, txQueue: s.txQueue, rxQueue: s.rxQueue, processes: holders ?? none }
        : { protocol: s.protocol, family: s.family, state: s.state, local: s.local, remote: s.remote, inode: s.inode, uid: s.uid, txQueue: s.txQueue, rxQueue: s.rxQueue, tcp: s.tcp, processes: holders ?? none };
      if (id === undefined) {
        pushTo(unclaimed, ns, attributed);
      } else if (id === nsOwner) {
        if (!ownerList) {
          ownerList = perContainer.get(id) ?? [];
          perContainer.set(id, ownerList);
        }
        ownerList.push(attributed);
      } else {
        pushTo(perContainer, id, attributed);
      }
    }
  }

  const containers: ContainerSockets[] = [];
  for (const c of snapshot.containers) {
    const ns = netnsOf.get(c.id);
    if (ns === undefined) continue;
    containers.push({
      container: c,
      netns: ns,
      ownsNetns: owner.get(ns) === c.id,
      source: tables.get(ns)?.source,
      tcpInfo: tables.get(ns)?.source === 'netlink' && tables.get(ns)?.tcpInfo !== false,
      ...(tables.get(ns)?.readAtMs !== undefined ? { readAtMs: tables.get(ns)?.readAtMs } : {}),
      sockets: perContainer.get(c.id) ?? [],
    });
  }
  return {
    containers,
    unclaimed: [...unclaimed].map(([netns, sockets]) => ({ netns, sockets })),
  };
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value); else map.set(key, [value]);
}
