// Reading a host document someone sent (pure): the hub trusts nothing on the wire. Size is checked before
// parsing, every count is capped, every field the merge, the server or the map reads is checked for its type,
// and the first problem is the error, named by its path in the document.
import { SOCKET_STATES } from '../model/socket.js';
import type { Topology } from '../model/topology.js';
import { HOST_DOCUMENT_VERSION, type HostDocument, type HostFlow } from './host-document.js';

/** A host document that cannot be used: why, and where in it. */
export class HostDocumentError extends Error {
  override readonly name = 'HostDocumentError';
  constructor(
    /** Where in the document (`topology.nodes[3].id`), or `document`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`host document: ${path}: ${reason}`);
  }
}

/** What one document may hold. */
export interface HostDocumentLimits {
  /** JSON text length, in characters (default 32 MiB). */
  readonly maxChars: number;
  readonly maxNodes: number;
  readonly maxEdges: number;
  /** Details summed over all edges. */
  readonly maxDetails: number;
  readonly maxFlows: number;
  readonly maxAddresses: number;
  readonly maxNetworks: number;
  readonly maxWarnings: number;
  /** Any string field, in characters. */
  readonly maxString: number;
  /** Containers in the `containers` section. */
  readonly maxContainers: number;
  /** Sockets summed over all containers. */
  readonly maxSockets: number;
}

/** Default limits: well above a host of 2,000 containers and 100,000 connections. */
export const DEFAULT_HOST_DOCUMENT_LIMITS: HostDocumentLimits = {
  maxChars: 32 * 1024 * 1024, maxNodes: 50_000, maxEdges: 100_000, maxDetails: 200_000, maxFlows: 50_000,
  maxAddresses: 1_024, maxNetworks: 4_096, maxWarnings: 1_000, maxString: 4_096, maxContainers: 10_000, maxSockets: 100_000,
};

const ENGINE_ID = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$/;
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** Parses and checks a host document's JSON text; throws HostDocumentError. */
export function parseHostDocument(text: string, limits: Partial<HostDocumentLimits> = {}): HostDocument {
  const l = { ...DEFAULT_HOST_DOCUMENT_LIMITS, ...limits };
  if (text.length > l.maxChars) throw new HostDocumentError('document', `${text.length} characters, more than ${l.maxChars}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HostDocumentError('document', `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return checkHostDocument(value, l);
}

/**
 * Checks a parsed value is a host document within the limits; throws HostDocumentError. `checked`: a document this
 * function accepted before with the same limits (the full document a diff was applied to); each section of `value`
 * that is the very same object as that document's (addresses, networks, flows, the topology's warnings, nodes and
 * edges, containers, traffic: each is checked on its own) is not walked again, since documents are never changed in
 * place — what a diff did not touch costs nothing.
 */
export function checkHostDocument(value: unknown, limits: Partial<HostDocumentLimits> = {}, checked?: HostDocument): HostDocument {
  const l = { ...DEFAULT_HOST_DOCUMENT_LIMITS, ...limits };
  const c = checker(l);
  const d = c.obj(value, 'document');
  const k = checked as Record<string, unknown> | undefined;
  const known = (key: string) => k !== undefined && d[key] === k[key] && d[key] !== undefined;
  if (d.version !== HOST_DOCUMENT_VERSION) throw new HostDocumentError('version', `expected ${HOST_DOCUMENT_VERSION}, got ${JSON.stringify(d.version)?.slice(0, 40)}`);
  const engineId = c.str(d.engineId, 'engineId');
  if (!ENGINE_ID.test(engineId)) throw new HostDocumentError('engineId', 'not a Docker engine id (letters, digits, : _ . -, at most 128)');
  c.str(d.hostname, 'hostname');
  c.time(d.takenAt, 'takenAt');
  const interval = c.num(d.intervalMs, 'intervalMs');
  if (interval < 100 || interval > 86_400_000) throw new HostDocumentError('intervalMs', 'outside 100 ms … 1 day');
  if (!known('addresses')) c.list(d.addresses, 'addresses', l.maxAddresses).forEach((a, i) => c.str(a, `addresses[${i}]`));
  if (!known('networks')) {
    c.list(d.networks, 'networks', l.maxNetworks).forEach((n, i) => {
      const o = c.obj(n, `networks[${i}]`);
      c.str(o.name, `networks[${i}].name`);
      c.str(o.id, `networks[${i}].id`);
    });
  }
  if (!known('flows')) c.list(d.flows, 'flows', l.maxFlows).forEach((f, i) => checkFlow(c, f, `flows[${i}]`));
  if (d.flowsOmitted !== undefined) c.num(d.flowsOmitted, 'flowsOmitted');
  if (!known('topology')) checkTopology(c, d.topology, l, checked?.topology);
  // Absent from agents older than the section: their containers are shown without sockets.
  if (d.containers !== undefined && !known('containers')) checkContainers(c, d.containers, l);
  if (d.socketsOmitted !== undefined) c.int(d.socketsOmitted, 'socketsOmitted');
  if (d.traffic !== undefined && !known('traffic')) checkTraffic(c, d.traffic, l);
  return value as HostDocument;
}

const SOCKET_STATE_SET = new Set<string>(SOCKET_STATES);
const NETWORK_MODE = /^(bridge|host|none|container:[0-9a-f]{64}|[A-Za-z0-9][A-Za-z0-9_.-]*)$/;

/** A container id of a list: 64 hex digits, not seen before in that list (added to `ids`). */
function uniqueContainerId(c: Checker, v: unknown, path: string, ids: Set<string>): string {
  const id = c.str(v, path);
  if (!CONTAINER_ID.test(id)) throw new HostDocumentError(path, 'not a 64-hex container id');
  if (ids.has(id)) throw new HostDocumentError(path, 'duplicate container id');
  ids.add(id);
  return id;
}

function checkContainers(c: Checker, v: unknown, l: HostDocumentLimits): void {
  const ids = new Set<string>();
  let sockets = 0;
  c.list(v, 'containers', l.maxContainers).forEach((x, i) => {
    const p = `containers[${i}]`;
    const o = c.obj(x, p);
    uniqueContainerId(c, o.id, `${p}.id`, ids);
    c.str(o.name, `${p}.name`);
    c.str(o.image, `${p}.image`);
    if (!NETWORK_MODE.test(c.str(o.networkMode, `${p}.networkMode`))) throw new HostDocumentError(`${p}.networkMode`, 'not a Docker network mode');
    c.int(o.pid, `${p}.pid`);
    c.int(o.netns, `${p}.netns`);
    if (typeof o.ownsNetns !== 'boolean') throw new HostDocumentError(`${p}.ownsNetns`, 'not a boolean');
    if (o.source !== null && o.source !== 'netlink' && o.source !== 'proc') throw new HostDocumentError(`${p}.source`, 'not netlink, proc or null');
    checkNetworksAndPorts(c, o, p);
    const labels = c.obj(o.labels, `${p}.labels`);
    const keys = Object.keys(labels);
    if (keys.length > 64) throw new HostDocumentError(`${p}.labels`, `${keys.length} labels, more than 64`);
    for (const k of keys) {
      // Compose's labels only: anything else could be a secret a host should not have published.
      if (!k.startsWith('com.docker.compose.') || k.length > 256) throw new HostDocumentError(`${p}.labels`, `label ${JSON.stringify(k.slice(0, 64))} is not one of compose's`);
      c.str(labels[k], `${p}.labels.${k}`);
    }
    const list = c.list(o.sockets, `${p}.sockets`, l.maxSockets);
    sockets += list.length;
    if (sockets > l.maxSockets) throw new HostDocumentError(`${p}.sockets`, `more than ${l.maxSockets} sockets in all`);
    list.forEach((y, j) => checkSocket(c, y, `${p}.sockets[${j}]`));
  });
}

/** A container's `networks` and `ports`, as a topology node and the containers section both carry them. */
function checkNetworksAndPorts(c: Checker, o: Record<string, unknown>, p: string): void {
  c.list(o.networks, `${p}.networks`, 64).forEach((y, j) => {
    const net = c.obj(y, `${p}.networks[${j}]`);
    c.str(net.name, `${p}.networks[${j}].name`);
    if (net.ipv4 !== undefined) c.str(net.ipv4, `${p}.networks[${j}].ipv4`);
    if (net.ipv6 !== undefined) c.str(net.ipv6, `${p}.networks[${j}].ipv6`);
  });
  c.list(o.ports, `${p}.ports`, 4_096).forEach((y, j) => {
    const q = `${p}.ports[${j}]`;
    const port = c.obj(y, q);
    c.port(port.containerPort, `${q}.containerPort`);
    c.port(port.hostPort, `${q}.hostPort`);
    c.str(port.hostIp, `${q}.hostIp`);
    if (port.protocol !== 'tcp' && port.protocol !== 'udp' && port.protocol !== 'sctp') throw new HostDocumentError(`${q}.protocol`, 'not tcp, udp or sctp');
  });
}

function checkSocket(c: Checker, v: unknown, p: string): void {
  const s = c.obj(v, p);
  if (s.protocol !== 'tcp' && s.protocol !== 'udp') throw new HostDocumentError(`${p}.protocol`, 'not tcp or udp');
  if (s.family !== 'ipv4' && s.family !== 'ipv6') throw new HostDocumentError(`${p}.family`, 'not ipv4 or ipv6');
  if (typeof s.state !== 'string' || !SOCKET_STATE_SET.has(s.state)) throw new HostDocumentError(`${p}.state`, 'not a socket state');
  for (const end of ['local', 'remote'] as const) {
    const ep = c.obj(s[end], `${p}.${end}`);
    const a = c.str(ep.address, `${p}.${end}.address`);
    // An address goes into tables and JSON templates as it is: only what an address can hold.
    if (a.length > 64 || !/^[0-9A-Fa-f.:*%a-z]*$/.test(a)) throw new HostDocumentError(`${p}.${end}.address`, 'not an address');
    c.port(ep.port, `${p}.${end}.port`);
  }
  c.int(s.inode, `${p}.inode`);
  c.int(s.rxQueue, `${p}.rxQueue`);
  c.int(s.txQueue, `${p}.txQueue`);
  c.list(s.processes, `${p}.processes`, 64).forEach((y, j) => {
    const q = `${p}.processes[${j}]`;
    const o = c.obj(y, q);
    c.int(o.pid, `${q}.pid`);
    c.str(o.command, `${q}.command`);
    if (o.container !== undefined && o.container !== null && !CONTAINER_ID.test(c.str(o.container, `${q}.container`))) throw new HostDocumentError(`${q}.container`, 'not a 64-hex container id or null');
  });
}

const TRAFFIC_COUNTERS = ['rxBytes', 'txBytes', 'rxPackets', 'txPackets', 'rxErrors', 'txErrors', 'rxDropped', 'txDropped'] as const;

function checkTraffic(c: Checker, v: unknown, l: HostDocumentLimits): void {
  const ids = new Set<string>();
  c.list(v, 'traffic', l.maxContainers).forEach((x, i) => {
    const p = `traffic[${i}]`;
    const t = c.obj(x, p);
    uniqueContainerId(c, t.id, `${p}.id`, ids);
    for (const k of TRAFFIC_COUNTERS) c.num(t[k], `${p}.${k}`);
    for (const k of ['rxBytesPerSec', 'txBytesPerSec'] as const) if (t[k] !== undefined) c.num(t[k], `${p}.${k}`);
    if (t.tcp !== undefined) {
      const tcp = c.obj(t.tcp, `${p}.tcp`);
      c.num(tcp.rttMeanMs, `${p}.tcp.rttMeanMs`);
      c.num(tcp.rttMaxMs, `${p}.tcp.rttMaxMs`);
      c.int(tcp.retransmits, `${p}.tcp.retransmits`);
      if (Object.keys(tcp).length !== 3) throw new HostDocumentError(`${p}.tcp`, 'fields other than rttMeanMs, rttMaxMs and retransmits');
    }
    if (t.scope !== 'container' && t.scope !== 'host' && t.scope !== 'shared') throw new HostDocumentError(`${p}.scope`, 'not container, host or shared');
  });
}

type Checker = ReturnType<typeof checker>;

function checker(l: HostDocumentLimits) {
  const fail = (path: string, reason: string): never => { throw new HostDocumentError(path, reason); };
  return {
    obj(v: unknown, path: string): Record<string, unknown> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'not an object');
      return v as Record<string, unknown>;
    },
    list(v: unknown, path: string, max: number): unknown[] {
      if (!Array.isArray(v)) fail(path, 'not a list');
      const a = v as unknown[];
      if (a.length > max) fail(path, `${a.length} items, more than ${max}`);
      return a;
    },
    str(v: unknown, path: string): string {
      if (typeof v !== 'string') fail(path, 'not a string');
      const s = v as string;
      if (s.length > l.maxString) fail(path, `${s.length} characters, more than ${l.maxString}`);
      return s;
    },
    num(v: unknown, path: string): number {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(path, 'not a finite number ≥ 0');
      return v as number;
    },
    int(v: unknown, path: string): number {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'not a whole number ≥ 0');
      return v as number;
    },
    port(v: unknown, path: string): number {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65_535) fail(path, 'not a port');
      return v as number;
    },
    time(v: unknown, path: string): string {
      if (typeof v !== 'string' || v.length > 40 || !Number.isFinite(Date.parse(v))) fail(path, 'not a time');
      return v as string;
    },
  };
}

function checkFlow(c: Checker, v: unknown, path: string): HostFlow {
  const f = c.obj(v, path);
  if (f.protocol !== 'tcp' && f.protocol !== 'udp') throw new HostDocumentError(`${path}.protocol`, 'not tcp or udp');
  for (const side of ['original', 'reply'] as const) {
    const t = c.obj(f[side], `${path}.${side}`);
    c.str(t.src, `${path}.${side}.src`);
    c.str(t.dst, `${path}.${side}.dst`);
    c.port(t.sport, `${path}.${side}.sport`);
    c.port(t.dport, `${path}.${side}.dport`);
  }
  return v as HostFlow;
}

const KINDS = new Set(['container', 'process', 'external', 'host']);

function checkTopology(c: Checker, v: unknown, l: HostDocumentLimits, checked: Topology | undefined): Topology {
  const t = c.obj(v, 'topology');
  c.time(t.takenAt, 'topology.takenAt');
  c.str(t.hostname, 'topology.hostname');
  if (t.hosts !== undefined) throw new HostDocumentError('topology.hosts', 'a host document is one host');
  if (checked === undefined || t.warnings !== checked.warnings) c.list(t.warnings, 'topology.warnings', l.maxWarnings).forEach((w, i) => c.str(w, `topology.warnings[${i}]`));
  // The nodes and edges together (edges name nodes): skipped only when both are the checked document's.
  if (checked !== undefined && t.nodes === checked.nodes && t.edges === checked.edges) return v as Topology;
  const ids = new Set<string>();
  c.list(t.nodes, 'topology.nodes', l.maxNodes).forEach((x, i) => {
    const p = `topology.nodes[${i}]`;
    const n = c.obj(x, p);
    if (typeof n.kind !== 'string' || !KINDS.has(n.kind)) throw new HostDocumentError(`${p}.kind`, 'not a node kind');
    const id = c.str(n.id, `${p}.id`);
    if (ids.has(id)) throw new HostDocumentError(`${p}.id`, 'duplicate node id');
    ids.add(id);
    c.str(n.name, `${p}.name`);
    if (n.host !== undefined) throw new HostDocumentError(`${p}.host`, 'set by the hub, not the host');
    switch (n.kind) {
      case 'container': {
        if (!CONTAINER_ID.test(id)) throw new HostDocumentError(`${p}.id`, 'not a 64-hex container id');
        c.str(n.image, `${p}.image`);
        c.str(n.networkMode, `${p}.networkMode`);
        c.num(n.pid, `${p}.pid`);
        checkNetworksAndPorts(c, n, p);
        if (n.compose !== undefined) {
          const co = c.obj(n.compose, `${p}.compose`);
          if (co.project !== undefined) c.str(co.project, `${p}.compose.project`);
          if (co.service !== undefined) c.str(co.service, `${p}.compose.service`);
        }
        if (n.exitedAt !== undefined) c.time(n.exitedAt, `${p}.exitedAt`);
        break;
      }
      case 'process':
        c.str(n.command, `${p}.command`);
        c.list(n.pids, `${p}.pids`, 4_096).forEach((y, j) => c.num(y, `${p}.pids[${j}]`));
        break;
      case 'external':
        c.str(n.address, `${p}.address`);
        if (id !== `external:${n.address as string}`) throw new HostDocumentError(`${p}.id`, 'not external:<address>');
        if (n.dnsName !== undefined) c.str(n.dnsName, `${p}.dnsName`);
        break;
      default:
        break;
    }
  });
  let details = 0;
  const edgeIds = new Set<string>();
  c.list(t.edges, 'topology.edges', l.maxEdges).forEach((x, i) => {
    const p = `topology.edges[${i}]`;
    const e = c.obj(x, p);
    const id = c.str(e.id, `${p}.id`);
    if (edgeIds.has(id)) throw new HostDocumentError(`${p}.id`, 'duplicate edge id');
    edgeIds.add(id);
    for (const end of ['from', 'to'] as const) {
      const n = c.str(e[end], `${p}.${end}`);
      if (!ids.has(n)) throw new HostDocumentError(`${p}.${end}`, 'names no node of the document');
    }
    if (e.protocol !== 'tcp' && e.protocol !== 'udp') throw new HostDocumentError(`${p}.protocol`, 'not tcp or udp');
    c.port(e.port, `${p}.port`);
    c.num(e.connections, `${p}.connections`);
    const states = c.obj(e.states, `${p}.states`);
    for (const [k, n] of Object.entries(states)) c.num(n, `${p}.states.${k.slice(0, 20)}`);
    c.list(e.via, `${p}.via`, 8).forEach((y, j) => c.str(y, `${p}.via[${j}]`));
    if (e.publishedPorts !== undefined) c.list(e.publishedPorts, `${p}.publishedPorts`, 4_096).forEach((y, j) => c.port(y, `${p}.publishedPorts[${j}]`));
    if (e.details !== undefined) {
      const list = c.list(e.details, `${p}.details`, l.maxDetails);
      details += list.length;
      if (details > l.maxDetails) throw new HostDocumentError(`${p}.details`, `more than ${l.maxDetails} connection details in all`);
      list.forEach((y, j) => {
        const q = `${p}.details[${j}]`;
        const dd = c.obj(y, q);
        c.str(dd.state, `${q}.state`);
        c.str(dd.via, `${q}.via`);
        for (const end of ['client', 'server', 'published'] as const) {
          if (end === 'published' && dd.published === undefined) continue;
          const ep = c.obj(dd[end], `${q}.${end}`);
          c.str(ep.address, `${q}.${end}.address`);
          c.port(ep.port, `${q}.${end}.port`);
        }
        for (const pids of ['clientPids', 'serverPids'] as const) c.list(dd[pids], `${q}.${pids}`, 4_096).forEach((z, k) => c.num(z, `${q}.${pids}[${k}]`));
      });
    }
    if (e.traffic !== undefined) {
      const tr = c.obj(e.traffic, `${p}.traffic`);
      for (const k of ['bytesSent', 'bytesReceived', 'measuredConnections', 'conntrackConnections'] as const) c.num(tr[k], `${p}.traffic.${k}`);
      for (const k of ['bytesSentPerSec', 'bytesReceivedPerSec', 'rttMinMs', 'rttMeanMs', 'rttMaxMs', 'rttP50Ms', 'rttP95Ms', 'retransmits'] as const) {
        if (tr[k] !== undefined) c.num(tr[k], `${p}.traffic.${k}`);
      }
      if (tr.bytesSource !== 'tcp_info' && tr.bytesSource !== 'conntrack' && tr.bytesSource !== 'mixed') throw new HostDocumentError(`${p}.traffic.bytesSource`, 'not tcp_info, conntrack or mixed');
      if (tr.recent !== undefined) {
        const r = c.obj(tr.recent, `${p}.traffic.recent`);
        for (const [k, n] of Object.entries(r)) c.num(n, `${p}.traffic.recent.${k.slice(0, 30)}`);
      }
    }
    if (e.closedAt !== undefined) c.time(e.closedAt, `${p}.closedAt`);
    if (e.sflow !== undefined) c.obj(e.sflow, `${p}.sflow`);
  });
  return v as Topology;
}
