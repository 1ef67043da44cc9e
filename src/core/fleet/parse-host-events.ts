// Reading a host's change events someone sent (pure): the hub serves every agent's events (`/api/v1/events`) and
// trusts nothing on the wire. A batch is a bounded list; each event is checked field by field against the shape the
// agent sends (core/report/changes.ts, core/model/connection.ts) and rebuilt from the fields it knows, so whatever
// else a sender put in never reaches a client, and every string is bounded. An event that does not fit is refused
// with where and why; the others of its batch are kept. Every event kept carries `host`: the sender's host id.
import type { ConnectionBytes, ConnectionEnd, ConnectionEvent, ContainerAt, ProcessAt } from '../model/connection.js';
import type { Endpoint } from '../model/socket.js';
import { SOCKET_STATES } from '../model/socket.js';
import type { FlowState, Resolution } from '../model/topology.js';
import type { ChangeEvent, ConnectionRef, ContainerRef } from '../report/changes.js';

/** An event (or a batch) that cannot be used: where in it, and why. */
export class HostEventError extends Error {
  override readonly name = 'HostEventError';
  constructor(
    /** Where (`events[3].flow.client.port`), or `events`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`host events: ${path}: ${reason}`);
  }
}

/** What one batch may hold. */
export interface HostEventLimits {
  /** Events in one batch (default 50,000: more than a 16 MiB message can hold). */
  readonly maxEvents: number;
  /** Any string field, in characters (default 4,096). */
  readonly maxString: number;
  /** Refusals described in the answer (the rest only counted; default 8). */
  readonly maxReasons: number;
}

/** Default limits. */
export const DEFAULT_HOST_EVENT_LIMITS: HostEventLimits = { maxEvents: 50_000, maxString: 4_096, maxReasons: 8 };

/** A checked batch: the events kept, each with `host`, and the ones refused. */
export interface HostEvents {
  readonly events: ChangeEvent[];
  readonly refused: number;
  /** The first refusals (at most `maxReasons`). */
  readonly reasons: HostEventError[];
}

const RESOLUTIONS = new Set<string>(['socket', 'docker-proxy', 'dnat', 'port-binding', 'address', 'conntrack'] satisfies Resolution[]);
const FLOW_STATES = new Set<string>([...SOCKET_STATES, 'UNREPLIED', 'REPLIED'] satisfies FlowState[]);
const DIRECTIONS = new Set<string>(['internal', 'outbound', 'inbound', 'unknown']);

/**
 * Checks a batch of events published by host `hostId`; throws HostEventError only when the batch itself is not a
 * list within the limit. Each event kept is a copy with the fields the model knows and `host` set to `hostId`.
 */
export function checkHostEvents(hostId: string, value: unknown, limits: Partial<HostEventLimits> = {}): HostEvents {
  const l = { ...DEFAULT_HOST_EVENT_LIMITS, ...limits };
  if (!Array.isArray(value)) throw new HostEventError('events', 'not a list');
  if (value.length > l.maxEvents) throw new HostEventError('events', `${value.length} events, more than ${l.maxEvents}`);
  const events: ChangeEvent[] = [];
  const reasons: HostEventError[] = [];
  let refused = 0;
  const c = checker(l.maxString);
  (value as unknown[]).forEach((v, i) => {
    try {
      events.push(checkEvent(c, v, `events[${i}]`, hostId));
    } catch (err) {
      if (!(err instanceof HostEventError)) throw err;
      refused++;
      if (reasons.length < l.maxReasons) reasons.push(err);
    }
  });
  return { events, refused, reasons };
}

/** Checks one event; throws HostEventError. */
export function checkHostEvent(hostId: string, value: unknown, limits: Partial<HostEventLimits> = {}): ChangeEvent {
  return checkEvent(checker({ ...DEFAULT_HOST_EVENT_LIMITS, ...limits }.maxString), value, 'event', hostId);
}

type Checker = ReturnType<typeof checker>;

function checker(maxString: number) {
  const fail = (path: string, reason: string): never => { throw new HostEventError(path, reason); };
  const c = {
    fail,
    obj(v: unknown, path: string): Record<string, unknown> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'not an object');
      return v as Record<string, unknown>;
    },
    str(v: unknown, path: string): string {
      if (typeof v !== 'string') fail(path, 'not a string');
      const s = v as string;
      if (s.length > maxString) fail(path, `${s.length} characters, more than ${maxString}`);
      return s;
    },
    oneOf<T extends string>(v: unknown, path: string, set: ReadonlySet<string>): T {
      if (typeof v !== 'string' || !set.has(v)) fail(path, `not one of ${[...set].join(', ')}`);
      return v as T;
    },
    num(v: unknown, path: string): number {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(path, 'not a finite number ≥ 0');
      return v as number;
    },
    int(v: unknown, path: string): number {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'not a whole number ≥ 0');
      return v as number;
    },
    bool(v: unknown, path: string): boolean {
      if (typeof v !== 'boolean') fail(path, 'not a boolean');
      return v as boolean;
    },
    time(v: unknown, path: string): string {
      if (typeof v !== 'string' || v.length > 40 || !Number.isFinite(Date.parse(v))) fail(path, 'not a time');
      return v as string;
    },
    endpoint(v: unknown, path: string): Endpoint {
      const o = c.obj(v, path);
      const address = c.str(o.address, `${path}.address`);
      if (address.length > 64) fail(`${path}.address`, 'longer than an IP address');
      const port = o.port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) fail(`${path}.port`, 'not a port');
      return { address, port: port as number };
    },
    /** An optional field: absent (undefined) stays absent. */
    opt<T>(v: unknown, check: (v: unknown) => T): T | undefined {
      return v === undefined ? undefined : check(v);
    },
  };
  return c;
}

/** `{ key: value }` when value is defined, else `{}` (exactOptionalPropertyTypes). */
const maybe = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : { [key]: value } as { [P in K]?: V });

function checkEvent(c: Checker, v: unknown, path: string, host: string): ChangeEvent {
  const e = c.obj(v, path);
  const at = c.time(e.at, `${path}.at`);
  switch (e.type) {
    case 'container.started':
    case 'container.stopped':
      return { type: e.type, at, container: checkContainerRef(c, e.container, `${path}.container`), host };
    case 'connection.opened':
    case 'connection.closed':
      if (e.flow !== undefined) {
        if (e.connection !== undefined) c.fail(path, 'both connection and flow');
        return { type: e.type, at, flow: checkFlow(c, e.flow, `${path}.flow`), host } satisfies ConnectionEvent;
      }
      return { type: e.type, at, connection: checkConnectionRef(c, e.connection, `${path}.connection`), host };
    default:
      return c.fail(`${path}.type`, 'not an event type (container.started, container.stopped, connection.opened, connection.closed)');
  }
}

function checkContainerRef(c: Checker, v: unknown, path: string): ContainerRef {
  const o = c.obj(v, path);
  return {
    id: c.str(o.id, `${path}.id`), name: c.str(o.name, `${path}.name`), image: c.str(o.image, `${path}.image`),
    ...maybe('host', c.opt(o.host, (x) => c.str(x, `${path}.host`))),
  };
}

function checkConnectionRef(c: Checker, v: unknown, path: string): ConnectionRef {
  const o = c.obj(v, path);
  return {
    edge: c.str(o.edge, `${path}.edge`), from: c.str(o.from, `${path}.from`), to: c.str(o.to, `${path}.to`),
    fromName: c.str(o.fromName, `${path}.fromName`), toName: c.str(o.toName, `${path}.toName`),
    protocol: c.oneOf(o.protocol, `${path}.protocol`, PROTOCOLS),
    client: c.endpoint(o.client, `${path}.client`), server: c.endpoint(o.server, `${path}.server`),
    ...maybe('published', c.opt(o.published, (x) => c.endpoint(x, `${path}.published`))),
    via: c.oneOf(o.via, `${path}.via`, RESOLUTIONS), state: c.oneOf(o.state, `${path}.state`, FLOW_STATES),
    ...maybe('fromHost', c.opt(o.fromHost, (x) => c.str(x, `${path}.fromHost`))),
    ...maybe('toHost', c.opt(o.toHost, (x) => c.str(x, `${path}.toHost`))),
  };
}

const PROTOCOLS = new Set(['tcp', 'udp']);
const FAMILIES = new Set(['ipv4', 'ipv6']);
const SOURCES = new Set(['conntrack', 'ebpf']);
const TIMINGS = new Set(['kernel', 'observed']);

function checkFlow(c: Checker, v: unknown, path: string): ConnectionEvent['flow'] {
  const o = c.obj(v, path);
  return {
    source: c.oneOf(o.source, `${path}.source`, SOURCES), netns: c.int(o.netns, `${path}.netns`),
    ...maybe('flowId', c.opt(o.flowId, (x) => c.int(x, `${path}.flowId`))),
    protocol: c.oneOf(o.protocol, `${path}.protocol`, PROTOCOLS), family: c.oneOf(o.family, `${path}.family`, FAMILIES),
    client: checkEnd(c, o.client, `${path}.client`), server: checkEnd(c, o.server, `${path}.server`),
    ...maybe('published', c.opt(o.published, (x) => c.endpoint(x, `${path}.published`))),
    direction: c.oneOf(o.direction, `${path}.direction`, DIRECTIONS),
    ...maybe('state', c.opt(o.state, (x) => c.str(x, `${path}.state`))),
    unreplied: c.bool(o.unreplied, `${path}.unreplied`),
    ...maybe('openedAt', c.opt(o.openedAt, (x) => c.time(x, `${path}.openedAt`))),
    ...maybe('closedAt', c.opt(o.closedAt, (x) => c.time(x, `${path}.closedAt`))),
    timing: c.oneOf(o.timing, `${path}.timing`, TIMINGS),
    ...maybe('durationMs', c.opt(o.durationMs, (x) => c.num(x, `${path}.durationMs`))),
    ...maybe('bytes', c.opt(o.bytes, (x) => checkBytes(c, x, `${path}.bytes`))),
    host: c.str(o.host, `${path}.host`),
  };
}

function checkEnd(c: Checker, v: unknown, path: string): ConnectionEnd {
  const o = c.obj(v, path);
  return {
    ...c.endpoint(o, path),
    ...maybe('container', c.opt(o.container, (x) => checkContainerAt(c, x, `${path}.container`))),
    ...maybe('process', c.opt(o.process, (x) => checkProcess(c, x, `${path}.process`))),
    ...maybe('host', c.opt(o.host, (x) => c.bool(x, `${path}.host`))),
  };
}

function checkContainerAt(c: Checker, v: unknown, path: string): ContainerAt {
  const o = c.obj(v, path);
  return {
    id: c.str(o.id, `${path}.id`), name: c.str(o.name, `${path}.name`), image: c.str(o.image, `${path}.image`),
    ...maybe('network', c.opt(o.network, (x) => c.str(x, `${path}.network`))),
    ...maybe('exitedAt', c.opt(o.exitedAt, (x) => c.time(x, `${path}.exitedAt`))),
  };
}

function checkProcess(c: Checker, v: unknown, path: string): ProcessAt {
  const o = c.obj(v, path);
  return {
    pid: c.int(o.pid, `${path}.pid`), binary: c.str(o.binary, `${path}.binary`),
    ...maybe('cmdline', c.opt(o.cmdline, (x) => c.str(x, `${path}.cmdline`))),
  };
}

function checkBytes(c: Checker, v: unknown, path: string): ConnectionBytes {
  const o = c.obj(v, path);
  return {
    sent: c.num(o.sent, `${path}.sent`), packetsSent: c.num(o.packetsSent, `${path}.packetsSent`),
    received: c.num(o.received, `${path}.received`), packetsReceived: c.num(o.packetsReceived, `${path}.packetsReceived`),
  };
}
