import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Topology, TopologyEdge } from '../model/topology.js';
import { buildTopology, topologyWarnings } from './build-topology.js';

// Golden files: `UPDATE_GOLDEN=1 npx vitest run --project unit src/core/topology` rewrites them; review the diff.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/topology');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(scenario: string, file: string, actual: Topology): void {
  const p = path.join(FIXTURES, scenario, 'expected', file);
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (UPDATE || !existsSync(p)) {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    if (!UPDATE) throw new Error(`golden file ${p} was missing and has been written: review it and rerun`);
  }
  expect(text).toBe(readFileSync(p, 'utf8'));
}

const load = (scenario: string): Snapshot => JSON.parse(readFileSync(path.join(FIXTURES, scenario, 'snapshot.json'), 'utf8')) as Snapshot;
const withoutConntrack = (s: Snapshot): Snapshot => ({ ...s, conntrack: { status: 'unavailable', reason: 'cannot read /proc/1/net/nf_conntrack: permission denied (run as root)' } });

function edge(t: Topology, from: string, to: string, protocol = 'tcp', port?: number): TopologyEdge {
  const found = t.edges.filter((e) => e.from === from && e.to === to && e.protocol === protocol && (port === undefined || e.port === port));
  expect(found, `one edge ${from} -> ${to} ${protocol}/${port ?? '*'}`).toHaveLength(1);
  return found[0] as TopologyEdge;
}
const clients = (e: TopologyEdge) => (e.details ?? []).map((d) => `${d.client.address}:${d.client.port}`);

describe('buildTopology on the synthetic host', () => {
  const names = new Map([['93.184.216.34', 'example.net']]);
  const t = buildTopology(syntheticSnapshot(), { names });

  it('matches the golden JSON', () => golden('synthetic', 'topology.json', t));

  it('web → api over a user network: two connections, matched socket to socket (v4-mapped server side)', () => {
    const e = edge(t, IDS.web, IDS.api, 'tcp', 8080);
    expect(e).toMatchObject({ id: `${IDS.web}->${IDS.api}/tcp/8080`, connections: 2, states: { ESTABLISHED: 2 }, via: ['socket'] });
    expect(clients(e)).toEqual(['172.18.0.2:50000', '172.18.0.2:50001']);
    expect(e.details?.map((d) => [d.server, d.clientPids, d.serverPids])).toEqual([
      [{ address: '172.18.0.3', port: 8080 }, [1001], [1002]], [{ address: '172.18.0.3', port: 8080 }, [1001], [1002]],
    ]);
  });

  it('IPv6 pair web → db', () => {
    const e = edge(t, IDS.web, IDS.db, 'tcp', 5432);
    expect(e.details?.[0]).toMatchObject({ client: { address: 'fd00:7e57::2', port: 50100 }, server: { address: 'fd00:7e57::4', port: 5432 }, via: 'socket' });
  });

  it('a sidecar in container:api mode is its own node: side → db, not api → db', () => {
    const e = edge(t, IDS.side, IDS.db, 'tcp', 5432);
    expect(e.details?.[0]).toMatchObject({ client: { address: '172.18.0.3', port: 51000 }, clientPids: [1004] });
    expect(t.edges.some((x) => x.from === IDS.api && x.to === IDS.db)).toBe(false);
  });

  it('published port through docker-proxy: one edge from the real client to the container port; docker-proxy never shows', () => {
    const e = edge(t, IDS.hc, IDS.api, 'tcp', 8080);
    expect(e).toMatchObject({ connections: 1, via: ['docker-proxy'], publishedPorts: [18081] });
    expect(e.details?.[0]).toMatchObject({
      client: { address: '127.0.0.1', port: 52000 }, published: { address: '127.0.0.1', port: 18081 },
      server: { address: '172.18.0.3', port: 8080 }, clientPids: [1006], serverPids: [1002],
    });
    expect(t.nodes.filter((n) => n.kind === 'process').map((n) => n.name)).toEqual(['agent', 'curl']);
    expect(t.edges.some((x) => [x.from, x.to].some((id) => id === 'process:docker-proxy' || id === 'process:dockerd'))).toBe(false);
    // The proxy's own leg (gateway → api) is no edge from the host, even in TIME_WAIT with no owner.
    const fromHost = t.edges.filter((x) => x.from === 'host');
    expect(fromHost.map((x) => [x.to, x.connections, x.states])).toEqual([[IDS.api, 1, { TIME_WAIT: 1 }]]);
    expect(clients(fromHost[0] as TopologyEdge)).toEqual(['127.0.0.1:52001']);
  });

  it('published port through iptables DNAT: conntrack names the container and pairs the server socket', () => {
    const e = edge(t, 'process:curl', IDS.dn, 'tcp', 9090);
    expect(e).toMatchObject({ connections: 1, via: ['dnat'], publishedPorts: [19090] });
    expect(e.details?.[0]).toMatchObject({
      client: { address: '192.0.2.2', port: 40000 }, published: { address: '192.0.2.2', port: 19090 },
      server: { address: '172.17.0.7', port: 9090 }, clientPids: [2001], serverPids: [1009],
    });
    expect(t.edges.filter((x) => x.to === IDS.dn)).toHaveLength(1);
  });

  it('UDP sent with sendto: one edge from conntrack, ends named by their bound sockets', () => {
    const e = edge(t, IDS.udpc, IDS.udps, 'udp', 5353);
    expect(e).toMatchObject({ connections: 1, states: { UNREPLIED: 1 }, via: ['conntrack'] });
    expect(e.details?.[0]).toMatchObject({ client: { address: '172.17.0.5', port: 37393 }, clientPids: [1007], serverPids: [1008] });
  });

  it('connected UDP counts once (socket, not again from conntrack)', () => {
    expect(edge(t, IDS.web, IDS.api, 'udp', 8125)).toMatchObject({ connections: 1, states: { ESTABLISHED: 1 }, via: ['address'] });
  });

  it('a container talking to a host process; an external address named by reverse DNS', () => {
    expect(edge(t, IDS.web, 'process:agent', 'tcp', 7000).details?.[0]).toMatchObject({ serverPids: [2002] });
    expect(t.nodes.find((n) => n.id === 'process:agent')).toEqual({ kind: 'process', id: 'process:agent', name: 'agent', command: 'agent', pids: [2002] });
    expect(edge(t, IDS.web, 'external:93.184.216.34', 'tcp', 443).connections).toBe(1);
    expect(t.nodes.find((n) => n.id === 'external:93.184.216.34')).toEqual({
      kind: 'external', id: 'external:93.184.216.34', name: 'example.net', address: '93.184.216.34', dnsName: 'example.net',
    });
  });

  it('nodes: every running container (compose labels, networks), plus only the non-containers that talk to containers', () => {
    expect(t.nodes.map((n) => n.name)).toEqual(['api', 'db', 'dn', 'hc', 'side', 'udpc', 'udps', 'web', 'agent', 'curl', 'vm', 'example.net']);
    expect(t.nodes.find((n) => n.id === IDS.web)).toMatchObject({
      kind: 'container', image: 'example/web:1', compose: { project: 'shop', service: 'web' }, networkMode: 'shop_net',
      networks: [{ name: 'shop_net', ipv4: '172.18.0.2', ipv6: 'fd00:7e57::2' }],
    });
    expect(t.warnings).toEqual([]);
  });

  it('loopback inside a container is no edge, unless asked for', () => {
    expect(t.edges.some((e) => e.from === e.to)).toBe(false);
    const withLoopback = buildTopology(syntheticSnapshot(), { loopback: true });
    expect(edge(withLoopback, IDS.web, IDS.web, 'tcp', 9000)).toMatchObject({ connections: 1 });
    expect(withLoopback.edges.length).toBe(t.edges.length + 1);
  });

  it('details can be left out', () => {
    expect(buildTopology(syntheticSnapshot(), { details: false }).edges.every((e) => e.details === undefined)).toBe(true);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(buildTopology(syntheticSnapshot(), { names }))).toBe(JSON.stringify(t));
  });
});

describe('buildTopology without conntrack', () => {
  const t = buildTopology(syntheticSnapshot({ conntrack: false }));

  it('matches the golden JSON', () => golden('synthetic', 'topology-no-conntrack.json', t));

  it('says so in the warnings', () => {
    expect(t.warnings).toEqual([expect.stringMatching(/^conntrack: cannot read \/proc\/1\/net\/nf_conntrack: permission denied .*UDP flows .*DNAT/)]);
  });

  it('loses the sendto UDP flow, but still resolves the DNAT\'d published port from Docker\'s bindings, pairing by source port', () => {
    expect(t.edges.some((e) => e.protocol === 'udp' && e.port === 5353)).toBe(false);
    const e = edge(t, 'process:curl', IDS.dn, 'tcp', 9090);
    expect(e).toMatchObject({ via: ['port-binding'], connections: 1 });
    expect(e.details?.[0]).toMatchObject({ server: { address: '172.17.0.7', port: 9090 }, serverPids: [1009] });
    expect(t.edges.filter((x) => x.to === IDS.dn)).toHaveLength(1);
  });
});

describe('buildTopology on real captures', () => {
  const scenarios = readdirSync(FIXTURES).filter((d) => existsSync(path.join(FIXTURES, d, 'snapshot.json')));
  it('has captures', () => expect(scenarios).toEqual(expect.arrayContaining(['userland-proxy', 'dnat-second-host'])));

  it.each(scenarios)('%s matches the golden JSON (with and without conntrack)', (scenario) => {
    golden(scenario, 'topology.json', buildTopology(load(scenario)));
    golden(scenario, 'topology-no-conntrack.json', buildTopology(withoutConntrack(load(scenario))));
  });

  const byName = (t: Topology, name: string) => t.nodes.find((n) => n.name === name)?.id ?? `<no node ${name}>`;

  it('userland-proxy: web → api ×2, api → db, side → db, hostc → api through docker-proxy, UDP, host process', () => {
    const t = buildTopology(load('userland-proxy'));
    const n = (x: string) => byName(t, `pt-m-${x}`);
    const summary = t.edges.map((e) => `${t.nodes.find((x) => x.id === e.from)?.name} -> ${t.nodes.find((x) => x.id === e.to)?.name} ${e.protocol}/${e.port} x${e.connections} ${e.via.join(',')}`);
    expect(summary).toEqual([
      'pt-m-api -> pt-m-db tcp/5432 x1 socket',
      'pt-m-hcli -> node tcp/28090 x1 socket',
      'pt-m-hostc -> pt-m-api tcp/8080 x2 docker-proxy',
      'pt-m-side -> pt-m-db tcp/5432 x1 socket',
      'pt-m-usnd -> pt-m-usrv udp/5353 x1 conntrack',
      'pt-m-web -> pt-m-api tcp/8080 x2 socket',
    ]);
    expect(edge(t, n('hostc'), n('api'), 'tcp', 8080).publishedPorts).toEqual([28081]);
    const noCt = buildTopology(withoutConntrack(load('userland-proxy')));
    expect(noCt.edges.length).toBe(t.edges.length - 1);
  });

  it('dnat-second-host: the host-network client and an outside client reach api through DNAT; UDP through DNAT too', () => {
    const t = buildTopology(load('dnat-second-host'));
    const api = byName(t, 'pt-n-api');
    expect(edge(t, byName(t, 'pt-n-hc'), api, 'tcp', 8080)).toMatchObject({ connections: 3, via: ['dnat'], publishedPorts: [28082] });
    expect(edge(t, 'external:10.77.92.1', api, 'tcp', 8080)).toMatchObject({ connections: 1, via: ['dnat'] });
    expect(edge(t, 'external:10.77.92.1', byName(t, 'pt-n-usrv'), 'udp', 5353)).toMatchObject({ via: ['dnat'], publishedPorts: [28083] });
    expect(t.nodes.some((n) => n.kind === 'process' || n.kind === 'host')).toBe(false);
    // Without conntrack, Docker's bindings still name api, and source ports pair the sockets.
    const noCt = buildTopology(withoutConntrack(load('dnat-second-host')));
    expect(edge(noCt, byName(noCt, 'pt-n-hc'), api, 'tcp', 8080)).toMatchObject({ connections: 3, via: ['port-binding'] });
    expect(noCt.edges.filter((e) => e.to === api).map((e) => e.connections)).toEqual([1, 3]);
  });
});

describe('topology warnings about conntrack accounting', () => {
  const withAccounting = (accounting: 'on' | 'off' | 'unknown', accountingReason?: string): Snapshot => {
    const s = syntheticSnapshot();
    if (s.conntrack.status !== 'ok') throw new Error('synthetic conntrack');
    return { ...s, conntrack: { ...s.conntrack, accounting, ...(accountingReason ? { accountingReason } : {}) } };
  };

  it('accounting off: one line saying what has no byte counts and how to enable it', () => {
    const w = buildTopology(withAccounting('off')).warnings;
    expect(w).toEqual([
      'conntrack: byte accounting is off (net.netfilter.nf_conntrack_acct=0): UDP edges and connections that closed between samples have no byte counts; ' +
      'enable it with --conntrack-acct or sysctl -w net.netfilter.nf_conntrack_acct=1 (only flows that start after that are counted)',
    ]);
  });

  it('accounting on: nothing; unknown: the reason; an unreadable table: only the table\'s warning', () => {
    expect(topologyWarnings(withAccounting('on'))).toEqual([]);
    expect(topologyWarnings(withAccounting('unknown', 'setns failed: EPERM'))).toEqual([expect.stringMatching(/^conntrack: cannot tell whether byte accounting is on \(setns failed: EPERM\): .*--conntrack-acct/)]);
    expect(topologyWarnings(syntheticSnapshot({ conntrack: false }))).toEqual([expect.stringMatching(/^conntrack: cannot read \/proc\/1\/net\/nf_conntrack/)]);
  });
});
