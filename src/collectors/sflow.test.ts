import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { datagram, flowSample, packet, rawHeader } from '../../test/fixtures/sflow/encode.js';
import type { SflowPart } from '../core/model/sflow.js';
import { createProcfs } from '../sources/procfs.js';
import { createSflowReceiver, type SflowReceiver } from './sflow.js';

const receivers: SflowReceiver[] = [];
afterEach(async () => { for (const r of receivers.splice(0)) await r.close(); });

function send(port: number, payloads: Uint8Array[]): Promise<void> {
  const client = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    let left = payloads.length;
    for (const p of payloads) {
      client.send(p, port, '127.0.0.1', (err) => {
        if (err) reject(err);
        if (--left === 0) { client.close(); resolve(); }
      });
    }
  });
}

/** Collects until the receiver has seen `n` datagrams in all (polling, bounded). */
async function collectUntil(r: SflowReceiver, n: number): Promise<{ parts: SflowPart[]; issues: string[] }> {
  const parts: SflowPart[] = [];
  const issues: string[] = [];
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const got = await r.collector.collect({ signal: AbortSignal.timeout(1000), parts: {} });
    if (got.sflow) parts.push(got.sflow);
    issues.push(...(got.issues ?? []).map((i) => `${i.message} ×${i.count}`));
    if ((got.sflow?.receiver.datagrams ?? 0) >= n) return { parts, issues };
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`receiver did not see ${n} datagrams within 5 s`);
}

const sample = (seq: number) => flowSample({ sequence: seq, sourceIndex: 4, samplingRate: 1, records: [rawHeader(packet({ srcIp: '172.18.0.2', dstIp: '172.18.0.3', protocol: 'tcp', srcPort: 40000, dstPort: 8080 }))] });

describe('sflow collector over a real UDP socket on loopback', () => {
  it('drains what arrived; a bad datagram and a sequence gap become issues; the kernel\'s drop counter is read', async () => {
    const r = createSflowReceiver({ host: '127.0.0.1', port: 0 }, { procfs: createProcfs() });
    receivers.push(r);
    const bound = await r.listen();
    const port = Number(bound.split(':')[1]);
    expect(bound).toMatch(/^127\.0\.0\.1:\d+$/);
    await send(port, [
      datagram({ agent: '10.0.0.1', sequence: 1, samples: [sample(1)] }),
      datagram({ agent: '10.0.0.1', sequence: 2, samples: [sample(2)] }),
      datagram({ agent: '10.0.0.1', sequence: 5, samples: [sample(3)] }),
      Uint8Array.of(0, 0, 0, 2, 1, 2, 3, 4),
    ]);
    const { parts, issues } = await collectUntil(r, 4);
    const flows = parts.flatMap((p) => p.flows);
    expect(flows.reduce((n, f) => n + f.samples, 0)).toBe(3);
    const last = parts.at(-1);
    expect(last?.receiver).toMatchObject({ listen: bound, datagrams: 4, rejected: { not_sflow_v5: 1 }, queueDropped: 0 });
    expect(last?.agents[0]).toMatchObject({ agent: '10.0.0.1', from: '127.0.0.1', datagrams: 3, lostDatagrams: 2 });
    expect(issues).toEqual(expect.arrayContaining([
      expect.stringMatching(/^dropped datagrams that are no sFlow v5.*\(latest from 127\.0\.0\.1: sflow:datagram:0: sFlow version 2/),
      'datagrams lost from agent 10.0.0.1 sub-agent 0 (gaps in its sequence numbers) ×2',
    ]));
  });

  it('a port in use is a one-line error naming it', async () => {
    const a = createSflowReceiver({ host: '127.0.0.1', port: 0 }, { procfs: createProcfs() });
    receivers.push(a);
    const port = Number((await a.listen()).split(':')[1]);
    const b = createSflowReceiver({ host: '127.0.0.1', port }, { procfs: createProcfs() });
    await expect(b.listen()).rejects.toThrow(`cannot receive sFlow on 127.0.0.1:${port} (udp): bind EADDRINUSE 127.0.0.1:${port}`);
  });

  it('collecting before listening fails (the collector contract: throw, never log)', async () => {
    const r = createSflowReceiver({ host: '127.0.0.1', port: 0 }, { procfs: createProcfs() });
    await expect(r.collector.collect({ signal: AbortSignal.timeout(1000), parts: {} })).rejects.toThrow(/not listening/);
  });
});
