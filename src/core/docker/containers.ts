// Pure mappers from Docker Engine API container JSON (GET /containers/{id}/json) to the model.
import { ParseError } from '../errors.js';
import type { ContainerInfo, ContainerNetwork, NetworkMode, PortBinding } from '../model/container.js';

/** The `file` of every ParseError thrown here; the reason names the container and the JSON path. */
export const INSPECT_FILE = 'docker:inspect';

// Docker prints Go's zero time for a container that never started.
const ZERO_TIME = '0001-01-01T00:00:00Z';
const FULL_ID = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

/**
 * Maps one container inspect document (GET /containers/{id}/json) to a ContainerInfo; throws a ParseError
 * (file `docker:inspect`, line 0 = the whole document) naming the JSON path when the shape is not Docker's.
 */
export function toContainerInfo(inspectJson: unknown): ContainerInfo {
  const root = object(inspectJson, '', '(document)');
  const id = string(root.Id, '', 'Id');
  if (!FULL_ID.test(id)) fail('', 'Id', `expected a 64-hex container id, got ${show(id)}`);
  const where = id.slice(0, 12);
  const config = object(root.Config, where, 'Config');
  const state = object(root.State, where, 'State');
  const hostConfig = object(root.HostConfig, where, 'HostConfig');
  const settings = object(root.NetworkSettings, where, 'NetworkSettings');

  const pid = state.Pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) {
    fail(where, 'State.Pid', `expected a pid (integer >= 0), got ${show(pid)}`);
  }
  const startedAt = optionalString(state.StartedAt, where, 'State.StartedAt');
  const modeText = string(hostConfig.NetworkMode, where, 'HostConfig.NetworkMode');
  const networkMode = toNetworkMode(modeText);
  if (networkMode.kind === 'container' && networkMode.containerId === '') {
    fail(where, 'HostConfig.NetworkMode', `${show(modeText)} names no container`);
  }

  return {
    id,
    name: string(root.Name, where, 'Name').replace(/^\//, ''),
    image: string(config.Image, where, 'Config.Image'),
    networkMode,
    pid,
    networks: toNetworks(settings.Networks, where),
    ports: toPorts(settings.Ports, where),
    labels: toLabels(config.Labels, where),
    ...(startedAt !== undefined && startedAt !== ZERO_TIME ? { startedAt } : {}),
  };
}

/** The file of every ParseError about a list entry (GET /containers/json). */
export const LIST_FILE = 'docker:list';

/**
 * Maps one entry of the container list (GET /containers/json) to the ContainerInfo its inspect would give, with
 * `pid` (the list has none: see collectors/container-inits.ts). Undefined when the entry cannot answer exactly as
 * the inspect would — a container not running, an image shown as its id (the list does so when the name no longer
 * points at the container's image), no single own name (legacy links add `/other/alias` names), a part missing —
 * so that the caller inspects it. A part of the wrong type throws a ParseError (file `docker:list`).
 * The list carries no start time: `startedAt` is left out.
 */
export function toContainerInfoFromList(entry: unknown, pid: number): ContainerInfo | undefined {
  const root = object(entry, '', '(list entry)', LIST_FILE);
  const id = string(root.Id, '', 'Id', LIST_FILE);
  if (!FULL_ID.test(id)) fail('', 'Id', `expected a 64-hex container id, got ${show(id)}`, LIST_FILE);
  const where = id.slice(0, 12);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (root.State !== 'running') return undefined;
  if (!Array.isArray(root.Names)) return undefined;
  const own = root.Names.filter((n): n is string => typeof n === 'string' && /^\/[^/]+$/.test(n));
  if (own.length !== 1 || own[0] === undefined) return undefined;
  const image = optionalString(root.Image, where, 'Image', LIST_FILE);
  if (image === undefined || image.startsWith('sha256:')) return undefined;
  if (root.HostConfig === undefined || root.NetworkSettings === undefined) return undefined;
  const hostConfig = object(root.HostConfig, where, 'HostConfig', LIST_FILE);
  const settings = object(root.NetworkSettings, where, 'NetworkSettings', LIST_FILE);
  const modeText = optionalString(hostConfig.NetworkMode, where, 'HostConfig.NetworkMode', LIST_FILE);
  if (modeText === undefined) return undefined;
  const networkMode = toNetworkMode(modeText);
  if (networkMode.kind === 'container' && networkMode.containerId === '') return undefined;
  if (root.Ports === undefined) return undefined;
  return {
    id,
    name: own[0].slice(1),
    image,
    networkMode,
    pid,
    networks: toNetworks(settings.Networks, where, LIST_FILE),
    ports: toListPorts(root.Ports, where),
    labels: toLabels(root.Labels, where, 'Labels', LIST_FILE),
  };
}

/**
 * The list's ports (`{IP, PrivatePort, PublicPort, Type}`, one per binding, in no set order) in the inspect's
 * order: by `port/proto` key as Go sorts map keys (bytewise), each key's bindings in their own order. An entry
 * without PublicPort is exposed, not published, as an inspect's `null` bindings.
 */
function toListPorts(value: unknown, where: string): PortBinding[] {
  if (value === null) return [];
  if (!Array.isArray(value)) fail(where, 'Ports', `expected an array, got ${show(value)}`, LIST_FILE);
  const keyed: { key: string; binding: PortBinding }[] = [];
  value.forEach((raw, i) => {
    const path = `Ports[${i}]`;
    const p = object(raw, where, path, LIST_FILE);
    const type = p.Type;
    if (type !== 'tcp' && type !== 'udp' && type !== 'sctp') fail(where, `${path}.Type`, `expected tcp, udp or sctp, got ${show(type)}`, LIST_FILE);
    const containerPort = p.PrivatePort;
    if (typeof containerPort !== 'number' || !isPort(containerPort)) fail(where, `${path}.PrivatePort`, `expected a port number, got ${show(containerPort)}`, LIST_FILE);
    if (p.PublicPort === undefined || p.PublicPort === null) return;
    const hostPort = p.PublicPort;
    if (typeof hostPort !== 'number' || !isPort(hostPort)) fail(where, `${path}.PublicPort`, `expected a port number, got ${show(hostPort)}`, LIST_FILE);
    const hostIp = optionalString(p.IP, where, `${path}.IP`, LIST_FILE) ?? '';
    keyed.push({ key: `${containerPort}/${type}`, binding: { containerPort, protocol: type, hostIp: hostIp === '' ? '0.0.0.0' : hostIp, hostPort } });
  });
  // Array.prototype.sort is stable: a key's bindings keep their order.
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((k) => k.binding);
}

/** Maps HostConfig.NetworkMode to a NetworkMode: `default`/`bridge`/any other name is a bridge-kind network. */
export function toNetworkMode(mode: string): NetworkMode {
  // '' appears on containers created by very old engines; Docker treats it as the default network.
  if (mode === 'default' || mode === '') return { kind: 'bridge', name: 'bridge' };
  if (mode === 'host') return { kind: 'host' };
  if (mode === 'none') return { kind: 'none' };
  // Docker stores what `--network container:<x>` resolved to (a full id on 20.10), but older records
  // may hold a name or a short id: keep it as given and let resolveContainerRef find the container.
  if (mode.startsWith('container:')) return { kind: 'container', containerId: mode.slice('container:'.length) };
  return { kind: 'bridge', name: mode };
}

/**
 * Resolves a container reference (`container:<x>` or `<x>`: full id, name with or without the slash, or a
 * unique id prefix) to a full id the way Docker does (id, then name, then prefix); undefined if none or ambiguous.
 */
export function resolveContainerRef(
  ref: string,
  containers: readonly Pick<ContainerInfo, 'id' | 'name'>[],
): string | undefined {
  const key = ref.replace(/^container:/, '').replace(/^\//, '');
  if (key === '') return undefined;
  const byId = containers.find((c) => c.id === key);
  if (byId) return byId.id;
  const byName = containers.find((c) => c.name === key);
  if (byName) return byName.id;
  if (!/^[0-9a-f]+$/.test(key)) return undefined;
  const matches = new Set(containers.filter((c) => c.id.startsWith(key)).map((c) => c.id));
  return matches.size === 1 ? [...matches][0] : undefined;
}

function toNetworks(value: unknown, where: string, file = INSPECT_FILE): ContainerNetwork[] {
  if (value === null || value === undefined) return [];
  const networks = object(value, where, 'NetworkSettings.Networks', file);
  return Object.entries(networks).map(([name, raw]) => {
    const path = `NetworkSettings.Networks[${show(name)}]`;
    const n = object(raw, where, path, file);
    const field = (key: string): string | undefined => {
      const v = optionalString(n[key], where, `${path}.${key}`, file);
      return v === '' ? undefined : v;
    };
    const ipv4 = field('IPAddress');
    const ipv6 = field('GlobalIPv6Address');
    const gateway = field('Gateway');
    const ipv6Gateway = field('IPv6Gateway');
    const networkId = field('NetworkID');
    const macAddress = field('MacAddress');
    return {
      name,
      ...(ipv4 !== undefined ? { ipv4 } : {}),
      ...(ipv6 !== undefined ? { ipv6 } : {}),
      ...(gateway !== undefined ? { gateway } : {}),
      ...(ipv6Gateway !== undefined ? { ipv6Gateway } : {}),
      ...(networkId !== undefined ? { networkId } : {}),
      ...(macAddress !== undefined ? { macAddress } : {}),
    };
  });
}

function toPorts(value: unknown, where: string): PortBinding[] {
  if (value === null || value === undefined) return [];
  const ports = object(value, where, 'NetworkSettings.Ports');
  const out: PortBinding[] = [];
  for (const [key, bindings] of Object.entries(ports)) {
    const path = `NetworkSettings.Ports[${show(key)}]`;
    const m = /^(\d+)\/(tcp|udp|sctp)$/.exec(key);
    const containerPort = m ? Number(m[1]) : NaN;
    if (!m || !isPort(containerPort)) fail(where, path, 'expected a key like "80/tcp", "53/udp" or "9/sctp"');
    const protocol = m[2] as PortBinding['protocol'];
    // null = exposed but not published.
    if (bindings === null) continue;
    if (!Array.isArray(bindings)) fail(where, path, `expected an array of bindings or null, got ${show(bindings)}`);
    bindings.forEach((raw, i) => {
      const b = object(raw, where, `${path}[${i}]`);
      const hostIp = optionalString(b.HostIp, where, `${path}[${i}].HostIp`) ?? '';
      const portText = string(b.HostPort, where, `${path}[${i}].HostPort`);
      const hostPort = /^\d+$/.test(portText) ? Number(portText) : NaN;
      if (!isPort(hostPort)) fail(where, `${path}[${i}].HostPort`, `expected a port number, got ${show(portText)}`);
      out.push({ containerPort, protocol, hostIp: hostIp === '' ? '0.0.0.0' : hostIp, hostPort });
    });
  }
  return out;
}

function toLabels(value: unknown, where: string, at = 'Config.Labels', file = INSPECT_FILE): Record<string, string> {
  if (value === null || value === undefined) return {};
  const labels = object(value, where, at, file);
  for (const [key, v] of Object.entries(labels)) {
    if (typeof v !== 'string') fail(where, `${at}[${show(key)}]`, `expected a string, got ${show(v)}`, file);
  }
  return { ...(labels as Record<string, string>) };
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

function object(value: unknown, where: string, path: string, file = INSPECT_FILE): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, path, `expected an object, got ${show(value)}`, file);
  }
  return value as Json;
}

function string(value: unknown, where: string, path: string, file = INSPECT_FILE): string {
  if (typeof value !== 'string') fail(where, path, `expected a string, got ${show(value)}`, file);
  return value;
}

function optionalString(value: unknown, where: string, path: string, file = INSPECT_FILE): string | undefined {
  if (value === undefined || value === null) return undefined;
  return string(value, where, path, file);
}

function fail(where: string, path: string, reason: string, file = INSPECT_FILE): never {
  const subject = where === '' ? 'container' : `container ${where}`;
  throw new ParseError(file, 0, `${subject}: ${path}: ${reason}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
