import { toContainerInfo, toContainerInfoFromList } from '../core/docker/containers.js';
import type { ContainerInfo } from '../core/model/container.js';
import { isDockerNotFound, type DockerClient, type DockerContainerSummary } from '../sources/docker-api.js';
import type { Collector } from './collector.js';

/**
 * What of a container's list entry must stay the same for its last inspect to still hold: state and status
 * text, its networks (connect/disconnect), ports, labels and image. Without the events stream the status text is
 * taken whole: `Up 3 minutes` restarts from `Up Less than a second` after a restart, which is how a new pid is
 * noticed. While the stream is watched, a restart is an event (which drops that container's inspect), so the
 * durations in the text, which age every minute, are left out: a steady host is not inspected again for them.
 */
function fingerprint(c: DockerContainerSummary, watching: boolean): string {
  const status = typeof c['Status'] === 'string' && watching ? c['Status'].replace(DURATION, '') : c['Status'];
  return JSON.stringify([c['State'], status, c['NetworkSettings'], c['Ports'], c['Labels'], c['Image']]);
}

// Docker's humanised durations (go-units HumanDuration): `Less than a second`, `About a minute`, `5 minutes`, `About an hour`, `3 days` (`ago` after exits).
const DURATION = /\b(?:Less than a second|About an? (?:minute|hour)|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?))(?: ago)?/g;

/** The Docker collector with what it hears from the events stream. */
export interface DockerCollector extends Collector<'containers'> {
  /** See AgentCollection.dockerEvents: an event naming a container drops what was learnt of it. */
  dockerEvents(news: 'event' | 'connected' | 'lost', containerId?: string): void;
}

/** Options of the Docker collector. */
export interface DockerCollectorOptions {
  /**
   * For collections that repeat: while the events stream is connected and has said nothing, answer with the
   * last list instead of asking Docker again, for at most `reuseForMs` (every container start, stop, rename,
   * network connect or disconnect is an event).
   */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
  /**
   * Only the containers whose name (without the leading slash) or id this accepts, plus those sharing the network
   * namespace of one (`container:<id>` mode: without them, the sockets their processes hold would be counted as the
   * namespace owner's). The others are not even inspected.
   */
  readonly only?: (name: string, id: string) => boolean;
  /**
   * Finds containers' init pids without Docker (see container-inits.ts): a container whose pid it finds is taken
   * from its list entry, which says all the rest (toContainerInfoFromList), instead of being inspected; the others
   * are inspected as before. For one-shot collections (`ps`): one list call instead of one inspect per container.
   */
  readonly initPids?: (ids: ReadonlySet<string>) => ReadonlyMap<string, number>;
}

/** The list entries `only` keeps: the accepted ones and the containers in their network namespaces. */
function keptEntries(list: readonly DockerContainerSummary[], only: ((name: string, id: string) => boolean) | undefined): DockerContainerSummary[] {
  if (!only) return [...list];
  const name = (c: DockerContainerSummary) => (c.Names?.[0] ?? '').replace(/^\//, '');
  const accepted = new Set(list.filter((c) => only(name(c), c.Id)).map((c) => c.Id));
  const modeOf = (c: DockerContainerSummary) => {
    const hc = c['HostConfig'] as { NetworkMode?: unknown } | undefined;
    return typeof hc?.NetworkMode === 'string' ? hc.NetworkMode : '';
  };
  return list.filter((c) => {
    if (accepted.has(c.Id)) return true;
    const mode = modeOf(c);
    // Docker keeps the full id of the namespace's owner there (container:<id>), whatever name it was given by.
    const owner = mode.startsWith('container:') ? mode.slice('container:'.length) : '';
    return owner !== '' && [...accepted].some((id) => id.startsWith(owner));
  });
}

/**
 * Lists running containers and inspects each (in parallel); a container removed mid-list is skipped.
 * Inspect results are kept while a container's list entry is unchanged, so a steady host costs one list
 * call per collection — or none, repeating, while the events stream says nothing changed.
 */
export function createDockerCollector(docker: DockerClient, options: DockerCollectorOptions = {}): DockerCollector {
  let cache = new Map<string, { fingerprint: string; info: ContainerInfo }>();
  const repeat = options.repeat;
  const now = repeat?.now ?? Date.now;
  let watching = false;
  let changed = true;
  let last: { atMs: number; containers: ContainerInfo[] } | undefined;
  // Containers named by an event since the current collection began.
  const dropped = new Set<string>();
  return {
    name: 'docker',
    provides: ['containers'],
    needs: [],
    dockerEvents(news, containerId) {
      watching = news !== 'lost';
      changed = true;
      // Dropped now, and again after a collection under way, which may have inspected it before the change.
      if (containerId !== undefined) {
        cache.delete(containerId);
        dropped.add(containerId);
      }
    },
    collect: async ({ signal }) => {
      const t = now();
      if (repeat && watching && !changed && last && t - last.atMs < repeat.reuseForMs) return { containers: last.containers };
      // Cleared before asking: an event that arrives while the list is on its way makes the next collection ask again.
      changed = false;
      dropped.clear();
      let list: DockerContainerSummary[];
      const next = new Map<string, { fingerprint: string; info: ContainerInfo }>();
      try {
        list = keptEntries(await docker.listContainers({ signal }), options.only);
        const inits = options.initPids?.(new Set(list.filter((c) => !cache.has(c.Id)).map((c) => c.Id)));
        await Promise.all(list.map(async (c) => {
          const fp = fingerprint(c, watching);
          const known = cache.get(c.Id);
          if (known && known.fingerprint === fp) {
            next.set(c.Id, known);
            return;
          }
          const pid = inits?.get(c.Id);
          const listed = pid !== undefined ? toContainerInfoFromList(c, pid) : undefined;
          if (listed) {
            next.set(c.Id, { fingerprint: fp, info: listed });
            return;
          }
          try {
            const fresh = toContainerInfo(await docker.inspectContainer(c.Id, { signal }));
            // Inspected again and found the same (only its status text aged, "Up 2 minutes"): the same object.
            const info = known && JSON.stringify(known.info) === JSON.stringify(fresh) ? known.info : fresh;
            // Not running after all (a stop raced the list): not kept, asked again next time.
            if (info.pid > 0) next.set(c.Id, { fingerprint: fp, info });
          } catch (err) {
            if (!isDockerNotFound(err)) throw err;
          }
        }));
        // Timed out meanwhile: the caller has moved on, and must not find this collection's leftovers later.
        signal.throwIfAborted();
      } catch (err) {
        changed = true;
        throw err;
      }
      let containers: ContainerInfo[] = [];
      for (const c of list) {
        const info = next.get(c.Id)?.info;
        if (info) containers.push(info);
      }
      // Containers an event named while this collection ran: what it learnt of them may predate the event, so it is
      // shown but not kept.
      for (const id of dropped) next.delete(id);
      cache = next;
      // The same containers as last time (every inspect kept): the same part, so what is computed from it is kept too.
      if (last && last.containers.length === containers.length && last.containers.every((c, i) => c === containers[i])) containers = last.containers;
      last = { atMs: t, containers };
      return { containers };
    },
  };
}
