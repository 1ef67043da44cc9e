// `--export SPEC`: where documents go. `stdout`, `file:PATH`, `http://…` / `https://…`, `nats://host:port/subject`.
import { parseNatsTarget } from './nats-sink.js';

/** One parsed `--export` value. */
export type ExportSpec =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'nats'; readonly url: string };

/** Parses an `--export` value; throws one line saying what is accepted. */
export function parseExportSpec(text: string): ExportSpec {
  const t = text.trim();
  const usage = 'use stdout, file:PATH, http(s)://HOST[:PORT]/PATH or nats://HOST:PORT/SUBJECT';
  if (t === 'stdout' || t === '-') return { kind: 'stdout' };
  if (t.startsWith('file:')) {
    const file = t.slice('file:'.length);
    if (file === '' || file.length > 4096 || file.includes('\0')) throw new Error(`bad export file "${text}": ${usage}`);
    return { kind: 'file', file };
  }
  if (/^https?:\/\//i.test(t)) {
    try {
      const u = new URL(t);
      if (u.hostname === '') throw new Error('no host');
    } catch {
      throw new Error(`bad export URL "${text}": ${usage}`);
    }
    return { kind: 'http', url: t };
  }
  if (/^(nats|tls):\/\//i.test(t)) {
    parseNatsTarget(t);
    return { kind: 'nats', url: t };
  }
  throw new Error(`bad export target "${text}": ${usage}`);
}
