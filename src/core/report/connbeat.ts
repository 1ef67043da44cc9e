// Events as documents in connbeat's shape (the Elastic beat that reported connections per container): one NDJSON
// object per event, with `@timestamp`, `beat`, the local and remote end, the local process, the container and the
// Docker host, plus what connbeat did not have: the event, protocol, direction, state, duration and bytes. Pure:
// everything it needs (containers' labels and ports, processes, the host's addresses) comes in a context.
import type { ConnectionEnd, ConnectionEvent } from '../model/connection.js';
import type { PortBinding } from '../model/container.js';
import type { Endpoint, Protocol } from '../model/socket.js';
import { isCapturedEvent, type ChangeEvent, type ConnectionRef, type ContainerRef } from './changes.js';

/** The agent that wrote a document (connbeat's `beat`). */
export interface ConnbeatBeat {
  readonly hostname: string;
  readonly name: string;
  readonly version: string;
}

/** The Docker host a document comes from: its name and its own addresses (not containers'). */
export interface ConnbeatDockerHost {
  readonly hostname: string;
  readonly ips: readonly string[];
}

/** A published port as Docker's `docker ps` API lists it. */
export interface ConnbeatPort {
  readonly ip: string;
  readonly private_port: number;
  readonly public_port: number;
  readonly type: string;
}

/** The container holding the local end. */
export interface ConnbeatContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ConnbeatPort[];
}

/** The process holding the local socket: its command (`comm`) and, when known, its command line. */
export interface ConnbeatProcess {
  readonly binary: string;
  readonly cmdline?: string;
  readonly pid?: number;
}

/** Which end of the connection the document's local end is. */
export type ConnbeatDirection = 'outgoing' | 'incoming';

/** One exported document. */
export interface ConnbeatDocument {
  readonly '@timestamp': string;
  readonly type: 'connbeat';
  /** The portolan event it comes from: `connection.opened`, `connection.closed`, `container.started` … */
  readonly event: string;
  readonly beat: ConnbeatBeat;
  readonly local_ip?: string;
  readonly local_port?: number;
  readonly remote_ip?: string;
  readonly remote_port?: number;
  readonly protocol?: Protocol;
  /** What saw the connection: conntrack or eBPF events as it happened, or two collections (`collection`). */
  readonly source?: 'conntrack' | 'ebpf' | 'collection';
  /** outgoing: the local end is the client; incoming: the server. */
  readonly direction?: ConnbeatDirection;
  /** Socket state (`ESTABLISHED`, `TIME_WAIT` …) or, for a UDP flow, `REPLIED` / `UNREPLIED`. */
  readonly state?: string;
  readonly duration_ms?: number;
  /** Bytes seen from the local end: sent and received (conntrack counts whole IP packets). */
  readonly bytes?: { readonly sent?: number; readonly received?: number };
  /** The host address and port the client dialled, when it reached the server through a published port. */
  readonly published?: { readonly ip: string; readonly port: number };
  readonly local_process: ConnbeatProcess | null;
  readonly container: ConnbeatContainer | null;
  readonly docker_host: ConnbeatDockerHost;
}

/** What a container is known as (the inventory's facts at the time of the event, or the last ones seen). */
export interface ExportContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly PortBinding[];
}

/** What the mapping needs besides the event. */
export interface ConnbeatContext {
  readonly beat: ConnbeatBeat;
  readonly dockerHost: ConnbeatDockerHost;
  /** Containers by full id (the inventory, including recently exited ones still known). */
  readonly containers: ReadonlyMap<string, ExportContainer>;
  /** The process holding a connection's local socket, when known. */
  readonly process?: (end: 'client' | 'server', connection: ConnectionFacts) => ConnbeatProcess | undefined;
}

/** A connection as the export sees it, whatever produced it (topology changes, conntrack or eBPF events). */
export interface ConnectionFacts {
  readonly source: 'conntrack' | 'ebpf' | 'collection';
  readonly protocol: Protocol;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** The host address and port the client dialled, when it reached the server through a published port. */
  readonly published?: Endpoint;
  /** Containers holding the client's and the server's ends (undefined: not a container of this host). */
  readonly clientContainerId?: string;
  readonly serverContainerId?: string;
  /** Whether the client's / server's end is a socket of this host (a container's or a host process's). */
  readonly clientLocal: boolean;
  readonly serverLocal: boolean;
  readonly state: string;
  readonly durationMs?: number;
  /** Bytes client → server and server → client. */
  readonly bytesToServer?: number;
  readonly bytesToClient?: number;
  /** Containers as the event named them (for one that exited and is no longer in the inventory). */
  readonly clientContainer?: ContainerRef;
  readonly serverContainer?: ContainerRef;
  /** Processes as the event named them. */
  readonly clientProcess?: ConnbeatProcess;
  readonly serverProcess?: ConnbeatProcess;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Whether a topology node id names a container (its full id) rather than a process, the host or an address. */
export function isContainerNodeId(id: string): boolean {
  return HEX64.test(id);
}

/** The connection facts of a topology change event (ends attributed by their nodes). */
export function connectionFactsOf(c: ConnectionRef): ConnectionFacts {
  const local = (id: string) => !id.startsWith('external:');
  return {
    source: 'collection', protocol: c.protocol, client: c.client, server: c.server, ...(c.published ? { published: c.published } : {}),
    ...(isContainerNodeId(c.from) ? { clientContainerId: c.from } : {}),
    ...(isContainerNodeId(c.to) ? { serverContainerId: c.to } : {}),
    clientLocal: local(c.from), serverLocal: local(c.to), state: c.state,
  };
}

/** The connection facts of a captured event (conntrack or eBPF): ends attributed when the flow was seen. */
export function capturedFactsOf(e: ConnectionEvent): ConnectionFacts {
  const f = e.flow;
  const local = (end: ConnectionEnd) => end.container !== undefined || end.host === true || end.process !== undefined;
  const ref = (end: ConnectionEnd): ContainerRef | undefined => (end.container ? { id: end.container.id, name: end.container.name, image: end.container.image } : undefined);
  const proc = (end: ConnectionEnd): ConnbeatProcess | undefined =>
    (end.process ? { binary: end.process.binary, ...(end.process.cmdline !== undefined ? { cmdline: end.process.cmdline } : {}), pid: end.process.pid } : undefined);
  const clientContainer = ref(f.client);
  const serverContainer = ref(f.server);
  const clientProcess = proc(f.client);
  const serverProcess = proc(f.server);
  return {
    source: f.source, protocol: f.protocol,
    client: { address: f.client.address, port: f.client.port }, server: { address: f.server.address, port: f.server.port },
    ...(f.published ? { published: f.published } : {}),
    ...(clientContainer ? { clientContainerId: clientContainer.id, clientContainer } : {}),
    ...(serverContainer ? { serverContainerId: serverContainer.id, serverContainer } : {}),
    ...(clientProcess ? { clientProcess } : {}), ...(serverProcess ? { serverProcess } : {}),
    clientLocal: local(f.client), serverLocal: local(f.server),
    state: f.state ?? (f.unreplied ? 'UNREPLIED' : 'REPLIED'),
    ...(f.durationMs !== undefined ? { durationMs: f.durationMs } : {}),
    ...(f.bytes ? { bytesToServer: f.bytes.sent, bytesToClient: f.bytes.received } : {}),
  };
}

/** Docker's port bindings as connbeat lists them. */
export function toConnbeatPorts(ports: readonly PortBinding[]): ConnbeatPort[] {
  return ports.map((p) => ({ ip: p.hostIp, private_port: p.containerPort, public_port: p.hostPort, type: p.protocol }));
}

// One document object per known container, shared by its documents (they are never changed).
const containerDocs = new WeakMap<ExportContainer, ConnbeatContainer>();

function containerDoc(id: string, ctx: ConnbeatContext, ref?: ContainerRef): ConnbeatContainer {
  const c = ctx.containers.get(id);
  if (c) {
    let d = containerDocs.get(c);
    if (!d) {
      d = { id: c.id, name: c.name, image: c.image, labels: c.labels, ports: toConnbeatPorts(c.ports) };
      containerDocs.set(c, d);
    }
    return d;
  }
  return { id, name: ref?.name ?? id.slice(0, 12), image: ref?.image ?? '', labels: {}, ports: [] };
}

/**
 * The documents of a connection: one per end on this host (a connection between two containers of this host
 * gives two, as two connbeats would report it: the client's `outgoing`, the server's `incoming`). The client's
 * remote end is what it dialled (the published address when it went through one); the server's is the client.
 */
export function connectionDocuments(event: string, at: string, facts: ConnectionFacts, ctx: ConnbeatContext): ConnbeatDocument[] {
  const docs: ConnbeatDocument[] = [];
  // Built property by property, not by spreads: this runs for every captured connection (thousands a second).
  const one = (local: Endpoint, remote: Endpoint, direction: ConnbeatDirection, sent: number | undefined, received: number | undefined,
    process: ConnbeatProcess | null, container: ConnbeatContainer | null): ConnbeatDocument => {
    const d: Record<string, unknown> = {
      '@timestamp': at, type: 'connbeat', event, beat: ctx.beat,
      local_ip: local.address, local_port: local.port, remote_ip: remote.address, remote_port: remote.port,
      source: facts.source, protocol: facts.protocol, direction, state: facts.state,
    };
    if (facts.durationMs !== undefined) d.duration_ms = facts.durationMs;
    if (sent !== undefined || received !== undefined) {
      const bytes: { sent?: number; received?: number } = {};
      if (sent !== undefined) bytes.sent = sent;
      if (received !== undefined) bytes.received = received;
      d.bytes = bytes;
    }
    if (facts.published) d.published = { ip: facts.published.address, port: facts.published.port };
    d.local_process = process;
    d.container = container;
    d.docker_host = ctx.dockerHost;
    return d as unknown as ConnbeatDocument;
  };
  if (facts.clientLocal) {
    docs.push(one(facts.client, facts.published ?? facts.server, 'outgoing', facts.bytesToServer, facts.bytesToClient,
      facts.clientProcess ?? ctx.process?.('client', facts) ?? null,
      facts.clientContainerId !== undefined ? containerDoc(facts.clientContainerId, ctx, facts.clientContainer) : null));
  }
  if (facts.serverLocal) {
    docs.push(one(facts.server, facts.client, 'incoming', facts.bytesToClient, facts.bytesToServer,
      facts.serverProcess ?? ctx.process?.('server', facts) ?? null,
      facts.serverContainerId !== undefined ? containerDoc(facts.serverContainerId, ctx, facts.serverContainer) : null));
  }
  return docs;
}

/** The documents of one change event of the agent's journal (`/api/v1/events`). */
export function toConnbeatDocuments(event: ChangeEvent, ctx: ConnbeatContext): ConnbeatDocument[] {
  if (isCapturedEvent(event)) return connectionDocuments(event.type, event.at, capturedFactsOf(event), ctx);
  switch (event.type) {
    case 'container.started':
    case 'container.stopped':
      return [{
        '@timestamp': event.at, type: 'connbeat', event: event.type, beat: ctx.beat, local_process: null,
        container: containerDoc(event.container.id, ctx, event.container), docker_host: ctx.dockerHost,
      }];
    case 'connection.opened':
    case 'connection.closed':
      return connectionDocuments(event.type, event.at, connectionFactsOf(event.connection), ctx);
  }
}
