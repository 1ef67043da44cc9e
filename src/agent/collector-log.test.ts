import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { scriptedCollection } from '../../test/fixtures/agent/fake-collection.js';
import { syntheticSnapshot } from '../../test/fixtures/topology/synthetic.js';
import { createAgent } from './loop.js';

/** A pino logger whose lines are kept as parsed objects. */
function capture(): { logger: pino.Logger; lines: { level: number; msg: string; collector?: string }[] } {
  const lines: { level: number; msg: string; collector?: string }[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as never); done(); } });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('collector failures are logged by change of state (issue #11: one warning per collection while Docker was away)', () => {
  it('ten failing collections: one warning; recovery: one info line; the repeats at debug', async () => {
    const { logger, lines } = capture();
    const full = syntheticSnapshot();
    const steps = [full, ...Array.from({ length: 10 }, () => ({ fail: 'docker', error: 'connection refused' })), full, full];
    const agent = createAgent({ collection: scriptedCollection(steps), logger, intervalMs: 60_000 });
    for (let i = 0; i < steps.length; i++) await agent.collectNow();
    await new Promise((r) => setImmediate(r));
    const about = lines.filter((l) => l.collector === 'docker');
    expect(about.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['collector failed (logged again when it recovers)']);
    expect(about.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['collector recovered']);
    expect(about.filter((l) => l.level === 20)).toHaveLength(9);
    expect(lines.filter((l) => l.level >= 40)).toHaveLength(1);
  });
});
