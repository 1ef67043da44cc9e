import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnbeatDocument } from '../core/report/connbeat.js';
import { createHttpSink } from './http-sink.js';

// A real receiver on loopback, on a port the kernel found free for each test (a receiver that is stopped and
// started again comes back on the same port): answers `mode()` and records each document's seq.
let PORT = 0;
beforeEach(async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  PORT = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
function receiver(mode: () => number) {
  const seen: number[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      requests++;
      const status = mode();
      if (status === 200) for (const line of body.split('\n').filter((l) => l !== '')) seen.push((JSON.parse(line) as { remote_port: number }).remote_port);
      res.writeHead(status).end();
    });
  });
  return {
    seen, requests: () => requests,
    listen: () => new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve)),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
const doc = (seq: number): ConnbeatDocument => ({
  '@timestamp': 't', type: 'connbeat', event: 'connection.opened', beat: { hostname: 'h', name: 'portolan', version: '0' },
  local_ip: '10.0.0.1', local_port: 1, remote_ip: '10.0.0.2', remote_port: seq, local_process: null, container: null, docker_host: { hostname: 'h', ips: [] },
});
const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-http-sink-'));
  dirs.push(d);
  return d;
};
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });
const fast = { batchSize: 50, batchWaitMs: 20, minBackoffMs: 20, maxBackoffMs: 100, timeoutMs: 2000 };

describe('HTTP sink', () => {
  it('delivers every document in batches; with the receiver gone mid-stream and back, nothing is lost', async () => {
    const r = receiver(() => 200);
    await r.listen();
    const sink = createHttpSink({ url: `http://127.0.0.1:${PORT}/ingest`, bufferDir: tmp(), ...fast });
    for (let i = 0; i < 500; i++) sink.push([doc(i)]);
    await until(() => r.seen.length >= 200, 'the first documents');
    await r.close();
    for (let i = 500; i < 1000; i++) sink.push([doc(i)]);
    await until(() => sink.status().state === 'retrying', 'the sink to notice');
    expect(sink.status().bufferedBytes).toBeGreaterThan(0);
    const back = receiver(() => 200);
    await back.listen();
    await until(() => sink.status().buffered === 0 && sink.status().sent === 1000, 'everything delivered');
    const all = new Set([...r.seen, ...back.seen]);
    expect(all.size).toBe(1000);
    expect(sink.status()).toMatchObject({ state: 'ok', dropped: 0, sent: 1000 });
    expect(sink.status().retried).toBeGreaterThan(0);
    await sink.close();
    await back.close();
  });

  it('retries 503 and 429, drops what a 400 refuses (counted), keeps batches of 50', async () => {
    let n = 0;
    const r = receiver(() => (++n <= 2 ? 503 : n === 3 ? 429 : n === 4 ? 400 : 200));
    await r.listen();
    const sink = createHttpSink({ url: `http://127.0.0.1:${PORT}/`, bufferDir: tmp(), ...fast });
    sink.push(Array.from({ length: 200 }, (_, i) => doc(i)));
    await until(() => sink.status().sent + sink.status().dropped === 200, 'all settled');
    expect(sink.status().droppedBy).toEqual({ rejected: 50 });
    expect(r.seen).toHaveLength(150);
    await sink.close();
    await r.close();
  });

  it('bounds the disk buffer: what does not fit is dropped and counted; the rest arrives', async () => {
    const dir = tmp();
    const sink = createHttpSink({ url: `http://127.0.0.1:${PORT}/`, bufferDir: dir, ...fast, maxBufferBytes: 40_000 });
    for (let i = 0; i < 1000; i++) sink.push([doc(i)]);
    await until(() => sink.status().dropped > 0 && sink.status().buffered + sink.status().dropped === 1000, 'the buffer to fill');
    const s = sink.status();
    expect(s.bufferedBytes).toBeLessThanOrEqual(40_000);
    expect(s.droppedBy.buffer_full).toBe(s.dropped);
    const r = receiver(() => 200);
    await r.listen();
    await until(() => sink.status().buffered === 0, 'the buffer to drain');
    expect(r.seen.length).toBe(1000 - s.dropped);
    expect(sink.status().sent).toBe(1000 - s.dropped);
    await sink.close();
    await r.close();
  });

  it('keeps what it could not deliver on disk across a restart and sends it first', async () => {
    const dir = tmp();
    const first = createHttpSink({ url: `http://127.0.0.1:${PORT}/`, bufferDir: dir, ...fast });
    first.push(Array.from({ length: 120 }, (_, i) => doc(i)));
    await until(() => first.status().state === 'retrying', 'a failure');
    await first.close();
    expect({ files: fs.readdirSync(dir).length, status: first.status() }).toMatchObject({ files: 2, status: { sent: 0, dropped: 0, buffered: 120 } });
    const r = receiver(() => 200);
    await r.listen();
    const second = createHttpSink({ url: `http://127.0.0.1:${PORT}/`, bufferDir: dir, ...fast });
    await until(() => r.seen.length === 120, 'the left-over batches');
    expect(new Set(r.seen).size).toBe(120);
    // A batch's file goes once its 2xx is in.
    await until(() => second.status().buffered === 0 && fs.readdirSync(dir).length === 0, 'the buffer emptied');
    expect(second.status()).toMatchObject({ sent: 120, bufferedBytes: 0 });
    await second.close();
    await r.close();
  });

  it('sends credentials of the URL as basic auth, never in the name', async () => {
    let auth: string | undefined;
    const server = http.createServer((req, res) => { auth = req.headers.authorization; req.resume(); req.on('end', () => res.end()); });
    await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
    const sink = createHttpSink({ url: `http://user:s%40cret@127.0.0.1:${PORT}/x?q=1`, bufferDir: tmp(), ...fast });
    sink.push([doc(1)]);
    await until(() => sink.status().sent === 1, 'delivery');
    expect(auth).toBe(`Basic ${Buffer.from('user:s@cret').toString('base64')}`);
    expect(sink.name).toBe(`http:http://127.0.0.1:${PORT}/x`);
    await sink.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
