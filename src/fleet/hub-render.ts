// The hub's fleet: core's merge over the hosts' documents, and the check of each document the hub takes (the
// stream is written by every agent with publish rights: a document is checked before it is held).
import { checkHostDocument, type HostDocumentLimits } from '../core/fleet/parse-host-document.js';
import type { HostDocument } from '../core/fleet/host-document.js';
import { createFleetMergeMemory, mergeFleetIncremental, type FleetOptions } from '../core/fleet/merge-fleet.js';
import { createFleetSocketsMemory, fleetSockets } from '../core/fleet/fleet-sockets.js';
import type { Snapshot } from '../core/model/snapshot.js';
import type { Json } from './doc-patch.js';
import type { FleetRenderer } from './hub.js';
import { hostToken } from './wire.js';

/**
 * Checks a document for the host `hostId` (its subject token); throws with the reason. `checked`: a document this
 * accepted before with the same limits, whose sections `doc` shares are not checked again (checkHostDocument).
 */
export function checkFleetDocument(hostId: string, doc: Json, limits: Partial<HostDocumentLimits> = {}, checked?: Json): void {
  const d = checkHostDocument(doc, limits, checked as HostDocument | undefined);
  if (hostToken(d.engineId) !== hostId) throw new Error(`document of engine ${d.engineId.slice(0, 64)} published as host ${hostId}`);
}

/**
 * The hub's renderer: the fleet merged from the held documents (already checked), incrementally: a host whose
 * document is the object it was at the last render keeps its part (the hub replaces a host's document on every
 * full document or diff, and never changes one in place). Beside the topology, every host's containers with their
 * sockets and traffic (core's fleetSockets), as the snapshot, attribution and traffic the API's reports read.
 */
export function createFleetRenderer(options: FleetOptions = {}): FleetRenderer {
  let memory = createFleetMergeMemory();
  const socketsMemory = createFleetSocketsMemory();
  return (hosts, now) => {
    const documents = hosts.map((h) => h.doc as unknown as HostDocument);
    const r = mergeFleetIncremental(hosts.map((h, i) => ({ document: documents[i] as HostDocument, lastSeenMs: h.lastSeenMs })), now, options, memory);
    memory = r.memory;
    const topology = r.report.topology;
    const s = fleetSockets(documents, topology, socketsMemory);
    const snapshot: Snapshot = {
      takenAt: topology.takenAt, hostname: topology.hostname, issues: s.issues, containers: s.containers,
      netns: { host: 0, hostPid: 'self', containers: [] }, processes: [], sockets: [], netdev: [],
      conntrack: { status: 'unavailable', reason: 'a hub collects nothing itself: each host\'s agent reads its own conntrack table' },
    };
    return { topology, snapshot, attribution: s.attribution, traffic: s.traffic };
  };
}
