import { describe, expect, it } from 'vitest';
import { IDS, syntheticSnapshot } from '../../../test/fixtures/topology/synthetic.js';
import type { Topology } from '../model/topology.js';
import { buildTopology } from '../topology/build-topology.js';
import { nodeLabel, renderGraphDot, renderGraphMermaid, renderGraphText } from './graph.js';

const t = buildTopology(syntheticSnapshot(), { names: new Map([['93.184.216.34', 'example.net']]) });

describe('renderGraphText', () => {
  it('prints one aligned row per edge: from, to, protocol/port, connections, states, resolution', () => {
    expect(renderGraphText(t)).toBe([
      'FROM       TO                           PORT      CONNECTIONS  STATES         VIA',
      'curl@host  dn                           tcp/9090  1            ESTABLISHED=1  dnat (host port 19090)',
      'hc         api                          tcp/8080  1            ESTABLISHED=1  docker-proxy (host port 18081)',
      'side       db                           tcp/5432  1            ESTABLISHED=1  socket',
      'udpc       udps                         udp/5353  1            UNREPLIED=1    conntrack',
      'vm (host)  api                          tcp/8080  1            TIME_WAIT=1    docker-proxy (host port 18081)',
      'web        example.net (93.184.216.34)  tcp/443   1            ESTABLISHED=1  address',
      'web        agent@host                   tcp/7000  1            ESTABLISHED=1  socket',
      'web        api                          tcp/8080  2            ESTABLISHED=2  socket',
      'web        api                          udp/8125  1            ESTABLISHED=1  address',
      'web        db                           tcp/5432  1            ESTABLISHED=1  socket',
      '',
    ].join('\n'));
  });

  it('with traffic: bytes and rates each way, conntrack-counted bytes marked, RTT and retransmits only from tcp_info', () => {
    const withTraffic: Topology = {
      ...t,
      edges: t.edges.flatMap((e) => {
        if (e.id === `${IDS.udpc}->${IDS.udps}/udp/5353`) return [{ ...e, traffic: { bytesSent: 1280, bytesReceived: 0, bytesSentPerSec: 640, bytesReceivedPerSec: 0, bytesSource: 'conntrack' as const, measuredConnections: 0, conntrackConnections: 1 } }];
        if (e.id === `${IDS.side}->${IDS.db}/tcp/5432`) {
          return [{ ...e, traffic: { bytesSent: 6320, bytesReceived: 568, bytesSource: 'mixed' as const, rttMinMs: 0.1, rttMeanMs: 0.2, rttMaxMs: 0.3, retransmits: 2, measuredConnections: 1, conntrackConnections: 1 } }];
        }
        return e.id === `${IDS.web}->${IDS.db}/tcp/5432` ? [e] : [];
      }),
    };
    expect(renderGraphText(withTraffic)).toBe([
      'FROM  TO    PORT      CONNECTIONS  STATES         BYTES                                     RTT MS          RETRANS  VIA',
      'side  db    tcp/5432  1            ESTABLISHED=1  6.3kB → 568B ← [mixed]                    0.10/0.20/0.30  2        socket',
      'udpc  udps  udp/5353  1            UNREPLIED=1    1.3kB → 0B ← (640B/s ↔ 0B/s) [conntrack]  -               -        conntrack',
      'web   db    tcp/5432  1            ESTABLISHED=1  -                                         -               -        socket',
      '',
    ].join('\n'));
  });

  it('prints only the header when nothing talks', () => {
    expect(renderGraphText({ ...t, edges: [] })).toBe('FROM  TO  PORT  CONNECTIONS  STATES  VIA\n');
  });

  it('names nodes by kind', () => {
    expect(t.nodes.map((n) => nodeLabel(n))).toContain('curl@host');
    expect(nodeLabel(undefined, 'gone')).toBe('gone');
  });
});

// A node whose name needs escaping in both languages.
const tricky: Topology = {
  ...t,
  nodes: t.nodes.map((n) => (n.id === IDS.web && n.kind === 'container' ? { ...n, name: 'we"b\\<x>' } : n)),
};

describe('renderGraphDot', () => {
  const dot = renderGraphDot(tricky);
  it('is a digraph with every node and edge, compose projects as clusters, UDP dashed', () => {
    expect(dot.startsWith('digraph portolan {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const n of t.nodes) expect(dot).toContain(`"${n.id}" [label=`);
    expect(dot.match(/ -> /g)).toHaveLength(t.edges.length);
    expect(dot).toContain('subgraph cluster_0 {\n    label="shop"');
    expect(dot).toContain(`"${IDS.udpc}" -> "${IDS.udps}" [label="udp/5353 ×1", style=dashed];`);
    expect(dot).toContain(`"${IDS.hc}" -> "${IDS.api}" [label="tcp/8080 ×1 via :18081"];`);
  });
  it('escapes quotes and backslashes in labels', () => {
    expect(dot).toContain('[label="we\\"b\\\\<x>\\nexample/web:1"');
  });
});

describe('renderGraphMermaid', () => {
  const mmd = renderGraphMermaid(tricky);
  it('is a left-to-right flowchart with short keys, subgraphs per compose project, dotted UDP', () => {
    const lines = mmd.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines.filter((l) => /^\s+n\d+ (-->|-\.->)\|/.test(l))).toHaveLength(t.edges.length);
    expect(mmd).toContain('  subgraph p0["shop"]');
    expect(mmd).toMatch(/n\d+ -\.->\|"udp\/5353 ×1"\| n\d+/);
    expect(mmd).toMatch(/n\d+\(\["curl<br\/>host process 2001"\]\)/);
  });
  it('escapes quotes and angle brackets as entities', () => {
    expect(mmd).toContain('["we#quot;b\\#lt;x#gt;<br/>example/web:1"]');
  });
});

describe('terminal escapes in every renderer', () => {
  // A container labelled and a host process titled by a hostile workload.
  const hostile: Topology = {
    ...t,
    nodes: t.nodes.map((n) => (n.id === IDS.web && n.kind === 'container' ? { ...n, name: 'web\u001b[41mPWNED\u001b[0m' }
      : n.kind === 'process' ? { ...n, command: 'curl\u009b2J\u202e' } : n)),
  };
  it.each([
    ['text', renderGraphText(hostile)],
    ['dot', renderGraphDot(hostile)],
    ['mermaid', renderGraphMermaid(hostile)],
  ])('%s output carries no control or bidi character', (_kind, out) => {
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(out).toContain('x1b[41mPWNED');
  });
});
