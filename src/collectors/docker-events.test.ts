import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DockerEvent, DockerEventsOptions } from '../sources/docker-api.js';
import { createDockerEventsFollower, formatSince, toAgentEvent, type AgentDockerEvent } from './docker-events.js';

const logger = pino({ level: 'silent' });
const ev = (action: string, id: string, timeNano: number): DockerEvent => ({ Type: 'container', Action: action, Actor: { ID: id }, timeNano });

describe('formatSince / toAgentEvent', () => {
  it('formats nanoseconds as seconds with a 9-digit fraction', () => {
    expect(formatSince(1_700_000_000_000_000_123n)).toBe('1700000000.000000123');
  });
  it('reduces raw events and skips ones without an actor', () => {
    expect(toAgentEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'n1', Attributes: { container: 'c1' } }, time: 5 }))
      .toEqual({ type: 'network', action: 'connect', id: 'n1', container: 'c1', timeNano: 5_000_000_000n });
    expect(toAgentEvent({ Type: 'container', Action: 'start' })).toBeUndefined();
  });
});

describe('createDockerEventsFollower', () => {
  it('reconnects after a break, resumes with since and drops the replayed boundary', async () => {
    const calls: DockerEventsOptions[] = [];
    let pings = 0;
    const scripts: (DockerEvent | Error)[][] = [
      [ev('start', 'a', 1_000), ev('die', 'a', 2_000), new Error('stream broke')],
      // Docker replays from `since` inclusive: the event at 2000 comes again.
      [ev('die', 'a', 2_000), ev('destroy', 'a', 3_000)],
    ];
    const docker = {
      async ping() {
        pings++;
        // The engine is down for one ping between the two streams.
        if (pings === 2) throw new Error('ECONNREFUSED');
      },
      async *events(opts?: DockerEventsOptions) {
        calls.push(opts ?? {});
        for (const item of scripts.shift() ?? []) {
          if (item instanceof Error) throw item;
          yield item;
        }
        await new Promise<void>((resolve) => opts?.signal?.addEventListener('abort', () => resolve()));
      },
    };
    const seen: AgentDockerEvent[] = [];
    let connected = 0;
    let disconnected = 0;
    const follower = createDockerEventsFollower({ docker, logger, initialBackoffMs: 1, maxBackoffMs: 5, now: () => 0 });
    follower.start({ onEvent: (e) => seen.push(e), onConnected: () => connected++, onDisconnected: () => disconnected++ });
    const end = Date.now() + 3000;
    while (seen.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await follower.stop();
    expect(seen.map((e) => `${e.action}@${e.timeNano}`)).toEqual(['start@1000', 'die@2000', 'destroy@3000']);
    expect(calls[0]?.since).toBe('0.000000000');
    expect(calls[1]?.since).toBe(formatSince(2_000n));
    expect(calls[0]?.filters).toEqual({ type: ['container', 'network'], event: ['start', 'die', 'destroy', 'rename', 'connect', 'disconnect'] });
    expect(connected).toBe(2);
    expect(disconnected).toBe(1);
    expect(pings).toBe(3);
  });

  it('a stream the engine ends (dockerd stopping) counts as a break', async () => {
    let streams = 0;
    const docker = {
      async ping() { return undefined; },
      // The engine ends the stream at once, without an event.
      events: (opts?: DockerEventsOptions): AsyncIterable<DockerEvent> => {
        streams++;
        opts?.onOpen?.();
        return { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true as const, value: undefined }) }) };
      },
    };
    let disconnected = 0;
    const follower = createDockerEventsFollower({ docker, logger, initialBackoffMs: 1, maxBackoffMs: 2 });
    follower.start({ onEvent: () => undefined, onConnected: () => undefined, onDisconnected: () => disconnected++ });
    const end = Date.now() + 3000;
    while (streams < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await follower.stop();
    expect(disconnected).toBeGreaterThanOrEqual(2);
  });
});

describe('backoff (issue #11: a proxy answering 403 to /events made the agent reconnect ~4 times a second forever)', () => {
  const errorWith = (code: string, message: string) => Object.assign(new Error(message), { code });
  function recordingLogger() {
    const lines: { level: string; msg: string }[] = [];
    const at = (level: string) => (o: unknown, msg?: string) => { lines.push({ level, msg: msg ?? (typeof o === 'string' ? o : '') }); };
    return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn') } as never };
  }
  async function run(docker: { ping(): Promise<unknown>; events(o?: DockerEventsOptions): AsyncIterable<DockerEvent> }, retries: number, extra: Record<string, unknown> = {}) {
    const delays: number[] = [];
    const { lines, logger: log } = recordingLogger();
    let connected = 0;
    let disconnected = 0;
    const follower = createDockerEventsFollower({
      docker, logger: log, initialBackoffMs: 1, maxBackoffMs: 64, maxUnreachableBackoffMs: 8, random: () => 1, onRetry: (d) => delays.push(d), ...extra,
    });
    follower.start({ onEvent: () => undefined, onConnected: () => connected++, onDisconnected: () => disconnected++ });
    const end = Date.now() + 5000;
    while (delays.length < retries && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    await follower.stop();
    return { delays: delays.slice(0, retries), lines, connected, disconnected };
  }

  it('an engine that answers /_ping but refuses /events: delays double to the cap and stay there; one warning', async () => {
    const docker = {
      async ping() { return undefined; },
      // eslint-disable-next-line require-yield -- refused before any event
      async *events(): AsyncGenerator<DockerEvent> { throw Object.assign(new Error('Docker API GET /v1.41/events failed with HTTP 403: forbidden'), { status: 403 }); },
    };
    const r = await run(docker, 10);
    expect(r.delays).toEqual([1, 2, 4, 8, 16, 32, 64, 64, 64, 64]);
    expect(r.connected).toBe(0);
    expect(r.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('an engine that cannot be reached is retried at most every maxUnreachableBackoffMs (dockerd restarting)', async () => {
    const docker = {
      async ping() { throw errorWith('ECONNREFUSED', 'connection refused'); },
      // eslint-disable-next-line require-yield -- never reached
      async *events(): AsyncGenerator<DockerEvent> { throw new Error('unreachable'); },
    };
    const r = await run(docker, 6);
    expect(r.delays).toEqual([1, 2, 4, 8, 8, 8]);
    expect(r.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('a stream that opens and breaks at once (a malformed line) does not reset the backoff', async () => {
    const docker = {
      async ping() { return undefined; },
      async *events(o?: DockerEventsOptions): AsyncGenerator<DockerEvent> {
        o?.onOpen?.();
        yield* [];
        throw errorWith('ENOTDOCKER', 'malformed event line');
      },
    };
    const r = await run(docker, 8);
    expect(r.delays).toEqual([1, 2, 4, 8, 16, 32, 64, 64]);
    // Each open and each break is told to the agent (status, collections); the log says it once: connected,
    // then failing — a stream that breaks at once is no reconnection.
    expect(r.connected).toBeGreaterThanOrEqual(8);
    expect(r.lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.msg}`)).toEqual([
      'info docker events stream connected',
      'warn docker events stream lost; reconnecting with backoff (attempts are logged at debug)',
    ]);
  });

  it('the backoff starts again from its first step only after a stream stayed open for healthyAfterMs', async () => {
    let clock = 0;
    let stream = 0;
    const docker = {
      async ping() { return undefined; },
      async *events(o?: DockerEventsOptions): AsyncGenerator<DockerEvent> {
        stream++;
        o?.onOpen?.();
        // The fifth stream stays up for a minute of (fake) time before it breaks.
        if (stream === 5) clock += 60_000;
        yield* [];
        throw errorWith('ENOTDOCKER', 'broke');
      },
    };
    const r = await run(docker, 7, { monotonic: () => clock, healthyAfterMs: 30_000 });
    expect(r.delays).toEqual([1, 2, 4, 8, 1, 2, 4]);
  });

  it('an outage is one warning and one "connected again", however many attempts it took', async () => {
    let pings = 0;
    const docker = {
      async ping() { if (++pings <= 4) throw errorWith('ECONNREFUSED', 'connection refused'); },
      async *events(o?: DockerEventsOptions): AsyncGenerator<DockerEvent> {
        o?.onOpen?.();
        // Stays open until the follower stops.
        await new Promise<void>((resolve) => o?.signal?.addEventListener('abort', () => resolve()));
        yield* [];
      },
    };
    const { lines, logger: log } = recordingLogger();
    const follower = createDockerEventsFollower({ docker, logger: log, initialBackoffMs: 1, maxBackoffMs: 4, healthyAfterMs: 50, random: () => 1 });
    follower.start({ onEvent: () => undefined, onConnected: () => undefined, onDisconnected: () => undefined });
    const end = Date.now() + 3000;
    while (!lines.some((l) => l.level === 'info') && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await follower.stop();
    expect(lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn docker events stream unavailable; retrying with backoff (attempts are logged at debug)',
      'info docker events stream connected again',
    ]);
  });
});
