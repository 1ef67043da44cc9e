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

/**
 * Lists running containers and inspects each (in parallel); a container removed mid-list is skipped.
 * Inspect results are kept while a container's list entry is unchanged, so a steady host costs one list
 * call per collection (the agent collects every interval).
 */
export function createDockerCollector(docker: DockerClient): Collector<'containers'> {
  let cache = new Map<string, { fingerprint: string; info: ContainerInfo }>();
  return {
    name: 'docker',
    provides: ['containers'],
    needs: [],
    collect: async () => {
      const list = await docker.listContainers();
      const next = new Map<string, { fingerprint: string; info: ContainerInfo }>();
      await Promise.all(list.map(async (c) => {
        const fp = fingerprint(c);
        const known = cache.get(c.Id);
        if (known && known.fingerprint === fp) {
          next.set(c.Id, known);
          return;
        }
        try {
          const info = toContainerInfo(await docker.inspectContainer(c.Id));
          // Not running after all (a stop raced the list): not kept, asked again next time.
          if (info.pid > 0) next.set(c.Id, { fingerprint: fp, info });
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err;
        }
      }));
      cache = next;
      const containers: ContainerInfo[] = [];
      for (const c of list) {
        const info = next.get(c.Id)?.info;
        if (info) containers.push(info);
      }
      return { containers };
    },
  };
}
