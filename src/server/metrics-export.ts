// The export's Prometheus families: per sink (label `sink`, e.g. `http:http://collector:8080/ingest`) documents
// sent, retried, dropped (by reason) and buffered, and whether it delivers. Read from the sinks at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ExportSinkStatus } from '../core/model/export.js';

/** Where the export's figures come from. */
export interface ExportStatusSource {
  status(): readonly ExportSinkStatus[];
  /** Documents the export filter held back. */
  filtered(): number;
}

/** Registers portolan_export_* on `registry`. */
export function registerExportMetrics(registry: Registry, source: ExportStatusSource): void {
  const perSink = (name: string, help: string, pick: (s: ExportSinkStatus) => number) => new Counter({
    name, help, labelNames: ['sink'], registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.inc({ sink: s.name }, pick(s));
    },
  });
  perSink('portolan_export_sent_total', 'Documents the sink delivered (written, accepted with 2xx, published).', (s) => s.sent);
  perSink('portolan_export_retried_total', 'Documents sent again after a failed attempt.', (s) => s.retried);
  new Counter({
    name: 'portolan_export_dropped_total', help: 'Documents the sink dropped, by reason (buffer_full, rejected, buffer_error, stream_error, closed).',
    labelNames: ['sink', 'reason'], registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) for (const [reason, n] of Object.entries(s.droppedBy)) this.inc({ sink: s.name, reason }, n);
    },
  });
  new Gauge({
    name: 'portolan_export_buffered', help: 'Documents waiting in the sink (memory and disk buffer).', labelNames: ['sink'], registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ sink: s.name }, s.buffered);
    },
  });
  new Gauge({
    name: 'portolan_export_buffered_bytes', help: 'Bytes of the sink\'s disk buffer (HTTP sinks).', labelNames: ['sink'], registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ sink: s.name }, s.bufferedBytes);
    },
  });
  new Gauge({
    name: 'portolan_export_up', help: '1 while the sink delivers (state ok), 0 while it retries, connects or is down.', labelNames: ['sink', 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ sink: s.name, state: s.state }, s.state === 'ok' ? 1 : 0);
    },
  });
  new Counter({
    name: 'portolan_export_filtered_total', help: 'Documents the export filter held back (--export-container, --export-port …).', registers: [registry],
    collect() {
      this.reset();
      this.inc(source.filtered());
    },
  });
}
