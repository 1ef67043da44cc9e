// The `ps --json` document as text, written a piece at a time: at 100,000 sockets the document is ~45 MB, and
// building it as one object tree and one string (JSON.stringify) cost as much memory again and most of the time.
// The text parses to the same value JSON.stringify(toPsReport(…)) gives; each socket sits on a line of its own.
// It is safe for a terminal as it is (what came from containers or an agent is escaped: escapeJsonForTerminal).
import type { PsDocument } from './ps.js';
import { escapeJsonForTerminal } from './terminal-text.js';
import { utf8Chunks } from './utf8-chunks.js';

/** The ps document as JSON text in UTF-8 buffers of about `chunkBytes` (pure; the caller writes them). */
export function psJsonChunks(doc: PsDocument, chunkBytes = 1 << 20): Generator<Buffer> {
  return utf8Chunks(psJsonPieces(doc), chunkBytes);
}

/** The ps document as JSON text, a small piece at a time (a socket's line, a container's head). */
export function* psJsonPieces(doc: PsDocument): Generator<string> {
  const json = (v: unknown) => escapeJsonForTerminal(JSON.stringify(v));
  yield `{\n  "takenAt": ${json(doc.takenAt)},\n  "host": ${json(doc.host)},\n  "warnings": ${json(doc.warnings)},\n  "containers": [`;
  for (let i = 0; i < doc.containers.length; i++) {
    const c = doc.containers[i];
    if (!c) continue;
    const head = json(c.head);
    // The head's fields, then its sockets: `{…,"sockets":[` with the head's closing brace cut off.
    yield `${i === 0 ? '' : ','}\n    ${head.slice(0, -1)},"sockets":[`;
    let first = true;
    for (const s of c.socketsJson()) {
      yield first ? '\n      ' : ',\n      ';
      yield s;
      first = false;
    }
    yield first ? ']}' : '\n    ]}';
  }
  yield `${doc.containers.length > 0 ? '\n  ' : ''}]\n}\n`;
}
