// What travels on NATS between an agent and the hub: subjects, the stream's configuration and the messages'
// encoding (JSON, brotli-compressed), with bounded decoding: the hub reads whatever anyone with publish rights
// put on the stream, so every message is size-checked before and after decompression and shape-checked after.
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { Json, Patch } from './doc-patch.js';

/** The fleet's stream: host identities, full documents, diffs and heartbeats; one message kept per subject. */
export const STATE_STREAM = 'PORTOLAN_FLEET';
/** The fleet's events: every host's change events, kept by age and size. */
export const EVENTS_STREAM = 'PORTOLAN_FLEET_EVENTS';
/** Root of every subject. */
export const SUBJECT_ROOT = 'portolan.fleet';
export const EVENTS_ROOT = 'portolan.events';

/** What a state message carries. */
export type StateKind = 'full' | 'diff' | 'hb';

/** Subject of a host's state message of one kind: `portolan.fleet.<host>.<kind>`. */
export function stateSubject(hostId: string, kind: StateKind): string {
  return `${SUBJECT_ROOT}.${checkHostToken(hostId)}.${kind}`;
}

/** Subject of a host's events: `portolan.events.<host>`. */
export function eventsSubject(hostId: string): string {
  return `${EVENTS_ROOT}.${checkHostToken(hostId)}`;
}

/** A host id as a subject token: Docker's engine id (UUID, or the older `XXXX:XXXX:…` key id) with `:` as `-`, `.` as `_`. */
export function hostToken(engineId: string): string {
  return checkHostToken(engineId.replaceAll(':', '-').replaceAll('.', '_'));
}

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
function checkHostToken(t: string): string {
  if (!TOKEN.test(t)) throw new WireError(`host id "${t.slice(0, 64)}" is not a subject token (letters, digits, - and _, at most 128)`);
  return t;
}

/** The host id in a state or events subject; undefined for a subject of neither shape. */
export function parseSubject(subject: string): { hostId: string; kind: StateKind | 'events' } | undefined {
  const parts = subject.split('.');
  if (parts.length === 4 && `${parts[0]}.${parts[1]}` === SUBJECT_ROOT && TOKEN.test(parts[2] ?? '') && ['full', 'diff', 'hb'].includes(parts[3] ?? '')) {
    return { hostId: parts[2] as string, kind: parts[3] as StateKind };
  }
  if (parts.length === 3 && `${parts[0]}.${parts[1]}` === EVENTS_ROOT && TOKEN.test(parts[2] ?? '')) return { hostId: parts[2] as string, kind: 'events' };
  return undefined;
}

/** Limits of the wire: a message larger than these is refused by the publisher and dropped by the hub. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Most bytes a message may decompress to (a brotli bomb stops here). */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;

/** A full document: the host's whole state at `at`, starting epoch `epoch`. */
export interface FullMessage {
  readonly v: 1;
  readonly kind: 'full';
  readonly host: string;
  /** Increments with every full document of this agent run; `run` tells agent runs apart. */
  readonly epoch: number;
  readonly run: string;
  /** Publish time, ms since the epoch (the agent's clock). */
  readonly at: number;
  /** The agent's interval, for staleness ("a few of its intervals"). */
  readonly intervalMs: number;
  readonly doc: Json;
}

/** A diff: the host's state at `at` as a patch against the full document of `epoch`. */
export interface DiffMessage {
  readonly v: 1;
  readonly kind: 'diff';
  readonly host: string;
  readonly epoch: number;
  readonly run: string;
  /** Increments with every diff of the epoch. */
  readonly seq: number;
  readonly at: number;
  readonly intervalMs: number;
  readonly patch: Patch | null;
}

/** A heartbeat: nothing changed since the last message; the host is alive. */
export interface HeartbeatMessage {
  readonly v: 1;
  readonly kind: 'hb';
  readonly host: string;
  readonly epoch: number;
  readonly run: string;
  readonly at: number;
  readonly intervalMs: number;
}

/** A batch of a host's change events (agent updates). */
export interface EventsMessage {
  readonly v: 1;
  readonly kind: 'events';
  readonly host: string;
  readonly at: number;
  readonly events: readonly Json[];
}

/** Any fleet message. */
export type FleetMessage = FullMessage | DiffMessage | HeartbeatMessage | EventsMessage;

/** Thrown for a message that cannot be encoded or decoded. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Encodes a message: JSON, brotli (quality 5: ~10× on topology JSON at a few ms for 50 containers). */
export function encodeMessage(m: FleetMessage): Uint8Array {
  const json = Buffer.from(JSON.stringify(m));
  const out = brotliCompressSync(json, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: json.length } });
  if (out.length > MAX_MESSAGE_BYTES) throw new WireError(`message of ${out.length} bytes compressed exceeds ${MAX_MESSAGE_BYTES}`);
  return out;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Decodes and checks a message; throws WireError naming what is wrong. */
export function decodeMessage(data: Uint8Array): FleetMessage {
  if (data.length > MAX_MESSAGE_BYTES) throw new WireError(`message of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  let text: string;
  try {
    text = brotliDecompressSync(data, { maxOutputLength: MAX_DECODED_BYTES }).toString('utf8');
  } catch (err) {
    throw new WireError(`not a brotli stream within ${MAX_DECODED_BYTES} bytes: ${(err as Error).message}`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new WireError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObj(m) || m.v !== 1) throw new WireError('not a version 1 fleet message');
  if (typeof m.host !== 'string' || !TOKEN.test(m.host)) throw new WireError('no valid host id');
  if (!isCount(m.at)) throw new WireError('no valid time');
  switch (m.kind) {
    case 'full':
    case 'diff':
    case 'hb':
      if (!isCount(m.epoch) || typeof m.run !== 'string' || m.run.length > 64 || !isCount(m.intervalMs) || m.intervalMs === 0) {
        throw new WireError(`${m.kind} message without a valid epoch, run or interval`);
      }
      if (m.kind === 'full' && !('doc' in m)) throw new WireError('full message without a document');
      if (m.kind === 'diff' && (!isCount(m.seq) || !('patch' in m) || (m.patch !== null && !isObj(m.patch)))) throw new WireError('diff message without a valid seq or patch');
      return m as unknown as FleetMessage;
    case 'events':
      if (!Array.isArray(m.events)) throw new WireError('events message without events');
      return m as unknown as FleetMessage;
    default:
      throw new WireError('unknown message kind');
  }
}
