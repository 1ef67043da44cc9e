import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseParser, SseError } from './sse.js';

const stream = 'retry: 2000\n\nevent: ready\ndata: {"at":"t"}\n\n: comment\nevent: container.started\nid: abc-1\ndata: {"a":1}\n\nevent: x\r\nid: abc-2\r\ndata: line1\r\ndata:line2\r\n\r\ndata: plain\n\n';

describe('createSseParser', () => {
  it('reads events, ids, retry, comments and CRLF', () => {
    const p = createSseParser();
    expect(p.push(stream)).toEqual([
      { event: 'ready', data: '{"at":"t"}' },
      { event: 'container.started', data: '{"a":1}', id: 'abc-1' },
      { event: 'x', data: 'line1\nline2', id: 'abc-2' },
      { event: 'message', data: 'plain', id: 'abc-2' },
    ]);
    expect(p.retryMs()).toBe(2000);
  });

  it('gives the same events however the text is cut', () => {
    const whole = createSseParser().push(stream);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 }), (cuts) => {
      const p = createSseParser();
      const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
      const got = points.slice(1).flatMap((end, i) => p.push(stream.slice(points[i], end)));
      expect(got).toEqual(whole);
    }));
  });

  it('bounds lines and data, never crashes on garbage', () => {
    expect(() => createSseParser(100).push('data: ' + 'x'.repeat(200))).toThrow(SseError);
    const p = createSseParser(100);
    expect(() => { for (let i = 0; i < 20; i++) p.push('data: 0123456789\n'); }).toThrow(/data is longer/);
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        createSseParser(1000).push(s);
      } catch (err) {
        expect(err).toBeInstanceOf(SseError);
      }
    }));
  });
});
