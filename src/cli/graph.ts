import { Command, InvalidArgumentError, Option } from 'commander';
import { createNameResolver } from '../collectors/index.js';
import type { Topology } from '../core/model/topology.js';
import { parseInstant } from '../core/duration.js';
import { runPipeline } from '../core/pipeline.js';
import { renderGraphDot, renderGraphMermaid, renderGraphText } from '../core/report/graph.js';
import { externalAddresses, nameExternalNodes } from '../core/topology/build-topology.js';
import { collectOnce, durationMs, jsonText, printWarnings, UsageError, withCollectionOptions, withConntrackAcctOption, type CollectionFlags } from './common.js';
import { fetchTopology, staleWarning } from './remote.js';

interface GraphFlags extends CollectionFlags {
  server?: string;
  at?: string;
  json?: boolean;
  dot?: boolean;
  mermaid?: boolean;
  loopback?: boolean;
  details: boolean;
  dns: boolean;
  dnsTimeout: number;
  dnsServer?: string[];
}

/**
 * `--at`: an instant as the agent's `?at=` takes it (ISO date, unix seconds, `-10m`), or a bare duration meaning
 * that long ago (`10m`); checked here so that a typo is a usage error, not the agent's 400.
 */
export function parseAt(value: string): string {
  const t = value.trim();
  const query = /^\d+(\.\d+)?(ms|s|m|h|d|w)/.test(t) ? `-${t}` : t;
  try {
    parseInstant(query, Date.now());
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}; e.g. 10m (ago), -1h, 2026-11-21T05:00:00Z`);
  }
  return query;
}

function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Names external nodes by reverse DNS, waiting at most `timeoutMs` for answers (the topology is already built). */
async function withDnsNames(topology: Topology, flags: GraphFlags): Promise<Topology> {
  const addresses = externalAddresses(topology);
  if (!flags.dns || addresses.length === 0) return topology;
  const resolver = createNameResolver({
    timeoutMs: Math.max(1, flags.dnsTimeout),
    ...(flags.dnsServer ? { servers: flags.dnsServer } : {}),
  });
  try {
    resolver.request(addresses);
    await resolver.settle(flags.dnsTimeout);
    return nameExternalNodes(topology, resolver.names(addresses));
  } finally {
    resolver.close();
  }
}

/** Adds `portolan graph` to the program. */
export function registerGraph(program: Command): void {
  withConntrackAcctOption(withCollectionOptions(program.command('graph')))
    .description('show who talks to whom: containers, host processes and external addresses, client → server')
    .addOption(new Option('--json', 'print the topology as JSON').conflicts(['dot', 'mermaid']))
    .addOption(new Option('--dot', 'print Graphviz DOT (render with: dot -Tpng)').conflicts(['mermaid']))
    .option('--mermaid', 'print a Mermaid flowchart')
    .option('--loopback', 'also show traffic of a container with itself (loopback inside its namespace)')
    .option('--no-details', 'leave per-connection details out of the JSON')
    .option('--no-dns', 'do not look up reverse-DNS names of external addresses')
    .addOption(new Option('--dns-timeout <duration>', 'longest wait for reverse-DNS names before printing (e.g. 500ms, 2s; a plain number is ms)').argParser(durationMs('ms', 0)).default(500, '500ms'))
    .option('--dns-server <ip[:port]>', 'DNS server for reverse lookups (repeatable; default: the system\'s)', collectList)
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .option('--at <time>', 'with --server: the topology at this time, from history: a duration ago (10m, 2h), an ISO time or unix seconds', parseAt)
    .action(async (opts: GraphFlags) => {
      if (opts.at !== undefined && !opts.server) throw new UsageError('--at needs --server (history lives in the agent)', 'portolan graph');
      if (opts.server) {
        const remote = await fetchTopology(opts.server, opts.at);
        const warnings = [...remote.warnings, ...staleWarning(remote)];
        printWarnings(warnings);
        const { stale: _s, staleSince: _t, ...topology } = remote;
        process.stdout.write(render(opts.details ? topology : { ...topology, edges: topology.edges.map(({ details: _d, ...e }) => e) }, opts));
        return;
      }
      const snapshot = await collectOnce(opts);
      // Details are needed to sum bytes per edge; --no-details drops them after.
      const withTraffic = runPipeline(snapshot, undefined, { loopback: opts.loopback === true, details: true }).topology;
      const built = opts.details ? withTraffic : { ...withTraffic, edges: withTraffic.edges.map(({ details: _d, ...e }) => e) };
      const topology = await withDnsNames(built, opts);
      printWarnings(topology.warnings);
      process.stdout.write(render(topology, opts));
    });
}

function render(topology: Topology, opts: GraphFlags): string {
  return opts.json ? jsonText(topology)
    : opts.dot ? renderGraphDot(topology)
      : opts.mermaid ? renderGraphMermaid(topology)
        : renderGraphText(topology);
}
