// hsflowd's Docker module, captured for real (test/fixtures/sflow/hsflowd-docker.pcap, with the inventory at
// capture time in hsflowd-docker.containers.json): the whole receive path — decode, accumulate, attribute,
// estimate, merge into the topology — over its 120 datagrams, against golden files.
// `UPDATE_GOLDEN=1 npx vitest run --project unit src/core/sflow` rewrites them; review the diff.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hsflowdCapture, SFLOW_FIXTURES as DIR } from '../../../test/fixtures/sflow/hsflowd.js';
import { attributeSockets } from '../attribute.js';
import type { EdgeSflow } from '../model/topology.js';
import { parseSflowDatagram, type SflowDatagram, type SflowFlowRecord } from '../parse/sflow.js';
import { buildTopology } from '../topology/build-topology.js';
import { sflowContainerCounters } from './containers.js';
import { applySflow } from './merge.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(file: string, text: string): void {
  const p = path.join(DIR, 'expected', file);
  if (UPDATE || !existsSync(p)) {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    if (!UPDATE) throw new Error(`golden file ${p} was missing and has been written: review it and rerun`);
  }
  expect(text).toBe(readFileSync(p, 'utf8'));
}
const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

const { payloads, containers, part, snapshot, lastMs } = hsflowdCapture();
const attribution = attributeSockets(snapshot);
const { topology } = applySflow(buildTopology(snapshot, {}, attribution), snapshot, attribution, undefined);
const idOf = (name: string) => containers.find((c) => c.name === name)?.id ?? name;

describe('hsflowd capture: decode, attribute, estimate', () => {
  it('decodes to the golden sample listing (one line per sample, like tcpdump -v)', () => {
    golden('hsflowd-docker-decoded.txt', payloads.map((p) => describeDatagram(parseSflowDatagram(p.payload))).join(''));
  });

  it('agent status: 120 datagrams, no loss, sampling rate 1 on the bridge (source 0:4)', () => {
    golden('hsflowd-docker-status.json', json({ agents: part.agents, receiver: part.receiver }));
    expect(part.agents).toHaveLength(1);
    expect(part.agents[0]).toMatchObject({
      agent: '10.78.0.1', subAgentId: 100000, datagrams: 120, flowSamples: 690, counterSamples: 30, lostDatagrams: 0, reorderedDatagrams: 0,
      restarts: 0, lastSequence: 120, samplingRates: [1], sources: [{ source: '0:4', samplingRate: 1, flowSamples: 690, lostSamples: 0 }],
    });
  });

  it('the three containers\' counters, mapped by the id prefix in host_descr', () => {
    const counters = sflowContainerCounters(part, containers);
    golden('hsflowd-docker-containers.json', json(counters));
    expect(counters.map((c) => [c.name, c.containerId, c.source, c.parent])).toEqual([
      ['shop-api', idOf('shop-api'), '3:132530', '2:1'], ['shop-db', idOf('shop-db'), '3:138958', '2:1'], ['shop-web', idOf('shop-web'), '3:144023', '2:1'],
    ]);
    expect(counters.find((c) => c.name === 'shop-web')).toMatchObject({ rxBytes: 10428, rxPackets: 150, txBytes: 14322, txPackets: 211 });
  });

  it('virt_net_io bytes_in is what the container received: its frames on the bridge (sampled at rate 1) match the counters', () => {
    // Between a container's first and last counter sample, the frames to and from its MAC on the bridge add up
    // to its counters' deltas, up to a few packets at the two edges of the window (the counters and the flow
    // samples are read at slightly different instants). Swapped directions would be off by 25-45 %.
    for (const c of containers) {
      const polls: { uptime: number; rx: number; tx: number }[] = [];
      const frames: { uptime: number; rx: number; tx: number }[] = [];
      for (const p of payloads) {
        const d = parseSflowDatagram(p.payload);
        for (const s of d.samples) {
          if (s.kind === 'counters') {
            const names = s.records.some((r) => r.kind === 'host-descr' && r.hostname === c.name);
            const nio = s.records.find((r) => r.kind === 'virt-net-io');
            if (names && nio?.kind === 'virt-net-io') polls.push({ uptime: d.uptimeMs, rx: nio.bytesIn, tx: nio.bytesOut });
          } else if (s.kind === 'flow') {
            const h = s.records.find((r): r is Extract<SflowFlowRecord, { kind: 'raw-header' }> => r.kind === 'raw-header');
            if (!h) continue;
            const bytes = h.frameLength - h.stripped;
            frames.push({ uptime: d.uptimeMs, rx: h.packet.dstMac === c.networks[0]?.macAddress ? bytes : 0, tx: h.packet.srcMac === c.networks[0]?.macAddress ? bytes : 0 });
          }
        }
      }
      const first = polls[0];
      const last = polls.at(-1);
      if (!first || !last) throw new Error(`no counters for ${c.name}`);
      const window = frames.filter((f) => f.uptime > first.uptime && f.uptime <= last.uptime);
      const rx = window.reduce((n, f) => n + f.rx, 0);
      const tx = window.reduce((n, f) => n + f.tx, 0);
      expect(Math.abs(rx - (last.rx - first.rx)) / (last.rx - first.rx), `${c.name} rx`).toBeLessThan(0.05);
      expect(Math.abs(tx - (last.tx - first.tx)) / (last.tx - first.tx), `${c.name} tx`).toBeLessThan(0.05);
    }
  });

  it('the topology: the three containers and the capture\'s two edges, sFlow-only', () => {
    golden('hsflowd-docker-topology.json', json(topology));
    expect(topology.edges.map((e) => [e.from, e.to, e.protocol, e.port, e.connections])).toEqual([
      [idOf('shop-api'), idOf('shop-db'), 'tcp', 5432, 0],
      [idOf('shop-web'), idOf('shop-api'), 'tcp', 8080, 0],
    ]);
    const estimates = topology.edges.map((e) => e.sflow as EdgeSflow);
    for (const s of estimates) expect(s).toMatchObject({ bytesSource: 'sflow', agents: ['10.78.0.1'], samplingRates: [1], errorPercent: 0 });
    // Every flow sample is TCP between two of the three: the edges hold all 690, each counted once.
    expect(estimates.reduce((n, s) => n + s.samples, 0) + (part.agents[0]?.otherSamples ?? 0)).toBe(690);
    expect(part.agents[0]?.otherSamples).toBe(0);
    expect(topology.nodes.map((n) => n.name)).toEqual(['shop-api', 'shop-db', 'shop-web']);
    // At rate 1 the estimate is the sampled bytes: client → server and back, as the frames on the bridge say.
    const web = estimates[1];
    const sampled = sampledBytes((p) => p.srcIp === '172.18.0.4' && p.dstPort === 8080);
    const back = sampledBytes((p) => p.dstIp === '172.18.0.4' && p.srcPort === 8080);
    expect([web?.bytesSent, web?.bytesReceived]).toEqual([sampled, back]);
    // The rate is over the interval the drained part covers: first datagram to the collection.
    expect(part.fromMs).toBe(payloads[0]?.tsMs);
    expect(web?.bytesSentPerSec).toBeCloseTo(sampled / ((lastMs - part.fromMs) / 1000), 6);
  });
});

function sampledBytes(match: (p: Extract<SflowFlowRecord, { kind: 'raw-header' }>['packet']) => boolean): number {
  let n = 0;
  for (const p of payloads) {
    for (const s of parseSflowDatagram(p.payload).samples) {
      if (s.kind !== 'flow') continue;
      for (const r of s.records) if (r.kind === 'raw-header' && match(r.packet)) n += r.frameLength - r.stripped;
    }
  }
  return n;
}

/** One line per datagram and per sample: the fields tcpdump -v prints, plus what portolan decodes beyond it. */
function describeDatagram(d: SflowDatagram): string {
  let out = `datagram seq ${d.sequence} agent ${d.agent} sub-agent ${d.subAgentId} uptime ${d.uptimeMs} samples ${d.samples.length}\n`;
  for (const s of d.samples) {
    if (s.kind === 'unknown') {
      out += `  unknown sample ${s.enterprise}:${s.format} length ${s.length}\n`;
    } else if (s.kind === 'flow') {
      const recs = s.records.map((r) => {
        switch (r.kind) {
          case 'raw-header': {
            const p = r.packet;
            return `raw proto ${r.protocol} frame ${r.frameLength} stripped ${r.stripped} header ${r.headerLength} ${p.srcMac ?? '?'} > ${p.dstMac ?? '?'} ` +
              `${p.srcIp ?? '?'}:${p.srcPort ?? '?'} > ${p.dstIp ?? '?'}:${p.dstPort ?? '?'} ip-proto ${p.ipProtocol ?? '?'} flags ${p.tcpFlags ?? '-'}${p.truncated ? ' truncated' : ''}`;
          }
          case 'entities': return `entities ${r.source.type}:${r.source.index} > ${r.destination.type}:${r.destination.index}`;
          case 'timestamp': return `timestamp ${new Date(r.ms).toISOString()}`;
          default: return r.kind;
        }
      });
      out += `  flow${s.expanded ? ' expanded' : ''} seq ${s.sequence} source ${s.source.type}:${s.source.index} rate ${s.samplingRate} pool ${s.samplePool} drops ${s.drops} | ${recs.join(' | ')}\n`;
    } else {
      const recs = s.records.map((r) => {
        const { kind, ...fields } = r;
        return `${kind} ${JSON.stringify(fields)}`;
      });
      out += `  counters${s.expanded ? ' expanded' : ''} seq ${s.sequence} source ${s.source.type}:${s.source.index} | ${recs.join(' | ')}\n`;
    }
  }
  return out;
}
