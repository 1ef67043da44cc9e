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
      events: (): AsyncIterable<DockerEvent> => { streams++; return { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true as const, value: undefined }) }) }; },
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
