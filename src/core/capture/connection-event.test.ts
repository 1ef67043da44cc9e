import { describe, expect, it } from 'vitest';
import type { ContainerAt } from '../model/connection.js';
import type { ConntrackEvent } from '../model/conntrack.js';
import { isCapturedEvent } from '../report/changes.js';
import { toConnectionEvent, type CaptureAttribution } from './connection-event.js';

const T0 = Date.parse('2026-12-07T11:00:00.000Z');
const job: ContainerAt = { id: 'a'.repeat(64), name: 'job-1', image: 'alpine', network: 'lab', exitedAt: '2026-12-07T11:00:05.000Z' };
const web: ContainerAt = { id: 'b'.repeat(64), name: 'web', image: 'nginx', network: 'lab' };

const who: CaptureAttribution = {
  host: 'dockerhost',
  containerAt: (address, atMs) => {
    if (address === '172.30.0.3' && atMs < Date.parse(job.exitedAt ?? '')) return job;
    if (address === '172.30.0.2') return web;
    return undefined;
  },
  isHostAddress: (a) => a === '172.30.0.1' || a === '127.0.0.1',
};

const tcp = (kind: ConntrackEvent['kind'], extra: Partial<ConntrackEvent> = {}): ConntrackEvent => ({
  kind, family: 'ipv4', protocol: 'tcp', protocolNumber: 6, id: 42,
  original: { src: '172.30.0.3', dst: '172.30.0.2', sport: 40000, dport: 80 },
  reply: { src: '172.30.0.2', dst: '172.30.0.3', sport: 80, dport: 40000 },
  status: 0x8, state: 'SYN_SENT', ...extra,
});

describe('toConnectionEvent', () => {
  it('a NEW between two containers: opened, internal, both ends named, observed time', () => {
    const e = toConnectionEvent(tcp('new'), { netns: 4026531840, receivedAtMs: T0 }, who);
    expect(e).toEqual({
      type: 'connection.opened', at: '2026-12-07T11:00:00.000Z',
      flow: {
        source: 'conntrack', netns: 4026531840, flowId: 42, protocol: 'tcp', family: 'ipv4',
        client: { address: '172.30.0.3', port: 40000, container: job },
        server: { address: '172.30.0.2', port: 80, container: web },
        direction: 'internal', state: 'SYN_SENT', unreplied: true,
        openedAt: '2026-12-07T11:00:00.000Z', timing: 'observed', host: 'dockerhost',
      },
    });
    expect(e && isCapturedEvent(e)).toBe(true);
  });

  it('a DESTROY with kernel timestamps and counters: closed, duration, bytes each way, client named as it was at the opening', () => {
    const start = BigInt(T0) * 1_000_000n + 123_456n;
    const stop = BigInt(T0 + 6_010) * 1_000_000n;
    const msg = tcp('destroy', {
      state: 'TIME_WAIT', status: 0x1e, startNs: start, stopNs: stop,
      original: { src: '172.30.0.3', dst: '172.30.0.2', sport: 40000, dport: 80, packets: 6, bytes: 400 },
      reply: { src: '172.30.0.2', dst: '172.30.0.3', sport: 80, dport: 40000, packets: 4, bytes: 1200 },
    });
    // Read long after job-1 exited (TIME_WAIT): still named by it.
    const e = toConnectionEvent(msg, { netns: 1, receivedAtMs: T0 + 130_000, openedAtMs: T0 + 5 }, who);
    expect(e?.type).toBe('connection.closed');
    expect(e?.at).toBe('2026-12-07T11:00:06.010Z');
    expect(e && 'flow' in e && e.flow).toMatchObject({
      client: { container: { name: 'job-1', exitedAt: '2026-12-07T11:00:05.000Z' } },
      openedAt: '2026-12-07T11:00:00.000Z', closedAt: '2026-12-07T11:00:06.010Z', durationMs: 6010, timing: 'kernel',
      bytes: { sent: 400, packetsSent: 6, received: 1200, packetsReceived: 4 }, unreplied: false, state: 'TIME_WAIT',
    });
  });

  it('a DESTROY without timestamps: times from the in-flight NEW and the read; no counters without accounting', () => {
    const e = toConnectionEvent(tcp('destroy'), { netns: 1, receivedAtMs: T0 + 2_000, openedAtMs: T0 + 500 }, who);
    expect(e && 'flow' in e && e.flow).toMatchObject({ openedAt: '2026-12-07T11:00:00.500Z', closedAt: '2026-12-07T11:00:02.000Z', durationMs: 1500, timing: 'observed' });
    expect(e && 'flow' in e && e.flow.bytes).toBeUndefined();
  });

  it('a TCP close read at its UPDATE to TIME_WAIT: closed then, not at the entry\'s expiry (the kernel\'s stop time 120 s later)', () => {
    const start = BigInt(T0) * 1_000_000n;
    const stop = BigInt(T0 + 120_040) * 1_000_000n;
    const msg = tcp('destroy', {
      state: 'TIME_WAIT', status: 0x1e, startNs: start, stopNs: stop,
      original: { src: '172.30.0.3', dst: '172.30.0.2', sport: 40000, dport: 80, packets: 6, bytes: 400 },
      reply: { src: '172.30.0.2', dst: '172.30.0.3', sport: 80, dport: 40000, packets: 4, bytes: 1200 },
    });
    const e = toConnectionEvent(msg, { netns: 1, receivedAtMs: T0 + 120_041, openedAtMs: T0 + 2, closedAtMs: T0 + 40 }, who);
    expect(e?.at).toBe('2026-12-07T11:00:00.040Z');
    expect(e && 'flow' in e && e.flow).toMatchObject({
      openedAt: '2026-12-07T11:00:00.000Z', closedAt: '2026-12-07T11:00:00.040Z', durationMs: 40, timing: 'observed',
      bytes: { sent: 400, received: 1200 },
    });
  });

  it('a DESTROY whose NEW was never read: no opening time, no duration', () => {
    const e = toConnectionEvent(tcp('destroy'), { netns: 1, receivedAtMs: T0 }, who);
    expect(e && 'flow' in e && e.flow.openedAt).toBeUndefined();
    expect(e && 'flow' in e && e.flow.durationMs).toBeUndefined();
  });

  it('DNAT to a published port: the server is the container, what was dialled is kept; direction inbound from outside', () => {
    const e = toConnectionEvent(tcp('new', {
      original: { src: '192.0.2.9', dst: '198.51.100.1', sport: 5555, dport: 8080 },
      reply: { src: '172.30.0.2', dst: '192.0.2.9', sport: 80, dport: 5555 },
    }), { netns: 1, receivedAtMs: T0 }, who);
    expect(e && 'flow' in e && e.flow).toMatchObject({
      client: { address: '192.0.2.9', port: 5555 }, server: { address: '172.30.0.2', port: 80, container: web },
      published: { address: '198.51.100.1', port: 8080 }, direction: 'inbound',
    });
  });

  it('host and outbound directions', () => {
    const out = toConnectionEvent(tcp('new', {
      original: { src: '172.30.0.2', dst: '203.0.113.5', sport: 1, dport: 443 },
      reply: { src: '203.0.113.5', dst: '10.0.0.1', sport: 443, dport: 1 },
    }), { netns: 1, receivedAtMs: T0 }, who);
    expect(out && 'flow' in out && out.flow.direction).toBe('outbound');
    const fromHost = toConnectionEvent(tcp('new', {
      original: { src: '172.30.0.1', dst: '172.30.0.2', sport: 2, dport: 80 },
      reply: { src: '172.30.0.2', dst: '172.30.0.1', sport: 80, dport: 2 },
    }), { netns: 1, receivedAtMs: T0 }, who);
    expect(fromHost && 'flow' in fromHost && fromHost.flow.client).toEqual({ address: '172.30.0.1', port: 2, host: true });
    expect(fromHost && 'flow' in fromHost && fromHost.flow.direction).toBe('internal');
    const transit = toConnectionEvent(tcp('new', {
      original: { src: '192.0.2.1', dst: '192.0.2.2', sport: 3, dport: 80 },
      reply: { src: '192.0.2.2', dst: '192.0.2.1', sport: 80, dport: 3 },
    }), { netns: 1, receivedAtMs: T0 }, who);
    expect(transit && 'flow' in transit && transit.flow.direction).toBe('unknown');
  });

  it('a process the collections saw is named', () => {
    const e = toConnectionEvent(tcp('new'), { netns: 1, receivedAtMs: T0 }, {
      ...who, processAt: (p, ep) => (p === 'tcp' && ep.port === 80 ? { pid: 7, binary: 'nginx', cmdline: 'nginx -g daemon off;' } : undefined),
    });
    expect(e && 'flow' in e && e.flow.server.process).toEqual({ pid: 7, binary: 'nginx', cmdline: 'nginx -g daemon off;' });
  });

  it('no event for updates, dumps, ICMP or a tuple without ports', () => {
    expect(toConnectionEvent(tcp('update'), { netns: 1, receivedAtMs: T0 }, who)).toBeUndefined();
    expect(toConnectionEvent(tcp('dump'), { netns: 1, receivedAtMs: T0 }, who)).toBeUndefined();
    expect(toConnectionEvent(tcp('new', { protocol: 'icmp', protocolNumber: 1 }), { netns: 1, receivedAtMs: T0 }, who)).toBeUndefined();
    expect(toConnectionEvent(tcp('new', { original: { src: '1.1.1.1', dst: '2.2.2.2' } }), { netns: 1, receivedAtMs: T0 }, who)).toBeUndefined();
  });

  it('UDP: no state', () => {
    const { state: _s, ...rest } = tcp('new');
    const e = toConnectionEvent({ ...rest, protocol: 'udp', protocolNumber: 17 }, { netns: 1, receivedAtMs: T0 }, who);
    expect(e && 'flow' in e && e.flow.protocol).toBe('udp');
    expect(e && 'flow' in e && 'state' in e.flow).toBe(false);
  });

  it('keeps the order of its fields (exports and the events stream serialise it as built) and every time right', () => {
    const e = toConnectionEvent(tcp('destroy', { status: 0xe, state: 'CLOSE', startNs: BigInt(T0) * 1_000_000n, stopNs: BigInt(T0 + 1500) * 1_000_000n,
      original: { src: '172.30.0.3', dst: '10.0.0.9', sport: 40000, dport: 8080, packets: 3, bytes: 180 },
      reply: { src: '172.30.0.2', dst: '172.30.0.3', sport: 80, dport: 40000, packets: 2, bytes: 120 } }), { netns: 7, receivedAtMs: T0 + 2000 }, who);
    expect(Object.keys(e ?? {})).toEqual(['type', 'at', 'flow']);
    expect(Object.keys(e?.flow ?? {})).toEqual(['source', 'netns', 'flowId', 'protocol', 'family', 'client', 'server', 'published', 'direction', 'state',
      'unreplied', 'openedAt', 'closedAt', 'timing', 'durationMs', 'bytes', 'host']);
    expect(Object.keys(e?.flow.client ?? {})).toEqual(['address', 'port', 'container']);
    // Times formatted for many distinct milliseconds (more than the formatter remembers), in and out of order.
    const ms = Array.from({ length: 300 }, (_, i) => T0 + ((i * 7919) % 1000) * 13);
    for (const t of ms) {
      const o = toConnectionEvent(tcp('new'), { netns: 1, receivedAtMs: t }, who);
      expect(o?.at).toBe(new Date(t).toISOString());
      expect(o?.flow.openedAt).toBe(new Date(t).toISOString());
    }
  });
});

