// The fleet's two JetStream streams, created by whichever of agent or hub comes first. The state stream keeps
// one message per subject (a host's latest full document, latest diff, latest heartbeat): the stream *is* the
// fleet's current state, so a hub rebuilds it by reading a few messages per host. Events are a log, kept by age
// and size. (Two streams, not one: a per-subject limit of one would keep a single event per host.)
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection, type StreamConfig } from 'nats';
import { EVENTS_ROOT, EVENTS_STREAM, MAX_MESSAGE_BYTES, STATE_STREAM, SUBJECT_ROOT } from './wire.js';

/** Limits of the streams (defaults below). */
export interface StreamLimits {
  /** Copies of each message in the cluster (1, 3 or 5; default 3: one node may die without losing anything). */
  readonly replicas?: number;
  /** Most bytes of the state stream (default 1 GiB: 10,000 hosts of 100 KiB). */
  readonly stateMaxBytes?: number;
  /** How long events are kept (default 24 h) and their most bytes (default 256 MiB). */
  readonly eventsMaxAgeMs?: number;
  readonly eventsMaxBytes?: number;
}

const NS_PER_MS = 1_000_000;

/** Replicas when not told: 3 on a cluster (one node may die without losing anything), 1 on a single server. */
export function autoReplicas(nc: NatsConnection): number {
  return nc.info?.cluster ? 3 : 1;
}

/** The configurations of both streams. */
export function streamConfigs(limits: StreamLimits = {}): Partial<StreamConfig>[] {
  const replicas = limits.replicas ?? 3;
  return [
    {
      name: STATE_STREAM, subjects: [`${SUBJECT_ROOT}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File,
      max_msgs_per_subject: 1, max_bytes: limits.stateMaxBytes ?? 1024 ** 3, max_msg_size: MAX_MESSAGE_BYTES,
      discard: DiscardPolicy.Old, num_replicas: replicas, duplicate_window: 120_000 * NS_PER_MS,
    },
    {
      name: EVENTS_STREAM, subjects: [`${EVENTS_ROOT}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File,
      max_age: (limits.eventsMaxAgeMs ?? 86_400_000) * NS_PER_MS, max_bytes: limits.eventsMaxBytes ?? 256 * 1024 ** 2,
      max_msg_size: MAX_MESSAGE_BYTES, discard: DiscardPolicy.Old, num_replicas: replicas, duplicate_window: 120_000 * NS_PER_MS,
    },
  ];
}

/**
 * Creates the streams that do not exist yet (existing ones are left as they are: an operator may have tuned them).
 * Returns what was done, for the log.
 */
export async function ensureStreams(jsm: JetStreamManager, limits: StreamLimits = {}): Promise<string[]> {
  const done: string[] = [];
  for (const config of streamConfigs(limits)) {
    const name = config.name as string;
    try {
      await jsm.streams.info(name);
      done.push(`${name} exists`);
      continue;
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
    await jsm.streams.add(config);
    done.push(`${name} created (R${config.num_replicas ?? 1})`);
  }
  return done;
}
