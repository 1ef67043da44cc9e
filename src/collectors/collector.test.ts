import { describe, expect, it } from 'vitest';
import type { AnyCollector } from './collector.js';
import { runCollectors } from './collector.js';

const ok = (name: string, value: unknown, needs: string[] = []): AnyCollector => ({
  name, provides: [name as 'containers'], needs: needs as ('containers')[], collect: async () => ({ [name]: value }) as never,
});

describe('runCollectors', () => {
  it('a failing collector becomes an issue and an empty part; the others run', async () => {
    const failing: AnyCollector = { name: 'sockets', provides: ['sockets'], needs: [], collect: async () => { throw new Error('boom'); } };
    const { snapshot, runs } = await runCollectors([ok('containers', [{ id: 'a' }]), failing], { hostname: 'h' });
    expect(snapshot.containers).toEqual([{ id: 'a' }]);
    expect(snapshot.sockets).toEqual([]);
    expect(snapshot.issues).toEqual([{ source: 'sockets', message: 'boom', count: 1 }]);
    expect(runs.find((r) => r.name === 'sockets')).toMatchObject({ ok: false, error: 'boom' });
  });

  it('a collector past its timeout fails, and its signal is aborted so that it can stop', async () => {
    let seen: AbortSignal | undefined;
    const slow: AnyCollector = {
      name: 'sockets', provides: ['sockets'], needs: [],
      collect: ({ signal }) => { seen = signal; return new Promise<never>(() => undefined); },
    };
    const { snapshot, runs } = await runCollectors([slow], { hostname: 'h', timeoutMs: 20 });
    expect(runs[0]).toMatchObject({ name: 'sockets', ok: false, error: 'collector sockets timed out after 20 ms' });
    expect(snapshot.sockets).toEqual([]);
    expect(seen?.aborted).toBe(true);
  });

  it('the signal of a collector that finished in time is never aborted, not even once its timeout has passed', async () => {
    let fastSignal: AbortSignal | undefined;
    const fast: AnyCollector = { name: 'containers', provides: ['containers'], needs: [], collect: async ({ signal }) => { fastSignal = signal; return { containers: [] }; } };
    // Started after the fast one with the same timeout: by the time it has timed out, the fast one's timeout is past too.
    const slow: AnyCollector = { name: 'sockets', provides: ['sockets'], needs: [], collect: () => new Promise<never>(() => undefined) };
    const { runs } = await runCollectors([fast, slow], { hostname: 'h', timeoutMs: 5 });
    expect(runs.find((r) => r.name === 'sockets')).toMatchObject({ ok: false, error: 'collector sockets timed out after 5 ms' });
    expect(runs.find((r) => r.name === 'containers')).toMatchObject({ ok: true });
    expect(fastSignal?.aborted).toBe(false);
  });

  it('rethrows an error marked fatal instead of counting it', async () => {
    const stranded: AnyCollector = {
      name: 'sockets', provides: ['sockets'], needs: [],
      collect: async () => { throw Object.assign(new Error('could not return the JS thread to its own network namespace'), { fatal: true }); },
    };
    await expect(runCollectors([ok('containers', []), stranded], { hostname: 'h' })).rejects.toThrow(/could not return/);
  });
});
