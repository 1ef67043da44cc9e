// The recent change events with ids, so an `/api/v1/events` client that reconnects (EventSource sends
// `Last-Event-ID` by itself) gets what it missed instead of a silent hole. Ids are `<epoch>-<n>`: the epoch
// is the agent's start, so an id from before a restart is told apart from one of this run. Each event is
// serialised once, when it is appended; clients read the journal through a cursor (the number of the next
// entry they need), so a replay to any number of clients costs no copy of it.
import type { ChangeEvent } from '../core/report/changes.js';

/** An event with its stream id and its Server-Sent Events frame. */
export interface JournalEntry {
  readonly id: string;
  readonly n: number;
  readonly event: ChangeEvent;
  /**
   * `event: <type>\nid: <id>\ndata: <json>\n\n` as UTF-8 bytes, made once, when first asked for: every client
   * that wants this type is written this same Buffer, so 500 clients replaying the journal queue references to it,
   * not 500 copies; and an agent that nobody listens to does not serialise the thousands of connection events a
   * second capture can bring.
   */
  readonly frame: Buffer;
}

class Entry implements JournalEntry {
  #frame: Buffer | undefined;
  constructor(readonly id: string, readonly n: number, readonly event: ChangeEvent) {}
  get frame(): Buffer {
    this.#frame ??= Buffer.from(`event: ${this.event.type}\nid: ${this.id}\ndata: ${JSON.stringify(this.event)}\n\n`);
    return this.#frame;
  }
  /** Whether the frame was made (for tests). */
  get serialised(): boolean {
    return this.#frame !== undefined;
  }
}

/** Whether an entry's frame has been made yet (tests: a journal nobody reads serialises nothing). */
export function frameMade(entry: JournalEntry): boolean {
  return entry instanceof Entry && entry.serialised;
}

/** Where a reconnecting client starts: after its last event, or — with the reason — wherever the journal can. */
export type ResumePoint =
  | { readonly kind: 'replay'; readonly from: number }
  | { readonly kind: 'gap'; readonly reason: string; readonly from: number };

/** What a reconnecting client gets: the events after its last one, or why that is impossible. */
export type Resume =
  | { readonly kind: 'replay'; readonly entries: readonly JournalEntry[] }
  | { readonly kind: 'gap'; readonly reason: string; readonly entries: readonly JournalEntry[] };

/** A bounded journal of change events. */
export interface EventJournal {
  /** Appends events (ids assigned in order) and returns them as entries. */
  append(events: readonly ChangeEvent[]): JournalEntry[];
  /** The cursor a client resuming after `lastEventId` starts at (throws when it is not an event id). */
  resume(lastEventId: string): ResumePoint;
  /** Entry number `n`; undefined when no longer kept or not yet appended. */
  at(n: number): JournalEntry | undefined;
  /** Number of the oldest entry kept (equals `next()` when empty). */
  first(): number;
  /** Number the next appended entry gets. */
  next(): number;
  /** Entries after `lastEventId` as a list (for tests and small callers; streams use resume and at). */
  since(lastEventId: string): Resume;
}

/** Parses a `Last-Event-ID`; undefined when it is not one of ours (the caller answers 400). */
export function parseEventId(text: string): { epoch: string; n: number } | undefined {
  const m = /^([0-9a-z]{1,20})-(\d{1,15})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return { epoch: m[1], n: Number(m[2]) };
}

/** Creates a journal keeping the last `capacity` events; `epoch` names this run (default: now, base 36). */
export function createEventJournal(capacity = 10_000, epoch = Date.now().toString(36)): EventJournal {
  let entries: JournalEntry[] = [];
  let nextN = 1;
  const firstN = () => entries[0]?.n ?? nextN;
  const journal: EventJournal = {
    append(events) {
      const added = events.map((event) => {
        const n = nextN++;
        return new Entry(`${epoch}-${n}`, n, event);
      });
      // A loop, not push(...added): one collection can bring more events than a call takes arguments.
      for (const e of added) entries.push(e);
      // Trim in batches: one copy per capacity/2 events rather than a shift per event.
      if (entries.length > capacity * 1.5) entries = entries.slice(entries.length - capacity);
      return added;
    },
    resume(lastEventId) {
      const id = parseEventId(lastEventId);
      if (!id) throw new Error(`not an event id of this stream: "${lastEventId}"`);
      const first = firstN();
      if (id.epoch !== epoch) {
        return { kind: 'gap', reason: 'the agent restarted since that event: events in between are lost; re-read the topology', from: first };
      }
      if (id.n >= nextN) return { kind: 'gap', reason: `event ${lastEventId} was never sent by this agent`, from: nextN };
      if (id.n < first - 1) {
        return { kind: 'gap', reason: `events after ${lastEventId} up to ${epoch}-${first - 1} are no longer kept (the agent keeps the last ${capacity})`, from: first };
      }
      return { kind: 'replay', from: id.n + 1 };
    },
    at(n) {
      const i = n - firstN();
      return i >= 0 && i < entries.length ? entries[i] : undefined;
    },
    first: firstN,
    next: () => nextN,
    since(lastEventId) {
      const r = journal.resume(lastEventId);
      const list: JournalEntry[] = [];
      for (let n = r.from; n < nextN; n++) {
        const e = journal.at(n);
        if (e) list.push(e);
      }
      return r.kind === 'gap' ? { kind: 'gap', reason: r.reason, entries: list } : { kind: 'replay', entries: list };
    },
  };
  return journal;
}
