import { Command, InvalidArgumentError, Option } from 'commander';
import { createNameResolver } from '../collectors/index.js';
import type { Topology } from '../core/model/topology.js';
import { runPipeline } from '../core/pipeline.js';
import { renderGraphDot, renderGraphMermaid, renderGraphText } from '../core/report/graph.js';
import { externalAddresses, nameExternalNodes } from '../core/topology/build-topology.js';
import { CliError, collectOnce, jsonText, printWarnings, withCollectionOptions, withConntrackAcctOption, type CollectionFlags } from './common.js';
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

function parseMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected milliseconds, got "${value}"`);
  return n;
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
    .option('--dns-timeout <ms>', 'longest wait for reverse-DNS names before printing', parseMs, 500)
    .option('--dns-server <ip[:port]>', 'DNS server for reverse lookups (repeatable; default: the system\'s)', collectList)
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .option('--at <time>', 'with --server: the topology at this time (ISO time or a duration ago, e.g. 10m), from history')
    .action(async (opts: GraphFlags) => {
      if (opts.at !== undefined && !opts.server) throw new CliError('--at needs --server (history lives in the agent)');
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
