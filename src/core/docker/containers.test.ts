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
import { LIST_FILE, resolveContainerRef, toContainerInfo, toContainerInfoFromList, toNetworkMode } from './containers.js';

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

describe('toContainerInfoFromList (GET /containers/json entry + a pid found in /proc)', () => {
  // The e2e tree's recorded list and inspects of the same seven containers (every network mode, a published port).
  const tree = new URL('../../../test/fixtures/e2e/tree/docker/', import.meta.url);
  const list = JSON.parse(readFileSync(new URL('containers.json', tree), 'utf8')) as Record<string, unknown>[];
  const inspectOf = (id: string) => JSON.parse(readFileSync(new URL(`inspect/${id}.json`, tree), 'utf8')) as { State: { Pid: number } };

  it('gives what the inspect gives (but the start time, which the list lacks) for every recorded container', () => {
    expect(list.length).toBe(7);
    for (const entry of list) {
      const inspect = inspectOf(entry['Id'] as string);
      const { startedAt: _s, ...fromInspect } = toContainerInfo(inspect);
      expect(toContainerInfoFromList(entry, inspect.State.Pid)).toEqual(fromInspect);
    }
  });

  const web = () => structuredClone(list.find((e) => (e['Names'] as string[])[0] === '/e2e15578-web')) as Record<string, unknown>;

  it('orders published ports as the inspect does (by port/proto key, bindings in order) and skips exposed-only ones', () => {
    const e = { ...web(), Ports: [
      { IP: '::', PrivatePort: 8080, PublicPort: 32921, Type: 'tcp' },
      { PrivatePort: 9000, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      { IP: '', PrivatePort: 8080, PublicPort: 32920, Type: 'tcp' },
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
    ] };
    expect(toContainerInfoFromList(e, 42)?.ports).toEqual([
      { containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0', hostPort: 5353 },
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 18080 },
      { containerPort: 8080, protocol: 'tcp', hostIp: '::', hostPort: 32921 },
      { containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32920 },
    ]);
  });

  it.each([
    ['an image shown as its id (the name now points elsewhere)', { Image: 'sha256:b057d8cdf6b6' }],
    ['two names of its own', { Names: ['/e2e15578-web', '/web2'] }],
    ['only link names', { Names: ['/other/web'] }],
    ['no names', { Names: undefined }],
    ['not running', { State: 'restarting' }],
    ['paused', { State: 'paused' }],
    ['no HostConfig', { HostConfig: undefined }],
    ['no network mode', { HostConfig: {} }],
    ['no NetworkSettings', { NetworkSettings: undefined }],
    ['no Ports', { Ports: undefined }],
    ['no image', { Image: undefined }],
  ])('leaves to the inspect a container with %s', (_name, change) => {
    expect(toContainerInfoFromList({ ...web(), ...change }, 42)).toBeUndefined();
  });

  it('takes the own name, not the link aliases (`/other/alias`) a legacy link adds', () => {
    expect(toContainerInfoFromList({ ...web(), Names: ['/other/alias', '/e2e15578-web'] }, 42)?.name).toBe('e2e15578-web');
  });

  it('leaves to the inspect a pid that is no pid', () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(toContainerInfoFromList(web(), pid)).toBeUndefined();
  });

  it.each([
    ['a non-object entry', 'x', /container: \(list entry\): expected an object/],
    ['a short id', { Id: 'abc' }, /Id: expected a 64-hex container id/],
    ['ports not an array', { Ports: {} }, /Ports: expected an array/],
    ['a port entry not an object', { Ports: [7] }, /Ports\[0\]: expected an object/],
    ['an unknown port type', { Ports: [{ PrivatePort: 80, PublicPort: 80, Type: 'icmp' }] }, /Ports\[0\].Type: expected tcp, udp or sctp/],
    ['a port out of range', { Ports: [{ PrivatePort: 70000, PublicPort: 80, Type: 'tcp' }] }, /Ports\[0\].PrivatePort: expected a port number/],
    ['a public port that is text', { Ports: [{ PrivatePort: 80, PublicPort: '80', Type: 'tcp' }] }, /Ports\[0\].PublicPort: expected a port number/],
    ['a host address that is no string', { Ports: [{ IP: 1, PrivatePort: 80, PublicPort: 80, Type: 'tcp' }] }, /Ports\[0\].IP: expected a string/],
    ['a label that is no string', { Labels: { a: 1 } }, /Labels\["a"\]: expected a string/],
    ['networks that are no object', { NetworkSettings: { Networks: [] } }, /NetworkSettings.Networks: expected an object/],
    ['a network mode that is no string', { HostConfig: { NetworkMode: 5 } }, /HostConfig.NetworkMode: expected a string/],
    ['an image that is no string', { Image: 5 }, /Image: expected a string/],
  ])('refuses %s with a ParseError of the list', (_name, change, message) => {
    const entry = typeof change === 'string' ? change : { ...web(), ...change };
    let caught: unknown;
    try {
      toContainerInfoFromList(entry, 42);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect((caught as ParseError).file).toBe(LIST_FILE);
    expect((caught as Error).message).toMatch(message);
  });
});
