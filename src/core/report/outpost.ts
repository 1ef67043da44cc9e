// The API of outpost (github.com/PabloL007/outpost) rendered from the `ps` report, for clients that poll it:
// same document, but correct for host and shared namespaces (sockets are attributed, not read from a
// namespace-wide /proc/net/tcp) and with IPv6 addresses in text form instead of kernel hex words.
import type { PsContainer, PsReport, PsSocket } from './ps.js';

/** One address and port in the outpost document. */
export interface OutpostEndpoint {
  readonly address: string;
  readonly port: number;
}

/** One container in the outpost document. */
export interface OutpostContainer {
  /** Docker's name, with its leading slash (as outpost printed `Name` from inspect). */
  readonly name: string;
  /** The image as the container was created with it (`Config.Image`). */
  readonly artefact: string;
  /** Where the host accepts connections for this container: published ports, or a host-mode container's own listeners. */
  readonly listening: readonly OutpostEndpoint[];
  /** The remote end of every established TCP connection the container holds. */
  readonly established: readonly OutpostEndpoint[];
}

/** Default of OUTPOST_INTERFACES: outpost lists a wildcard listener as `0.0.0.0`. */
export const DEFAULT_OUTPOST_INTERFACES: readonly string[] = ['0.0.0.0'];

/** Parses OUTPOST_INTERFACES (comma-separated addresses) the way outpost did; empty → the default. */
export function parseOutpostInterfaces(value: string | undefined): string[] {
  const list = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return list.length > 0 ? list : [...DEFAULT_OUTPOST_INTERFACES];
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** `::ffff:a.b.c.d` → `a.b.c.d` (outpost unmapped these too); other addresses unchanged. */
function unmap(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/**
 * Renders the outpost document (pure). Listening, like outpost: for a container with its own or a shared
 * namespace, a TCP listener on a published container port, shown as the binding's host address and host
 * port; for a host-network container, its own listeners. A wildcard address fans out to `interfaces`
 * (OUTPOST_INTERFACES). Established: the remote end of each ESTABLISHED TCP socket attributed to it.
 */
export function toOutpost(report: PsReport, interfaces: readonly string[] = DEFAULT_OUTPOST_INTERFACES): OutpostContainer[] {
  const byId = new Map(report.containers.map((c) => [c.id, c]));
  return report.containers.map((c) => {
    // Ports of a `container:<x>` container are published on <x>, which owns the namespace.
    const owner = c.networkMode.startsWith('container:') ? byId.get(c.networkMode.slice('container:'.length)) : c;
    const host = c.networkMode === 'host';
    const tcp = c.sockets.filter((s) => s.protocol === 'tcp');
    const listening: OutpostEndpoint[] = [];
    const fanOut = (address: string, port: number) => {
      if (WILDCARDS.has(address)) for (const i of interfaces) listening.push({ address: i, port });
      else listening.push({ address: unmap(address), port });
    };
    for (const s of tcp.filter((x) => x.state === 'LISTEN')) {
      if (host) fanOut(s.local.address, s.local.port);
      else for (const b of publishedFor(owner, s)) fanOut(b.hostIp, b.hostPort);
    }
    const established = tcp.filter((s) => s.state === 'ESTABLISHED').map((s) => ({ address: unmap(s.remote.address), port: s.remote.port }));
    return { name: `/${c.name}`, artefact: c.image, listening: dedupe(listening), established };
  });
}

function publishedFor(owner: PsContainer | undefined, s: PsSocket) {
  if (owner === undefined) return [];
  return owner.ports.filter((p) => p.protocol === 'tcp' && p.containerPort === s.local.port);
}

function dedupe(list: readonly OutpostEndpoint[]): OutpostEndpoint[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = `${e.address}|${e.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
