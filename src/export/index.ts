// The export's composition: sinks from `--export` specs, the host's addresses for `docker_host.ips`.
import os from 'node:os';
import path from 'node:path';
import { createFileSink } from './file-sink.js';
import { createHttpSink, httpSinkName } from './http-sink.js';
import { createNatsSink } from './nats-sink.js';
import type { ExportSink, SinkLogger } from './sink.js';
import type { ExportSpec } from './spec.js';
import { createStreamSink } from './stream-sink.js';

export { createExporter, type Exporter } from './exporter.js';
export { parseExportSpec, type ExportSpec } from './spec.js';

/** Settings shared by the sinks of one agent. */
export interface SinkSettings {
  /** Where HTTP sinks keep their disk buffers (one subdirectory each). */
  readonly bufferDir: string;
  readonly maxBufferBytes: number;
  readonly batchSize: number;
  readonly batchWaitMs: number;
  readonly fileMaxBytes: number;
  readonly fileMaxFiles: number;
  readonly logger?: SinkLogger;
}

/** Creates the sinks of `--export` values (throws on a second stdout or an unusable target). */
export function createSinks(specs: readonly ExportSpec[], s: SinkSettings): ExportSink[] {
  const names = new Set<string>();
  const sinks: ExportSink[] = [];
  for (const spec of specs) {
    let sink: ExportSink;
    switch (spec.kind) {
      case 'stdout':
        sink = createStreamSink({ stream: process.stdout });
        break;
      case 'file':
        sink = createFileSink({ file: path.resolve(spec.file), maxBytes: s.fileMaxBytes, maxFiles: s.fileMaxFiles, ...(s.logger ? { logger: s.logger } : {}) });
        break;
      case 'http': {
        // One buffer directory per target, named so that a restart finds its own batches again.
        const dir = httpSinkName(new URL(spec.url)).replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 120);
        sink = createHttpSink({
          url: spec.url, bufferDir: path.join(s.bufferDir, dir), maxBufferBytes: s.maxBufferBytes, batchSize: s.batchSize, batchWaitMs: s.batchWaitMs,
          ...(s.logger ? { logger: s.logger } : {}),
        });
        break;
      }
      case 'nats':
        sink = createNatsSink({ url: spec.url, ...(s.logger ? { logger: s.logger } : {}) });
        break;
    }
    if (names.has(sink.name)) {
      void sink.close();
      throw new Error(`--export ${sink.name} given twice`);
    }
    names.add(sink.name);
    sinks.push(sink);
  }
  return sinks;
}

/**
 * The host's own addresses (connbeat's `docker_host.ips`): every non-internal interface address except those of
 * Docker's bridges and veths, which are the containers' side.
 */
export function hostAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const ips: string[] = [];
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (/^(docker\d*|br-[0-9a-f]+|veth.*)$/.test(name)) continue;
    for (const a of addrs ?? []) if (!a.internal && !a.address.startsWith('fe80:')) ips.push(a.address);
  }
  return ips;
}
