import { describe, expect, it } from 'vitest';
import type { InterfaceCounters } from '../model/traffic.js';
import { counterRate, toContainerTraffic } from './container-traffic.js';

const iface = (name: string, rxBytes: number, txBytes: number): InterfaceCounters => ({
  name, rxBytes, txBytes, rxPackets: 1, txPackets: 2, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0,
});

describe('counterRate', () => {
  it.each([
    [1000, 3000, 2000, 1000],
    [0, 0, 1000, 0],
    [5000, 100, 1000, undefined], // reset: counter went down
    [1, 2, 0, undefined], // no time elapsed
  ])('%i → %i over %i ms = %s', (prev, next, ms, expected) => {
    expect(counterRate(prev, next, ms)).toBe(expected);
  });
});

describe('toContainerTraffic', () => {
  const first = toContainerTraffic({ netns: 1, readAtMs: 10_000, interfaces: [iface('eth0', 100, 200), iface('eth1', 10, 20)] }, 'container', 'a/1/t0', undefined);
  it('sums every interface and has no rate from one sample', () => {
    expect(first.traffic).toMatchObject({ rxBytes: 110, txBytes: 220, rxPackets: 2, txPackets: 4, scope: 'container' });
    expect(first.traffic.rxBytesPerSec).toBeUndefined();
  });
  it('gives bytes per second from two samples of the same life', () => {
    const next = toContainerTraffic({ netns: 1, readAtMs: 12_000, interfaces: [iface('eth0', 2100, 4200), iface('eth1', 10, 20)] }, 'container', 'a/1/t0', first.sample);
    expect(next.traffic.rxBytesPerSec).toBe(1000);
    expect(next.traffic.txBytesPerSec).toBe(2000);
  });
  it('gives no rate across a restart (new life), even when counters grew', () => {
    const next = toContainerTraffic({ netns: 2, readAtMs: 12_000, interfaces: [iface('eth0', 5000, 5000)] }, 'container', 'a/2/t1', first.sample);
    expect(next.traffic.rxBytesPerSec).toBeUndefined();
  });
  it('gives no rate across a counter reset', () => {
    const next = toContainerTraffic({ netns: 1, readAtMs: 12_000, interfaces: [iface('eth0', 5, 5)] }, 'container', 'a/1/t0', first.sample);
    expect(next.traffic.rxBytesPerSec).toBeUndefined();
    expect(next.traffic.rxBytes).toBe(5);
  });
});
