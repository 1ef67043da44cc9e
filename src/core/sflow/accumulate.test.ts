import { describe, expect, it } from 'vitest';
import { counterSample, datagram, flowSample, hostDescr, netIo, packet, rawHeader, xdr } from '../../../test/fixtures/sflow/encode.js';
import { createSflowAccumulator } from './accumulate.js';

const web = { srcMac: '02:42:ac:12:00:04', dstMac: '02:42:ac:12:00:03', srcIp: '172.18.0.4', dstIp: '172.18.0.3' };
const tcp = (flags = 0x10, payload = 0) => packet({ ...web, protocol: 'tcp', srcPort: 40000, dstPort: 8080, tcpFlags: flags, payload });
const empty = (sequence: number, uptimeMs = sequence * 1000, agent = '10.0.0.1', subAgentId = 0) => datagram({ agent, subAgentId, sequence, uptimeMs, samples: [] });

describe('createSflowAccumulator: sequence numbers per agent and sub-agent', () => {
  const run = (seqs: readonly (number | readonly [number, number])[]) => {
    const acc = createSflowAccumulator('0.0.0.0:6343');
    seqs.forEach((s, i) => acc.add(typeof s === 'number' ? empty(s) : empty(s[0], s[1]), '10.0.0.1', i));
    const a = acc.drain(100).agents[0];
    return { lost: a?.lostDatagrams, reordered: a?.reorderedDatagrams, restarts: a?.restarts, last: a?.lastSequence, datagrams: a?.datagrams };
  };
  it.each([
    ['in order', [1, 2, 3], { lost: 0, reordered: 0, restarts: 0, last: 3, datagrams: 3 }],
    ['a gap of two', [1, 2, 5], { lost: 2, reordered: 0, restarts: 0, last: 5 }],
    ['first datagram not 1: no loss before it', [500, 501], { lost: 0, last: 501 }],
    ['a late arrival is reordered, and no longer lost', [1, 3, 2, 4], { lost: 0, reordered: 1, last: 4 }],
    ['a real gap stays lost when another datagram is late', [1, 4, 2, 5], { lost: 1, reordered: 1, last: 5 }],
    ['a duplicate', [1, 2, 2, 3], { lost: 0, reordered: 1, last: 3 }],
    ['wraps past 2^32 - 1 without loss', [0xfffffffe, 0xffffffff, 0, 1], { lost: 0, reordered: 0, last: 1 }],
    ['restart: numbers and uptime go back', [[100, 600_000], [101, 601_000], [1, 500], [2, 1500]], { lost: 0, restarts: 1, last: 2 }],
    ['a jump beyond a million is a restart, not loss', [1, 5_000_000], { lost: 0, restarts: 1, last: 5_000_000 }],
  ] as const)('%s', (_n, seqs, expected) => {
    expect(run(seqs)).toMatchObject(expected);
  });

  it('keeps agents apart by address and by sub-agent', () => {
    const acc = createSflowAccumulator('x');
    acc.add(empty(1, 0, '10.0.0.1', 0), 'a', 1);
    acc.add(empty(7, 0, '10.0.0.1', 1), 'a', 2);
    acc.add(empty(3, 0, '10.0.0.2', 0), 'b', 3);
    acc.add(empty(9, 0, '10.0.0.1', 1), 'a', 4);
    expect(acc.drain(5).agents.map((a) => [a.agent, a.subAgentId, a.datagrams, a.lostDatagrams, a.from])).toEqual([
      ['10.0.0.1', 0, 1, 0, 'a'], ['10.0.0.1', 1, 2, 1, 'a'], ['10.0.0.2', 0, 1, 0, 'b'],
    ]);
  });
});

describe('createSflowAccumulator: flows', () => {
  it('sums samples of one flow: sampled frame bytes (frame_length − stripped) and estimates × sampling rate', () => {
    const acc = createSflowAccumulator('x');
    const syn = tcp(0x02);
    const data = tcp(0x18, 1000);
    acc.add(datagram({
      agent: '10.0.0.1', sequence: 1, samples: [
        flowSample({ sequence: 1, sourceIndex: 4, samplingRate: 10, records: [rawHeader(syn)] }),
        flowSample({ sequence: 2, sourceIndex: 4, samplingRate: 10, records: [rawHeader(data)] }),
        flowSample({ sequence: 3, sourceIndex: 4, samplingRate: 20, records: [rawHeader(data)] }),
      ],
    }), '10.0.0.1', 1000);
    const part = acc.drain(2000);
    expect(part.flows).toEqual([{
      agent: '10.0.0.1', subAgentId: 0, protocol: 'tcp', srcIp: web.srcIp, dstIp: web.dstIp, srcPort: 40000, dstPort: 8080,
      srcMac: web.srcMac, dstMac: web.dstMac, samples: 3, sampledBytes: syn.length + 2 * data.length,
      bytes: syn.length * 10 + data.length * 10 + data.length * 20, packets: 40, syn: true, samplingRates: [10, 20],
    }]);
    expect(part.agents[0]).toMatchObject({ flowSamples: 3, samplingRates: [10, 20], sources: [{ source: '0:4', samplingRate: 20, flowSamples: 3, lostSamples: 0 }] });
  });

  it('each direction is its own flow; SYN+ACK is no SYN; the drain empties the flow table but keeps status', () => {
    const acc = createSflowAccumulator('x');
    const back = packet({ srcMac: web.dstMac, dstMac: web.srcMac, srcIp: web.dstIp, dstIp: web.srcIp, protocol: 'tcp', srcPort: 8080, dstPort: 40000, tcpFlags: 0x12 });
    acc.add(datagram({ agent: '10.0.0.1', sequence: 1, samples: [flowSample({ sequence: 1, sourceIndex: 4, samplingRate: 1, records: [rawHeader(tcp())] }), flowSample({ sequence: 2, sourceIndex: 4, samplingRate: 1, records: [rawHeader(back)] })] }), 'a', 1);
    const first = acc.drain(2);
    expect(first.flows.map((f) => [f.srcPort, f.dstPort, f.syn])).toEqual([[40000, 8080, false], [8080, 40000, false]]);
    const second = acc.drain(3);
    expect(second.flows).toEqual([]);
    expect(second.fromMs).toBe(2);
    expect(second.agents[0]?.flowSamples).toBe(2);
  });

  it('counts samples that are no TCP or UDP, fragments, rate 0 and header-less samples as other', () => {
    const acc = createSflowAccumulator('x');
    const arp = Uint8Array.of(...new Array<number>(12).fill(1), 0x08, 0x06, ...new Array<number>(28).fill(0));
    acc.add(datagram({
      agent: '10.0.0.1', sequence: 1, samples: [
        flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 1, records: [rawHeader(arp)] }),
        flowSample({ sequence: 2, sourceIndex: 1, samplingRate: 1, records: [rawHeader(packet({ ...web, protocol: 1 }))] }),
        flowSample({ sequence: 3, sourceIndex: 1, samplingRate: 1, records: [rawHeader(packet({ ...web, protocol: 'udp', srcPort: 1, dstPort: 2, fragmentOffset: 10 }))] }),
        flowSample({ sequence: 4, sourceIndex: 1, samplingRate: 0, records: [rawHeader(tcp())] }),
        flowSample({ sequence: 5, sourceIndex: 1, samplingRate: 1, records: [{ format: 1001, body: xdr().u32(1).u32(0).u32(1).u32(0) }] }),
        { enterprise: 7, format: 1, body: new Uint8Array(8) },
      ],
    }), 'a', 1);
    const part = acc.drain(2);
    expect(part.flows).toEqual([]);
    expect(part.agents[0]).toMatchObject({ flowSamples: 5, otherSamples: 5, unknownSamples: 1 });
  });

  it('sampled IPv4 data (0:3) stands in for a missing header, with the IP length as bytes', () => {
    const acc = createSflowAccumulator('x');
    acc.add(datagram({ agent: '10.0.0.1', sequence: 1, samples: [flowSample({ sequence: 1, sourceIndex: 1, samplingRate: 4, records: [{ format: 3, body: xdr().u32(60).u32(17).ipv4('10.1.0.1').ipv4('10.1.0.2').u32(5353).u32(53).u32(0).u32(0) }] })] }), 'a', 1);
    expect(acc.drain(2).flows[0]).toMatchObject({ protocol: 'udp', srcIp: '10.1.0.1', dstPort: 53, sampledBytes: 60, bytes: 240, packets: 4 });
  });

  it('gaps in a data source\'s sample sequence numbers are lost samples', () => {
    const acc = createSflowAccumulator('x');
    const s = (seq: number) => flowSample({ sequence: seq, sourceIndex: 4, samplingRate: 1, records: [rawHeader(tcp())] });
    acc.add(datagram({ agent: '10.0.0.1', sequence: 1, samples: [s(1), s(2)] }), 'a', 1);
    acc.add(datagram({ agent: '10.0.0.1', sequence: 3, samples: [s(6)] }), 'a', 2);
    expect(acc.drain(3).agents[0]).toMatchObject({ lostDatagrams: 1, sources: [{ source: '0:4', flowSamples: 3, lostSamples: 3 }] });
  });
});

describe('createSflowAccumulator: bounds', () => {
  it('a full flow table counts what it leaves out', () => {
    const acc = createSflowAccumulator('x', { maxFlows: 2 });
    const s = (port: number) => flowSample({ sequence: port, sourceIndex: 1, samplingRate: 1, records: [rawHeader(packet({ ...web, protocol: 'udp', srcPort: port, dstPort: 53 }))] });
    acc.add(datagram({ agent: '10.0.0.1', sequence: 1, samples: [s(1), s(2), s(3), s(1), s(4)] }), 'a', 1);
    const part = acc.drain(2);
    expect(part.flows.map((f) => [f.srcPort, f.samples])).toEqual([[1, 2], [2, 1]]);
    expect(part.receiver.flowTableOverflow).toBe(2);
  });

  it('datagrams of agents beyond the limit are rejected and counted', () => {
    const acc = createSflowAccumulator('x', { maxAgents: 1 });
    acc.add(empty(1, 0, '10.0.0.1'), 'a', 1);
    acc.add(empty(1, 0, '10.0.0.2'), 'b', 2);
    const part = acc.drain(3);
    expect(part.agents).toHaveLength(1);
    expect(part.receiver).toMatchObject({ datagrams: 2, rejected: { too_many_agents: 1 }, lastRejected: { from: 'b', atMs: 2 } });
  });

  it('bad datagrams are counted by reason, with the latest sender and reason', () => {
    const acc = createSflowAccumulator('x');
    acc.add(Uint8Array.of(0, 0, 0, 9), '192.0.2.7', 5);
    acc.add(Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 1), '192.0.2.8', 6);
    const r = acc.drain(7).receiver;
    expect(r).toMatchObject({ datagrams: 2, bytes: 12, rejected: { bad_length: 1, not_sflow_v5: 1 } });
    expect(r.lastRejected).toEqual({ from: '192.0.2.8', atMs: 6, reason: 'sflow:datagram:0: sFlow version 4, only 5 is decoded' });
  });

  it('keeps the latest counter sample per data source, and forgets sources silent longer than the TTL', () => {
    const acc = createSflowAccumulator('x', { counterTtlMs: 10_000 });
    const c = (seq: number, index: number, bytesIn: number) => counterSample({ expanded: true, sequence: seq, sourceType: 3, sourceIndex: index, records: [{ format: 2104, body: netIo({ bytesIn, pktsIn: 1, bytesOut: 2, pktsOut: 3 }) }, { format: 2000, body: hostDescr('web', 'e2cbf989d49bb6554018212a12eaf7e5') }] });
    acc.add(datagram({ agent: '10.0.0.1', sequence: 1, samples: [c(1, 5, 100), c(1, 6, 7)] }), 'a', 1000);
    acc.add(datagram({ agent: '10.0.0.1', sequence: 2, samples: [c(2, 5, 250)] }), 'a', 9000);
    const part = acc.drain(15_000);
    expect(part.counters.map((s) => [s.source, s.sequence, s.atMs, s.records[0]?.kind === 'virt-net-io' ? s.records[0].bytesIn : -1])).toEqual([['3:5', 2, 9000, 250]]);
    expect(part.agents[0]?.counterSamples).toBe(3);
  });

  it('a failure that is no decoding error (a bug) is counted as internal_error, never thrown', () => {
    const acc = createSflowAccumulator('x');
    // A Uint8Array whose bytes cannot be read (a detached buffer) makes the decoder fail in an unplanned way.
    const bytes = empty(1);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] });
    expect(() => acc.add(bytes, '192.0.2.9', 1)).not.toThrow();
    acc.add(empty(1), '192.0.2.9', 2);
    const r = acc.drain(3).receiver;
    expect(r).toMatchObject({ datagrams: 2, rejected: { internal_error: 1 } });
    expect(r.lastRejected?.reason).toMatch(/^internal error on a datagram: /);
  });
});
