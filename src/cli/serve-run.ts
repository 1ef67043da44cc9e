// The running agent of `portolan serve`, loaded only when serve runs: fastify, SQLite, prom-client and pino
// would otherwise cost every `portolan ps` ~100 ms of module loading.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createAgent } from '../agent/loop.js';
import { createCollection, createEbpfFeed, createNameResolver, type EbpfFeed } from '../collectors/index.js';
import { toEbpfConnectionEvent, type EbpfAttribution } from '../core/capture/ebpf-event.js';
import { parseOutpostInterfaces } from '../core/report/outpost.js';
import { knownAddresses, type KnownAddresses } from '../core/capture/known-addresses.js';
import { runPipeline } from '../core/pipeline.js';
import { externalAddresses, nameExternalNodes } from '../core/topology/build-topology.js';
import { createExporter, createSinks, hostAddresses, type Exporter } from '../export/index.js';
import { buildApp } from '../server/app.js';
import { formatListen, type ListenAddress } from '../server/listen.js';
import { defaultUiDir, loadUiAssets } from '../server/ui-assets.js';
import { accountingMessage, CliError, enableAccounting, toCollectionConfig, untilStopSignal } from './common.js';
import { openHistoryOf } from './history-option.js';
import { DEFAULT_SFLOW, exportFilterOf, VERSION, type ServeFlags } from './serve.js';
import { toHostDocumentOf } from '../core/fleet/host-document.js';
import { startFleetPublishing, type FleetPublishing } from '../fleet/agent-nats.js';
import type { Json } from '../fleet/doc-patch.js';
import { registerPublisherMetrics } from '../fleet/metrics.js';
import { NatsConfigError, toConnectionOptions } from '../fleet/nats-connect.js';
import { hostToken } from '../fleet/wire.js';
import { toNatsConfig } from './nats-options.js';

/** Runs the agent until SIGINT/SIGTERM. */
export async function serve(flags: ServeFlags, address: ListenAddress, token: string | undefined, allowedHosts: readonly string[] = []): Promise<void> {
  // With `--export stdout` the documents own stdout: the log goes to stderr.
  const toStdout = flags.export?.some((e) => e.kind === 'stdout') === true;
  const logger = pino({ name: 'portolan', level: flags.logLevel }, toStdout ? pino.destination(2) : undefined);
  const sflow = flags.sflow === true ? DEFAULT_SFLOW : flags.sflow;
  const nats = toNatsConfig(flags, `portolan-agent-${os.hostname()}`);
  if (nats) {
    try {
      toConnectionOptions(nats);
    } catch (err) {
      if (err instanceof NatsConfigError) throw new CliError(err.message);
      throw err;
    }
  }
  const collection = createCollection({ ...toCollectionConfig(flags), timeoutMs: flags.collectTimeout, repeat: {}, ...(sflow ? { sflow } : {}), ...(nats ? { identity: true } : {}),
    ...(flags.capture !== false ? { capture: {} } : {}),
  });
  // Capabilities do not change while a process runs: without them the agent would serve an empty map for ever,
  // so it refuses to start, in one line. (A Docker engine that is down is not refused: the agent waits for it.)
  const privileges = await collection.privileges();
  if (privileges.message !== undefined) {
    collection.close();
    throw new CliError(privileges.message);
  }
  if (privileges.unchecked !== undefined) logger.warn({ reason: privileges.unchecked }, 'capabilities not checked');
  if (flags.conntrackAcct) {
    const change = enableAccounting(collection);
    logger.info({ sysctl: 'net.netfilter.nf_conntrack_acct', previous: Number(change.previous), value: 1, netns: change.netns }, accountingMessage(change));
  }
  if (flags.conntrackTimestamps) {
    try {
      const change = collection.enableConntrackTimestamps();
      logger.info({ sysctl: 'net.netfilter.nf_conntrack_timestamp', previous: Number(change.previous), value: 1, netns: change.netns }, 'conntrack timestamps on (host-wide; only new flows get them)');
    } catch (err) {
      collection.close();
      throw new CliError(`--conntrack-timestamps: ${(err as Error).message}`);
    }
  }
  if (collection.capture) {
    try {
      await collection.capture.start();
      logger.info({ capture: collection.capture.status() }, 'following conntrack events');
    } catch (err) {
      // One clear notice; everything else works (polling only).
      logger.warn({ reason: (err as Error).message }, 'capture unavailable: connections that open and close between two collections are not seen (--no-capture silences this)');
    }
  }
  const history = openHistoryOf(flags);
  if (collection.sflow) {
    try {
      logger.info({ sflow: await collection.sflow.listen() }, 'receiving sFlow');
    } catch (err) {
      history?.close();
      throw new CliError((err as Error).message);
    }
  }
  const resolver = flags.dns ? createNameResolver() : undefined;
  const agent = createAgent({
    collection,
    intervalMs: flags.interval * 1000,
    logger,
    ...(history ? { store: history } : {}),
    events: collection.createEventsFollower(logger),
    ...(collection.capture ? { captureStatus: collection.capture.status } : {}),
    onFatal: (err) => {
      logger.fatal({ err }, 'cannot carry on; exiting');
      process.exit(70);
    },
    render: (snapshot, memory) => {
      const result = runPipeline(snapshot, memory);
      if (!resolver) return result;
      // Names come in the background: this collection takes those already known, later ones the rest.
      const addresses = externalAddresses(result.topology);
      resolver.request(addresses);
      return { ...result, topology: nameExternalNodes(result.topology, resolver.names(addresses)) };
    },
  });
  const dockerHost = { hostname: os.hostname(), ips: hostAddresses() };
  let exporter: Exporter | undefined;
  if (flags.export && flags.export.length > 0) {
    try {
      const sinks = createSinks(flags.export, {
        bufferDir: flags.exportBufferDir ?? path.join(flags.data, 'export-buffer'), maxBufferBytes: flags.exportBufferMax, batchSize: flags.exportBatch,
        batchWaitMs: 1000, fileMaxBytes: flags.exportFileMaxSize, fileMaxFiles: flags.exportFileMaxFiles, logger,
      });
      exporter = createExporter({
        agent, sinks, filter: exportFilterOf(flags, 'portolan serve'), capturing: () => agent.status().capture?.state === 'running', beat: { hostname: os.hostname(), name: 'portolan', version: VERSION }, dockerHost, logger,
      });
      logger.info({ export: sinks.map((s) => s.name) }, 'exporting events');
    } catch (err) {
      history?.close();
      throw new CliError(`--export: ${(err as Error).message}`);
    }
  }
  // dist/ui beside dist/cli; absent in a checkout that was not built, then GET / serves the fallback page.
  let fleet: FleetPublishing | undefined;
  if (nats) {
    const intervalMs = flags.interval * 1000;
    // The last document made: idle containers keep their traffic entries from it (core's dead band).
    let previous: ReturnType<typeof toHostDocumentOf>;
    fleet = startFleetPublishing(agent, {
      nats, logger,
      documentOf: (state) => {
        const doc = toHostDocumentOf(state, intervalMs, previous ? { previous } : {});
        if (doc) previous = doc;
        return doc ? { hostId: hostToken(doc.engineId), doc: doc as unknown as Json } : undefined;
      },
    });
  }
  const ui = loadUiAssets(defaultUiDir(path.dirname(fileURLToPath(import.meta.url))));
  if (!ui) logger.warn('web map not built (no dist/ui/index.html): browsers get a page listing the API; run npm run build');
  const app = await buildApp(fleet?.agent ?? agent, {
    logger,
    ...(ui ? { ui } : {}),
    ...(token !== undefined ? { token } : {}),
    outpostInterfaces: parseOutpostInterfaces(process.env.OUTPOST_INTERFACES),
    metrics: { maxEdgeSeries: flags.metricsMaxEdges, ...(fleet ? { extra: (registry) => registerPublisherMetrics(registry, () => fleet?.status()) } : {}) },
    collectTimeoutMs: flags.collectTimeout,
    version: VERSION,
    hosts: { allowedHosts, listenHost: address.host },
    ...(exporter ? { export: exporter } : {}),
    dockerHost,
    ...(flags.ebpf ? { ebpf: () => ebpf?.status() ?? { state: 'starting', transitions: 0, connections: 0, lost: 0, parseErrors: 0, evicted: 0 } } : {}),
  });
  // --ebpf: connections conntrack cannot see (loopback in a namespace, a socket to its own address), from bpftrace.
  // It never mounts tracefs itself: when tracefs is missing it says the one command that mounts it.
  let ebpf: EbpfFeed | undefined;
  if (flags.ebpf) {
    let attributedSeq = -1;
    let who: EbpfAttribution | undefined;
    const attribution = (): EbpfAttribution | undefined => {
      const s = agent.current();
      if (!s) return undefined;
      if (s.seq !== attributedSeq || !who) {
        attributedSeq = s.seq;
        const byId = new Map(s.snapshot.containers.map((c) => [c.id, c]));
        // A namespace's owner: the container whose network mode is not container:<other>.
        const owner = new Map<number, { id: string; name: string; image: string }>();
        for (const n of s.snapshot.netns.containers) {
          const c = byId.get(n.containerId);
          if (c && c.networkMode.kind !== 'container' && c.networkMode.kind !== 'host') owner.set(n.netns, { id: c.id, name: c.name, image: c.image });
        }
        who = { host: s.snapshot.hostname, hostNetns: s.snapshot.netns.host, containerOfNetns: (netns) => owner.get(netns) };
      }
      return who;
    };
    ebpf = createEbpfFeed({
      onConnection: (end) => {
        const w = attribution();
        const event = w ? toEbpfConnectionEvent(end, w) : undefined;
        if (event) agent.publish([event]);
      },
      onNotice: (message) => logger.warn({ ebpf: ebpf?.status() }, message),
    });
    void ebpf.start().then((st) => { if (st.state === 'running') logger.info({ ebpf: st }, 'eBPF source running: loopback and same-address TCP connections captured'); });
  }
  // A flow from or to an address no collection has named yet (a container that just started) brings a collection
  // at once (debounced), so it is in the API within a second; flows between known addresses wait for the tick.
  if (collection.capture) {
    let knownSeq = -1;
    let known: KnownAddresses | undefined;
    collection.capture.onNews((client, server) => {
      const s = agent.current();
      if (!s) return;
      if (s.seq !== knownSeq || !known) {
        knownSeq = s.seq;
        known = knownAddresses(s.snapshot);
      }
      const news = [client, server].filter((a) => known?.isNews(a));
      if (news.length > 0) {
        // Asked once per address and collection: the next one names it.
        for (const a of news) known.add(a);
        agent.trigger('new connection');
      }
    }, () => agent.trigger('captured flows waiting'));
  }
  agent.start();
  try {
    await app.listen({ host: address.host, port: address.port });
  } catch (err) {
    await fleet?.stop();
    await ebpf?.stop();
    await agent.stop();
    await exporter?.close();
    await collection.sflow?.close();
    collection.close();
    history?.close();
    resolver?.close();
    throw new CliError(`cannot listen on ${formatListen(address)}: ${(err as Error).message}`);
  }
  const bound = app.server.address();
  const actual = bound !== null && typeof bound === 'object' ? formatListen({ host: bound.address, port: bound.port }) : formatListen(address);
  logger.info({ listen: actual, intervalMs: agent.intervalMs, history: history?.file ?? null, auth: token !== undefined, allowedHosts }, 'portolan agent serving');

  await untilStopSignal(logger);
  await app.close();
  await ebpf?.stop();
  await agent.stop();
  await fleet?.stop();
  // After the agent: its last events are exported; HTTP keeps what it could not deliver on disk for the next run.
  await exporter?.close();
  await collection.sflow?.close();
  collection.close();
  resolver?.close();
  history?.close();
}
