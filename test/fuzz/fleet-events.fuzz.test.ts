// Change events from the wire, as the hub reads them from the fleet's events stream: real agent events (every
// shape: container, connection, captured flow) with values at random paths replaced by random JSON, batches of
// them, and random JSON. Every input is either refused with a HostEventError naming where, or checked: each event
// kept carries the sender's host, is kept unchanged by a second check, filters to its host, serialises, and maps
// to connbeat documents (`portolan events --server <hub>`) without throwing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventOnHost } from '../../src/core/fleet/host-filter.js';
import { checkHostEvents, HostEventError } from '../../src/core/fleet/parse-host-events.js';
import { toConnbeatDocuments } from '../../src/core/report/connbeat.js';
import { AGENT_EVENTS } from '../fixtures/fleet/agent-events.js';
import { fuzz, FUZZ_TIMEOUT_MS, withEdits } from './harness.js';

/** A real event with values at random paths (up to 5 deep) replaced by random JSON. */
const mutated = fc.tuple(fc.nat({ max: AGENT_EVENTS.length - 1 }), fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 3 }))
  .map(([i, edits]) => {
    return withEdits(AGENT_EVENTS[i], edits);
  });

const ctx = { beat: { hostname: 'hub', name: 'portolan', version: 'test' }, dockerHost: { hostname: 'hub', ips: [] }, containers: new Map() };
let kept = 0;
let refused = 0;

describe('fuzz: fleet events', () => {
  it('a batch is refused with a HostEventError, or each event is kept (checked, with its host) or refused with where', async () => {
    await fuzz('fleet-events', fc.oneof(fc.array(fc.oneof(mutated, fc.constantFrom(...AGENT_EVENTS as unknown[])), { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })), (value) => {
      let r;
      try {
        r = checkHostEvents('h1', value);
      } catch (err) {
        if (!(err instanceof HostEventError)) throw err;
        expect(err.path).toBe('events');
        return;
      }
      expect(r.events.length + r.refused).toBe((value as unknown[]).length);
      for (const e of r.reasons) expect(e.path).toMatch(/^events\[\d+\]/);
      refused += r.refused;
      kept += r.events.length;
      for (const e of r.events) {
        expect(e.host).toBe('h1');
        expect(eventOnHost(e, 'h1')).toBe(true);
        expect(JSON.parse(JSON.stringify(e))).toEqual(e);
        toConnbeatDocuments(e, ctx);
      }
      expect(checkHostEvents('h1', r.events).events).toEqual(r.events);
    }, 500);
    // Both outcomes were seen (the seed is fixed).
    expect(kept).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT_MS);
});
