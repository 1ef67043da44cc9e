/** Who a Docker host is, for a fleet: Docker's engine id (the host's key), its name and its own addresses. */
export interface HostIdentity {
  /** Docker's engine id (`ID` of `GET /info`). */
  readonly engineId: string;
  /** Docker's name for the host (`Name` of `GET /info`), else the kernel's hostname. */
  readonly hostname: string;
  /** The host network namespace's own addresses (canonical text, loopback included as the kernel lists it). */
  readonly addresses: readonly string[];
}
