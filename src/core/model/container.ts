/** A container's endpoint on one Docker network. */
export interface ContainerNetwork {
  readonly name: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly gateway?: string;
  readonly ipv6Gateway?: string;
  readonly networkId?: string;
  readonly macAddress?: string;
}

/** A published port: container port bound on a host address and port. */
export interface PortBinding {
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostIp: string;
  readonly hostPort: number;
}

/** How a container's network namespace is set up, as a discriminated union of Docker's network modes. */
export type NetworkMode =
  | { readonly kind: 'bridge'; readonly name: string }
  | { readonly kind: 'host' }
  | { readonly kind: 'none' }
  | { readonly kind: 'container'; readonly containerId: string };

/** The Docker host a container runs on, in a fleet (a hub's answer): the host's engine id and name. */
export interface ContainerHost {
  readonly id: string;
  readonly hostname: string;
}

/** A running container as Docker describes it (inventory facts, no sockets). */
export interface ContainerInfo {
  /** Full 64-hex id. */
  readonly id: string;
  /** Name without the leading slash. */
  readonly name: string;
  readonly image: string;
  readonly networkMode: NetworkMode;
  /** PID of the container's init process on the host (0 when not running). */
  readonly pid: number;
  readonly networks: readonly ContainerNetwork[];
  readonly ports: readonly PortBinding[];
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt?: string;
  /** In a fleet only: the host it runs on (one agent's containers have none). */
  readonly host?: ContainerHost;
}

/** Renders a network mode the way `docker inspect` spells HostConfig.NetworkMode. */
export function formatNetworkMode(mode: NetworkMode): string {
  switch (mode.kind) {
    case 'bridge': return mode.name;
    case 'host': return 'host';
    case 'none': return 'none';
    case 'container': return `container:${mode.containerId}`;
  }
}
