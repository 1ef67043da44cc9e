// The hub's fleet: core's merge over the hosts' documents, and the check of each document the hub takes (the
// stream is written by every agent with publish rights: a document is checked before it is held).
import { checkHostDocument, type HostDocumentLimits } from '../core/fleet/parse-host-document.js';
import type { HostDocument } from '../core/fleet/host-document.js';
import { mergeFleetReport, type FleetOptions } from '../core/fleet/merge-fleet.js';
import type { Json } from './doc-patch.js';
import type { FleetRenderer } from './hub.js';
import { hostToken } from './wire.js';

/** Checks a document for the host `hostId` (its subject token); throws with the reason. */
export function checkFleetDocument(hostId: string, doc: Json, limits: Partial<HostDocumentLimits> = {}): void {
  const d = checkHostDocument(doc, limits);
  if (hostToken(d.engineId) !== hostId) throw new Error(`document of engine ${d.engineId.slice(0, 64)} published as host ${hostId}`);
}

/** The hub's renderer: mergeFleet over the held documents (already checked). */
export function createFleetRenderer(options: FleetOptions = {}): FleetRenderer {
  return (hosts, now) => ({
    topology: mergeFleetReport(hosts.map((h) => ({ document: h.doc as unknown as HostDocument, lastSeenMs: h.lastSeenMs })), now, options).topology,
  });
}
