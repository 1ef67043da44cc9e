import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import type { Topology, TopologyEdge } from '../core/model/topology.js';
import { buildTopology } from '../core/topology/build-topology.js';
import { filterChoices, matchesNode, NO_FILTER, parseQuery, visibleElements } from './filter.js';

const t = buildTopology(syntheticSnapshot());
const node = (id: string) => {
  const n = t.nodes.find((x) => x.id === id);
  if (!n) throw new Error(id);
  return n;
};
const names = (ids: ReadonlySet<string>) => t.nodes.filter((n) => ids.has(n.id)).map((n) => n.name).sort();

describe('parseQuery', () => {
  it('splits free words from net:, project:, label: and kind: terms', () => {
    expect(parseQuery('  API net:shop_net project:shop label:tier=web label:team kind:External x: ')).toEqual({
      words: ['api', 'x:'], networks: ['shop_net'], projects: ['shop'], labels: [{ key: 'tier', value: 'web' }, { key: 'team' }], kinds: ['external'],
    });
    expect(parseQuery('')).toEqual({ words: [], networks: [], projects: [], labels: [], kinds: [] });
  });
});

describe('matchesNode', () => {
  it.each([
    ['web', IDS.web, true],
    ['example/db', IDS.db, true],
    ['172.18.0.3', IDS.api, true],
    [IDS.api.slice(0, 12), IDS.api, true],
    ['web net:shop_net project:shop', IDS.web, true],
    ['net:bridge', IDS.web, false],
    ['project:shop', IDS.udpc, false],
    ['curl', 'process:curl', true],
    ['project:shop', 'process:curl', false],
    ['kind:external', 'external:93.184.216.34', true],
    ['kind:container 93.184', 'external:93.184.216.34', false],
  ])('%s matches %s: %s', (q, id, want) => {
    expect(matchesNode(node(id), parseQuery(q))).toBe(want);
  });

  it('labels come from the containers list', () => {
    expect(matchesNode(node(IDS.web), parseQuery('label:tier=front'), { tier: 'front' })).toBe(true);
    expect(matchesNode(node(IDS.web), parseQuery('label:tier=back'), { tier: 'front' })).toBe(false);
    expect(matchesNode(node(IDS.web), parseQuery('label:tier'), { tier: 'front' })).toBe(true);
    expect(matchesNode(node(IDS.web), parseQuery('label:tier'), {})).toBe(false);
  });
});

describe('visibleElements', () => {
  it('no filter: everything', () => {
    const v = visibleElements(t, NO_FILTER);
    expect(v.nodes.size).toBe(t.nodes.length);
    expect(v.edges.size).toBe(t.edges.length);
  });

  it('a search shows the matches with all their edges and the peers at the other end', () => {
    const v = visibleElements(t, { ...NO_FILTER, query: 'db' });
    expect(names(v.nodes)).toEqual(['db', 'side', 'web']);
    expect([...v.edges].sort()).toEqual([`${IDS.side}->${IDS.db}/tcp/5432`, `${IDS.web}->${IDS.db}/tcp/5432`].sort());
  });

  it('network and project menus', () => {
    // The project, and whom it talks to (the external address, the host process, the host, hc and the sidecar).
    expect(names(visibleElements(t, { ...NO_FILTER, project: 'shop' }).nodes)).toEqual(['93.184.216.34', 'agent', 'api', 'db', 'hc', 'side', 'vm', 'web']);
    const bridge = visibleElements(t, { ...NO_FILTER, network: 'bridge' });
    expect(names(bridge.nodes)).toEqual(['curl', 'dn', 'udpc', 'udps']);
  });

  it('hide idle: edges measured at 0 B/s go, and nodes left without edges', () => {
    const idle = (e: TopologyEdge): TopologyEdge => ({ ...e, traffic: { bytesSent: 1, bytesReceived: 1, bytesSentPerSec: 0, bytesReceivedPerSec: 0, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0, retransmits: 0 } });
    const t2: Topology = { ...t, edges: t.edges.map((e) => (e.from === IDS.web ? idle(e) : e)) };
    const v = visibleElements(t2, { ...NO_FILTER, hideIdle: true });
    expect([...v.edges].some((id) => id.startsWith(`${IDS.web}->`))).toBe(false);
    expect(v.nodes.has(IDS.web)).toBe(false);
    // Unmeasured edges stay (no figures is not idleness).
    expect(v.edges.has(`${IDS.hc}->${IDS.api}/tcp/8080`)).toBe(true);
  });

  it('focus: one node and its neighbours', () => {
    const v = visibleElements(t, { ...NO_FILTER, focus: IDS.api });
    expect(names(v.nodes)).toEqual(['api', 'hc', 'vm', 'web']);
    expect([...v.edges].every((id) => id.includes(IDS.api))).toBe(true);
    // A focus on something filtered out is ignored.
    expect(visibleElements(t, { ...NO_FILTER, query: 'udps', focus: IDS.api }).nodes.has(IDS.api)).toBe(false);
  });

  it('filterChoices lists the networks and projects present', () => {
    expect(filterChoices(t)).toEqual({ networks: ['bridge', 'host', 'shop_net'], projects: ['shop'] });
  });
});
