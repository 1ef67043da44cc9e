import { toContainerInfo } from '../core/docker/containers.js';
import type { ContainerInfo } from '../core/model/container.js';
import type { DockerClient } from '../sources/docker-api.js';
import type { Collector } from './collector.js';

/** Lists running containers and inspects each (in parallel); a container removed mid-list is skipped. */
export function createDockerCollector(docker: DockerClient): Collector<'containers'> {
  return {
    name: 'docker',
    provides: ['containers'],
    needs: [],
    collect: async () => {
      const list = await docker.listContainers();
      const inspected = await Promise.all(list.map(async (c) => {
        try {
          return await docker.inspectContainer(c.Id);
        } catch (err) {
          if ((err as { status?: number }).status === 404) return undefined;
          throw err;
        }
      }));
      const containers: ContainerInfo[] = [];
      for (const json of inspected) {
        if (json === undefined) continue;
        const info = toContainerInfo(json);
        if (info.pid > 0) containers.push(info);
      }
      return { containers };
    },
  };
}
