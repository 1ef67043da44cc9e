import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../model/container.js';
import { createAddressHistory } from './address-history.js';

const T = Date.parse('2026-12-07T11:00:00.000Z');
const c = (id: string, name: string, ipv4: string, extra: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id: id.repeat(64).slice(0, 64), name, image: 'alpine', networkMode: { kind: 'bridge', name: 'lab' }, pid: 1,
  networks: [{ name: 'lab', ipv4 }], ports: [], labels: {}, ...extra,
});

describe('address history', () => {
  it('a container that exited still names its address for the time it held it', () => {
    const h = createAddressHistory();
    h.observe([c('a', 'job-1', '172.30.0.3')], T);
    h.observe([], T + 5_000);
    expect(h.at('172.30.0.3', T + 1_000)).toEqual({ id: 'a'.repeat(64), name: 'job-1', image: 'alpine', network: 'lab', exitedAt: '2026-12-07T11:00:05.000Z' });
    expect(h.at('172.30.0.3', T + 6_000)).toBeUndefined();
    expect(h.latest('172.30.0.3')).toMatchObject({ name: 'job-1', fromMs: T, untilMs: T + 5_000 });
  });

  it('an exit event ends the holding at its own time, before the next collection', () => {
    const h = createAddressHistory();
    h.observe([c('a', 'job-1', '172.30.0.3')], T);
    h.ended('a'.repeat(64), T + 1_200);
    h.observe([], T + 5_000);
    expect(h.latest('172.30.0.3')?.untilMs).toBe(T + 1_200);
  });

  it('a reused address names whoever held it at each time', () => {
    const h = createAddressHistory();
    h.observe([c('a', 'job-1', '172.30.0.3')], T);
    h.observe([c('b', 'job-2', '172.30.0.3')], T + 10_000);
    expect(h.at('172.30.0.3', T + 5_000)?.name).toBe('job-1');
    expect(h.at('172.30.0.3', T + 10_001)?.name).toBe('job-2');
    expect(h.at('172.30.0.3', T + 10_001)?.exitedAt).toBeUndefined();
  });

  it('a reused address: the holder at that very time wins over one first seen just after (slack)', () => {
    const h = createAddressHistory();
    h.learn(c('a', 'job-11', '172.30.0.3', { startedAt: new Date(T).toISOString() }), T);
    h.learn(c('b', 'job-12', '172.30.0.3', { startedAt: new Date(T + 500).toISOString() }), T + 500);
    h.learn(c('d', 'job-13', '172.30.0.3', { startedAt: new Date(T + 1000).toISOString() }), T + 1000);
    h.observe([], T + 2_000);
    expect(h.at('172.30.0.3', T + 100)?.name).toBe('job-11');
    expect(h.at('172.30.0.3', T + 600)?.name).toBe('job-12');
    expect(h.at('172.30.0.3', T + 1500)?.name).toBe('job-13');
  });

  it('inspects that finish out of order: each holder keeps its own span', () => {
    const h = createAddressHistory();
    h.learn(c('b', 'job-2', '172.30.0.3', { startedAt: new Date(T + 500).toISOString() }), T + 520);
    h.learn(c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T).toISOString() }), T + 530);
    h.observe([], T + 2_000);
    expect(h.at('172.30.0.3', T + 100)?.name).toBe('job-1');
    expect(h.at('172.30.0.3', T + 700)?.name).toBe('job-2');
  });

  it('a flow read just before the first collection that lists its container is still named (start time, slack)', () => {
    const h = createAddressHistory();
    h.observe([c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T - 300).toISOString() })], T);
    expect(h.at('172.30.0.3', T - 200)?.name).toBe('job-1');
    expect(h.at('172.30.0.3', T - 10_000)).toBeUndefined();
  });

  it('a container learnt from its start event and gone by the next collection names its address in between', () => {
    const h = createAddressHistory();
    h.learn(c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T).toISOString() }), T + 30);
    h.observe([], T + 2_000);
    expect(h.at('172.30.0.3', T + 50)?.name).toBe('job-1');
    expect(h.at('172.30.0.3', T + 50)?.exitedAt).toBe('2026-12-07T11:00:02.000Z');
    expect(h.at('172.30.0.3', T + 3_000)).toBeUndefined();
  });

  it('a start event\'s inspect that returns after the listing began is not ended by that listing', () => {
    const h = createAddressHistory();
    // The collection began at T + 1000 (its listing did not have job-1 yet); the inspect returned at T + 1020.
    h.learn(c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T + 990).toISOString() }), T + 1_020);
    h.observe([], T + 1_000);
    expect(h.at('172.30.0.3', T + 1_500)?.name).toBe('job-1');
    // The next listing without it ends it.
    h.observe([], T + 3_000);
    expect(h.latest('172.30.0.3')?.untilMs).toBe(T + 3_000);
  });

  it('an exit event read before its start event\'s inspect returned still ends the holding at the exit', () => {
    const h = createAddressHistory();
    h.ended('a'.repeat(64), T + 400);
    h.learn(c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T + 100).toISOString() }), T + 600);
    // Docker hands the address to the next client, which no inspect caught: its flow is not named job-1.
    expect(h.at('172.30.0.3', T + 300)?.name).toBe('job-1');
    expect(h.at('172.30.0.3', T + 900)).toBeUndefined();
    // Started again later: a new holding, live.
    h.learn(c('a', 'job-1', '172.30.0.3', { startedAt: new Date(T + 5_000).toISOString() }), T + 5_010);
    expect(h.at('172.30.0.3', T + 6_000)?.exitedAt).toBeUndefined();
  });

  it('IPv6 addresses too; every network of a container', () => {
    const h = createAddressHistory();
    h.observe([c('a', 'web', '172.30.0.2', { networks: [{ name: 'lab', ipv4: '172.30.0.2', ipv6: 'fd00::2' }, { name: 'back', ipv4: '172.31.0.2' }] })], T);
    expect(h.at('fd00::2', T)?.name).toBe('web');
    expect(h.at('172.31.0.2', T)?.network).toBe('back');
  });

  it('bounded: ended holdings past keepMs are forgotten; over capacity the oldest ended go first', () => {
    const h = createAddressHistory({ keepMs: 60_000, capacity: 100 });
    h.observe([c('a', 'old', '172.30.0.9')], T);
    h.observe([], T + 1_000);
    h.observe([], T + 62_000);
    expect(h.latest('172.30.0.9')).toBeUndefined();
    for (let i = 0; i < 1_000; i++) {
      h.observe([c(i.toString(16).padStart(4, '0'), `job-${i}`, `10.${i >> 8}.${i & 255}.1`)], T + 100_000 + i * 10);
      h.observe([], T + 100_000 + i * 10 + 5);
    }
    expect(h.size).toBeLessThanOrEqual(100);
    expect(h.latest('10.3.231.1')?.name).toBe('job-999');
  });

  it('live holdings are never dropped for capacity', () => {
    const h = createAddressHistory({ capacity: 10 });
    const many = Array.from({ length: 50 }, (_, i) => c(i.toString(16).padStart(4, '0'), `svc-${i}`, `10.0.0.${i + 1}`));
    h.observe(many, T);
    h.observe(many, T + 1000);
    expect(h.at('10.0.0.1', T + 1000)?.name).toBe('svc-0');
    expect(h.at('10.0.0.50', T + 1000)?.name).toBe('svc-49');
  });
});
