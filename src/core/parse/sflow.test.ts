import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  counterSample, datagram, flowSample, genericInterface, hostDescr, netIo, packet, rawHeader, xdr,
} from '../../../test/fixtures/sflow/encode.js';
import { readPcap, udpPayloads } from '../../../test/fixtures/sflow/pcap.js';
import { parseSflowDatagram, SflowParseError, type SflowCounterSample, type SflowFlowSample } from './sflow.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sflow');

const flow = (bytes: Uint8Array, i = 0) => parseSflowDatagram(bytes).samples[i] as SflowFlowSample;
const counters = (bytes: Uint8Array, i = 0) => parseSflowDatagram(bytes).samples[i] as SflowCounterSample;

describe('parseSflowDatagram: datagram header', () => {
  it('IPv4 agent, sub-agent, sequence, uptime', () => {
    const d = parseSflowDatagram(datagram({ agent: '127.0.0.1', subAgentId: 1, sequence: 48, uptimeMs: 18000, samples: [] }));
    expect(d).toEqual({ version: 5, agent: '127.0.0.1', subAgentId: 1, sequence: 48, uptimeMs: 18000, samples: [] });
  });

  it('IPv6 agent address', () => {
    expect(parseSflowDatagram(datagram({ agent: 'fd00:7e57::1', sequence: 1, samples: [] })).agent).toBe('fd00:7e57::1');
  });

  it('sequence numbers and uptime are unsigned 32-bit', () => {
    const d = parseSflowDatagram(datagram({ agent: '10.0.0.1', sequence: 0xffffffff, uptimeMs: 0xfffffffe, samples: [] }));
    expect([d.sequence, d.uptimeMs]).toEqual([4294967295, 4294967294]);
  });
});

describe('parseSflowDatagram: flow samples', () => {
  const web = { srcMac: '02:42:ac:12:00:04', dstMac: '02:42:ac:12:00:03', srcIp: '172.18.0.4', dstIp: '172.18.0.3' };

  it('0:1 with an Ethernet/IPv4/TCP raw header: source id, interfaces, FCS, addresses, ports, flags', () => {
    const syn = packet({ ...web, protocol: 'tcp', srcPort: 51246, dstPort: 8080, tcpFlags: 0x02 });
    const s = flow(datagram({
      agent: '127.0.0.1', sequence: 1,
      samples: [flowSample({ sequence: 7, sourceType: 0, sourceIndex: 1, samplingRate: 10, samplePool: 70, drops: 2, input: 3, output: 0x3fffffff, records: [rawHeader(syn)] })],
    }));
    expect(s).toMatchObject({
      kind: 'flow', expanded: false, sequence: 7, source: { type: 0, index: 1 }, samplingRate: 10, samplePool: 70, drops: 2,
      input: { format: 0, value: 3 }, output: { format: 0, value: 0x3fffffff },
    });
    expect(s.records).toEqual([{
      kind: 'raw-header', protocol: 1, frameLength: syn.length + 4, stripped: 4, headerLength: syn.length,
      packet: { ...web, etherType: 0x0800, ipVersion: 4, ipLength: 40, ipProtocol: 6, srcPort: 51246, dstPort: 8080, tcpFlags: 2 },
    }]);
  });

  it('0:1 source id packs type in the top 8 bits, interfaces their format in the top 2', () => {
    const s = flow(datagram({
      agent: '10.0.0.1', sequence: 1,
      samples: [flowSample({ sequence: 1, sourceType: 2, sourceIndex: 0xabcdef, samplingRate: 1, input: (2 << 30) | 5, output: (1 << 30) | 258, records: [] })],
    }));
    expect([s.source, s.input, s.output]).toEqual([{ type: 2, index: 0xabcdef }, { format: 2, value: 5 }, { format: 1, value: 258 }]);
  });

  it('0:3 expanded: 32-bit source type and index, interface format and value apart', () => {
    const s = flow(datagram({
      agent: '10.78.0.1', subAgentId: 100000, sequence: 1,
      samples: [flowSample({ expanded: true, sequence: 91, sourceType: 0, sourceIndex: 4, samplingRate: 1, input: 0, output: 0, records: [] })],
    }));
    expect(s).toMatchObject({ kind: 'flow', expanded: true, sequence: 91, source: { type: 0, index: 4 }, input: { format: 0, value: 0 } });
  });

  it('802.1Q-tagged IPv6/UDP behind hop-by-hop and destination-option headers', () => {
    const p = packet({ vlan: 42, srcIp: 'fd00:7e57::2', dstIp: 'fd00:7e57::3', protocol: 'udp', srcPort: 40000, dstPort: 53, payload: 30, ipv6Extensions: [0, 60] });
    const r = flow(datagram({ agent: '10.0.0.1', sequence: 1, samples: [flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(p)] })] })).records[0];
    expect(r).toMatchObject({
      kind: 'raw-header',
      packet: { vlan: 42, etherType: 0x86dd, ipVersion: 6, srcIp: 'fd00:7e57::2', dstIp: 'fd00:7e57::3', ipProtocol: 17, ipLength: 40 + 16 + 8 + 30, srcPort: 40000, dstPort: 53 },
    });
  });

  it('a non-first IPv4 fragment has no ports', () => {
    const p = packet({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', protocol: 'udp', srcPort: 1, dstPort: 2, fragmentOffset: 185 });
    const r = flow(datagram({ agent: '10.0.0.1', sequence: 1, samples: [flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(p)] })] })).records[0];
    expect(r).toMatchObject({ packet: { fragment: true, ipProtocol: 17 } });
    expect(r?.kind === 'raw-header' ? r.packet.srcPort : 'no header').toBeUndefined();
  });

  it('a header cut inside TCP keeps the ports it has and says it is truncated', () => {
    const p = packet({ ...web, protocol: 'tcp', srcPort: 1234, dstPort: 80 }).subarray(0, 14 + 20 + 6);
    const r = flow(datagram({ agent: '10.0.0.1', sequence: 1, samples: [flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(p, 1518)] })] })).records[0];
    expect(r).toMatchObject({ frameLength: 1518, headerLength: 40, packet: { srcPort: 1234, dstPort: 80, truncated: true } });
  });

  it('header_protocol 11 (IPv4 without a link layer) and an unknown protocol left undecoded', () => {
    const ip = packet({ srcIp: '10.1.1.1', dstIp: '10.1.1.2', protocol: 'tcp', srcPort: 5, dstPort: 6 }).subarray(14);
    const d = datagram({
      agent: '10.0.0.1', sequence: 1, samples: [
        flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(ip, ip.length, 0, 11)] }),
        flowSample({ sequence: 2, sourceIndex: 1, samplingRate: 1, records: [rawHeader(Uint8Array.of(1, 2, 3), 3, 0, 7)] }),
      ],
    });
    expect(flow(d, 0).records[0]).toMatchObject({ protocol: 11, stripped: 0, packet: { ipVersion: 4, srcIp: '10.1.1.1', srcPort: 5, dstPort: 6 } });
    expect(flow(d, 1).records[0]).toMatchObject({ protocol: 7, headerLength: 3, packet: {} });
  });

  it('sampled ethernet (0:2), IPv4 (0:3), IPv6 (0:4), extended switch (1001), timestamp (1043) and entities (2210) records', () => {
    const d = datagram({
      agent: '10.0.0.1', sequence: 1, samples: [flowSample({
        sequence: 1, sourceIndex: 1, samplingRate: 1, records: [
          { format: 2, body: xdr().u32(64).mac('02:00:00:00:00:01').mac('02:00:00:00:00:02').u32(0x0800) },
          { format: 3, body: xdr().u32(60).u32(6).ipv4('10.0.0.1').ipv4('10.0.0.2').u32(1000).u32(80).u32(0x12).u32(0) },
          { format: 4, body: xdr().u32(80).u32(17).ipv6('fd00::1').ipv6('fd00::2').u32(53).u32(4000).u32(0).u32(0) },
          { format: 1001, body: xdr().u32(10).u32(1).u32(20).u32(2) },
          { format: 1043, body: xdr().u64(1_764_396_235_553_960_000) },
          { format: 2210, body: xdr().u32(3).u32(132530).u32(3).u32(138958) },
        ],
      })],
    });
    expect(flow(d).records).toEqual([
      { kind: 'ethernet', length: 64, srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', etherType: 0x0800 },
      { kind: 'ipv4', length: 60, protocol: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1000, dstPort: 80, tcpFlags: 0x12, tos: 0 },
      { kind: 'ipv6', length: 80, protocol: 17, srcIp: 'fd00::1', dstIp: 'fd00::2', srcPort: 53, dstPort: 4000, tcpFlags: 0, tos: 0 },
      { kind: 'extended-switch', srcVlan: 10, srcPriority: 1, dstVlan: 20, dstPriority: 2 },
      { kind: 'timestamp', ms: expect.closeTo(1_764_396_235_553.96, 3) as unknown as number },
      { kind: 'entities', source: { type: 3, index: 132530 }, destination: { type: 3, index: 138958 } },
    ]);
  });

  it('skips records and samples of unknown formats by their lengths, and keeps decoding after them', () => {
    const p = packet({ ...web, protocol: 'tcp', srcPort: 1, dstPort: 2 });
    const d = parseSflowDatagram(datagram({
      agent: '10.0.0.1', sequence: 1, samples: [
        { enterprise: 4413, format: 7, body: Uint8Array.of(1, 2, 3, 4, 5) },
        flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [{ enterprise: 9, format: 1, body: new Uint8Array(12) }, { format: 1036, body: new Uint8Array(4) }, rawHeader(p)] }),
      ],
    }));
    expect(d.samples[0]).toEqual({ kind: 'unknown', enterprise: 4413, format: 7, length: 5 });
    expect((d.samples[1] as SflowFlowSample).records.map((r) => r.kind)).toEqual(['unknown', 'unknown', 'raw-header']);
    expect((d.samples[1] as SflowFlowSample).records[0]).toEqual({ kind: 'unknown', enterprise: 9, format: 1, length: 12 });
  });
});

describe('parseSflowDatagram: counter samples', () => {
  it('0:2 with generic interface (0:1) and Ethernet (0:2) counters, u64 octets included', () => {
    const c = counters(datagram({
      agent: '127.0.0.1', sequence: 48, samples: [counterSample({
        sequence: 1, sourceIndex: 0x3fffffff & 0xffffff, records: [
          { format: 1, body: genericInterface({ ifIndex: 1073741823, inOctets: 2 ** 40 + 5, outOctets: 0, inPkts: 40 }) },
          { format: 2, body: xdr().u32(1).u32(2).u32(3).u32(4).u32(5).u32(6).u32(7).u32(8).u32(9).u32(10).u32(11).u32(12).u32(13) },
        ],
      })],
    }));
    expect(c.records[0]).toMatchObject({ kind: 'generic-interface', ifIndex: 1073741823, ifType: 6, ifSpeed: 10_000_000_000, ifStatus: 3, inOctets: 2 ** 40 + 5, inUcastPkts: 40 });
    expect(c.records[1]).toMatchObject({ kind: 'ethernet-interface', alignmentErrors: 1, fcsErrors: 2, symbolErrors: 13 });
  });

  it('0:4 of an hsflowd container: host_descr, adapters, parent, virt_net_io and a port name', () => {
    const c = counters(datagram({
      agent: '10.78.0.1', subAgentId: 100000, sequence: 28, samples: [counterSample({
        expanded: true, sequence: 1, sourceType: 3, sourceIndex: 144023, records: [
          { format: 2001, body: xdr().u32(2).u32(3).u32(1).mac('02:42:ac:12:00:04').u32(4).u32(2).mac('02:42:00:00:00:01').mac('02:42:00:00:00:02') },
          { format: 2104, body: netIo({ bytesIn: 4216, pktsIn: 60, bytesOut: 5346, pktsOut: 79 }) },
          { format: 2002, body: xdr().u32(2).u32(1) },
          { format: 2000, body: hostDescr('shop-web', 'e2cbf989d49bb6554018212a12eaf7e5', '6.18.44') },
          { format: 1005, body: xdr().string('veth1') },
        ],
      })],
    }));
    expect(c).toMatchObject({ kind: 'counters', expanded: true, source: { type: 3, index: 144023 } });
    expect(c.records).toEqual([
      { kind: 'host-adapters', adapters: [{ ifIndex: 3, macs: ['02:42:ac:12:00:04'] }, { ifIndex: 4, macs: ['02:42:00:00:00:01', '02:42:00:00:00:02'] }] },
      { kind: 'virt-net-io', bytesIn: 4216, pktsIn: 60, errsIn: 0, dropsIn: 0, bytesOut: 5346, pktsOut: 79, errsOut: 0, dropsOut: 0 },
      { kind: 'host-parent', containerType: 2, containerIndex: 1 },
      { kind: 'host-descr', hostname: 'shop-web', uuid: 'e2cbf989-d49b-b655-4018-212a12eaf7e5', machineType: 3, osName: 2, osRelease: '6.18.44' },
      { kind: 'port-name', name: 'veth1' },
    ]);
  });

  it('host cpu (float loads), memory, disk, net, mib2 and virt node records decode by table', () => {
    const cpu = xdr().f32(0.5).f32(1.25).f32(2);
    for (let i = 0; i < 17; i++) cpu.u32(i);
    const c = counters(datagram({
      agent: '10.0.0.1', sequence: 1, samples: [counterSample({
        expanded: true, sequence: 1, sourceType: 2, sourceIndex: 1, records: [
          { format: 2003, body: cpu },
          { format: 2100, body: xdr().u32(2096).u32(2).u64(25276026880).u64(23261229056).u32(3) },
          { format: 2010, body: xdr().u32(0).u32(22).u32(0).u32(22).u32(0).u32(0).u32(0) },
        ],
      })],
    }));
    expect(c.records[0]).toMatchObject({ kind: 'host-cpu', loadOne: 0.5, loadFive: 1.25, loadFifteen: 2, procRun: 0, cpuGuestNice: 16 });
    expect(c.records[1]).toEqual({ kind: 'virt-node', mhz: 2096, cpus: 2, memory: 25276026880, memoryFree: 23261229056, numDomains: 3 });
    expect(c.records[2]).toMatchObject({ kind: 'mib2-udp', udpNoPorts: 22, udpOutDatagrams: 22 });
  });
});

describe('parseSflowDatagram rejects what is not sFlow v5 or lies about a length', () => {
  const good = datagram({
    agent: '10.0.0.1', sequence: 1,
    samples: [flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(packet({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', protocol: 'tcp', srcPort: 1, dstPort: 2 }))] })],
  });
  const patch = (bytes: Uint8Array, offset: number, value: number) => {
    const copy = Uint8Array.from(bytes);
    new DataView(copy.buffer).setUint32(offset, value);
    return copy;
  };
  // Offsets in `good`: header 28 bytes; sample format 28, length 32; flow sample fields from 36; record count at 64;
  // record format 68, length 72; raw header: protocol 76, frame 80, stripped 84, header length 88.
  const cases: [string, Uint8Array, RegExp, string][] = [
    ['empty', new Uint8Array(0), /datagram header needs 8 bytes, 0 left/, 'bad_length'],
    ['version 4', patch(good, 0, 4), /sFlow version 4, only 5/, 'not_sflow_v5'],
    ['NetFlow v9 bytes', Uint8Array.of(0, 9, 0, 1, 0, 0, 0, 0), /sFlow version 589825/, 'not_sflow_v5'],
    ['agent address type 3', patch(good, 4, 3), /agent address type 3/, 'bad_agent_address'],
    ['2^32-1 samples', patch(good, 24, 0xffffffff), /4294967295 samples cannot fit in/, 'bad_length'],
    ['sample longer than the datagram', patch(good, 32, 0x7fffffff), /sample 0 \(0:1\) of length 2147483647 needs/, 'bad_length'],
    ['2^32-1 records', patch(good, 64, 0xffffffff), /4294967295 flow records cannot fit/, 'bad_length'],
    ['record longer than its sample', patch(good, 72, 200), /flow record 0 \(0:1\) of length 200 needs/, 'bad_length'],
    ['header length beyond its record', patch(good, 88, 1000), /raw packet header bytes needs 1000 bytes/, 'bad_length'],
    ['a byte after the last sample', Uint8Array.from([...good, 0, 0, 0, 0]), /4 bytes after the last of 1 samples/, 'trailing_bytes'],
    ['cut in the middle', good.subarray(0, 70), /needs/, 'bad_length'],
  ];
  it.each(cases)('%s', (_name, bytes, message, failure) => {
    let error: unknown;
    try {
      parseSflowDatagram(bytes);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SflowParseError);
    expect((error as SflowParseError).message).toMatch(message);
    expect((error as SflowParseError).failure).toBe(failure);
    expect((error as SflowParseError).file).toBe('sflow:datagram');
  });

  it('a string longer than the spec allows, and MAC counts that cannot fit', () => {
    const long = datagram({ agent: '10.0.0.1', sequence: 1, samples: [counterSample({ sequence: 1, sourceIndex: 1, records: [{ format: 1005, body: xdr().string('x'.repeat(300)) }] })] });
    expect(() => parseSflowDatagram(long)).toThrow(/port name length 300 exceeds 255/);
    const macs = datagram({ agent: '10.0.0.1', sequence: 1, samples: [counterSample({ sequence: 1, sourceIndex: 1, records: [{ format: 2001, body: xdr().u32(1).u32(1).u32(0x10000000) }] })] });
    expect(() => parseSflowDatagram(macs)).toThrow(/268435456 MAC addresses cannot fit/);
  });
});

describe('parseSflowDatagram on hsflowd\'s real datagrams (test/fixtures/sflow/hsflowd-docker.pcap)', () => {
  const payloads = udpPayloads(readPcap(readFileSync(path.join(FIXTURES, 'hsflowd-docker.pcap'))), 6343);

  it('the first datagram is what tcpdump -v prints for it', () => {
    // tcpdump: "sFlowv5, IPv4 agent 10.78.0.1, agent-id 100000, seqnum 1, uptime 256, samples 8, length 1332"
    // "expanded flow sample (3), length 160, seqnum 1, type 0, idx 4, rate 1, pool 1, drops 0, records 2"
    // "enterprise 0 Raw packet (1) length 92 / protocol Ethernet (1), length 78, stripped bytes 4, header_size 74"
    const first = payloads[0]?.payload ?? new Uint8Array();
    expect(first.length).toBe(1332);
    const d = parseSflowDatagram(first);
    expect(d).toMatchObject({ agent: '10.78.0.1', subAgentId: 100000, sequence: 1, uptimeMs: 256 });
    expect(d.samples).toHaveLength(8);
    expect(d.samples[0]).toMatchObject({ kind: 'flow', expanded: true, sequence: 1, source: { type: 0, index: 4 }, samplingRate: 1, samplePool: 1, drops: 0 });
    expect((d.samples[0] as SflowFlowSample).records[1]).toMatchObject({ kind: 'raw-header', protocol: 1, frameLength: 78, stripped: 4, headerLength: 74 });
  });

  it('all 120 decode: 690 expanded flow samples and 30 expanded counter samples, sequence 1..120', () => {
    const all = payloads.map((p) => parseSflowDatagram(p.payload));
    expect(all.map((d) => d.sequence)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const samples = all.flatMap((d) => d.samples);
    expect(samples.filter((s) => s.kind === 'flow' && s.expanded)).toHaveLength(690);
    expect(samples.filter((s) => s.kind === 'counters' && s.expanded)).toHaveLength(30);
    expect(samples.filter((s) => s.kind === 'unknown' || !s.expanded)).toHaveLength(0);
  });
});
