import { toContainerInfo } from '../core/docker/containers.js';
import type { ContainerInfo } from '../core/model/container.js';
import type { DockerClient, DockerContainerSummary } from '../sources/docker-api.js';
import type { Collector } from './collector.js';

/**
 * What of a container's list entry must stay the same for its last inspect to still hold: state and status
 * text (`Up 3 minutes` restarts from `Up Less than a second` after a restart, so a new pid is noticed), its
 * networks (connect/disconnect), ports, labels and image.
 */
function fingerprint(c: DockerContainerSummary): string {
  return JSON.stringify([c['State'], c['Status'], c['NetworkSettings'], c['Ports'], c['Labels'], c['Image']]);
}

/** The Docker collector with what it hears from the events stream. */
export interface DockerCollector extends Collector<'containers'> {
  /** See AgentCollection.dockerEvents. */
  dockerEvents(news: 'event' | 'connected' | 'lost'): void;
}

/** Options of the Docker collector. */
export interface DockerCollectorOptions {
  /**
   * For collections that repeat: while the events stream is connected and has said nothing, answer with the
   * last list instead of asking Docker again, for at most `reuseForMs` (every container start, stop, rename,
   * network connect or disconnect is an event).
   */
  readonly repeat?: { readonly reuseForMs: number; readonly now?: () => number };
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
  return {
    name: 'docker',
    provides: ['containers'],
    needs: [],
    dockerEvents(news) {
      watching = news !== 'lost';
      changed = true;
    },
    collect: async ({ signal }) => {
      const t = now();
      if (repeat && watching && !changed && last && t - last.atMs < repeat.reuseForMs) return { containers: last.containers };
      // Cleared before asking: an event that arrives while the list is on its way makes the next collection ask again.
      changed = false;
      let list: DockerContainerSummary[];
      const next = new Map<string, { fingerprint: string; info: ContainerInfo }>();
      try {
        list = await docker.listContainers({ signal });
        await Promise.all(list.map(async (c) => {
          const fp = fingerprint(c);
          const known = cache.get(c.Id);
          if (known && known.fingerprint === fp) {
            next.set(c.Id, known);
            return;
          }
          try {
            const info = toContainerInfo(await docker.inspectContainer(c.Id, { signal }));
            // Not running after all (a stop raced the list): not kept, asked again next time.
            if (info.pid > 0) next.set(c.Id, { fingerprint: fp, info });
          } catch (err) {
            if ((err as { status?: number }).status !== 404) throw err;
          }
        }));
        // Timed out meanwhile: the caller has moved on, and must not find this collection's leftovers later.
        signal.throwIfAborted();
      } catch (err) {
        changed = true;
        throw err;
      }
      cache = next;
      const containers: ContainerInfo[] = [];
      for (const c of list) {
        const info = next.get(c.Id)?.info;
        if (info) containers.push(info);
      }
      last = { atMs: t, containers };
      return { containers };
    },
  };
}
