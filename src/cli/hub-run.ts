// The running hub of `portolan hub`: NATS connection, durable consumer, the hub's state, history and the HTTP app.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createHub } from '../fleet/hub.js';
import { startHubConsumer, type HubConsumer } from '../fleet/hub-nats.js';
import { checkFleetDocument, createFleetRenderer } from '../fleet/hub-render.js';
import { registerHubMetrics } from '../fleet/metrics.js';
import { connectNats, NatsConfigError, toConnectionOptions, type NatsConfig } from '../fleet/nats-connect.js';
import { buildApp } from '../server/app.js';
import { formatListen, type ListenAddress } from '../server/listen.js';
import { defaultUiDir, loadUiAssets } from '../server/ui-assets.js';
import { openHistoryOf } from './history-option.js';
import { CliError, untilStopSignal } from './common.js';
import type { HubFlags } from './hub.js';
import { VERSION } from './serve.js';

/** Runs the hub until SIGINT/SIGTERM. */
export async function runHub(flags: HubFlags, nats: NatsConfig, address: ListenAddress, token: string | undefined, allowedHosts: readonly string[]): Promise<void> {
  const logger = pino({ name: 'portolan-hub', level: flags.logLevel });
  try {
    toConnectionOptions(nats);
  } catch (err) {
    if (err instanceof NatsConfigError) throw new CliError(err.message);
    throw err;
  }
  const history = openHistoryOf(flags);
  const hub = createHub({
    hostname: os.hostname(), logger, retentionMs: flags.hostRetention,
    render: createFleetRenderer({ retentionMs: flags.hostRetention }),
    check: (hostId, doc, checked) => checkFleetDocument(hostId, doc, {}, checked),
    ...(history ? { store: history } : {}),
  });
  const ui = loadUiAssets(defaultUiDir(path.dirname(fileURLToPath(import.meta.url))));
  const app = await buildApp(hub, {
    logger,
    ...(ui ? { ui } : {}),
    ...(token !== undefined ? { token } : {}),
    metrics: { maxEdgeSeries: flags.metricsMaxEdges, extra: (registry) => registerHubMetrics(registry, () => hub.hubStatus()) },
    version: VERSION,
    hosts: { allowedHosts, listenHost: address.host },
  });
  let nc;
  try {
    nc = await connectNats(nats, { timeout: 5000 });
  } catch (err) {
    history?.close();
    throw new CliError(`cannot connect to NATS at ${nats.servers.join(', ')}: ${(err as Error).message}`);
  }
  hub.start();
  try {
    await app.listen({ host: address.host, port: address.port });
  } catch (err) {
    await nc.close();
    history?.close();
    throw new CliError(`cannot listen on ${formatListen(address)}: ${(err as Error).message}`);
  }
  // The consumer is set up in the background, retried while JetStream cannot (a stream leader being elected after a
  // node died, the streams' replicas not available yet): meanwhile the hub serves, saying it is rebuilding.
  let consumer: HubConsumer | undefined;
  let stopping = false;
  const setUp = (async () => {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        consumer = await startHubConsumer(nc, hub, { durable: flags.name, logger, ...(flags.natsReplicas !== undefined ? { streams: { replicas: flags.natsReplicas } } : {}) });
        return;
      } catch (err) {
        hub.setNats('disconnected', (err as Error).message);
        if (attempt === 1) logger.warn({ error: (err as Error).message }, 'cannot set up the fleet consumer yet: retrying every 2 s');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
  const bound = app.server.address();
  const actual = bound !== null && typeof bound === 'object' ? formatListen({ host: bound.address, port: bound.port }) : formatListen(address);
  logger.info({ listen: actual, nats: nc.getServer(), durable: flags.name, history: history?.file ?? null, auth: token !== undefined }, 'portolan hub serving');
  await untilStopSignal(logger);
  stopping = true;
  await app.close();
  await setUp;
  await consumer?.stop();
  await hub.stop();
  await nc.drain().catch(() => nc.close());
  history?.close();
}
