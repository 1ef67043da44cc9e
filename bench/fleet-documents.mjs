// Host documents of a simulated fleet for benchmarks (after `npm run build`): `hosts` hosts of `perHost`
// containers each (compose projects as test/fixtures/topology/synthetic-map.mjs makes them, container ids made
// unique per host), every host at 10.80.<h/250>.<h%250+1>, and `cross` connections per host from one of its
// containers to another host's published web port — each seen from both ends as a real agent would publish it:
// the client's edge to the other host's address with its MASQUERADE conntrack flow, the server's edge from the
// client host's address with its DNAT flow (the tuples of ../../shared/reference/multihost-lab.md).
import { HOST_DOCUMENT_VERSION } from '../dist/core/fleet/host-document.js';
import { projectsMap, seeded } from '../test/fixtures/topology/synthetic-map.mjs';

/** The documents, in host order. */
export function fleetDocuments({ hosts = 100, perHost = 50, edgesPerHost = 120, cross = 12, seed = 11, takenAt = '2026-12-07T12:00:00.000Z' } = {}) {
  const r = seeded(seed);
  const addr = (h) => `10.80.${Math.floor(h / 250)}.${(h % 250) + 1}`;
  const tops = [];
  for (let h = 0; h < hosts; h++) {
    const one = projectsMap({ containers: perHost, edges: edgesPerHost, projects: 4, seed: seed + h, hostname: `node-${String(h).padStart(3, '0')}` });
    const prefix = h.toString(16).padStart(4, '0');
    const rid = (id) => (/^[0-9a-f]{64}$/.test(id) ? prefix + id.slice(4) : id);
    tops.push({
      ...one, takenAt,
      nodes: one.nodes.map((n) => ({ ...n, id: rid(n.id) })),
      edges: one.edges.map((e) => ({ ...e, id: `${rid(e.from)}->${rid(e.to)}/${e.protocol}/${e.port}`, from: rid(e.from), to: rid(e.to) })),
    });
  }
  const flows = tops.map(() => []);
  for (let h = 0; h < hosts && hosts > 1; h++) {
    const clients = tops[h].nodes.filter((n) => n.kind === 'container');
    for (let k = 0; k < cross; k++) {
      let g = Math.floor(r.rand() * hosts);
      if (g === h) g = (g + 1) % hosts;
      const webs = tops[g].nodes.filter((n) => n.kind === 'container' && n.ports.length > 0);
      if (webs.length === 0) continue;
      const c = r.pick(clients);
      const w = r.pick(webs);
      const published = w.ports[0];
      const port = 30_000 + h * 50 + k;
      const cip = c.networks[0].ipv4;
      const wip = w.networks[0].ipv4;
      const traffic = { bytesSent: 1000 + k, bytesReceived: 5000 + k, bytesSource: 'tcp_info', measuredConnections: 1, conntrackConnections: 0, rttMeanMs: 0.3 };
      const detail = (client, server, extra = {}) => ({ state: 'ESTABLISHED', client, server, clientPids: [], serverPids: [], ...extra });
      add(tops[h], `external:${addr(g)}`, addr(g), { from: c.id, to: `external:${addr(g)}`, port: published.hostPort, via: ['address'], details: [detail({ address: cip, port }, { address: addr(g), port: published.hostPort }, { via: 'address' })], traffic });
      add(tops[g], `external:${addr(h)}`, addr(h), { from: `external:${addr(h)}`, to: w.id, port: 80, via: ['dnat'], publishedPorts: [published.hostPort], details: [detail({ address: addr(h), port }, { address: wip, port: 80 }, { via: 'dnat', published: { address: addr(g), port: published.hostPort } })], traffic });
      flows[h].push({ protocol: 'tcp', original: { src: cip, sport: port, dst: addr(g), dport: published.hostPort }, reply: { src: addr(g), sport: published.hostPort, dst: addr(h), dport: port } });
      flows[g].push({ protocol: 'tcp', original: { src: addr(h), sport: port, dst: addr(g), dport: published.hostPort }, reply: { src: wip, sport: 80, dst: addr(h), dport: port } });
    }
  }
  return tops.map((topology, h) => ({
    version: HOST_DOCUMENT_VERSION, engineId: `ENGINE-${String(h).padStart(4, '0')}:BENCH`, hostname: topology.hostname, addresses: [addr(h)],
    takenAt, intervalMs: 2000, topology, networks: [], flows: flows[h],
  }));
}

/** Adds an edge (merging connections into an existing one of the same id) and its external node. */
function add(t, extId, address, e) {
  if (!t.nodes.some((n) => n.id === extId)) t.nodes.push({ kind: 'external', id: extId, name: address, address });
  const id = `${e.from}->${e.to}/tcp/${e.port}`;
  const old = t.edges.find((x) => x.id === id);
  if (old) {
    old.details = [...old.details, ...e.details];
    old.connections = old.details.length;
    old.states = { ESTABLISHED: old.connections };
    return;
  }
  t.edges.push({ id, from: e.from, to: e.to, protocol: 'tcp', port: e.port, connections: 1, states: { ESTABLISHED: 1 }, via: e.via, ...(e.publishedPorts ? { publishedPorts: e.publishedPorts } : {}), details: e.details, traffic: e.traffic });
}

/**
 * The containers and traffic sections an agent publishes, made from a captured host document's topology (bench/fleet.mjs's
 * header): per container a LISTEN socket on 7000 and one ESTABLISHED socket per connection end, its process,
 * interface counters and tcp_info summary.
 */
export function containersOf(doc) {
  const nodes = doc.topology.nodes.filter((n) => n.kind === 'container');
  const sockets = new Map(nodes.map((n) => [n.id, [{ protocol: 'tcp', family: 'ipv4', state: 'LISTEN', local: { address: '0.0.0.0', port: 7000 }, remote: { address: '0.0.0.0', port: 0 } }]]));
  for (const e of doc.topology.edges) {
    for (const d of e.details ?? []) {
      sockets.get(e.from)?.push({ protocol: e.protocol, family: 'ipv4', state: d.state, local: d.client, remote: d.server });
      sockets.get(e.to)?.push({ protocol: e.protocol, family: 'ipv4', state: d.state, local: d.server, remote: d.client });
    }
  }
  let inode = 100_000;
  const containers = nodes.map((n) => ({
    id: n.id, name: n.name, image: n.image, networkMode: n.networkMode, pid: n.pid, netns: 4026532000 + (inode % 1000), ownsNetns: true, source: 'netlink',
    networks: n.networks, ports: n.ports, labels: {},
    sockets: sockets.get(n.id).map((s) => ({ ...s, inode: inode++, rxQueue: 0, txQueue: 0, processes: [{ pid: n.pid, command: 'node' }] })),
  })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const traffic = nodes.map((n, i) => {
    const est = sockets.get(n.id).filter((s) => s.state === 'ESTABLISHED').length;
    return {
      id: n.id, rxBytes: 10_000 + i, txBytes: 20_000 + i, rxPackets: 100 + i, txPackets: 200 + i, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0,
      rxBytesPerSec: 0, txBytesPerSec: 0, scope: 'container', ...(est > 0 ? { tcp: { rttMeanMs: 0.061, rttMaxMs: 0.082, retransmits: 0 } } : {}),
    };
  }).sort((a, b) => (a.id < b.id ? -1 : 1));
  return { containers, traffic };
}
