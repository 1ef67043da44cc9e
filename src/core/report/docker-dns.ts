// Docker's embedded DNS resolver (user-defined networks) listens inside every container's namespace on
// 127.0.0.11 — a TCP listener and a UDP socket on random ports — but the sockets are dockerd's, opened from the
// host after a setns. They are not the container's services: counts of what a container listens on leave them out.
import type { AttributedSocket } from '../attribute.js';

/** The address Docker's embedded DNS resolver binds in each container of a user-defined network. */
export const DOCKER_DNS_ADDRESS = '127.0.0.11';

/**
 * True for a socket of Docker's embedded DNS (pure): bound to 127.0.0.11 and held by no process of a container
 * (dockerd is a host process; a socket whose holder is not found yet is dockerd's too: no container process
 * binds that address by accident).
 */
export function isDockerDnsSocket(socket: Pick<AttributedSocket, 'local' | 'processes'>): boolean {
  return socket.local.address === DOCKER_DNS_ADDRESS && socket.processes.every((p) => p.containerId === null);
}
