// The recent change events with ids, so an `/api/v1/events` client that reconnects (EventSource sends
// `Last-Event-ID` by itself) gets what it missed instead of a silent hole. Ids are `<epoch>-<n>`: the epoch
// is the agent's start, so an id from before a restart is told apart from one of this run.
import type { ChangeEvent } from '../core/report/changes.js';

/** An event with its stream id. */
export interface JournalEntry {
  readonly id: string;
  readonly n: number;
  readonly event: ChangeEvent;
}

/** What a reconnecting client gets: the events after its last one, or why that is impossible. */
export type Resume =
  | { readonly kind: 'replay'; readonly entries: readonly JournalEntry[] }
  | { readonly kind: 'gap'; readonly reason: string; readonly entries: readonly JournalEntry[] };

/** A bounded journal of change events. */
export interface EventJournal {
  /** Appends events (ids assigned in order) and returns them as entries. */
  append(events: readonly ChangeEvent[]): JournalEntry[];
  /** Entries after `lastEventId`, or a gap when the journal no longer holds them or the id is from another run. */
  since(lastEventId: string): Resume;
}

/** Parses a `Last-Event-ID`; undefined when it is not one of ours (the caller answers 400). */
export function parseEventId(text: string): { epoch: string; n: number } | undefined {
  const m = /^([0-9a-z]+)-(\d{1,15})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return { epoch: m[1], n: Number(m[2]) };
}

/** Creates a journal keeping the last `capacity` events; `epoch` names this run (default: now, base 36). */
export function createEventJournal(capacity = 10_000, epoch = Date.now().toString(36)): EventJournal {
  let entries: JournalEntry[] = [];
  let next = 1;
  return {
    append(events) {
      const added = events.map((event) => ({ id: `${epoch}-${next}`, n: next++, event }));
      entries.push(...added);
      // Trim in batches: one copy per capacity/2 events rather than a shift per event.
      if (entries.length > capacity * 1.5) entries = entries.slice(entries.length - capacity);
      return added;
    },
    since(lastEventId) {
      const id = parseEventId(lastEventId);
      if (!id) throw new Error(`not an event id of this stream: "${lastEventId}"`);
      if (id.epoch !== epoch) {
        return { kind: 'gap', reason: 'the agent restarted since that event: events in between are lost; re-read the topology', entries: [...entries] };
      }
      if (id.n >= next) return { kind: 'gap', reason: `event ${lastEventId} was never sent by this agent`, entries: [] };
      const first = entries[0]?.n ?? next;
      const after = entries.filter((e) => e.n > id.n);
      if (id.n < first - 1) {
        return { kind: 'gap', reason: `events after ${lastEventId} up to ${epoch}-${first - 1} are no longer kept (the agent keeps the last ${capacity})`, entries: after };
      }
      return { kind: 'replay', entries: after };
    },
  };
}
