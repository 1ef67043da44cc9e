// `--export SPEC`: where documents go. `stdout`, `file:PATH`, `http://…` / `https://…`, `nats://host:port/subject`.
// Parsing only: the sinks (and the NATS client the NATS sink loads) are not imported here, so the CLI's option
// parsing does not load them.

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

/** The subject a document goes to when the URL names none. */
export const DEFAULT_NATS_SUBJECT = 'portolan.events';

/** Parses a NATS sink URL into the server, credentials and subject; throws with the reason. */
export function parseNatsTarget(text: string): { server: string; subject: string; user?: string; pass?: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`bad NATS URL "${text}": use nats://host:port/subject`);
  }
  if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new Error(`bad NATS URL "${text}": use nats://host:port/subject`);
  const subject = decodeURIComponent(u.pathname.replace(/^\//, '')) || DEFAULT_NATS_SUBJECT;
  // Tokens separated by dots, no wildcards or whitespace: a subject one publishes to.
  if (subject.length > 255 || !/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(subject)) throw new Error(`bad NATS subject "${subject}": dot-separated tokens without spaces, * or >`);
  return {
    server: `${u.protocol}//${u.host}`, subject,
    ...(u.username !== '' ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { pass: decodeURIComponent(u.password) } : {}),
  };
}
