import type { Snapshot } from '../model/snapshot.js';
import type { InterfaceCounters, NetnsCounters, ContainerTraffic } from '../model/traffic.js';

/** A container's previous counter sample, kept by whoever samples repeatedly (agent, `top`). */
export interface TrafficSample {
  /** Identifies one life of one container: id + netns + start time; a restart is a new life. */
  readonly life: string;
  readonly readAtMs: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** Sums interface counters (the caller has already dropped `lo`). */
export function sumCounters(interfaces: readonly InterfaceCounters[]): Omit<ContainerTraffic, 'scope' | 'interfaces' | 'rxBytesPerSec' | 'txBytesPerSec'> {
  const t = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 };
  for (const i of interfaces) {
    t.rxBytes += i.rxBytes; t.txBytes += i.txBytes; t.rxPackets += i.rxPackets; t.txPackets += i.txPackets;
    t.rxErrors += i.rxErrors; t.txErrors += i.txErrors; t.rxDropped += i.rxDropped; t.txDropped += i.txDropped;
  }
  return t;
}

/**
 * Rate of a counter between two samples, or undefined when no rate is honest: a different life of the
 * container (restart), a counter that went down (reset, interface re-created), or no time elapsed.
 */
export function counterRate(prev: number, next: number, elapsedMs: number): number | undefined {
  if (elapsedMs <= 0 || next < prev) return undefined;
  return ((next - prev) * 1000) / elapsedMs;
}

/** Builds a container's traffic from its namespace counters and its previous sample (pure). */
export function toContainerTraffic(
  counters: NetnsCounters,
  scope: ContainerTraffic['scope'],
  life: string,
  prev: TrafficSample | undefined,
): { traffic: ContainerTraffic; sample: TrafficSample } {
  const sum = sumCounters(counters.interfaces);
  const sample: TrafficSample = { life, readAtMs: counters.readAtMs, rxBytes: sum.rxBytes, txBytes: sum.txBytes };
  let rates: { rxBytesPerSec?: number; txBytesPerSec?: number } = {};
  if (prev && prev.life === life) {
    const elapsed = counters.readAtMs - prev.readAtMs;
    const rx = counterRate(prev.rxBytes, sum.rxBytes, elapsed);
    const tx = counterRate(prev.txBytes, sum.txBytes, elapsed);
    rates = { ...(rx !== undefined ? { rxBytesPerSec: rx } : {}), ...(tx !== undefined ? { txBytesPerSec: tx } : {}) };
  }
  return { traffic: { ...sum, ...rates, scope, interfaces: counters.interfaces }, sample };
}

/** Traffic of every container in a snapshot, and the samples to keep for the next call's rates (pure). */
export function containersTraffic(
  snapshot: Snapshot,
  previous: ReadonlyMap<string, TrafficSample>,
): { traffic: Map<string, ContainerTraffic>; samples: Map<string, TrafficSample> } {
  const counters = new Map(snapshot.netdev.map((c) => [c.netns, c]));
  const netnsOf = new Map(snapshot.netns.containers.map((x) => [x.containerId, x.netns]));
  const traffic = new Map<string, ContainerTraffic>();
  const samples = new Map<string, TrafficSample>();
  for (const c of snapshot.containers) {
    const ns = netnsOf.get(c.id);
    const nsCounters = ns === undefined ? undefined : counters.get(ns);
    if (ns === undefined || !nsCounters) continue;
    const scope = ns === snapshot.netns.host ? 'host' : c.networkMode.kind === 'container' ? 'shared' : 'container';
    const life = `${c.id}/${ns}/${c.startedAt ?? ''}`;
    const r = toContainerTraffic(nsCounters, scope, life, previous.get(c.id));
    traffic.set(c.id, r.traffic);
    samples.set(c.id, r.sample);
  }
  return { traffic, samples };
}
