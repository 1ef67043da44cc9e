// `serve --export` on the real engine: what the agent's own events stream says is what a real HTTP receiver gets
// (killed mid-stream and brought back: nothing lost, nothing left buffered), what a real nats-server delivers to a
// subscriber, and the connbeat fields of a real connection between two test containers equal Docker's and the
// kernel's (`docker inspect`, `nsenter … ss`). Everything created is labelled org.portolan.run=export-<id>.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { connect, DiscardPolicy, StorageType, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, RUN_ID, ssSockets, testImage } from './harness.js';
import { eventually, followSse, getJson, startServe, type ServeProcess } from './serve-agent.js';

// This branch's port range (19600-19799).
const AGENT_PORT = 19750;
const RECEIVER_PORT = 19741;
const NATS_PORT = 19742;
const JS_NATS_PORT = 19743;
const RUN = `export-${RUN_ID}`;
const LABELS = ['--label', 'org.portolan.test=1', '--label', `org.portolan.run=${RUN}`];
const cname = (n: string) => `pt-${RUN}-${n}`;
const start = (n: string, opts: string[], cmd: string[]) => docker('run', '-d', '--name', cname(n), ...LABELS, ...opts, testImage(), ...cmd);

interface Doc {
  '@timestamp': string; event: string; source?: string; local_ip?: string; local_port?: number; remote_ip?: string; remote_port?: number; direction?: string; protocol?: string;
  state?: string; beat: { hostname: string; name: string; version: string }; docker_host: { hostname: string; ips: string[] };
  local_process: { binary: string; pid?: number } | null;
  container: { id: string; name: string; image: string; labels: Record<string, string>; ports: { ip: string; private_port: number; public_port: number; type: string }[] } | null;
}

const agents: ServeProcess[] = [];
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'portolan-export-'));
  dirs.push(d);
  return d;
};
let natsServer: ChildProcess | undefined;

beforeAll(() => { testImage(); }, 120_000);
afterAll(async () => {
  for (const a of agents) await a.stop();
  natsServer?.kill('SIGTERM');
  const ids = docker('ps', '-aq', '--filter', `label=org.portolan.run=${RUN}`).split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}, 60_000);

/** A real NDJSON receiver: records every document it accepted; can be stopped (connections cut) and restarted. */
function receiver(port: number) {
  const docs: Doc[] = [];
  let server: http.Server | undefined;
  return {
    docs,
    async start() {
      server = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => { body += c; });
        req.on('end', () => {
          for (const line of body.split('\n')) if (line !== '') docs.push(JSON.parse(line) as Doc);
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      const s = server;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
      server = undefined;
    },
  };
}

interface Status { export: { sinks: { name: string; state: string; sent: number; buffered: number; dropped: number; retried: number; lastError?: string }[] } }
// At least once: a batch whose answer was cut by the outage may arrive twice, so what arrived is compared as a set.
const containerEvents = (docs: readonly Doc[]) => [...new Set(docs.filter((d) => d.event.startsWith('container.') && d.container?.name.startsWith(cname(''))).map((d) => `${d.event} ${d.container?.name}`))].sort();

describe('serve --export http: at least once through a receiver outage', () => {
  it('every event of the agent\'s stream reaches the receiver, killed mid-stream and back; status and /metrics agree', async () => {
    const rx = receiver(RECEIVER_PORT);
    await rx.start();
    const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT}`, '--interval', '1', '--no-history', '--export', `http://127.0.0.1:${RECEIVER_PORT}/ingest`,
      '--export-buffer-dir', tmp(), '--export-batch', '20', '--export-container', `${cname('')}*`]);
    agents.push(agent);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
    const stream = followSse(`${agent.base}/api/v1/events?type=container.started&type=container.stopped`);
    await stream.opened;

    for (let i = 0; i < 6; i++) start(`a${i}`, [], ['sleep', '600']);
    await eventually(() => containerEvents(rx.docs).length >= 6, 20_000, 'the first events at the receiver');
    await rx.stop();
    // The receiver is gone: these events can only arrive through the sink's buffer.
    for (let i = 0; i < 6; i++) start(`b${i}`, [], ['sleep', '600']);
    for (let i = 0; i < 3; i++) docker('rm', '-f', cname(`a${i}`));
    await eventually(async () => {
      const s = (await getJson<Status>(`${agent.base}/api/v1/status`)).body.export.sinks[0];
      return s !== undefined && s.state === 'retrying' && s.buffered >= 9;
    }, 20_000, 'the sink buffering while the receiver is away');
    const metrics = await (await fetch(`${agent.base}/metrics`)).text();
    expect(metrics).toMatch(/portolan_export_up\{sink="http:http:\/\/127\.0\.0\.1:19741\/ingest",state="retrying"\} 0/);
    expect(metrics).toMatch(/portolan_export_buffered\{sink="http:[^"]+"\} ([1-9]\d*)/);
    await rx.start();

    const expected = () => stream.events.filter((e) => e.event.startsWith('container.')).map((e) => `${e.event} ${(e.data as { container: { name: string } }).container.name}`).filter((t) => t.includes(cname(''))).sort();
    // The retry backoff tops at 30 s (the sink's promise), plus the deliveries: the receiver has everything the agent's
    // own stream said, and the sink is empty.
    await eventually(() => expected().length === 15 && JSON.stringify(containerEvents(rx.docs)) === JSON.stringify(expected()), 60_000, 'the receiver to have every event of the stream');
    const status = await eventually(async () => {
      const s = (await getJson<Status>(`${agent.base}/api/v1/status`)).body.export.sinks[0];
      return s !== undefined && s.state === 'ok' && s.buffered === 0 ? s : undefined;
    }, 10_000, 'the sink to drain');
    expect(status).toMatchObject({ dropped: 0 });
    expect(status.retried).toBeGreaterThan(0);
    // Every document the sink counts as sent was received (more only if a cut answer made a batch come twice).
    expect(status.sent).toBeLessThanOrEqual(rx.docs.length);
    expect(status.sent).toBeGreaterThanOrEqual(new Set(rx.docs.map((d) => JSON.stringify(d))).size);
    const after = await (await fetch(`${agent.base}/metrics`)).text();
    expect(after).toContain(`portolan_export_sent_total{sink="http:http://127.0.0.1:${RECEIVER_PORT}/ingest"} ${status.sent}`);
    expect(after).toContain(`portolan_export_buffered{sink="http:http://127.0.0.1:${RECEIVER_PORT}/ingest"} 0`);
    stream.close();
    await rx.stop();
    await agent.stop();
  }, 150_000);
});

describe('serve --export nats', () => {
  it('a subscriber of a real nats-server gets the events as connbeat documents', async () => {
    natsServer = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(NATS_PORT)], { stdio: 'ignore' });
    const subject = `portolan.test.${RUN_ID}`;
    const nc: NatsConnection = await eventually(() => connect({ servers: `nats://127.0.0.1:${NATS_PORT}` }).catch(() => undefined), 10_000, 'nats-server');
    const got: Doc[] = [];
    const sub = nc.subscribe(subject);
    void (async () => { for await (const m of sub) got.push(JSON.parse(new TextDecoder().decode(m.data)) as Doc); })();
    await nc.flush();
    const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT + 1}`, '--interval', '1', '--no-history', '--export', `nats://127.0.0.1:${NATS_PORT}/${subject}`,
      // Only this test's containers: other traffic on the machine (its connections are exported too) stays out.
      '--export-container', `${cname('n')}*`]);
    agents.push(agent);
    await eventually(async () => (await getJson<Status>(`${agent.base}/api/v1/status`)).body.export?.sinks[0]?.state === 'ok', 20_000, 'the sink connected');
    start('n1', ['--label', 'team=nats'], ['sleep', '600']);
    const doc = await eventually(() => got.find((d) => d.event === 'container.started' && d.container?.name === cname('n1')), 20_000, 'container.started of n1 over NATS');
    expect(doc.container?.labels).toMatchObject({ team: 'nats', 'org.portolan.run': RUN });
    expect(doc.beat).toEqual({ hostname: os.hostname(), name: 'portolan', version: expect.any(String) });
    docker('rm', '-f', cname('n1'));
    await eventually(() => got.some((d) => d.event === 'container.stopped' && d.container?.name === cname('n1')), 20_000, 'container.stopped of n1 over NATS');
    const s = (await getJson<Status>(`${agent.base}/api/v1/status`)).body.export.sinks[0];
    // No JetStream stream stores the subject: core NATS, and status says what that promises.
    expect(s).toMatchObject({ state: 'ok', dropped: 0, delivery: 'at-most-once' });
    expect(s?.sent).toBeGreaterThanOrEqual(got.filter((d) => d.container?.name.startsWith(cname(''))).length);
    await nc.drain();
    await agent.stop();
  }, 90_000);
});

describe('serve --export nats into a JetStream stream: at least once through a server outage', () => {
  it('every container event the test caused is stored by the stream, nats-server killed mid-stream and restarted on its store', async () => {
    const store = tmp();
    const natsArgs = ['-a', '127.0.0.1', '-p', String(JS_NATS_PORT), '-js', '-sd', store];
    let server: ChildProcess | undefined = spawn('nats-server', natsArgs, { stdio: 'ignore' });
    const stopServer = async () => {
      const s = server;
      server = undefined;
      if (!s || s.exitCode !== null) return;
      const exited = new Promise((resolve) => s.once('exit', resolve));
      s.kill('SIGKILL');
      await exited;
    };
    try {
      const subject = `portolan.jstest.${RUN_ID}`;
      const nc: NatsConnection = await eventually(() => connect({ servers: `nats://127.0.0.1:${JS_NATS_PORT}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 }).catch(() => undefined), 10_000, 'nats-server with JetStream');
      const jsm = await nc.jetstreamManager();
      const streamName = `PORTOLAN_EXPORT_TEST_${RUN_ID}`.replace(/[^A-Za-z0-9_-]/g, '_');
      await jsm.streams.add({ name: streamName, subjects: [subject], storage: StorageType.File });
      const stored = async (): Promise<Doc[]> => {
        const info = await jsm.streams.info(streamName);
        const out: Doc[] = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
          out.push(JSON.parse(new TextDecoder().decode((await jsm.streams.getMessage(streamName, { seq })).data)) as Doc);
        }
        return out;
      };
      const mine = (docs: readonly Doc[]) => containerEvents(docs).filter((e) => e.includes(cname('j')));

      const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT + 3}`, '--interval', '1', '--no-history',
        '--export', `nats://127.0.0.1:${JS_NATS_PORT}/${subject}`, '--export-container', `${cname('j')}*`]);
      agents.push(agent);
      const sink = async () => (await getJson<Status & { export: { sinks: { delivery?: string }[] } }>(`${agent.base}/api/v1/status`)).body.export.sinks[0];
      await eventually(async () => (await sink())?.delivery === 'at-least-once', 20_000, 'the sink publishing through the JetStream stream');
      // What the test does to Docker, as the container events it makes.
      const did: string[] = [];
      const run = (n: string) => { start(n, [], ['sleep', '600']); did.push(`container.started ${cname(n)}`); };
      const remove = (n: string) => { docker('rm', '-f', cname(n)); did.push(`container.stopped ${cname(n)}`); };
      const expected = () => [...did].sort();

      for (let i = 0; i < 4; i++) run(`ja${i}`);
      await eventually(async () => mine(await stored()).length >= 4, 20_000, 'the first events stored by the stream');
      await stopServer();
      // The server is gone: these events can only reach the stream through the sink's queue.
      for (let i = 0; i < 4; i++) run(`jb${i}`);
      for (let i = 0; i < 2; i++) remove(`ja${i}`);
      await eventually(async () => {
        const s = await sink();
        return s !== undefined && s.state !== 'ok' && s.buffered >= 6;
      }, 20_000, 'the sink keeping the events while the server is away');
      server = spawn('nats-server', natsArgs, { stdio: 'ignore' });

      // The client reconnects within a second or two of the server's return, then the queue drains with acknowledgements.
      await eventually(async () => expected().length === 10 && JSON.stringify(mine(await stored().catch(() => []))) === JSON.stringify(expected()), 60_000, 'the stream to hold every event')
        .catch(async (err: Error) => {
          const got = await stored().catch((e: Error) => `unreadable: ${e.message}`);
          throw new Error(`${err.message}; expected ${JSON.stringify(expected())}; stored ${typeof got === 'string' ? got : JSON.stringify(mine(got))}; sink ${JSON.stringify(await sink())}`);
        });
      const status = await eventually(async () => {
        const s = await sink();
        return s !== undefined && s.state === 'ok' && s.buffered === 0 ? s : undefined;
      }, 10_000, 'the sink to drain');
      expect(status).toMatchObject({ dropped: 0, delivery: 'at-least-once' });

      // The stream refusing documents (full, discarding new ones): published over core NATS they would be gone; the
      // sink keeps them until the stream takes them again.
      const held = (await jsm.streams.info(streamName)).state.messages;
      await jsm.streams.update(streamName, { subjects: [subject], max_msgs: held + 1, discard: DiscardPolicy.New });
      for (let i = 0; i < 3; i++) run(`jc${i}`);
      await eventually(async () => {
        const s = await sink();
        return s !== undefined && s.state === 'retrying' && s.buffered >= 2 && /^JetStream: /.test(s.lastError ?? '');
      }, 20_000, 'the sink keeping what the full stream refuses').catch(async (err: Error) => {
        throw new Error(`${err.message}; sink ${JSON.stringify(await sink())}; stream ${JSON.stringify((await jsm.streams.info(streamName)).state)}`);
      });
      await jsm.streams.update(streamName, { subjects: [subject], max_msgs: -1 });
      await eventually(async () => expected().length === 13 && JSON.stringify(mine(await stored())) === JSON.stringify(expected()), 30_000, 'the stream to hold every event once it takes them again');
      const after = await eventually(async () => {
        const s = await sink();
        return s !== undefined && s.state === 'ok' && s.buffered === 0 ? s : undefined;
      }, 10_000, 'the sink to drain again');
      expect(after).toMatchObject({ dropped: 0 });
      expect(after.retried).toBeGreaterThan(0);
      // Each document counts as sent once, when acknowledged (one sent again after a lost acknowledgement carries its
      // message id, which the stream's de-duplication recognises; at least once allows a copy beyond its window).
      const all = await stored();
      expect(after.sent).toBeLessThanOrEqual(all.length);
      expect(after.sent).toBeGreaterThanOrEqual(new Set(all.map((d) => JSON.stringify(d))).size);
      await agent.stop();
      await nc.close();
    } finally {
      await stopServer();
    }
  }, 150_000);
});

describe('the connbeat fields of a real connection', () => {
  it('equal what Docker and the kernel say, on both ends', async () => {
    const out = tmp();
    const file = path.join(out, 'events.ndjson');
    const agent = await startServe(['--listen', `127.0.0.1:${AGENT_PORT + 2}`, '--interval', '1', '--no-history', '--export', `file:${file}`, '--export-container', `${cname('')}*`]);
    agents.push(agent);
    await eventually(async () => (await getJson(`${agent.base}/readyz`)).status === 200, 30_000, 'readyz');
    start('srv', ['--label', 'role=server', '-p', '127.0.0.1::8080'], ['node', '/opt/peer.mjs', 'tcp-server', '8080']);
    const srv = JSON.parse(docker('inspect', cname('srv')))[0] as { Id: string; Config: { Image: string; Labels: Record<string, string> }; State: { Pid: number }; NetworkSettings: { IPAddress: string; Ports: Record<string, { HostIp: string; HostPort: string }[]> } };
    start('cli', ['--label', 'role=client'], ['node', '/opt/peer.mjs', 'tcp-client', srv.NetworkSettings.IPAddress, '8080']);
    const cli = JSON.parse(docker('inspect', cname('cli')))[0] as typeof srv;
    // The kernel first: the client's established socket as ss sees it in the client's namespace.
    const kernel = await eventually(() => ssSockets(cli.State.Pid).find((s) => s.protocol === 'tcp' && s.state === 'ESTABLISHED' && s.remote === `${srv.NetworkSettings.IPAddress}:8080`), 20_000, 'the connection in ss');
    const docs = () => fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc) : [];
    const opened = (dir: string) => docs().find((d) => d.event === 'connection.opened' && d.direction === dir && d.container?.id === (dir === 'outgoing' ? cli.Id : srv.Id));
    const out1 = await eventually(() => opened('outgoing'), 20_000, 'the client\'s connection.opened document');
    const in1 = await eventually(() => opened('incoming'), 5_000, 'the server\'s connection.opened document');

    expect(`${out1.local_ip}:${out1.local_port}`).toBe(kernel.local);
    expect(`${out1.remote_ip}:${out1.remote_port}`).toBe(kernel.remote);
    expect(`${in1.local_ip}:${in1.local_port}`).toBe(kernel.remote);
    expect(`${in1.remote_ip}:${in1.remote_port}`).toBe(kernel.local);
    // The server's own socket, as its namespace's ss shows it, is the same connection seen from the other end (ss
    // spells the addresses of a `::` listener's sockets IPv4-mapped; documents carry the plain IPv4 address).
    const canon = (e: string) => e.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+:)/, '$1');
    expect(ssSockets(srv.State.Pid).filter((s) => s.state === 'ESTABLISHED').map((s) => `${canon(s.local)} ${canon(s.remote)}`))
      .toContain(`${in1.local_ip}:${in1.local_port} ${in1.remote_ip}:${in1.remote_port}`);
    expect([out1.protocol, in1.protocol]).toEqual(['tcp', 'tcp']);
    // Captured by conntrack as it opened (capture is on by default); the collection-derived duplicates are left out.
    expect((await getJson<{ capture?: { state: string } }>(`${agent.base}/api/v1/status`)).body.capture?.state).toBe('running');
    expect([out1.source, in1.source]).toEqual(['conntrack', 'conntrack']);
    expect(docs().filter((d) => d.event.startsWith('connection.') && d.source !== 'conntrack')).toEqual([]);
    // A conntrack NEW event is the SYN: its state then.
    expect(out1.state).toBe('SYN_SENT');
    // Processes: the pids ss names on each socket, and their command.
    expect(out1.local_process?.binary).toBe('node');
    expect(kernel.pids).toContain(out1.local_process?.pid);
    expect(in1.local_process?.binary).toBe('node');
    // Containers as docker inspect describes them.
    for (const [doc, c, n] of [[out1, cli, 'cli'], [in1, srv, 'srv']] as const) {
      expect(doc.container).toMatchObject({ id: c.Id, name: cname(n), image: c.Config.Image, labels: c.Config.Labels });
    }
    const binding = srv.NetworkSettings.Ports['8080/tcp']?.[0];
    expect(in1.container?.ports).toEqual([{ ip: binding?.HostIp, private_port: 8080, public_port: Number(binding?.HostPort), type: 'tcp' }]);
    expect(out1.container?.ports).toEqual([]);
    for (const d of [out1, in1]) {
      expect(d.docker_host.hostname).toBe(os.hostname());
      expect(d.beat.hostname).toBe(os.hostname());
      expect(Date.parse(d['@timestamp'])).not.toBeNaN();
      // The host's own addresses, none of them a container's.
      expect(d.docker_host.ips).not.toContain(srv.NetworkSettings.IPAddress);
      expect(d.docker_host.ips).not.toContain(cli.NetworkSettings.IPAddress);
    }
    // The filter: only this run's containers' documents were written.
    expect(docs().every((d) => d.container?.name.startsWith(cname('')))).toBe(true);
    await agent.stop();
  }, 90_000);
});
