// /metrics families added for dashboards: container _info, whose counters a container's traffic is, LISTEN counts
// without Docker's DNS, edge labels that name both ends alike, and per-edge RTT and retransmits.
import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { scriptedCollection } from '../../test/fixtures/agent/fake-collection.js';
import { HOST_NS, IDS, syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent } from '../agent/loop.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { RawSocket, TcpInfo } from '../core/model/socket.js';
import type { InterfaceCounters } from '../core/model/traffic.js';
import { buildApp } from './app.js';

const tcpInfo = (rttMs: number, retransmits: number): TcpInfo => ({
  bytesSent: 1000, bytesRetrans: 0, bytesReceived: 2000, bytesAcked: 1000, rttMs, rttVarMs: 0, minRttMs: rttMs, retransmits,
  deliveryRateBps: 0, segsOut: 10, segsIn: 10, lastSendMs: 0, lastReceiveMs: 0,
});
const eth = (rxBytes: number): InterfaceCounters => ({ name: 'eth0', rxBytes, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 7, txPackets: 1, txErrors: 0, txDropped: 0 });

/** The synthetic host with tcp_info on web → api (RTT 2 ms and 4 ms, 1 + 2 retransmits), interface counters and Docker's DNS in db. */
function snapshot(retransA: number, retransB: number): Snapshot {
  const s = syntheticSnapshot();
  const dns: RawSocket[] = [
    { protocol: 'tcp', family: 'ipv4', state: 'LISTEN', local: { address: '127.0.0.11', port: 40811 }, remote: { address: '0.0.0.0', port: 0 }, inode: 351, uid: 0, txQueue: 0, rxQueue: 0 },
    { protocol: 'udp', family: 'ipv4', state: 'UNCONN', local: { address: '127.0.0.11', port: 53219 }, remote: { address: '0.0.0.0', port: 0 }, inode: 352, uid: 0, txQueue: 0, rxQueue: 0 },
  ];
  return {
    ...s,
    sockets: s.sockets.map((t) => ({
      ...t,
      sockets: [...t.sockets.map((x) => (x.inode === 101 ? { ...x, tcp: tcpInfo(2, retransA) } : x.inode === 102 ? { ...x, tcp: tcpInfo(4, retransB) } : x)), ...(t.netns === 103 ? dns : [])],
    })),
    processes: s.processes.map((p) => (p.command === 'dockerd' ? { ...p, socketInodes: [...p.socketInodes, 351, 352] } : p)),
    netdev: [101, 102, 103, HOST_NS].map((netns) => ({ netns, readAtMs: 0, interfaces: [eth(netns === HOST_NS ? 999 : netns)] })),
  };
}

async function metricsOf(steps: Snapshot[]): Promise<string> {
  const agent = createAgent({ collection: scriptedCollection(steps), logger: pino({ level: 'silent' }), intervalMs: 2000 });
  for (let i = 0; i < steps.length; i++) await agent.collectNow();
  const app = await buildApp(agent, { metrics: { defaultMetrics: false } });
  try {
    return (await app.inject({ url: '/metrics' })).body;
  } finally {
    await app.close();
  }
}

describe('/metrics for dashboards', () => {
  it('portolan_container_info: image, compose project and service, network mode (a shared namespace names its owner\'s id)', async () => {
    const text = await metricsOf([snapshot(0, 0)]);
    expect(text).toContain('portolan_container_info{container="api",id="bbbbbbbbbbbb",image="example/api:1",compose_project="shop",compose_service="api",network_mode="shop_net"} 1');
    expect(text).toContain('portolan_container_info{container="side",id="dddddddddddd",image="example/side:1",compose_project="",compose_service="",network_mode="container:bbbbbbbbbbbb"} 1');
    expect(text).toContain('portolan_container_info{container="hc",id="eeeeeeeeeeee",image="example/hc:1",compose_project="",compose_service="",network_mode="host"} 1');
  });

  it('network counters say whose they are: own, shared (the owner\'s again) or host — summing scope="own" counts each interface once', async () => {
    const text = await metricsOf([snapshot(0, 0)]);
    expect(text).toContain('portolan_container_network_receive_bytes_total{container="api",id="bbbbbbbbbbbb",scope="own"} 102');
    expect(text).toContain('portolan_container_network_receive_bytes_total{container="side",id="dddddddddddd",scope="shared"} 102');
    expect(text).toContain('portolan_container_network_receive_bytes_total{container="hc",id="eeeeeeeeeeee",scope="host"} 999');
    const own = [...text.matchAll(/^portolan_container_network_receive_bytes_total\{[^}]*scope="own"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(own).toBe(101 + 102 + 103);
  });

  it('LISTEN and UNCONN counts leave Docker\'s embedded DNS sockets out', async () => {
    const text = await metricsOf([snapshot(0, 0)]);
    expect(text).toContain('portolan_container_sockets{container="db",id="cccccccccccc",protocol="tcp",state="LISTEN"} 2');
    expect(text).not.toMatch(/portolan_container_sockets\{container="db",id="cccccccccccc",protocol="udp"/);
  });

  it('edges name both ends alike: name, id and kind, for containers, host processes, the host and external addresses', async () => {
    const text = await metricsOf([snapshot(0, 0)]);
    expect(text).toContain('portolan_edge_connections{from="web",from_id="aaaaaaaaaaaa",from_kind="container",to="api",to_id="bbbbbbbbbbbb",to_kind="container",protocol="tcp",port="8080"} 2');
    expect(text).toContain('portolan_edge_connections{from="web",from_id="aaaaaaaaaaaa",from_kind="container",to="agent",to_id="process:agent",to_kind="process",protocol="tcp",port="7000"} 1');
    expect(text).toContain('portolan_edge_connections{from="web",from_id="aaaaaaaaaaaa",from_kind="container",to="93.184.216.34",to_id="external:93.184.216.34",to_kind="external",protocol="tcp",port="443"} 1');
  });

  it('per-edge RTT statistics over its connections and a retransmit counter that only grows', async () => {
    const text = await metricsOf([snapshot(1, 2), snapshot(3, 2)]);
    const edge = 'from="web",from_id="aaaaaaaaaaaa",from_kind="container",to="api",to_id="bbbbbbbbbbbb",to_kind="container",protocol="tcp",port="8080"';
    expect(text).toContain(`portolan_edge_rtt_seconds{${edge},stat="min"} 0.002`);
    expect(text).toContain(`portolan_edge_rtt_seconds{${edge},stat="p50"} 0.002`);
    expect(text).toContain(`portolan_edge_rtt_seconds{${edge},stat="max"} 0.004`);
    // 1 + 2 at the first sample, then 2 more on the first connection.
    expect(text).toContain(`portolan_edge_retransmits_total{${edge}} 5`);
    // No tcp_info, no RTT series (rather than zeros).
    expect(text).not.toMatch(/portolan_edge_rtt_seconds\{from="web",[^}]*to="db"/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error) throw new Error(`promtool (Debian package prometheus, installed by scripts/ensure-docker.sh) is needed: ${promtool.error.message}`);
    expect(promtool.stdout + promtool.stderr).toBe('');
    expect(IDS.api.slice(0, 12)).toBe('bbbbbbbbbbbb');
  });
});
