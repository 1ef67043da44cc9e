import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { parseNatsTarget } from './spec.js';
import { parseExportSpec } from './spec.js';
import { createStreamSink } from './stream-sink.js';

describe('parseExportSpec (--export)', () => {
  it('reads each kind of target', () => {
    expect(parseExportSpec('stdout')).toEqual({ kind: 'stdout' });
    expect(parseExportSpec('file:/var/log/portolan/events.ndjson')).toEqual({ kind: 'file', file: '/var/log/portolan/events.ndjson' });
    expect(parseExportSpec('https://u:p@collector:8443/ingest')).toEqual({ kind: 'http', url: 'https://u:p@collector:8443/ingest' });
    expect(parseExportSpec('nats://127.0.0.1:4222/portolan.events')).toEqual({ kind: 'nats', url: 'nats://127.0.0.1:4222/portolan.events' });
  });
  it.each([['', /bad export target/], ['kafka://x', /bad export target/], ['file:', /bad export file/], ['http://', /bad export URL/], ['nats://h:4222/a.*', /bad NATS subject/]])('refuses %j', (text, message) => {
    expect(() => parseExportSpec(text)).toThrow(message);
  });
  it('takes the subject and credentials of a NATS URL', () => {
    expect(parseNatsTarget('nats://me:s%40c@10.0.0.1:4222')).toEqual({ server: 'nats://10.0.0.1:4222', subject: 'portolan.events', user: 'me', pass: 's@c' });
    expect(parseNatsTarget('nats://h:1/a.b-c').subject).toBe('a.b-c');
    expect(() => parseNatsTarget('nats://h:1/a..b')).toThrow(/bad NATS subject/);
  });
});

describe('stream sink (stdout)', () => {
  const doc = (i: number) => ({ '@timestamp': 't', type: 'connbeat', event: 'container.started', local_port: i }) as unknown as ConnbeatDocument;
  it('writes NDJSON lines; while the reader is slow keeps a bounded queue and counts what it drops', async () => {
    const stream = new PassThrough({ highWaterMark: 64 });
    const sink = createStreamSink({ stream, maxQueued: 5 });
    sink.push([doc(1)]);
    // The stream is now past its high-water mark: the next documents wait, beyond 5 they are dropped.
    sink.push(Array.from({ length: 8 }, (_, i) => doc(i + 2)));
    expect(sink.status()).toMatchObject({ buffered: 5, dropped: 3, droppedBy: { buffer_full: 3 } });
    let text = '';
    stream.on('data', (c: Buffer) => { text += c.toString(); });
    await sink.close();
    await new Promise((r) => setImmediate(r));
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { local_port: number }).local_port)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sink.status()).toMatchObject({ sent: 6, buffered: 0 });
  });
});
