// The `ps --json` document as text, written a piece at a time: at 100,000 sockets the document is ~45 MB, and
// building it as one object tree and one string (JSON.stringify) cost as much memory again and most of the time.
// The text parses to the same value JSON.stringify(toPsReport(…)) gives; each socket sits on a line of its own.
// It is safe for a terminal as it is (what came from containers or an agent is escaped: escapeJsonForTerminal).
import type { PsDocument } from './ps.js';
import { escapeJsonForTerminal } from './terminal-text.js';

/** The ps document as JSON text in pieces of about `chunkChars` characters (pure; the caller writes them). */
export function* psJsonChunks(doc: PsDocument, chunkChars = 1 << 20): Generator<string> {
  const json = (v: unknown) => escapeJsonForTerminal(JSON.stringify(v));
  let out = `{\n  "takenAt": ${json(doc.takenAt)},\n  "host": ${json(doc.host)},\n  "warnings": ${json(doc.warnings)},\n  "containers": [`;
  for (let i = 0; i < doc.containers.length; i++) {
    const c = doc.containers[i];
    if (!c) continue;
    const head = json(c.head);
    // The head's fields, then its sockets: `{…,"sockets":[` with the head's closing brace cut off.
    out += `${i === 0 ? '' : ','}\n    ${head.slice(0, -1)},"sockets":[`;
    let first = true;
    for (const s of c.socketsJson()) {
      out += `${first ? '' : ','}\n      ${s}`;
      first = false;
      if (out.length >= chunkChars) {
        yield out;
        out = '';
      }
    }
    out += first ? ']}' : '\n    ]}';
  }
  out += `${doc.containers.length > 0 ? '\n  ' : ''}]\n}\n`;
  yield out;
}
