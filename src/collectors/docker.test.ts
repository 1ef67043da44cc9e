import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DockerClient, DockerContainerSummary } from '../sources/docker-api.js';
import { createDockerCollector } from './docker.js';
import { emptyParts } from './collector.js';

const inspect = JSON.parse(readFileSync(new URL('../../test/fixtures/docker/bridge-published-port.json', import.meta.url), 'utf8')) as { Id: string; State: { Pid: number } };

function fakeDocker(list: () => DockerContainerSummary[], inspectFor: (id: string) => unknown) {
  const calls: string[] = [];
  const client = {
    listContainers: async () => list(),
    inspectContainer: async (id: string) => { calls.push(id); return inspectFor(id); },
  } as unknown as DockerClient;
  return { client, calls };
}

const ctx = () => ({ signal: new AbortController().signal, parts: emptyParts() });

describe('docker collector', () => {
  it('inspects a container once while its list entry is unchanged, again when it changes, and forgets removed ones', async () => {
    let entry: DockerContainerSummary = { Id: inspect.Id, State: 'running', Status: 'Up 2 minutes', NetworkSettings: { Networks: {} } };
    let listed = true;
    const { client, calls } = fakeDocker(() => (listed ? [entry] : []), () => inspect);
    const c = createDockerCollector(client);
    expect((await c.collect(ctx())).containers.map((x) => x.id)).toEqual([inspect.Id]);
    expect((await c.collect(ctx())).containers.map((x) => x.pid)).toEqual([inspect.State.Pid]);
    expect(calls).toHaveLength(1);
    entry = { ...entry, Status: 'Up Less than a second' }; // restarted: a new pid to learn
    await c.collect(ctx());
    expect(calls).toHaveLength(2);
    listed = false;
    expect((await c.collect(ctx())).containers).toEqual([]);
    listed = true;
    await c.collect(ctx());
    expect(calls).toHaveLength(3);
  });

  it('skips a container removed between list and inspect (404), and fails on other errors', async () => {
    const gone = Object.assign(new Error('no such container'), { status: 404 });
    const { client } = fakeDocker(() => [{ Id: inspect.Id, State: 'running' }], () => { throw gone; });
    expect((await createDockerCollector(client).collect(ctx())).containers).toEqual([]);
    const broken = Object.assign(new Error('boom'), { status: 500 });
    const { client: c2 } = fakeDocker(() => [{ Id: inspect.Id, State: 'running' }], () => { throw broken; });
    await expect(createDockerCollector(c2).collect(ctx())).rejects.toThrow('boom');
  });
});

describe('docker collector, repeated collections', () => {
  const entry: DockerContainerSummary = { Id: inspect.Id, State: 'running', Status: 'Up 2 minutes', NetworkSettings: { Networks: {} } };

  it('asks Docker only after an event, a (re)connection, or when its last answer is older than reuseForMs', async () => {
    let lists = 0;
    const { client } = fakeDocker(() => { lists++; return [entry]; }, () => inspect);
    let t = 0;
    const c = createDockerCollector(client, { repeat: { reuseForMs: 30_000, now: () => t } });
    await c.collect(ctx());
    await c.collect(ctx());
    // Not watching events yet: every collection asks.
    expect(lists).toBe(2);
    c.dockerEvents('connected');
    await c.collect(ctx());
    expect(lists).toBe(3);
    t = 1000;
    expect((await c.collect(ctx())).containers.map((x) => x.id)).toEqual([inspect.Id]);
    expect(lists).toBe(3);
    c.dockerEvents('event');
    await c.collect(ctx());
    expect(lists).toBe(4);
    t = 30_999;
    await c.collect(ctx());
    expect(lists).toBe(4);
    t = 31_000;
    await c.collect(ctx());
    expect(lists).toBe(5);
    c.dockerEvents('lost');
    await c.collect(ctx());
    await c.collect(ctx());
    expect(lists).toBe(7);
  });

  it('a failed list is asked again next time', async () => {
    let fail = false;
    let lists = 0;
    const { client } = fakeDocker(() => { lists++; if (fail) throw new Error('connect ECONNREFUSED'); return [entry]; }, () => inspect);
    const c = createDockerCollector(client, { repeat: { reuseForMs: 30_000, now: () => 0 } });
    c.dockerEvents('connected');
    await c.collect(ctx());
    c.dockerEvents('event');
    fail = true;
    await expect(c.collect(ctx())).rejects.toThrow(/ECONNREFUSED/);
    fail = false;
    await c.collect(ctx());
    expect(lists).toBe(3);
  });
});

describe('docker collector, timed out', () => {
  it('keeps nothing of a collection whose signal aborted while Docker answered: the next one asks again', async () => {
    const entry: DockerContainerSummary = { Id: inspect.Id, State: 'running', Status: 'Up 2 minutes', NetworkSettings: { Networks: {} } };
    const controller = new AbortController();
    let lists = 0;
    const client = {
      listContainers: async () => { lists++; return [entry]; },
      // The inspect answers only after the collection has been given up.
      inspectContainer: async () => { controller.abort(new Error('collector docker timed out')); return inspect; },
    } as unknown as DockerClient;
    const c = createDockerCollector(client, { repeat: { reuseForMs: 30_000, now: () => 0 } });
    c.dockerEvents('connected');
    await expect(c.collect({ signal: controller.signal, parts: emptyParts() })).rejects.toThrow('timed out');
    // Watching and told nothing since: a collector that kept the aborted answer would reuse it without asking.
    const after = await c.collect(ctx());
    expect(lists).toBe(2);
    expect(after.containers.map((x) => x.id)).toEqual([inspect.Id]);
  });
});
