// Fixtures: GET /v1.41/containers/{id}/json recorded verbatim (pretty-printed, nothing trimmed) from the
// dockerd 20.10.24 of the dev machine, containers labelled org.portolan.test=1 and removed after recording:
//   bridge-published-port  docker run -p 18080:80 -p 127.0.0.1:18081:81/udp --expose 9000 … httpd -f -p 80
//   user-network-ipv6      docker network create --ipv6 --subnet 172.31.77.0/24 --subnet fd00:7e57::/64 portolan-fx-v6net
//                          docker run --network portolan-fx-v6net …
//   network-host           docker run --network host …
//   network-container      docker run --network container:portolan-fx-bridge …
//   network-none           docker run --network none …
//   created-not-started    docker create … (Pid 0, zero StartedAt, empty endpoint fields)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { resolveContainerRef, toContainerInfo, toNetworkMode } from './containers.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/docker/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

const BRIDGE_ID = '89cb49cb21ebd73a3f0ab9f54895f8c2d8cfe3a16e2758ce4c0d81bc3f47f0a4';

describe('toContainerInfo on recorded inspect JSON', () => {
  it('maps a default-bridge container with published ports', () => {
    expect(toContainerInfo(fixture('bridge-published-port'))).toEqual({
      id: BRIDGE_ID,
      name: 'portolan-fx-bridge',
      image: 'portolan-test/busybox:1',
      networkMode: { kind: 'bridge', name: 'bridge' },
      pid: 4215,
      networks: [{
        name: 'bridge',
        ipv4: '172.17.0.2',
        gateway: '172.17.0.1',
        networkId: '392e1126dd46e4ff19bf68bbfdbfb90c2346a9a87d0cc04337a96823270402bd',
        macAddress: '02:42:ac:11:00:02',
      }],
      // 9000/tcp is exposed only (null) and is left out; Docker binds 18080 on both 0.0.0.0 and ::.
      ports: [
        { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18080 },
        { containerPort: 80, protocol: 'tcp', hostIp: '::', hostPort: 18080 },
        { containerPort: 81, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 18081 },
      ],
      labels: { 'org.portolan.test': '1' },
      startedAt: '2026-11-21T05:41:30.742652268Z',
    });
  });

  it('maps a container on a user-defined network with IPv6', () => {
    const info = toContainerInfo(fixture('user-network-ipv6'));
    expect(info.name).toBe('portolan-fx-v6');
    expect(info.networkMode).toEqual({ kind: 'bridge', name: 'portolan-fx-v6net' });
    expect(info.networks).toEqual([{
      name: 'portolan-fx-v6net',
      ipv4: '172.31.77.2',
      ipv6: 'fd00:7e57::2',
      gateway: '172.31.77.1',
      ipv6Gateway: 'fd00:7e57::1',
      networkId: '9deb089c01ef0d96d1dd2ce302213f527b0bd246d3025347cd52ee1691eaf76c',
      macAddress: '02:42:ac:1f:4d:02',
    }]);
    expect(info.ports).toEqual([]);
  });

  it('maps --network host: the host network, no addresses of its own', () => {
    const info = toContainerInfo(fixture('network-host'));
    expect(info.networkMode).toEqual({ kind: 'host' });
    expect(info.networks).toEqual([
      { name: 'host', networkId: 'acad62edbff7101f62cb9af0938511e3132101b2e2006ef27b10127978a4dfac' },
    ]);
    expect(info.pid).toBe(4382);
  });

  it('maps --network container:<name> to the id Docker recorded, with no networks of its own', () => {
    const info = toContainerInfo(fixture('network-container'));
    expect(info.name).toBe('portolan-fx-shared');
    expect(info.networkMode).toEqual({ kind: 'container', containerId: BRIDGE_ID });
    expect(info.networks).toEqual([]);
    expect(info.ports).toEqual([]);
  });

  it('maps --network none', () => {
    const info = toContainerInfo(fixture('network-none'));
    expect(info.networkMode).toEqual({ kind: 'none' });
    expect(info.networks.map((n) => n.name)).toEqual(['none']);
    expect(info.networks[0]?.ipv4).toBeUndefined();
  });

  it('maps a never-started container: pid 0, no startedAt, empty endpoint fields dropped', () => {
    const info = toContainerInfo(fixture('created-not-started'));
    expect(info.pid).toBe(0);
    expect(info.startedAt).toBeUndefined();
    expect(info.networks).toEqual([{ name: 'bridge' }]);
  });

  it('resolves the container: reference of the recorded pair', () => {
    const all = ['bridge-published-port', 'network-container', 'network-host', 'network-none', 'user-network-ipv6']
      .map((f) => toContainerInfo(fixture(f)));
    const shared = all.find((c) => c.name === 'portolan-fx-shared');
    if (shared?.networkMode.kind !== 'container') throw new Error('fixture changed');
    expect(resolveContainerRef(shared.networkMode.containerId, all)).toBe(BRIDGE_ID);
  });
});

describe('toNetworkMode', () => {
  it.each([
    ['default', { kind: 'bridge', name: 'bridge' }],
    ['', { kind: 'bridge', name: 'bridge' }],
    ['bridge', { kind: 'bridge', name: 'bridge' }],
    ['my_net', { kind: 'bridge', name: 'my_net' }],
    ['host', { kind: 'host' }],
    ['none', { kind: 'none' }],
    ['container:web', { kind: 'container', containerId: 'web' }],
    [`container:${BRIDGE_ID}`, { kind: 'container', containerId: BRIDGE_ID }],
  ])('%j', (mode, expected) => {
    expect(toNetworkMode(mode)).toEqual(expected);
  });
});

describe('toContainerInfo rejects garbage with a ParseError naming the path', () => {
  const base = (): Record<string, unknown> => fixture('bridge-published-port');
  const cases: [string, (j: Record<string, unknown>) => unknown, RegExp][] = [
    ['not an object', () => 'hello', /\(document\): expected an object, got "hello"/],
    ['an array', () => [], /\(document\): expected an object/],
    ['null', () => null, /expected an object, got null/],
    ['no Id', (j) => ({ ...j, Id: undefined }), /Id: expected a string, got nothing/],
    ['a short Id', (j) => ({ ...j, Id: 'abc' }), /Id: expected a 64-hex container id/],
    ['no State', (j) => ({ ...j, State: undefined }), /container 89cb49cb21eb: State: expected an object/],
    ['a string Pid', (j) => ({ ...j, State: { ...(j.State as object), Pid: '12' } }), /State\.Pid: expected a pid/],
    ['a negative Pid', (j) => ({ ...j, State: { ...(j.State as object), Pid: -1 } }), /State\.Pid/],
    ['a numeric NetworkMode', (j) => ({ ...j, HostConfig: { NetworkMode: 3 } }), /HostConfig\.NetworkMode: expected a string/],
    ['container: with no target', (j) => ({ ...j, HostConfig: { NetworkMode: 'container:' } }), /names no container/],
    ['no Config.Image', (j) => ({ ...j, Config: {} }), /Config\.Image: expected a string/],
    ['Networks as an array', (j) => withSettings(j, { Networks: [] }), /NetworkSettings\.Networks: expected an object/],
    ['a numeric IPAddress', (j) => withSettings(j, { Networks: { bridge: { IPAddress: 7 } } }),
      /Networks\["bridge"\]\.IPAddress: expected a string, got 7/],
    ['a port key without protocol', (j) => withSettings(j, { Ports: { 80: null } }), /Ports\["80"\]: expected a key like/],
    ['an unknown protocol', (j) => withSettings(j, { Ports: { '80/icmp': null } }), /Ports\["80\/icmp"\]/],
    ['bindings as an object', (j) => withSettings(j, { Ports: { '80/tcp': {} } }), /expected an array of bindings or null/],
    ['a non-numeric HostPort', (j) => withSettings(j, { Ports: { '80/tcp': [{ HostIp: '', HostPort: 'x' }] } }),
      /Ports\["80\/tcp"\]\[0\]\.HostPort: expected a port number, got "x"/],
    ['a HostPort out of range', (j) => withSettings(j, { Ports: { '80/tcp': [{ HostIp: '', HostPort: '70000' }] } }),
      /HostPort: expected a port number/],
    ['a numeric label', (j) => ({ ...j, Config: { Image: 'x', Labels: { a: 1 } } }), /Config\.Labels\["a"\]: expected a string/],
  ];
  it.each(cases)('%s', (_name, mutate, message) => {
    let caught: unknown;
    try {
      toContainerInfo(mutate(base()));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect((caught as ParseError).file).toBe('docker:inspect');
    expect((caught as ParseError).message).toMatch(message);
  });

  it('accepts null Networks, Ports and Labels as empty', () => {
    const j = withSettings(base(), { Networks: null, Ports: null });
    const info = toContainerInfo({ ...j, Config: { Image: 'x', Labels: null } });
    expect(info.networks).toEqual([]);
    expect(info.ports).toEqual([]);
    expect(info.labels).toEqual({});
  });
});

describe('resolveContainerRef', () => {
  const a = { id: `abc1${'0'.repeat(60)}`, name: 'web' };
  const b = { id: `abc2${'0'.repeat(60)}`, name: 'db' };
  // A container named like another's id prefix: Docker prefers the name.
  const c = { id: `fff0${'0'.repeat(60)}`, name: 'abc2' };
  const all = [a, b, c];
  it.each([
    ['a full id', a.id, a.id],
    ['container: + full id', `container:${b.id}`, b.id],
    ['a name', 'web', a.id],
    ['container: + name', 'container:db', b.id],
    ['a name with the slash', '/web', a.id],
    ['a unique id prefix', 'abc1', a.id],
    ['a name before an id prefix', 'abc2', c.id],
    ['an ambiguous prefix', 'abc', undefined],
    ['an unknown name', 'container:nope', undefined],
    ['an empty reference', 'container:', undefined],
  ])('%s', (_name, ref, expected) => {
    expect(resolveContainerRef(ref, all)).toBe(expected);
  });
});

function withSettings(j: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  return { ...j, NetworkSettings: { ...(j.NetworkSettings as object), ...patch } };
}
