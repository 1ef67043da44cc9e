import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerApiError, type DockerClient, type DockerContainerSummary } from '../sources/docker-api.js';
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
    const gone = new DockerApiError(404, '/v1.41/containers/x/json', 'No such container: x');
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

describe('docker collector, watching events', () => {
  const entry = (status: string): DockerContainerSummary => ({ Id: inspect.Id, State: 'running', Status: status, NetworkSettings: { Networks: {} } });

  it('does not inspect again for a status text that only aged, but does after an event naming the container', async () => {
    let status = 'Up 2 minutes';
    const { client, calls } = fakeDocker(() => [entry(status)], () => inspect);
    let t = 0;
    const c = createDockerCollector(client, { repeat: { reuseForMs: 30_000, now: () => t } });
    c.dockerEvents('connected');
    await c.collect(ctx());
    expect(calls).toHaveLength(1);
    // The periodic re-list: the text aged a minute, nothing else changed.
    status = 'Up 3 minutes';
    t = 30_000;
    const same = await c.collect(ctx());
    expect(calls).toHaveLength(1);
    // A restart: die and start events, and the text restarts from the beginning.
    c.dockerEvents('event', inspect.Id);
    status = 'Up Less than a second';
    const after = await c.collect(ctx());
    expect(calls).toHaveLength(2);
    expect(after.containers).not.toBe(same.containers);
  });

  it('without the events stream, a status text that changed at all means inspecting again', async () => {
    let status = 'Up 2 minutes';
    const { client, calls } = fakeDocker(() => [entry(status)], () => inspect);
    const c = createDockerCollector(client);
    await c.collect(ctx());
    status = 'Up Less than a second';
    await c.collect(ctx());
    expect(calls).toHaveLength(2);
  });

  it('keeps nothing of a container an event named while a collection was inspecting it', async () => {
    const events: { collector?: ReturnType<typeof createDockerCollector> } = {};
    let inspects = 0;
    const client = {
      listContainers: async () => [entry('Up 2 minutes')],
      // The container restarts while its inspect is on its way.
      inspectContainer: async () => { inspects++; if (inspects === 1) events.collector?.dockerEvents('event', inspect.Id); return inspect; },
    } as unknown as DockerClient;
    const c = createDockerCollector(client, { repeat: { reuseForMs: 30_000, now: () => 0 } });
    events.collector = c;
    c.dockerEvents('connected');
    expect((await c.collect(ctx())).containers).toHaveLength(1);
    await c.collect(ctx());
    expect(inspects).toBe(2);
  });
});

describe('docker collector with initPids (one-shot ps)', () => {
  const tree = new URL('../../test/fixtures/e2e/tree/docker/', import.meta.url);
  const list = JSON.parse(readFileSync(new URL('containers.json', tree), 'utf8')) as DockerContainerSummary[];
  const inspectOf = (id: string) => JSON.parse(readFileSync(new URL(`inspect/${id}.json`, tree), 'utf8')) as { State: { Pid: number } };

  it('takes containers whose pid /proc gave from the list, inspects the rest, and answers as with inspects only', async () => {
    const { client: plain, calls: allInspected } = fakeDocker(() => list, inspectOf);
    const before = (await createDockerCollector(plain).collect(ctx())).containers;
    expect(allInspected).toHaveLength(7);
    const [first, second] = list;
    const asked: string[][] = [];
    // /proc found two of the seven: only the other five are inspected.
    const { client, calls } = fakeDocker(() => list, inspectOf);
    const c = createDockerCollector(client, {
      initPids: (ids) => {
        asked.push([...ids]);
        return new Map([first, second].map((e) => [e!.Id, inspectOf(e!.Id).State.Pid]));
      },
    });
    const after = (await c.collect(ctx())).containers;
    expect(asked).toEqual([list.map((e) => e.Id)]);
    expect(calls.sort()).toEqual(list.slice(2).map((e) => e.Id).sort());
    expect(after).toEqual(before.map((info) => (info.id === first!.Id || info.id === second!.Id ? (({ startedAt: _s, ...rest }) => rest)(info) : info)));
  });

  it('inspects a container whose list entry cannot answer, even with its pid found', async () => {
    const [first] = list;
    const odd = { ...first!, Image: 'sha256:0123' };
    const { client, calls } = fakeDocker(() => [odd], inspectOf);
    const c = createDockerCollector(client, { initPids: () => new Map([[first!.Id, 4242]]) });
    const [info] = (await c.collect(ctx())).containers;
    expect(calls).toEqual([first!.Id]);
    expect(info?.pid).toBe(inspectOf(first!.Id).State.Pid);
  });
});
