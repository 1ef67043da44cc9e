// The fleet's metrics on the app's registry (MetricsOptions.extra): the agent's publisher (buffer, drops, what
// was published) and the hub's consumer (hosts, stale hosts, messages, refusals, rebuild time).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HubStatus } from './hub.js';
import type { PublisherStatus } from './publisher.js';

/** Registers the publisher's metrics, read from its status at each scrape. */
export function registerPublisherMetrics(registry: Registry, status: () => PublisherStatus | undefined): void {
  const g = (name: string, help: string, value: (s: PublisherStatus) => number) => new Gauge({
    name, help, registers: [registry],
    collect() { const s = status(); this.set(s ? value(s) : 0); },
  });
  const c = (name: string, help: string, value: (s: PublisherStatus) => number) => new Counter({
    name, help, registers: [registry],
    collect() { const s = status(); this.reset(); this.inc(s ? value(s) : 0); },
  });
  g('portolan_fleet_nats_up', '1 while NATS stores what this agent publishes, 0 while it is unreachable (or not yet reached).', (s) => (s.state === 'connected' ? 1 : 0));
  g('portolan_fleet_buffered_messages', 'Messages waiting for NATS.', (s) => s.buffered);
  g('portolan_fleet_buffered_bytes', 'Bytes waiting for NATS (at most the buffer limit).', (s) => s.bufferedBytes);
  c('portolan_fleet_published_messages_total', 'Messages stored by JetStream.', (s) => s.published);
  c('portolan_fleet_published_bytes_total', 'Compressed bytes stored by JetStream.', (s) => s.publishedBytes);
  c('portolan_fleet_dropped_messages_total', 'Messages lost because the buffer was full while NATS was unreachable.', (s) => s.dropped);
  c('portolan_fleet_dropped_events_total', 'Change events in the dropped messages.', (s) => s.droppedEvents);
  c('portolan_fleet_superseded_messages_total', 'Buffered states replaced by a newer one before they were sent (nothing lost).', (s) => s.superseded);
}

/** Registers the hub's metrics. */
export function registerHubMetrics(registry: Registry, status: () => HubStatus): void {
  const g = (name: string, help: string, value: (s: HubStatus) => number) => new Gauge({
    name, help, registers: [registry],
    collect() { this.set(value(status())); },
  });
  g('portolan_fleet_hosts', 'Hosts the hub holds (stale ones included).', (s) => s.hosts);
  g('portolan_fleet_stale_hosts', 'Hosts whose agent stopped publishing (their last state is shown).', (s) => s.staleHosts);
  g('portolan_fleet_rebuilt', '1 once the hub has read the fleet back from JetStream.', (s) => (s.rebuilt ? 1 : 0));
  g('portolan_fleet_rebuild_seconds', 'Time from the hub\'s start to the fleet rebuilt from JetStream.', (s) => (s.rebuildMs ?? 0) / 1000);
  g('portolan_fleet_nats_up', '1 while the hub\'s consumer is connected to NATS.', (s) => (s.nats === 'connected' ? 1 : 0));
  new Counter({ name: 'portolan_fleet_messages_total', help: 'Fleet messages the hub read.', registers: [registry], collect() { this.reset(); this.inc(status().messages); } });
  new Counter({ name: 'portolan_fleet_events_total', help: 'The agents\' change events the hub serves (read from the events stream and checked).', registers: [registry], collect() { this.reset(); this.inc(status().events); } });
  new Counter({ name: 'portolan_fleet_rejected_events_total', help: 'Change events the hub refused (a field missing, of the wrong type or too long); the rest of their batch served.', registers: [registry], collect() { this.reset(); this.inc(status().eventsRefused); } });
  new Counter({ name: 'portolan_fleet_rejected_messages_total', help: 'Fleet messages the hub refused (undecodable, out of order, not fitting).', registers: [registry], collect() { this.reset(); this.inc(status().rejected); } });
}
