// The running agent of `portolan serve`, loaded only when serve runs: fastify, SQLite, prom-client and pino
// would otherwise cost every `portolan ps` ~100 ms of module loading.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openHistory, type HistoryStore } from '../agent/history.js';
import { createAgent } from '../agent/loop.js';
import { createCollection, createNameResolver } from '../collectors/index.js';
import { parseOutpostInterfaces } from '../core/report/outpost.js';
import { runPipeline } from '../core/pipeline.js';
import { externalAddresses, nameExternalNodes } from '../core/topology/build-topology.js';
import { buildApp } from '../server/app.js';
import { formatListen, type ListenAddress } from '../server/listen.js';
import { defaultUiDir, loadUiAssets } from '../server/ui-assets.js';
import { accountingMessage, CliError, enableAccounting, toCollectionConfig } from './common.js';
import { DEFAULT_SFLOW, VERSION, type ServeFlags } from './serve.js';
import { toHostDocumentOf } from '../core/fleet/host-document.js';
import { startFleetPublishing, type FleetPublishing } from '../fleet/agent-nats.js';
import type { Json } from '../fleet/doc-patch.js';
import { registerPublisherMetrics } from '../fleet/metrics.js';
import { NatsConfigError, toConnectionOptions } from '../fleet/nats-connect.js';
import { hostToken } from '../fleet/wire.js';
import { toNatsConfig } from './nats-options.js';

/** Runs the agent until SIGINT/SIGTERM. */
export async function serve(flags: ServeFlags, address: ListenAddress, token: string | undefined, allowedHosts: readonly string[] = []): Promise<void> {
  const logger = pino({ name: 'portolan', level: flags.logLevel });
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
  const collection = createCollection({ ...toCollectionConfig(flags), timeoutMs: flags.collectTimeout, repeat: {}, ...(sflow ? { sflow } : {}), ...(nats ? { identity: true } : {}) });
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
  let history: HistoryStore | undefined;
  if (flags.history) {
    try {
      history = openHistory({ dir: flags.data, retentionMs: flags.retention, hostname: os.hostname() });
    } catch (err) {
      throw new CliError(`cannot open history in ${flags.data}: ${(err as Error).message} (choose another --data DIR, or --no-history)`);
    }
  }
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
  // dist/ui beside dist/cli; absent in a checkout that was not built, then GET / serves the fallback page.
  let fleet: FleetPublishing | undefined;
  if (nats) {
    const intervalMs = flags.interval * 1000;
    fleet = startFleetPublishing(agent, {
      nats, logger,
      documentOf: (state) => {
        const doc = toHostDocumentOf(state, intervalMs);
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
  });
  agent.start();
  try {
    await app.listen({ host: address.host, port: address.port });
  } catch (err) {
    await fleet?.stop();
    await agent.stop();
    await collection.sflow?.close();
    history?.close();
    resolver?.close();
    throw new CliError(`cannot listen on ${formatListen(address)}: ${(err as Error).message}`);
  }
  const bound = app.server.address();
  const actual = bound !== null && typeof bound === 'object' ? formatListen({ host: bound.address, port: bound.port }) : formatListen(address);
  logger.info({ listen: actual, intervalMs: agent.intervalMs, history: history?.file ?? null, auth: token !== undefined, allowedHosts }, 'portolan agent serving');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  await app.close();
  await agent.stop();
  await fleet?.stop();
  await collection.sflow?.close();
  collection.close();
  resolver?.close();
  history?.close();
}
