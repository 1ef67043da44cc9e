// Server-Sent Events (the text/event-stream format of the WHATWG HTML standard, §9.2.6) read incrementally: the
// agent's /api/v1/events as `portolan events` follows it. Bounded: a line longer than maxLineBytes, or an event
// whose data grows beyond it, is an error (a stream that never sends a newline cannot grow memory without end).

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen so far (ids persist across events, as the standard says). */
  readonly id?: string;
}

/** An incremental parser: feed it text as it arrives; it returns the events completed by that text. */
export interface SseParser {
  push(text: string): SseEvent[];
  /** The `retry:` the server asked for, in ms. */
  retryMs(): number | undefined;
}

/** Thrown when the stream breaks the bounds. */
export class SseError extends Error {}

/** Creates a parser; a line (or an event's data) longer than `maxLineBytes` characters throws SseError. */
export function createSseParser(maxLineBytes = 1 << 20): SseParser {
  let rest = '';
  let event = '';
  let data: string[] = [];
  let dataLength = 0;
  let id: string | undefined;
  let retry: number | undefined;
  let first = true;

  const line = (l: string, out: SseEvent[]) => {
    if (l === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
      event = '';
      data = [];
      dataLength = 0;
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event': event = value; break;
      case 'data':
        dataLength += value.length + 1;
        if (dataLength > maxLineBytes) throw new SseError(`an event's data is longer than ${maxLineBytes} characters`);
        data.push(value);
        break;
      case 'id': if (!value.includes('\0')) id = value; break;
      case 'retry': if (/^\d{1,9}$/.test(value)) retry = Number(value); break;
      default: break;
    }
  };

  return {
    push(text) {
      let t = rest + text;
      if (first && t.length > 0) {
        // A leading byte order mark is not part of the first field name.
        if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
        first = false;
      }
      const out: SseEvent[] = [];
      let start = 0;
      for (let i = 0; i < t.length; i++) {
        const ch = t.charCodeAt(i);
        if (ch !== 10 && ch !== 13) continue;
        // CRLF is one line end; a CR at the very end may be followed by LF in the next chunk.
        if (ch === 13 && i + 1 === t.length) break;
        line(t.slice(start, i), out);
        if (ch === 13 && t.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      rest = t.slice(start);
      if (rest.length > maxLineBytes) throw new SseError(`a line longer than ${maxLineBytes} characters`);
      return out;
    },
    retryMs: () => retry,
  };
}
