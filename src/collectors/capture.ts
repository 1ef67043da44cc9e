// Capture: conntrack's NEW and DESTROY events, read as they happen in the Docker host's network namespace and in
// every container namespace where conntrack runs, decoded at once (core/parse/ctnetlink), kept in the flow table
// (core/capture/flow-table) and handed to each collection as the `capture` part. On ENOBUFS (the kernel dropped
// events) the namespace's table is dumped and compared with the flows in flight, and what may have been missed is
// counted; the agent never waits for any of this.
import type { CapturePart, CaptureStatus, FlowRecord } from '../core/model/connection.js';
import type { ContainerNetns } from '../core/model/snapshot.js';
import type { ContainerInfo } from '../core/model/container.js';
import { createFlowTable, type FlowTable, type TcpCloseMode } from '../core/capture/flow-table.js';
import { knownAddresses } from '../core/capture/known-addresses.js';
import { parseCtnetlinkDatagram } from '../core/parse/ctnetlink.js';
import { dumpConntrack, subscribeConntrackEvents, type CtnetlinkSubscription } from '../sources/ctnetlink.js';
import { readFileInNetns } from '../sources/netns.js';
import type { Procfs } from '../sources/procfs.js';
import type { Collector } from './collector.js';
import { hostNetns as hostNetnsOf } from './netns.js';

/** How often the conntrack sysctls the status shows (timestamps, accounting) are read again. */
const SYSCTL_EVERY_MS = 30_000;

/** Settings of capture. */
export interface CaptureConfig {
  /** A pid in the Docker host's network namespace (default 1). */
  readonly hostPid?: number;
  /** Receive buffer asked for each event socket (default 32 MiB; forced past net.core.rmem_max with CAP_NET_ADMIN). */
  readonly recvBufferSize?: number;
  /** Flows in flight remembered (default 200,000). */
  readonly inFlightLimit?: number;
  /** Records held between two collections (default 500,000; more are dropped and counted). */
  readonly maxPending?: number;
  /** Follow container namespaces where conntrack runs (default true). */
  readonly containerNamespaces?: boolean;
}

/** I/O capture needs, injectable for tests. */
export interface CaptureDeps {
  readonly procfs: Procfs;
  readonly subscribe?: typeof subscribeConntrackEvents;
  readonly dump?: typeof dumpConntrack;
  readonly readInNetns?: (nsPath: string, file: string) => string;
  readonly now?: () => number;
}

/** Told of each flow opened: its client and server addresses (the composition root may trigger a collection). */
export type CaptureNewsListener = (client: string, server: string) => void;

/** Capture: the subscriptions, the flow table, and the collector that drains what they read. */
export interface CaptureReceiver {
  readonly collector: Collector<'capture'>;
  /** Subscribes in the host namespace; rejects with a one-line reason (then capture is `unavailable`). */
  start(): Promise<void>;
  /**
   * A container just started (Docker event): `inspect` reads it now, and the next collection hands it over with the
   * flows, so a container gone by then (`docker run --rm`) still names its address.
   */
  learn(inspect: () => Promise<ContainerInfo>): void;
  /** A container exited (Docker `die` event): the next collection ends its addresses' holdings now, not at its listing. */
  ended(containerId: string): void;
  /** Listens for new flows (one listener); `want` is called when capture holds records for a collection to take. */
  onNews(listener: CaptureNewsListener, want?: () => void): void;
  status(): CaptureStatus;
  close(): void;
}

interface Followed {
  readonly netns: number;
  readonly nsPath: string;
  sub: CtnetlinkSubscription | undefined;
  /** The socket's drop counter at the last check. */
  drops: number | undefined;
  resyncing: boolean;
  resyncAgain: boolean;
}

const CONTAINER_RECHECK_MS = 30_000;
/** Longest a flow from an unnamed address in a Docker network waits for its container's start event (ms). */
const HOLD_MS = 1_000;

/** Creates capture (not started). */
export function createCaptureReceiver(config: CaptureConfig, deps: CaptureDeps): CaptureReceiver {
  const now = deps.now ?? Date.now;
  const subscribe = deps.subscribe ?? subscribeConntrackEvents;
  const dump = deps.dump ?? dumpConntrack;
  const readInNetns = deps.readInNetns ?? readFileInNetns;
  const maxPending = config.maxPending ?? 500_000;
  const table: FlowTable = createFlowTable(config.inFlightLimit ?? 200_000);
  const followed = new Map<number, Followed>();
  // Container namespaces checked for conntrack, and when.
  const checked = new Map<number, number>();
  let pending: FlowRecord[] = [];
  // Containers inspected on their start event since the last collection (bounded like the records).
  let started: { container: ContainerInfo; atMs: number }[] = [];
  let ended: { containerId: string; atMs: number }[] = [];
  // Inspects under way, and since when: records read after that wait for them (or they would be named without it).
  let inspecting = 0;
  let inspectingSinceMs = 0;
  let heldBack = false;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  // Containers handed over with their start event lately (a flow held back is named against them too).
  let seenStarted: ContainerInfo[] = [];
  let state: CaptureStatus['state'] = 'off';
  let reason: string | undefined;
  let events = 0;
  let parseErrors = 0;
  let resyncs = 0;
  let dropped = 0;
  let lastRate = { atMs: now(), events: 0, perSec: 0 };
  let news: CaptureNewsListener | undefined;
  let wanted: (() => void) | undefined;
  let hostNetns = 0;
  let previous: CapturePart | undefined;
  let lastError: string | undefined;
  let hostPath = deps.procfs.pathOf(config.hostPid ?? 1, 'ns/net');

  function push(r: FlowRecord): void {
    if (pending.length >= maxPending) {
      dropped++;
      return;
    }
    pending.push(r);
  }

  function onDatagram(f: Followed, bytes: Buffer): void {
    const atMs = now();
    const batch = parseCtnetlinkDatagram(bytes);
    parseErrors += batch.errors.length;
    for (const m of batch.messages) {
      if (m.kind !== 'event') continue;
      events++;
      const r = table.apply(m.event, f.netns, atMs);
      if (!r) continue;
      push(r);
      if (r.kind === 'opened' && news) news(r.msg.original.src, r.msg.reply.src);
    }
  }

  async function resync(f: Followed): Promise<void> {
    if (f.resyncing) {
      f.resyncAgain = true;
      return;
    }
    f.resyncing = true;
    try {
      do {
        f.resyncAgain = false;
        resyncs++;
        const datagrams = await dump(f.nsPath);
        const entries = [];
        for (const d of datagrams) {
          const b = parseCtnetlinkDatagram(d);
          parseErrors += b.errors.length;
          for (const m of b.messages) if (m.kind === 'event') entries.push(m.event);
        }
        for (const r of table.resync(f.netns, entries, now())) push(r);
      } while (f.resyncAgain);
    } catch (err) {
      lastError = `resync of namespace ${f.netns} failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      f.resyncing = false;
    }
  }

  function follow(netns: number, nsPath: string): void {
    if (followed.has(netns)) return;
    const f: Followed = { netns, nsPath, sub: undefined, drops: undefined, resyncing: false, resyncAgain: false };
    f.sub = subscribe(nsPath, {
      onDatagram: (bytes) => onDatagram(f, bytes),
      onError: (err) => {
        if (err.code === 'EHANDLER') {
          parseErrors++;
          lastError = err.message;
          return;
        }
        if (err.code === 'ENOBUFS' || err.code === 'ETRUNC') {
          void resync(f);
          return;
        }
        lastError = `events of namespace ${netns}: ${err.message}`;
        followed.delete(netns);
        table.dropNamespace(netns);
        if (netns === hostNetns) {
          state = 'unavailable';
          reason = lastError;
        }
      },
    }, config.recvBufferSize);
    f.drops = f.sub.drops();
    if (tcpCloses === 'state') f.sub.dropClosedTcpDestroys(true);
    // Flows open before the subscription are not primed from a dump: their DESTROY, when it comes, is a close whose
    // opening was not seen (counted once as a connection then).
    followed.set(netns, f);
  }

  function sysctl(name: string): 'on' | 'off' | 'unknown' {
    try {
      const v = readInNetns(hostPath, `/proc/sys/net/netfilter/${name}`).trim();
      return v === '1' ? 'on' : v === '0' ? 'off' : 'unknown';
    } catch {
      return 'unknown';
    }
  }

  /** Whether conntrack holds any entry in a container's namespace (`/proc/<pid>/net/stat/nf_conntrack`: entries, hex). */
  function conntrackRuns(c: ContainerNetns): boolean {
    try {
      const line = deps.procfs.readText(c.pid, 'net/stat/nf_conntrack').split('\n')[1] ?? '';
      return parseInt(line.trim().split(/\s+/)[0] ?? '0', 16) > 0;
    } catch {
      return false;
    }
  }

  function status(): CaptureStatus {
    const s = table.stats();
    return {
      state, ...(reason ? { reason } : {}), namespaces: followed.size, events, eventsPerSec: lastRate.perSec, dropped, parseErrors,
      resyncs, mayHaveMissed: s.missedOpens + s.missedCloses + dropped, inFlight: s.inFlight, inFlightLimit: s.limit,
      timestamps: sysctlCache.timestamps, accounting: sysctlCache.accounting, tcpCloses,
    };
  }
  let tcpCloses: TcpCloseMode = 'off';
  /**
   * Where the host's subscription has the closing-state UPDATE events, a TCP close is reported at that event,
   * unless accounting is (or may be) on: then at its DESTROY, which alone carries the bytes, with the UPDATE's time.
   */
  function setTcpCloses(): void {
    const host = followed.get(hostNetns)?.sub;
    tcpCloses = !host?.closingStates ? 'off' : sysctlCache.accounting === 'off' ? 'state' : 'destroy';
    table.setTcpCloseMode(tcpCloses);
    // Reported at the UPDATE, such a connection's DESTROY would only be read to be ignored: the filter drops it.
    for (const f of followed.values()) f.sub?.dropClosedTcpDestroys(tcpCloses === 'state');
  }
  let sysctlCache: { timestamps: CaptureStatus['timestamps']; accounting: CaptureStatus['accounting'] } = { timestamps: 'unknown', accounting: 'unknown' };
  let sysctlReadAtMs = -Infinity;

  const collector: Collector<'capture'> = {
    name: 'capture',
    provides: ['capture'],
    needs: ['netns', 'containers'],
    collect: async (ctx) => {
      const t = now();
      if (state === 'running' && config.containerNamespaces !== false) {
        const containers = ctx.parts.netns?.containers ?? [];
        const present = new Set(containers.map((c) => c.netns));
        for (const c of containers) {
          if (c.netns === hostNetns || followed.has(c.netns)) continue;
          const at = checked.get(c.netns);
          if (at !== undefined && t - at < CONTAINER_RECHECK_MS) continue;
          checked.set(c.netns, t);
          if (!conntrackRuns(c)) continue;
          try {
            follow(c.netns, deps.procfs.pathOf(c.pid, 'ns/net'));
          } catch (err) {
            lastError = `cannot follow conntrack in namespace ${c.netns}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        for (const [ns, f] of followed) {
          if (ns === hostNetns || present.has(ns)) continue;
          f.sub?.close();
          followed.delete(ns);
          table.dropNamespace(ns);
        }
        for (const ns of checked.keys()) if (!present.has(ns)) checked.delete(ns);
      }
      // The kernel dropped events since the last check (the socket is NETLINK_NO_ENOBUFS: its drop counter says so).
      for (const f of followed.values()) {
        const d = f.sub?.drops();
        if (d !== undefined && f.drops !== undefined && d > f.drops) void resync(f);
        if (d !== undefined) f.drops = d;
      }
      const dt = (t - lastRate.atMs) / 1000;
      if (dt > 0) lastRate = { atMs: t, events, perSec: Math.round((events - lastRate.events) / dt) };
      // Status only (two reads inside the host namespace): read again every 30 s, not at every collection.
      if (t - sysctlReadAtMs >= SYSCTL_EVERY_MS) {
        sysctlCache = { timestamps: sysctl('nf_conntrack_timestamp'), accounting: sysctl('nf_conntrack_acct') };
        sysctlReadAtMs = t;
        setTcpCloses();
      }
      let records = pending;
      pending = [];
      if (inspecting > 0) {
        // A container that just started is being inspected: its flows wait for the next collection, which the
        // inspect's end asks for.
        const cut = records.findIndex((r) => r.receivedAtMs >= inspectingSinceMs);
        if (cut >= 0) {
          pending = records.slice(cut);
          records = records.slice(0, cut);
          heldBack = true;
        }
      }
      // A flow from an address inside a Docker network that neither this collection nor a start event named (its
      // start event not read yet) waits up to HOLD_MS for the event's inspect; from the first such one on, later
      // records wait too, so the order read is kept.
      const known = knownAddresses({ containers: [...(ctx.parts.containers ?? []), ...started.map((x) => x.container), ...seenStarted] });
      const cut = records.findIndex((r) => t - r.receivedAtMs < HOLD_MS && (known.isNews(r.msg.original.src) || known.isNews(r.msg.reply.src)));
      if (cut >= 0) {
        pending = [...records.slice(cut), ...pending];
        records = records.slice(0, cut);
        if (!holdTimer) {
          holdTimer = setTimeout(() => { holdTimer = undefined; wanted?.(); }, HOLD_MS);
          holdTimer.unref?.();
        }
      }
      const seen = started;
      started = [];
      const exited = ended;
      ended = [];
      seenStarted = [...seenStarted, ...seen.map((x) => x.container)].slice(-1000);
      const issues = lastError ? [{ source: 'capture', message: lastError, count: 1 }] : [];
      lastError = undefined;
      const st = status();
      // Nothing new: the same part object, so the pipeline may keep what it computed from the last one.
      if (records.length === 0 && seen.length === 0 && exited.length === 0 && previous && previous.records.length === 0 && !previous.started && !previous.ended && sameStatus(previous.status, st)) return { capture: previous, issues };
      previous = { status: st, records, ...(seen.length > 0 ? { started: seen } : {}), ...(exited.length > 0 ? { ended: exited } : {}) };
      return { capture: previous, issues };
    },
  };

  return {
    collector,
    async start() {
      try {
        const host = hostNetnsOf(deps.procfs, config.hostPid);
        hostNetns = host.host;
        hostPath = deps.procfs.pathOf(host.hostPid, 'ns/net');
        follow(hostNetns, hostPath);
        state = 'running';
        reason = undefined;
        sysctlCache = { timestamps: sysctl('nf_conntrack_timestamp'), accounting: sysctl('nf_conntrack_acct') };
        sysctlReadAtMs = now();
        setTcpCloses();
      } catch (err) {
        state = 'unavailable';
        reason = `cannot follow conntrack events in the host namespace: ${err instanceof Error ? err.message : String(err)}`;
        throw new Error(reason, { cause: err });
      }
    },
    learn(inspect) {
      if (state !== 'running') return;
      if (inspecting++ === 0) inspectingSinceMs = now();
      const done = () => {
        if (--inspecting === 0 && heldBack) {
          heldBack = false;
          // Records were held for this inspect: ask for the collection that hands them over.
          wanted?.();
        }
      };
      inspect().then((container) => {
        if (started.length < 10_000) started.push({ container, atMs: now() });
        done();
      }, (err: unknown) => {
        // Gone before it could be read (removed already): its flows stay unnamed; said once in the issues.
        lastError = `cannot inspect a container that just started: ${err instanceof Error ? err.message : String(err)}`;
        done();
      });
    },
    ended(containerId) {
      if (state === 'running' && ended.length < 10_000) ended.push({ containerId, atMs: now() });
    },
    onNews(listener, want) {
      news = listener;
      wanted = want;
    },
    status,
    close() {
      if (holdTimer) clearTimeout(holdTimer);
      for (const f of followed.values()) f.sub?.close();
      followed.clear();
      if (state === 'running') state = 'off';
    },
  };
}

function sameStatus(a: CaptureStatus, b: CaptureStatus): boolean {
  return a.state === b.state && a.events === b.events && a.dropped === b.dropped && a.parseErrors === b.parseErrors && a.resyncs === b.resyncs &&
    a.mayHaveMissed === b.mayHaveMissed && a.inFlight === b.inFlight && a.namespaces === b.namespaces && a.timestamps === b.timestamps && a.accounting === b.accounting && a.tcpCloses === b.tcpCloses;
}
