// Change events for the live event stream, derived from two successive topologies: the same facts the
// topology shows, so the stream never disagrees with the API.
import type { ConnectionEvent } from '../model/connection.js';
import type { Endpoint, Protocol } from '../model/socket.js';
import type { ContainerNode, FlowState, Resolution, Topology } from '../model/topology.js';

/** A container as named in a change event. */
export interface ContainerRef {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** In a fleet: the host it runs on. */
  readonly host?: string;
}

/** A connection as named in a change event: its edge, both ends and how it was resolved. */
export interface ConnectionRef {
  /** Id of the topology edge it belongs to. */
  readonly edge: string;
  readonly from: string;
  readonly to: string;
  /** Names of the two nodes (container names, process commands, addresses). */
  readonly fromName: string;
  readonly toName: string;
  readonly protocol: Protocol;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly published?: Endpoint;
  readonly via: Resolution;
  readonly state: FlowState;
  /** In a fleet: the hosts of the two ends (absent for nodes of no host). */
  readonly fromHost?: string;
  readonly toHost?: string;
}

/**
 * One event of `/api/v1/events`, discriminated by type. A connection event is either seen by two collections
 * (`connection`: the topology's edge and both ends as rendered) or captured from the kernel as it happened
 * (`flow`: every connection however short, see model/connection.ts); tell them apart with isCapturedEvent.
 * On a hub, every event is one an agent published, with `host`: the id of that agent's host (its engine id token).
 */
export type ChangeEvent =
  | { readonly type: 'container.started' | 'container.stopped'; readonly at: string; readonly container: ContainerRef; readonly host?: string }
  | { readonly type: 'connection.opened' | 'connection.closed'; readonly at: string; readonly connection: ConnectionRef; readonly host?: string }
  | ConnectionEvent;

/** True for a connection event captured from the kernel (it carries `flow`), false for one seen by collections. */
export function isCapturedEvent(e: ChangeEvent): e is ConnectionEvent {
  return 'flow' in e;
}

/** Event types, for validating filters. */
export const CHANGE_EVENT_TYPES = ['container.started', 'container.stopped', 'connection.opened', 'connection.closed'] as const;

// A connection in one of these is on its way out: it counts as closed.
const CLOSING = new Set<FlowState>(['TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSING']);

/**
 * What happened between two topologies (pure): containers started and stopped (by node), connections opened
 * and closed (by edge details, keyed by protocol and both endpoints; a connection entering a closing state
 * counts as closed). No previous topology: no events (the first state is not news). Edges built without
 * details give no connection events.
 */
export function toChangeEvents(prev: Topology | undefined, next: Topology): ChangeEvent[] {
  if (prev === undefined) return [];
  // The same nodes and edges (an idle collection keeps them): nothing happened.
  if (prev.nodes === next.nodes && prev.edges === next.edges) return [];
  const events: ChangeEvent[] = [];
  // A container that exited but is still drawn (its address named in recent flows: exitedAt) is stopped.
  const containers = (t: Topology) => new Map(t.nodes.filter((n): n is ContainerNode => n.kind === 'container' && n.exitedAt === undefined).map((n) => [n.id, n]));
  const before = containers(prev);
  const after = containers(next);
  const ref = (n: ContainerNode): ContainerRef => ({ id: n.id, name: n.name, image: n.image, ...(n.host !== undefined ? { host: n.host } : {}) });
  for (const [id, n] of before) if (!after.has(id)) events.push({ type: 'container.stopped', at: next.takenAt, container: ref(n) });
  for (const [id, n] of after) if (!before.has(id)) events.push({ type: 'container.started', at: next.takenAt, container: ref(n) });

  const was = openOnly(connections(prev));
  const all = connections(next);
  const now = openOnly(all);
  for (const [k, c] of was) if (!now.has(k)) events.push({ type: 'connection.closed', at: next.takenAt, connection: closedState(c, all.get(k)) });
  for (const [k, c] of now) if (!was.has(k)) events.push({ type: 'connection.opened', at: next.takenAt, connection: c });
  return events;
}

function key(protocol: Protocol, client: Endpoint, server: Endpoint): string {
  return `${protocol}|${client.address}|${client.port}|${server.address}|${server.port}`;
}

function connections(t: Topology): Map<string, ConnectionRef> {
  const names = new Map(t.nodes.map((n) => [n.id, n.name]));
  const hosts = t.hosts ? new Map(t.nodes.flatMap((n) => (n.host !== undefined ? [[n.id, n.host] as const] : []))) : undefined;
  const out = new Map<string, ConnectionRef>();
  for (const e of t.edges) {
    for (const d of e.details ?? []) {
      out.set(key(e.protocol, d.client, d.server), {
        edge: e.id, from: e.from, to: e.to, fromName: names.get(e.from) ?? e.from, toName: names.get(e.to) ?? e.to,
        protocol: e.protocol, client: d.client, server: d.server, ...(d.published ? { published: d.published } : {}), via: d.via, state: d.state,
        ...(hosts?.has(e.from) ? { fromHost: hosts.get(e.from) } : {}), ...(hosts?.has(e.to) ? { toHost: hosts.get(e.to) } : {}),
      });
    }
  }
  return out;
}

function openOnly(all: Map<string, ConnectionRef>): Map<string, ConnectionRef> {
  return new Map([...all].filter(([, c]) => !CLOSING.has(c.state)));
}

function closedState(was: ConnectionRef, now: ConnectionRef | undefined): ConnectionRef {
  return now ? { ...was, state: now.state } : was;
}
