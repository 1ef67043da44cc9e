// The ctnetlink decoder on real captured datagrams (test/fixtures/ctnetlink, see its README) and on malformed input.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConntrackEvent } from '../model/conntrack.js';
import { parseCtnetlinkDatagram } from './ctnetlink.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/ctnetlink');
const datagrams = (file: string) => readFileSync(path.join(DIR, file), 'utf8').split('\n').filter(Boolean).map((l) => new Uint8Array(Buffer.from(l, 'hex')));
function events(file: string): ConntrackEvent[] {
  return datagrams(file).flatMap((d) => {
    const r = parseCtnetlinkDatagram(d);
    expect(r.errors).toEqual([]);
    return r.messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
  });
}

describe('parseCtnetlinkDatagram on real captures', () => {
  it('TCP with accounting and timestamps: NEW without counters, DESTROY with both directions counted and times', () => {
    const [n1, n2, d1, d2] = events('tcp-acct.hex');
    expect(n1).toEqual({
      kind: 'new', family: 'ipv4', protocol: 'tcp', protocolNumber: 6, id: 2534768599,
      original: { src: '127.0.0.1', dst: '127.0.0.1', sport: 38016, dport: 19401 },
      reply: { src: '127.0.0.1', dst: '127.0.0.1', sport: 19401, dport: 38016 },
      status: 392, state: 'SYN_SENT', timeout: 120,
    });
    expect(n2?.kind).toBe('new');
    // The 3,000-byte answer and its headers (conntrack counts IP-level bytes), `conntrack -D` printed the same.
    expect(d1).toEqual({
      kind: 'destroy', family: 'ipv4', protocol: 'tcp', protocolNumber: 6, id: 2534768599,
      original: { src: '127.0.0.1', dst: '127.0.0.1', sport: 38016, dport: 19401, packets: 5, bytes: 273 },
      reply: { src: '127.0.0.1', dst: '127.0.0.1', sport: 19401, dport: 38016, packets: 5, bytes: 3268 },
      status: 910, state: 'TIME_WAIT', timeout: 118, startNs: 1796642967515557227n, stopNs: 1796642968639379604n,
    });
    // The RST-closed one: conntrack -D printed `CLOSE … packets=3 bytes=164 … packets=1 bytes=60`.
    expect(d2).toMatchObject({ kind: 'destroy', state: 'CLOSE', original: { sport: 38020, packets: 3, bytes: 164 }, reply: { packets: 1, bytes: 60 } });
  });

  it('defaults: no counters, no timestamps', () => {
    const evs = events('tcp-plain.hex');
    expect(evs.map((e) => e.kind)).toEqual(['new', 'new', 'destroy', 'destroy']);
    for (const e of evs) {
      expect(e.startNs).toBeUndefined();
      expect(e.original.bytes).toBeUndefined();
    }
  });

  it('UDP answered and unanswered: status SEEN_REPLY (bit 1) tells them apart; no TCP state', () => {
    const [, answered] = events('udp-acct.hex');
    const [, unanswered] = events('udp-unreplied-acct.hex');
    expect(answered).toMatchObject({ protocol: 'udp', original: { bytes: 32 }, reply: { bytes: 36 } });
    expect((answered?.status ?? 0) & 2).toBe(2);
    expect(unanswered).toMatchObject({ original: { dport: 19403, packets: 1, bytes: 34 }, reply: { packets: 0, bytes: 0 } });
    expect((unanswered?.status ?? 0) & 2).toBe(0);
    expect(answered?.state).toBeUndefined();
  });

  it('several messages in one datagram (as a dump sends them), then NLMSG_DONE', () => {
    const [a] = datagrams('tcp-acct.hex');
    const [b] = datagrams('udp-acct.hex');
    const done = new Uint8Array(20);
    new DataView(done.buffer).setUint32(0, 20, true);
    new DataView(done.buffer).setUint16(4, 3, true);
    const all = new Uint8Array([...a!, ...b!, ...done]);
    const r = parseCtnetlinkDatagram(all);
    expect(r.errors).toEqual([]);
    expect(r.messages.map((m) => m.kind)).toEqual(['event', 'event', 'done']);
  });
});

describe('parseCtnetlinkDatagram on malformed input', () => {
  const [real] = datagrams('tcp-acct.hex');
  it('a message length past the datagram ends it with an error', () => {
    const b = new Uint8Array(real!);
    new DataView(b.buffer).setUint32(0, b.length + 4, true);
    const r = parseCtnetlinkDatagram(b);
    expect(r.messages).toEqual([]);
    expect(r.errors[0]?.message).toMatch(/outside the datagram/);
  });
  it('an attribute length past its parent: that message is skipped with an error', () => {
    const b = new Uint8Array(real!);
    new DataView(b.buffer).setUint16(20, 0xfff0, true);
    const r = parseCtnetlinkDatagram(b);
    expect(r.messages).toEqual([]);
    expect(r.errors[0]?.message).toMatch(/outside its parent/);
  });
  it('NLMSG_ERROR carries its errno; other subsystems are skipped', () => {
    const e = new Uint8Array(36);
    const v = new DataView(e.buffer);
    v.setUint32(0, 36, true);
    v.setUint16(4, 2, true);
    v.setInt32(16, -105, true);
    expect(parseCtnetlinkDatagram(e).messages).toEqual([{ kind: 'error', errno: 105 }]);
    v.setUint16(4, 0x200, true);
    expect(parseCtnetlinkDatagram(e).messages).toEqual([{ kind: 'other', type: 0x200 }]);
  });
  it('a conntrack message without the original tuple is an error', () => {
    const m = new Uint8Array(20);
    const v = new DataView(m.buffer);
    v.setUint32(0, 20, true);
    v.setUint16(4, 0x100, true);
    m[16] = 2;
    expect(parseCtnetlinkDatagram(m).errors[0]?.message).toMatch(/without an original tuple/);
  });
  it('empty input is nothing; a short tail is an error', () => {
    expect(parseCtnetlinkDatagram(new Uint8Array(0))).toEqual({ messages: [], errors: [] });
    expect(parseCtnetlinkDatagram(new Uint8Array(7)).errors).toHaveLength(1);
  });
});
