// The hub's fleet: core's merge over the hosts' documents, and the check of each document the hub takes (the
// stream is written by every agent with publish rights: a document is checked before it is held).
import { checkHostDocument, type HostDocumentLimits } from '../core/fleet/parse-host-document.js';
import type { HostDocument } from '../core/fleet/host-document.js';
import { createFleetMergeMemory, mergeFleetIncremental, type FleetOptions } from '../core/fleet/merge-fleet.js';
import type { Json } from './doc-patch.js';
import type { FleetRenderer } from './hub.js';
import { hostToken } from './wire.js';

/** Checks a document for the host `hostId` (its subject token); throws with the reason. */
export function checkFleetDocument(hostId: string, doc: Json, limits: Partial<HostDocumentLimits> = {}): void {
  const d = checkHostDocument(doc, limits);
  if (hostToken(d.engineId) !== hostId) throw new Error(`document of engine ${d.engineId.slice(0, 64)} published as host ${hostId}`);
}

/**
 * The hub's renderer: the fleet merged from the held documents (already checked), incrementally: a host whose
 * document is the object it was at the last render keeps its part (the hub replaces a host's document on every
 * full document or diff, and never changes one in place).
 */
export function createFleetRenderer(options: FleetOptions = {}): FleetRenderer {
  let memory = createFleetMergeMemory();
  return (hosts, now) => {
    const r = mergeFleetIncremental(hosts.map((h) => ({ document: h.doc as unknown as HostDocument, lastSeenMs: h.lastSeenMs })), now, options, memory);
    memory = r.memory;
    return { topology: r.report.topology };
  };
}
