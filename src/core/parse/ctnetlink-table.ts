// The conntrack table from a ctnetlink dump (pure): the entries a dump lists, in the shape /proc/net/nf_conntrack's
// parser gives them (core/parse/nf-conntrack.ts), so that the collection's answer does not depend on which was read.
import type { ConntrackEntry, ConntrackEvent } from '../model/conntrack.js';
import { parseCtnetlinkDatagram } from './ctnetlink.js';

// CTA_STATUS bits (uapi nf_conntrack_common.h): what the text prints as [UNREPLIED] (no SEEN_REPLY) and [ASSURED].
const IPS_SEEN_REPLY = 1 << 1;
const IPS_ASSURED = 1 << 2;

/**
 * One dumped flow as a table entry. The text prints `zone=0` for the default zone where a dump sends no CTA_ZONE,
 * and `mark=` always where a dump always sends CTA_MARK (both with the kernel's CONFIG_NF_CONNTRACK_ZONES/_MARK).
 */
export function conntrackEntryOfEvent(e: ConntrackEvent): ConntrackEntry {
  const status = e.status ?? 0;
  return {
    family: e.family, protocol: e.protocol, protocolNumber: e.protocolNumber, timeout: e.timeout,
    state: e.protocol === 'tcp' ? e.state : undefined, original: e.original, reply: e.reply,
    unreplied: (status & IPS_SEEN_REPLY) === 0, assured: (status & IPS_ASSURED) !== 0,
    mark: e.mark, zone: e.zone ?? (e.mark === undefined ? undefined : 0),
  };
}

/** The entries of one or more dumps that `keep` accepts, and what could not be decoded. */
export interface DumpedTable {
  readonly entries: ConntrackEntry[];
  /** Messages that failed to decode (each skipped), and the first one's reason. */
  readonly errors: number;
  readonly firstError?: string;
}

/** Decodes dump datagrams into entries (every `dump` message; other messages are skipped); never throws. */
export function conntrackEntriesOfDump(datagrams: Iterable<Uint8Array>, keep: (e: ConntrackEntry) => boolean): DumpedTable {
  const entries: ConntrackEntry[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (const d of datagrams) {
    const batch = parseCtnetlinkDatagram(d);
    if (batch.errors.length > 0) {
      errors += batch.errors.length;
      firstError ??= batch.errors[0]?.message;
    }
    for (const m of batch.messages) {
      if (m.kind !== 'event' || m.event.kind !== 'dump') continue;
      const entry = conntrackEntryOfEvent(m.event);
      if (keep(entry)) entries.push(entry);
    }
  }
  return { entries, errors, ...(firstError !== undefined ? { firstError } : {}) };
}
