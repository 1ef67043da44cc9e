// sFlow end to end on the real engine: pmacctd's sfprobe (Debian's pmacct) samples a labelled test bridge and
// exports sFlow v5 to `portolan serve --sflow 127.0.0.1:6343`, while tcpdump counts the same frames on the same
// bridge and captures the same datagrams on loopback.
// - Sampling rate 1: portolan's sFlow bytes and packets of the edge equal, exactly and per direction, what tcpdump
//   counts for that connection on the bridge.
// - Sampling rate 10: the estimate is within the bound its sample count gives (stated below).
// - tcpdump -v, decoding the same datagrams independently, agrees with portolan's decoder field by field (and on
//   hsflowd's recorded capture too).
// Traffic stays between the test's own containers; pmacctd sends to loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeSflow, Topology } from '../../src/core/model/topology.js';
import { parseSflowDatagram, type SflowDatagram } from '../../src/core/parse/sflow.js';
import { networkLayer, readPcap, udpPayloads, type Pcap } from '../fixtures/sflow/pcap.js';
import { cleanup, docker, inspect, network, ROOT, run, RUN_ID } from './harness.js';
import { eventually, getJson, startServe, type ServeProcess } from './serve-agent.js';
import { tcpdumpSflow, type TcpdumpDatagram } from './sflow-tcpdump.js';

const SFLOW_PORT = 6343;
const BRIDGE = `pt${RUN_ID}sf`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-sflow-'));
const background: { proc: ChildProcess; name: string }[] = [];

/** A background program in its own process group (pmacctd forks its plugins): started, ready when `ready` shows up. */
function startBackground(name: string, cmd: string, args: string[], ready: RegExp): Promise<{ proc: ChildProcess; output: () => string; stop: () => Promise<string> }> {
  const proc = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  background.push({ proc, name });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(-proc.pid, 'SIGINT');
    await exited;
    // pmacctd's plugin outlives its core by a moment and sends a last datagram: wait for the whole group.
    await eventually(() => !groupAlive(proc.pid), 10_000, `${name}'s processes to exit`);
    return out;
  };
  return eventually(() => ready.test(out) || (proc.exitCode !== null ? Promise.reject(new Error(`${name} exited: ${out}`)) : false), 15_000, `${name} ready`)
    .then(() => ({ proc, output: () => out, stop }));
}

function groupAlive(pgid: number | undefined): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

function pmacctd(rate: number, subAgent: number) {
  const conf = path.join(dir, `pmacctd-${rate}.conf`);
  // The config of ../shared/reference/linux-docker-notes.md §6, on the test's bridge.
  writeFileSync(conf, [
    'daemonize: false', `pcap_interface: ${BRIDGE}`, 'plugins: sfprobe[sf]', `sfprobe_receiver[sf]: 127.0.0.1:${SFLOW_PORT}`,
    'sfprobe_agentip[sf]: 127.0.0.1', `sfprobe_agentsubid[sf]: ${subAgent}`, `sampling_rate[sf]: ${rate}`, 'sfprobe_ifspeed[sf]: 10000000000',
    'timestamps_secs: true', '',
  ].join('\n'));
  return startBackground(`pmacctd rate ${rate}`, 'pmacctd', ['-f', conf], /Sampling at: 1\/\d+/);
}

const tcpdump = (name: string, args: string[]) => startBackground(`tcpdump ${name}`, 'tcpdump', ['-n', '-U', '-s', '262144', ...args], /listening on/);

let serve: ServeProcess;
let lo: Awaited<ReturnType<typeof tcpdump>>;
let cliId = '';
let srvId = '';
let cliIp = '';
let srvIp = '';

const topology = async () => (await getJson<Topology>(`${serve.base}/api/v1/topology`)).body;
const estimate = async (protocol: string, port: number) =>
  (await topology()).edges.find((e) => e.id === `${cliId}->${srvId}/${protocol}/${port}`)?.sflow as EdgeSflow | undefined;

/**
 * pmacctd's sfprobe sends the samples it holds only when the next packet reaches it, so the tail of a transfer
 * waits for later traffic. Marker datagrams (client → server udp/9998, an edge of their own) are sent until
 * portolan shows one: pmacctd handles packets in order, so every packet of the transfer before them is in by then.
 */
async function flushThroughMarkers(tag: string): Promise<void> {
  // 50 ms apart for at most 30 s; stopped by pid once seen.
  docker('exec', '-d', cliId.slice(0, 12), 'node', '-e',
    `require('fs').writeFileSync('/tmp/marker-${tag}.pid',String(process.pid));const s=require('dgram').createSocket('udp4');let n=0;const t=setInterval(()=>{s.send(Buffer.from('marker'),9998,'${srvIp}');if(++n>=600){clearInterval(t);s.close();}},50);`);
  const before = (await estimate('udp', 9998))?.samples ?? 0;
  await eventually(async () => ((await estimate('udp', 9998))?.samples ?? 0) > before, 30_000, 'a marker datagram on the map');
  docker('exec', cliId.slice(0, 12), 'sh', '-c', `kill $(cat /tmp/marker-${tag}.pid)`);
}

/** Frames of one direction of client ↔ server traffic on `protocol`/`port` in a bridge capture: their lengths on the wire. */
function frames(pcap: Pcap, src: string, dst: string, protocol: number, port: number, serverSide: 'src' | 'dst'): number[] {
  const out: number[] = [];
  for (const r of pcap.records) {
    const l3 = networkLayer(pcap.linkType, r.data);
    if (!l3 || l3.etherType !== 0x0800) continue;
    const d = r.data;
    const o = l3.offset;
    const ip = (at: number) => `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
    if (d[o + 9] !== protocol || ip(o + 12) !== src || ip(o + 16) !== dst) continue;
    const l4 = o + (d[o]! & 0x0f) * 4;
    const p = serverSide === 'dst' ? (d[l4 + 2]! << 8) | d[l4 + 3]! : (d[l4]! << 8) | d[l4 + 1]!;
    // origLen: the frame's length on the wire (pcap's orig_len), not the bytes captured of it.
    if (p === port) out.push(r.origLen);
  }
  return out;
}
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

beforeAll(async () => {
  network('sflow', '-o', `com.docker.network.bridge.name=${BRIDGE}`);
  run('sflow-srv', ['--network', `pt-${RUN_ID}-sflow`], ['sh', '-c', 'node /opt/peer.mjs tcp-server 8080 & node /opt/peer.mjs udp-server 9999 & wait']);
  run('sflow-cli', ['--network', `pt-${RUN_ID}-sflow`], ['sleep', '3600']);
  const srv = inspect('sflow-srv');
  const cli = inspect('sflow-cli');
  srvId = srv.Id;
  cliId = cli.Id;
  srvIp = Object.values(srv.NetworkSettings.Networks)[0]?.IPAddress ?? '';
  cliIp = Object.values(cli.NetworkSettings.Networks)[0]?.IPAddress ?? '';
  lo = await tcpdump('lo', ['-i', 'lo', '-w', path.join(dir, 'sflow.pcap'), 'udp', 'dst', 'port', String(SFLOW_PORT)]);
  serve = await startServe(['--sflow', `127.0.0.1:${SFLOW_PORT}`, '--no-history', '--no-dns', '--interval', '1']);
  await eventually(async () => (await getJson(`${serve.base}/api/v1/sflow`)).status === 200, 15_000, 'the agent collecting');
}, 120_000);

afterAll(async () => {
  for (const b of background) if (b.proc.exitCode === null && b.proc.signalCode === null && b.proc.pid) process.kill(-b.proc.pid, 'SIGINT');
  await serve?.stop();
  cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('sFlow from pmacctd on a test bridge', () => {
  it('rate 1: the edge\'s sFlow bytes and packets equal the frames tcpdump counts on the bridge, each way', async () => {
    const bridge = await tcpdump('bridge', ['-i', BRIDGE, '-w', path.join(dir, 'bridge-1.pcap')]);
    const probe = await pmacctd(1, 1);
    // 300 kB echoed over one connection: handshake, GRO/TSO super-frames of up to ~64 kB, ACKs, FIN.
    docker('exec', cliId.slice(0, 12), 'node', '-e',
      `const s=require('net').connect(8080,'${srvIp}',()=>s.write(Buffer.alloc(300000,120)));let n=0;s.on('data',(d)=>{n+=d.length;if(n>=300000)s.end();});s.on('close',()=>process.exit(0));`);
    await flushThroughMarkers('1');
    const stats = await bridge.stop();
    await probe.stop();
    expect(stats).toMatch(/^0 packets dropped by kernel$/m);
    const pcap = readPcap(readFileSync(path.join(dir, 'bridge-1.pcap')));
    const sent = frames(pcap, cliIp, srvIp, 6, 8080, 'dst');
    const received = frames(pcap, srvIp, cliIp, 6, 8080, 'src');
    expect(sent.length).toBeGreaterThan(5);
    // Why exact: pmacctd and tcpdump read the same frames from the same bridge through libpcap, so both see the
    // same GRO/TSO super-frames (one sample per super-frame, as one frame on the wire to tcpdump). pmacctd puts
    // the frame's full length (not the 128 bytes of header it keeps) plus 4 bytes of FCS in frame_length and
    // says so in `stripped` = 4; portolan counts frame_length − stripped, tcpdump the frame's orig_len. pmacctd
    // holds that length in 16 bits, so the comparison needs every frame under 64 KiB: TCP's super-frames stop at
    // 45 × MSS (65,226 bytes with timestamps), checked here.
    expect(Math.max(...sent, ...received)).toBeLessThan(65536);
    const e = await estimate('tcp', 8080);
    expect(e).toMatchObject({ samplingRates: [1], errorPercent: 0, agents: ['127.0.0.1'] });
    expect({ bytesSent: e?.bytesSent, bytesReceived: e?.bytesReceived, packetsSent: e?.packetsSent, packetsReceived: e?.packetsReceived, samples: e?.samples })
      .toEqual({ bytesSent: sum(sent), bytesReceived: sum(received), packetsSent: sent.length, packetsReceived: received.length, samples: sent.length + received.length });
    // More than the 300 kB of payload: every frame's Ethernet, IP and TCP headers and the handshake count too.
    expect(sum(sent)).toBeGreaterThan(300_000);
  });

  it('rate 10: the estimate is within the bound its sample count gives', async () => {
    const bridge = await tcpdump('bridge', ['-i', BRIDGE, '-w', path.join(dir, 'bridge-10.pcap')]);
    const probe = await pmacctd(10, 2);
    // 8,000 UDP datagrams of 60-1,400 bytes (a fixed pseudo-random sequence), 2,000 a second.
    docker('exec', cliId.slice(0, 12), 'node', '-e',
      `const s=require('dgram').createSocket('udp4');let x=16,n=0;const t=setInterval(()=>{for(let i=0;i<20;i++){x=(x*1103515245+12345)%2147483648;s.send(Buffer.alloc(60+x%1341),9999,'${srvIp}');}if((n+=20)>=8000){clearInterval(t);setTimeout(()=>process.exit(0),200);}},10);`);
    await flushThroughMarkers('10');
    const stats = await bridge.stop();
    await probe.stop();
    expect(stats).toMatch(/^0 packets dropped by kernel$/m);
    const truth = frames(readPcap(readFileSync(path.join(dir, 'bridge-10.pcap'))), cliIp, srvIp, 17, 9999, 'dst');
    expect(truth.length).toBe(8000);
    const e = await estimate('udp', 9999);
    if (!e) throw new Error('no sFlow estimate for the udp/9999 edge');
    const N = 10;
    const n = e.samples;
    const P = truth.length;
    const B = sum(truth);
    // The bound. Each of the P packets is sampled with probability 1/N (pmacct draws a random skip, uniform in
    // [1, 2N−1], which varies less than independent 1/N draws: the independent case is the conservative one).
    // The estimates are P̂ = N·n and B̂ = N·Σ sampled frame bytes; independently sampled, Var(P̂) = (N−1)·P and
    // Var(B̂) = (N−1)·Σ b² over every packet's size b (tcpdump gives them all). Five standard deviations: a
    // correct estimate fails this about once in 1.7 million runs, a wrong rate (×1, ×2) or a double count always.
    // In sFlow's own terms, from the sample count alone: |P̂ − P| / P ≤ 5 / √n (sFlow.org quotes 1.96 / √n at 95 %).
    expect(n).toBeGreaterThan(400);
    expect(e.samplingRates).toEqual([N]);
    expect(e.packetsSent).toBe(N * n);
    expect(Math.abs(e.packetsSent - P)).toBeLessThanOrEqual(5 * Math.sqrt((N - 1) * P));
    expect(Math.abs(e.packetsSent - P) / P).toBeLessThanOrEqual(5 / Math.sqrt(n));
    expect(Math.abs(e.bytesSent - B)).toBeLessThanOrEqual(5 * Math.sqrt((N - 1) * sum(truth.map((b) => b * b))));
    expect(e.errorPercent).toBeCloseTo(196 / Math.sqrt(n), 1);
  });

  it('tcpdump -v decodes the same datagrams as portolan, field by field', async () => {
    const file = path.join(dir, 'sflow.pcap');
    // Both pmacctds have exited; the capture is complete once it holds every datagram portolan received.
    const received = async () => (await getJson<{ receiver: { datagrams: number } }>(`${serve.base}/api/v1/sflow`)).body.receiver.datagrams;
    await eventually(async () => {
      let captured: number;
      try {
        captured = udpPayloads(readPcap(readFileSync(file)), SFLOW_PORT).length;
      } catch (err) {
        // tcpdump may be writing the last record right now: read again.
        if (/runs past the end/.test((err as Error).message)) return false;
        throw err;
      }
      return captured > 0 && captured === await received();
    }, 15_000, 'the loopback capture to hold every datagram portolan received');
    await lo.stop();
    const ours = udpPayloads(readPcap(readFileSync(file)), SFLOW_PORT).map((p) => ({ length: p.payload.length, d: parseSflowDatagram(p.payload) }));
    const theirs = tcpdumpSflow(file);
    expect(ours.length).toBeGreaterThan(20);
    expect(compareWithTcpdump(ours, theirs)).toEqual([]);
    // Both rates and agents were captured: sub-agents 1 and 2.
    expect(new Set(ours.map((o) => o.d.subAgentId))).toEqual(new Set([1, 2]));
    // The agent's status in portolan agrees with the datagrams on the wire: none lost.
    const status = (await getJson<{ agents: { subAgentId: number; datagrams: number; lostDatagrams: number }[] }>(`${serve.base}/api/v1/sflow`)).body;
    for (const sub of [1, 2]) {
      expect(status.agents.find((a) => a.subAgentId === sub)).toMatchObject({ datagrams: ours.filter((o) => o.d.subAgentId === sub).length, lostDatagrams: 0 });
    }
  });

  it('tcpdump -v and portolan agree on hsflowd\'s recorded datagrams too (expanded samples, counters)', () => {
    const file = path.join(ROOT, 'test/fixtures/sflow/hsflowd-docker.pcap');
    const ours = udpPayloads(readPcap(readFileSync(file)), SFLOW_PORT).map((p) => ({ length: p.payload.length, d: parseSflowDatagram(p.payload) }));
    expect(compareWithTcpdump(ours, tcpdumpSflow(file))).toEqual([]);
  });
});

/** The sFlow format number of each record kind portolan decodes (enterprise 0). */
const FLOW_FORMATS: Record<string, number> = { 'raw-header': 1, ethernet: 2, ipv4: 3, ipv6: 4, 'extended-switch': 1001, timestamp: 1043, entities: 2210 };
const COUNTER_FORMATS: Record<string, number> = {
  'generic-interface': 1, 'ethernet-interface': 2, 'port-name': 1005, 'host-descr': 2000, 'host-adapters': 2001, 'host-parent': 2002, 'host-cpu': 2003,
  'host-memory': 2004, 'host-disk-io': 2005, 'host-net-io': 2006, 'mib2-ip': 2007, 'mib2-icmp': 2008, 'mib2-tcp': 2009, 'mib2-udp': 2010,
  'virt-node': 2100, 'virt-cpu': 2101, 'virt-memory': 2102, 'virt-disk-io': 2103, 'virt-net-io': 2104,
};

/**
 * Every field tcpdump -v prints, against portolan's decode: datagram (agent, sub-agent, sequence, uptime, sample
 * count, length), sample (kind, expanded, sequence, source type and index, rate, pool, drops, the 0:1 interface
 * words, record count), record (enterprise and format; the length of records portolan skips), raw packet header
 * (protocol, frame length, stripped, header size), extended switch (VLANs and priorities), and all 19 generic
 * interface counters. Returns the differences, one line each.
 */
function compareWithTcpdump(ours: readonly { length: number; d: SflowDatagram }[], theirs: readonly TcpdumpDatagram[]): string[] {
  const diffs: string[] = [];
  const eq = (where: string, a: unknown, b: unknown) => { if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${where}: portolan ${JSON.stringify(a)}, tcpdump ${JSON.stringify(b)}`); };
  eq('datagrams', ours.length, theirs.length);
  ours.forEach(({ length, d }, i) => {
    const t = theirs[i];
    if (!t) return;
    const w = `datagram ${i}`;
    eq(w, [d.agent, d.subAgentId, d.sequence, d.uptimeMs, d.samples.length, length], [t.agent, t.agentId, t.seqnum, t.uptime, t.samples, t.length]);
    eq(`${w} samples listed`, d.samples.length, t.sampleList.length);
    d.samples.forEach((s, j) => {
      const ts = t.sampleList[j];
      const ws = `${w} sample ${j}`;
      if (!ts || s.kind === 'unknown') { diffs.push(`${ws}: ${s.kind} not printed by tcpdump`); return; }
      eq(ws, [s.kind, s.expanded, s.sequence, s.source.type, s.source.index, s.records.length], [ts.kind, ts.expanded, ts.seqnum, ts.type, ts.idx, ts.records.length]);
      if (s.kind === 'flow') {
        eq(`${ws} rate/pool/drops`, [s.samplingRate, s.samplePool, s.drops], [ts.rate, ts.pool, ts.drops]);
        if (!s.expanded) eq(`${ws} input/output`, [((s.input.format << 30) | s.input.value) >>> 0, ((s.output.format << 30) | s.output.value) >>> 0], [ts.input, ts.output]);
      }
      s.records.forEach((r, k) => {
        const tr = ts.records[k];
        const wr = `${ws} record ${k}`;
        if (!tr) return;
        if (r.kind === 'unknown') eq(`${wr} format`, [r.enterprise, r.format, r.length], [tr.enterprise, tr.format, tr.length]);
        else eq(`${wr} format`, [0, (s.kind === 'flow' ? FLOW_FORMATS : COUNTER_FORMATS)[r.kind]], [tr.enterprise, tr.format]);
        if (r.kind === 'raw-header') eq(`${wr} raw`, [r.protocol, r.frameLength, r.stripped, r.headerLength], [tr.raw?.protocol, tr.raw?.frameLength, tr.raw?.stripped, tr.raw?.headerSize]);
        if (r.kind === 'extended-switch') eq(`${wr} switch`, [r.srcVlan, r.srcPriority, r.dstVlan, r.dstPriority], tr.vlans);
        if (r.kind === 'generic-interface') {
          eq(`${wr} generic`, [r.ifIndex, r.ifType, r.ifSpeed, r.ifDirection, r.ifStatus, r.inOctets, r.inUcastPkts, r.inMulticastPkts, r.inBroadcastPkts,
            r.inDiscards, r.inErrors, r.inUnknownProtos, r.outOctets, r.outUcastPkts, r.outMulticastPkts, r.outBroadcastPkts, r.outDiscards, r.outErrors, r.promiscuousMode], tr.generic);
        }
      });
    });
  });
  return diffs;
}
