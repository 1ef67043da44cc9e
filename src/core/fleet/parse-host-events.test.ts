import { describe, expect, it } from 'vitest';
import { AGENT_EVENTS } from '../../../test/fixtures/fleet/agent-events.js';
import type { ConnectionEvent } from '../model/connection.js';
import { checkHostEvent, checkHostEvents, HostEventError } from './parse-host-events.js';

describe('checkHostEvents', () => {
  it('keeps every field an agent sends, adds the sender\'s host, and drops whatever else a sender put in', () => {
    const r = checkHostEvents('h1', AGENT_EVENTS);
    expect(r.refused).toBe(0);
    expect(r.events).toEqual(AGENT_EVENTS.map((e) => ({ ...e, host: 'h1' })));
    // A claimed host is replaced by the sender's; unknown fields do not reach clients.
    const extra = { ...AGENT_EVENTS[0], host: 'someone-else', secret: 'x'.repeat(100), container: { ...(AGENT_EVENTS[0] as { container: object }).container, env: ['A=1'] } };
    expect(checkHostEvent('h1', extra)).toEqual({ ...AGENT_EVENTS[0], host: 'h1' });
  });

  it('refuses a bad event with where and why, and keeps the others of its batch', () => {
    const bad = [
      [{ type: 'container.exploded', at: '2026-12-07T12:00:00Z' }, 'events[0].type'],
      [{ ...AGENT_EVENTS[0], at: 'yesterday' }, 'events[0].at'],
      [{ ...AGENT_EVENTS[1], connection: { ...(AGENT_EVENTS[1] as { connection: object }).connection, client: { address: '1.2.3.4', port: 70_000 } } }, 'events[0].connection.client.port'],
      [{ ...AGENT_EVENTS[1], connection: { ...(AGENT_EVENTS[1] as { connection: object }).connection, via: 'magic' } }, 'events[0].connection.via'],
      [{ ...AGENT_EVENTS[2], flow: { ...(AGENT_EVENTS[2] as ConnectionEvent).flow, netns: -1 } }, 'events[0].flow.netns'],
      [{ ...AGENT_EVENTS[2], flow: { ...(AGENT_EVENTS[2] as ConnectionEvent).flow, host: 'x'.repeat(5000) } }, 'events[0].flow.host'],
      [{ ...AGENT_EVENTS[2], connection: (AGENT_EVENTS[1] as { connection: object }).connection }, 'events[0]'],
      ['just text', 'events[0]'],
    ] as const;
    for (const [event, path] of bad) {
      const r = checkHostEvents('h1', [event, AGENT_EVENTS[0]]);
      expect(r.refused, path).toBe(1);
      expect(r.reasons[0]?.path).toBe(path);
      expect(r.events).toEqual([{ ...AGENT_EVENTS[0], host: 'h1' }]);
    }
  });

  it('refuses a batch that is not a list or holds more events than the limit', () => {
    expect(() => checkHostEvents('h1', { 0: AGENT_EVENTS[0] })).toThrow(HostEventError);
    expect(() => checkHostEvents('h1', Array(11).fill(AGENT_EVENTS[0]), { maxEvents: 10 })).toThrow(/11 events, more than 10/);
    // Reasons are bounded; every refusal is counted.
    const r = checkHostEvents('h1', Array(100).fill(1), { maxReasons: 3 });
    expect([r.refused, r.reasons.length, r.events.length]).toEqual([100, 3, 0]);
  });
});
