import { describe, expect, it } from 'vitest';
import type { ConntrackEvent } from '../model/conntrack.js';
import { createFlowTable } from './flow-table.js';

const msg = (kind: ConntrackEvent['kind'], sport: number, extra: Partial<ConntrackEvent> = {}): ConntrackEvent => ({
  kind, family: 'ipv4', protocol: 'tcp', protocolNumber: 6, id: sport,
  original: { src: '172.30.0.3', dst: '172.30.0.2', sport, dport: 80 },
  reply: { src: '172.30.0.2', dst: '172.30.0.3', sport: 80, dport: sport }, ...extra,
});

describe('flow table', () => {
  it('a DESTROY gets the time its NEW was read', () => {
    const t = createFlowTable();
    expect(t.apply(msg('new', 1), 10, 1000)).toMatchObject({ kind: 'opened', receivedAtMs: 1000 });
    expect(t.stats().inFlight).toBe(1);
    expect(t.apply(msg('destroy', 1), 10, 1500)).toMatchObject({ kind: 'closed', openedAtMs: 1000, receivedAtMs: 1500 });
    expect(t.stats().inFlight).toBe(0);
  });

  it('a DESTROY whose NEW was not seen is still a close, without an opening time', () => {
    const r = createFlowTable().apply(msg('destroy', 2), 10, 1500);
    expect(r?.kind).toBe('closed');
    expect(r && 'openedAtMs' in r).toBe(false);
  });

  it('the same flow seen from a second namespace counts once', () => {
    const t = createFlowTable();
    t.apply(msg('new', 1), 10, 1000);
    expect(t.apply(msg('new', 1), 20, 1001)).toBeUndefined();
    expect(t.apply(msg('destroy', 1), 20, 1100)).toBeUndefined();
    expect(t.apply(msg('destroy', 1), 10, 1100)?.kind).toBe('closed');
    expect(t.stats().duplicates).toBe(2);
  });

  it('a flow\'s copy in another namespace that closes after the first (Docker flushed the host\'s at once; the server\'s waits out TIME_WAIT) is not a second connection', () => {
    const t = createFlowTable();
    t.apply(msg('new', 1), 10, 1000);
    expect(t.apply(msg('new', 1), 20, 1001)).toBeUndefined();
    expect(t.apply(msg('destroy', 1), 10, 1500)).toMatchObject({ kind: 'closed', openedAtMs: 1000 });
    // 120 s later, the server namespace's copy.
    expect(t.apply(msg('destroy', 1), 20, 121_500)).toBeUndefined();
    // Its NEW read late, after the host's DESTROY, is that copy too.
    t.apply(msg('new', 2), 10, 2000);
    t.apply(msg('destroy', 2), 10, 2100);
    expect(t.apply(msg('new', 2), 20, 2200)).toBeUndefined();
    expect(t.apply(msg('destroy', 2), 20, 122_200)).toBeUndefined();
    expect(t.stats().duplicates).toBe(4);
    // The same namespace again, or long after: a flow of its own.
    expect(t.apply(msg('destroy', 1), 10, 121_600)?.kind).toBe('closed');
    expect(t.apply(msg('new', 2), 20, 402_200)?.kind).toBe('opened');
  });

  it('resync: a flow that closed in another namespace, still in this one\'s table (TIME_WAIT), was not opened unseen', () => {
    const t = createFlowTable();
    t.apply(msg('new', 1), 10, 1000);
    t.apply(msg('destroy', 1), 10, 1500);
    expect(t.resync(20, [msg('update', 1)], 30_000)).toEqual([]);
    expect(t.stats().missedOpens).toBe(0);
  });

  it('updates and dump entries are not flows of their own', () => {
    const t = createFlowTable();
    expect(t.apply(msg('update', 1), 10, 1000)).toBeUndefined();
    expect(t.apply(msg('dump', 1), 10, 1000)).toBeUndefined();
  });

  it('bounded: past the limit the oldest go, counted', () => {
    const t = createFlowTable(1000);
    for (let i = 0; i < 5000; i++) t.apply(msg('new', i), 10, i);
    expect(t.stats().inFlight).toBeLessThanOrEqual(1000);
    expect(t.stats().evicted).toBeGreaterThanOrEqual(4000);
    expect(t.apply(msg('destroy', 4999), 10, 6000)).toMatchObject({ openedAtMs: 4999 });
  });

  it('resync: flows the dump has that the table lacks were opened unseen; flows it lacks were closed unseen', () => {
    const t = createFlowTable();
    t.apply(msg('new', 1), 10, 1000);
    t.apply(msg('new', 2), 10, 1000);
    t.apply(msg('new', 9), 20, 1000);
    const out = t.resync(10, [msg('dump', 2), msg('dump', 3)], 2000);
    expect(out.map((r) => [r.kind, r.msg.original.sport])).toEqual([['opened', 3], ['closed', 1]]);
    expect(out[1]).toMatchObject({ openedAtMs: 1000, msg: { kind: 'destroy', protocol: 'tcp', reply: { src: '172.30.0.2', sport: 80, dport: 1 } } });
    expect(t.stats()).toMatchObject({ inFlight: 3, missedOpens: 1, missedCloses: 1 });
  });

  it('dropNamespace forgets only that namespace', () => {
    const t = createFlowTable();
    t.apply(msg('new', 1), 10, 1000);
    t.apply(msg('new', 2), 20, 1000);
    t.dropNamespace(10);
    expect(t.stats().inFlight).toBe(1);
  });

  it('remembers closed flows within its limit and 5 minutes, swept in batches, and still knows a late copy', () => {
    const t = createFlowTable(1000);
    // 5,000 flows open and close in namespace 10 over 100 s: never more than the limit remembered.
    let most = 0;
    for (let i = 0; i < 5000; i++) {
      t.apply(msg('new', 10_000 + i), 10, i * 20);
      t.apply(msg('destroy', 10_000 + i), 10, i * 20 + 5);
      most = Math.max(most, t.stats().closedRemembered);
    }
    expect(most).toBeLessThanOrEqual(1000);
    expect(t.stats().closedRemembered).toBeGreaterThanOrEqual(990);
    // The last one's copy closing in namespace 20 within 5 minutes is that flow, not another.
    expect(t.apply(msg('destroy', 14_999), 20, 4999 * 20 + 60_000)).toBeUndefined();
    // Past 5 minutes (and the next sweep): all let go, and a close there is a flow of its own.
    t.apply(msg('new', 1), 10, 500_000);
    t.apply(msg('destroy', 1), 10, 500_001);
    expect(t.stats().closedRemembered).toBe(1);
    expect(t.apply(msg('destroy', 14_998), 20, 500_002)?.kind).toBe('closed');
  });

  describe('TCP closes at their closing state (UPDATE events to TIME_WAIT or CLOSE)', () => {
    const update = (sport: number, state: string) => msg('update', sport, { state });

    it('mode state: the UPDATE to TIME_WAIT is the close, with its time; the DESTROY 120 s later is not reported again', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 1), 10, 1000);
      expect(t.apply(update(1, 'ESTABLISHED'), 10, 1001)).toBeUndefined();
      expect(t.apply(update(1, 'FIN_WAIT'), 10, 1009)).toBeUndefined();
      const r = t.apply(update(1, 'TIME_WAIT'), 10, 1010);
      expect(r).toMatchObject({ kind: 'closed', openedAtMs: 1000, closedAtMs: 1010, receivedAtMs: 1010, msg: { kind: 'destroy', state: 'TIME_WAIT' } });
      expect(t.stats()).toMatchObject({ inFlight: 0, closedAtState: 1 });
      expect(t.apply(msg('destroy', 1, { state: 'TIME_WAIT' }), 10, 121_010)).toBeUndefined();
      // A reset in TIME_WAIT (TIME_WAIT, then CLOSE): still one close.
      t.apply(msg('new', 2), 10, 2000);
      expect(t.apply(update(2, 'TIME_WAIT'), 10, 2010)?.kind).toBe('closed');
      expect(t.apply(update(2, 'CLOSE'), 10, 2011)).toBeUndefined();
      expect(t.stats().closedAtState).toBe(2);
    });

    it('mode state: a reset (CLOSE) closes; a connection opened before the subscription closes without an opening time, once', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 3), 10, 1000);
      expect(t.apply(update(3, 'CLOSE'), 10, 1002)).toMatchObject({ kind: 'closed', openedAtMs: 1000, closedAtMs: 1002 });
      const unseen = t.apply(update(4, 'TIME_WAIT'), 10, 1003);
      expect(unseen).toMatchObject({ kind: 'closed', closedAtMs: 1003 });
      expect(unseen && 'openedAtMs' in unseen).toBe(false);
      expect(t.apply(msg('destroy', 4, { state: 'TIME_WAIT' }), 10, 121_003)).toBeUndefined();
    });

    it('mode state: a DESTROY of a flow still in the table (its UPDATE was not read) is its close; one flushed while ESTABLISHED too', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 5), 10, 1000);
      expect(t.apply(msg('destroy', 5, { state: 'TIME_WAIT' }), 10, 121_000)).toMatchObject({ kind: 'closed', openedAtMs: 1000 });
      t.apply(msg('new', 6), 10, 1000);
      expect(t.apply(msg('destroy', 6, { state: 'ESTABLISHED' }), 10, 1500)).toMatchObject({ kind: 'closed', openedAtMs: 1000 });
    });

    it('mode state: the copy in another namespace closes once; UDP and other updates mean nothing', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 7), 10, 1000);
      t.apply(msg('new', 7), 20, 1001);
      expect(t.apply(update(7, 'TIME_WAIT'), 20, 1010)).toBeUndefined();
      expect(t.apply(update(7, 'TIME_WAIT'), 10, 1010)?.kind).toBe('closed');
      expect(t.apply(msg('destroy', 7, { state: 'TIME_WAIT' }), 20, 121_010)).toBeUndefined();
      expect(t.apply(msg('destroy', 7, { state: 'TIME_WAIT' }), 10, 121_011)).toBeUndefined();
      t.apply(msg('new', 8, { protocol: 'udp', protocolNumber: 17 }), 10, 1000);
      expect(t.apply(msg('update', 8, { protocol: 'udp', protocolNumber: 17 }), 10, 1001)).toBeUndefined();
      expect(t.stats().inFlight).toBe(1);
    });

    it('mode destroy (accounting on: the bytes come with the DESTROY): reported then, with the closing state\'s time', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('destroy');
      t.apply(msg('new', 9), 10, 1000);
      expect(t.apply(update(9, 'TIME_WAIT'), 10, 1010)).toBeUndefined();
      expect(t.apply(update(9, 'CLOSE'), 10, 1020)).toBeUndefined();
      expect(t.apply(msg('destroy', 9, { state: 'CLOSE' }), 10, 121_010)).toMatchObject({ kind: 'closed', openedAtMs: 1000, closedAtMs: 1010, receivedAtMs: 121_010 });
    });

    it('mode off: UPDATE events change nothing (as before)', () => {
      const t = createFlowTable();
      t.apply(msg('new', 10), 10, 1000);
      expect(t.apply(update(10, 'TIME_WAIT'), 10, 1010)).toBeUndefined();
      const r = t.apply(msg('destroy', 10, { state: 'TIME_WAIT' }), 10, 121_010);
      expect(r).toMatchObject({ kind: 'closed', openedAtMs: 1000 });
      expect(r && 'closedAtMs' in r).toBe(false);
    });

    it('a resync does not take a connection in TIME_WAIT for one opened unseen', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 11), 10, 1000);
      t.apply(update(11, 'TIME_WAIT'), 10, 1010);
      const out = t.resync(10, [msg('dump', 11, { state: 'TIME_WAIT' }), msg('dump', 12, { state: 'CLOSE' }), msg('dump', 13, { state: 'ESTABLISHED' })], 2000);
      expect(out.map((r) => [r.kind, r.msg.original.sport])).toEqual([['opened', 13]]);
    });

    it('a resync closes a flow in flight that the dump has in TIME_WAIT (its UPDATE was among the events lost)', () => {
      const t = createFlowTable();
      t.setTcpCloseMode('state');
      t.apply(msg('new', 14), 10, 1000);
      const out = t.resync(10, [msg('dump', 14, { state: 'TIME_WAIT' })], 3000);
      expect(out).toMatchObject([{ kind: 'closed', openedAtMs: 1000, closedAtMs: 3000 }]);
      expect(t.stats()).toMatchObject({ inFlight: 0, missedCloses: 1 });
    });
  });
});
