import { Command, InvalidArgumentError, Option } from 'commander';
import type { SocketState } from '../core/model/socket.js';
import { renderSockets } from '../core/pipeline.js';
import { compileGlob } from '../core/glob.js';
import { parseStateFilter, toPsReport, type PsFilter, type PsReport } from '../core/report/ps.js';
import { collectOnce, jsonText, printWarnings, withCollectionOptions, type CollectionFlags } from './common.js';
import { fetchFromAgent, staleWarning } from './remote.js';
import { formatEndpoint, renderTable } from './table.js';

/** Renders the ps report as an `ss`-like table, one row per socket. */
export function renderPsTable(report: PsReport): string {
  const rows: string[][] = [];
  for (const c of report.containers) {
    for (const s of c.sockets) {
      const procs = s.processes.map((p) => {
        const owner = p.container === undefined ? '' : p.container === null ? '@host' : `@${p.container}`;
        return `${p.command}/${p.pid}${owner}`;
      });
      rows.push([c.name, s.protocol, s.state, String(s.rxQueue), String(s.txQueue), formatEndpoint(s.local), formatEndpoint(s.remote), procs.join(',')]);
    }
  }
  return renderTable(['CONTAINER', 'PROTO', 'STATE', 'RECV-Q', 'SEND-Q', 'LOCAL', 'REMOTE', 'PROCESS'], rows);
}

function collectGlob(value: string, previous: string[] = []): string[] {
  try {
    compileGlob(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, value];
}

function parseState(value: string, previous: SocketState[] = []): SocketState[] {
  try {
    return [...previous, ...value.split(',').map(parseStateFilter)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface PsFlags extends CollectionFlags {
  container?: string[];
  state?: SocketState[];
  protocol?: 'tcp' | 'udp';
  listening?: boolean;
  json?: boolean;
  server?: string;
}

/** The same report from a running agent: `/api/v1/sockets` with the same filters. */
async function fetchPsReport(server: string, filter: PsFilter): Promise<PsReport> {
  const q = new URLSearchParams();
  for (const c of filter.containers ?? []) q.append('container', c);
  for (const s of filter.states ?? []) q.append('state', s.toLowerCase());
  if (filter.protocol) q.set('protocol', filter.protocol);
  if (filter.listening) q.set('listening', 'true');
  const doc = await fetchFromAgent<PsReport & { stale?: boolean; staleSince?: string }>(server, 'api/v1/sockets', q);
  const { stale: _s, staleSince: _t, ...report } = doc;
  return { ...report, warnings: [...staleWarning(doc), ...report.warnings] };
}

/** Adds `portolan ps` to the program. */
export function registerPs(program: Command): void {
  withCollectionOptions(program.command('ps'))
    .description('list the sockets of every running container, like ss for each container')
    .option('-c, --container <glob>', 'only containers whose name or id matches (repeatable)', collectGlob)
    .option('--state <state>', 'only sockets in this state (repeatable, comma-separated: listen, established, time-wait, unconn…)', parseState)
    .addOption(new Option('-p, --protocol <protocol>', 'only this protocol').choices(['tcp', 'udp']))
    .option('-l, --listening', 'only listening TCP and unconnected UDP sockets')
    .option('--json', 'print the JSON document instead of a table')
    .option('--server <url>', 'read from a running agent (portolan serve) instead of collecting, e.g. http://127.0.0.1:9057')
    .action(async (opts: PsFlags) => {
      const filter: PsFilter = {
        ...(opts.container ? { containers: opts.container } : {}),
        ...(opts.state ? { states: opts.state } : {}),
        ...(opts.protocol ? { protocol: opts.protocol } : {}),
        ...(opts.listening ? { listening: true } : {}),
      };
      let report: PsReport;
      if (opts.server) {
        report = await fetchPsReport(opts.server, filter);
      } else {
        const snapshot = await collectOnce(opts);
        const view = renderSockets(snapshot);
        report = toPsReport(snapshot, view.attribution, filter, view.traffic);
      }
      printWarnings(report.warnings);
      process.stdout.write(opts.json ? jsonText(report) : renderPsTable(report));
    });
}
