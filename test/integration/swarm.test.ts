// The Swarm stack (deploy/swarm/portolan-stack.yml) deployed as shipped on a lab of two Docker hosts
// (scripts/swarm-lab.sh: dockerds in their own network, UTS and mount namespaces, after
// ../shared/reference/multihost-lab.md): one agent per node (a global service), each in its node's network
// namespace and reached at the node's address — no routing mesh, no VIP (this kernel has no IPVS) — each seeing
// exactly its own node's containers, their sockets as `ss` sees them, with the token from a Docker secret and
// exactly the three capabilities.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portolanImage, runAsync } from './deploy-helpers.js';
import { normEndpoint, ROOT, RUN_ID, testImage } from './harness.js';
import { eventually, getJson } from './serve-agent.js';

interface LabHost { name: string; dockerHost: string; address: string }
interface Sockets { host: { hostname: string }; containers: { name: string; sockets: { protocol: string; state: string; local: { address: string; port: number }; remote: { address: string; port: number }; inode: number }[] }[] }

const LAB = RUN_ID.slice(0, 4);
const SCRIPT = path.join(ROOT, 'scripts/swarm-lab.sh');
const TOKEN = `t${RUN_ID}${'0'.repeat(24)}`;
const STABLE = new Set(['LISTEN', 'ESTABLISHED']);
let hosts: LabHost[] = [];
let image = '';

const at = (h: LabHost, ...args: string[]) => {
  const r = spawnSync('docker', ['-H', h.dockerHost, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker -H ${h.dockerHost} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const api = <T>(h: LabHost, route: string) => getJson<T>(`http://${h.address}:9057${route}`, { authorization: `Bearer ${TOKEN}` });
/** `ss -tanH` in a lab container's namespace (its pid is in the pid namespace every lab host shares with this one). */
function ss(h: LabHost, container: string): string[] {
  const pid = at(h, 'inspect', '-f', '{{.State.Pid}}', container);
  return execFileSync('nsenter', ['-t', pid, '-n', 'ss', '-tanH'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 5)
    .map(([state, , , local, remote]) => {
      const ep = (t = '') => { const i = t.lastIndexOf(':'); return normEndpoint(t.slice(0, i), t.slice(i + 1)); };
      return `${state === 'ESTAB' ? 'ESTABLISHED' : state} ${ep(local)} ${ep(remote)}`;
    }).filter((l) => STABLE.has(l.split(' ')[0] ?? '')).sort();
}

beforeAll(async () => {
  image = await portolanImage();
  let up: { status: number | null; stdout: string; output: string } | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    up = await runAsync('bash', [SCRIPT, 'up', LAB, '2', String(100 + Math.floor(Math.random() * 150)), image, testImage()]);
    if (up.status !== 3) break; // 3: that subnet is routed already (another lab): pick another
  }
  if (up?.status !== 0) throw new Error(`swarm-lab.sh up failed: ${up?.output}`);
  hosts = up.stdout.split('\n').filter((l) => l.startsWith('HOST=')).map((l) => {
    const [n, dockerHost, address] = l.slice(5).split(' ');
    return { name: n ?? '', dockerHost: dockerHost ?? '', address: address ?? '' };
  });
  const [manager, worker] = hosts;
  if (!manager || !worker) throw new Error(`lab hosts: ${up.stdout}`);
  at(manager, 'swarm', 'init', '--advertise-addr', manager.address);
  at(worker, 'swarm', 'join', '--token', at(manager, 'swarm', 'join-token', '-q', 'worker'), `${manager.address}:2377`);
  // The secret, as the stack file's header says to make it.
  const secret = spawnSync('docker', ['-H', manager.dockerHost, 'secret', 'create', 'portolan_token', '-'], { input: TOKEN, encoding: 'utf8' });
  if (secret.status !== 0) throw new Error(`secret create: ${secret.stderr}`);
  const deploy = await runAsync('docker', ['-H', manager.dockerHost, 'stack', 'deploy', '--resolve-image', 'never', '-c', path.join(ROOT, 'deploy/swarm/portolan-stack.yml'), 'portolan'],
    { ...process.env, PORTOLAN_IMAGE: image });
  if (deploy.status !== 0) throw new Error(`stack deploy: ${deploy.output}`);
  // A server and a client on each node, talking over that node's bridge.
  for (const h of hosts) {
    at(h, 'run', '-d', '--name', `${h.name}-srv`, testImage(), 'node', '/opt/peer.mjs', 'tcp-server', '7000');
    const ip = at(h, 'inspect', '-f', '{{.NetworkSettings.IPAddress}}', `${h.name}-srv`);
    at(h, 'run', '-d', '--name', `${h.name}-cli`, testImage(), 'node', '/opt/peer.mjs', 'tcp-client', ip, '7000', '10');
  }
  for (const h of hosts) await eventually(() => (ss(h, `${h.name}-cli`).some((l) => l.startsWith('ESTABLISHED')) ? true : undefined), 30_000, `${h.name}'s client connected`);
}, 900_000);

afterAll(async () => {
  if (hosts[0]) spawnSync('docker', ['-H', hosts[0].dockerHost, 'stack', 'rm', 'portolan']);
  await runAsync('bash', [SCRIPT, 'down', LAB]);
}, 180_000);

describe('docker stack deploy deploy/swarm/portolan-stack.yml on a two-node lab', () => {
  it('runs one agent on every node (global), on the host network, with no published port and no VIP', async () => {
    const manager = hosts[0] as LabHost;
    await eventually(() => {
      const tasks = at(manager, 'service', 'ps', 'portolan_agent', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}').split('\n');
      return tasks.length === 2 && tasks.every((t) => / Running /.test(t)) ? tasks : undefined;
    }, 120_000, 'an agent task running on each node');
    expect(at(manager, 'service', 'ps', 'portolan_agent', '--filter', 'desired-state=running', '--format', '{{.Node}}').split('\n').sort()).toEqual(hosts.map((h) => h.name).sort());
    const spec = JSON.parse(at(manager, 'service', 'inspect', 'portolan_agent'))[0] as { Spec: { Mode: { Global?: object }; TaskTemplate: { Networks?: { Target: string }[] } }; Endpoint: { Ports?: unknown[]; VirtualIPs?: { NetworkID: string; Addr?: string }[] } };
    expect(spec.Spec.Mode.Global).toBeDefined();
    expect(spec.Endpoint.Ports ?? []).toEqual([]);
    // The host network is listed, with no address: no virtual IP anywhere.
    expect((spec.Endpoint.VirtualIPs ?? []).filter((v) => v.Addr !== undefined && v.Addr !== '')).toEqual([]);
    expect(at(manager, 'network', 'inspect', '-f', '{{.Name}}', spec.Spec.TaskTemplate.Networks?.[0]?.Target ?? '')).toBe('host');
  });

  it('each node\'s agent answers at the node\'s address: ready, token required, only its own node\'s containers', async () => {
    for (const h of hosts) {
      await eventually(async () => ((await getJson(`http://${h.address}:9057/readyz`)).body as { status?: string }).status === 'ready' ? true : undefined, 90_000, `${h.name}'s agent ready`);
      expect((await getJson(`http://${h.address}:9057/api/v1/sockets`)).status).toBe(401);
      const doc = await eventually(async () => {
        const d = (await api<Sockets>(h, '/api/v1/sockets')).body;
        return d.containers.some((c) => c.name === `${h.name}-cli`) ? d : undefined;
      }, 30_000, `${h.name}'s agent to list its client`);
      expect(doc.host.hostname).toBe(h.name);
      const names = doc.containers.map((c) => c.name);
      for (const other of hosts.filter((o) => o !== h)) expect(names.some((n) => n.startsWith(other.name))).toBe(false);
      for (const c of [`${h.name}-srv`, `${h.name}-cli`]) {
        const mine = doc.containers.find((x) => x.name === c)?.sockets.filter((s) => s.protocol === 'tcp' && STABLE.has(s.state))
          .map((s) => `${s.state} ${normEndpoint(s.local.address, s.local.port)} ${normEndpoint(s.remote.address, s.remote.port)}`).sort();
        expect(mine, `${c} on ${h.name}`).toEqual(ss(h, c));
      }
    }
  });

  it('each agent holds exactly SYS_ADMIN, SYS_PTRACE and DAC_READ_SEARCH on a read-only root', () => {
    for (const h of hosts) {
      const id = at(h, 'ps', '-q', '--filter', 'label=com.docker.swarm.service.name=portolan_agent');
      const c = JSON.parse(at(h, 'inspect', id))[0] as { State: { Pid: number }; HostConfig: { ReadonlyRootfs: boolean; Privileged: boolean } };
      expect(c.HostConfig).toMatchObject({ ReadonlyRootfs: true, Privileged: false });
      expect(/^CapEff:\s+(\S+)$/m.exec(readFileSync(`/proc/${c.State.Pid}/status`, 'utf8'))?.[1]).toBe('0000000000280004');
    }
  });
});
