#!/usr/bin/env node
// Times buildTopology (pure) on a generated snapshot: C containers on one bridge, each client container holding
// K connections to a server container (both sockets seen), plus K/2 TIME_WAIT and one conntrack entry per
// connection, and UDP flows. Prints the sizes and the median of RUNS builds.
// Usage: npm run build && node bench/topology-build.mjs [C=200] [K=250] [RUNS=5]
import { buildTopology } from '../dist/core/topology/build-topology.js';

const C = Number(process.argv[2] ?? 200);
const K = Number(process.argv[3] ?? 250);
const RUNS = Number(process.argv[4] ?? 5);
const HOST = 4026531833;
const id = (i) => i.toString(16).padStart(64, '0');
const ip = (i) => `172.17.${((i + 2) >> 8) & 255}.${(i + 2) & 255}`;
const sock = (inode, state, la, lp, ra, rp, protocol = 'tcp') => ({
  protocol, family: 'ipv4', state, local: { address: la, port: lp }, remote: { address: ra, port: rp }, inode, uid: 0, txQueue: 0, rxQueue: 0,
});

const containers = [];
const netns = [];
const processes = [];
const tables = [];
const entries = [];
let inode = 1;
for (let i = 0; i < C; i++) {
  containers.push({ id: id(i + 1), name: `c${i}`, image: 'img', networkMode: { kind: 'bridge', name: 'bridge' }, pid: 1000 + i,
    networks: [{ name: 'bridge', ipv4: ip(i), gateway: '172.17.0.1' }], ports: [], labels: {} });
  netns.push({ containerId: id(i + 1), netns: 10_000 + i, pid: 1000 + i });
  tables.push({ netns: 10_000 + i, source: 'netlink', sockets: [] });
  processes.push({ pid: 1000 + i, command: 'node', netns: 10_000 + i, containerId: id(i + 1), socketInodes: [] });
}
for (let i = 0; i < C; i += 2) {
  const server = i + 1;
  const st = tables[server].sockets;
  const ct = tables[i].sockets;
  const listen = inode++;
  st.push(sock(listen, 'LISTEN', '::', 8080, '::', 0));
  processes[server].socketInodes.push(listen);
  for (let k = 0; k < K; k++) {
    const port = 32768 + k;
    const c = inode++;
    const s = inode++;
    ct.push(sock(c, 'ESTABLISHED', ip(i), port, ip(server), 8080));
    st.push(sock(s, 'ESTABLISHED', `::ffff:${ip(server)}`, 8080, `::ffff:${ip(i)}`, port));
    processes[i].socketInodes.push(c);
    processes[server].socketInodes.push(s);
    if (k % 2 === 0) ct.push(sock(0, 'TIME_WAIT', ip(i), 50000 + k, ip(server), 8080));
    entries.push({ family: 'ipv4', protocol: 'tcp', protocolNumber: 6, state: 'ESTABLISHED', unreplied: false, assured: true,
      original: { src: ip(i), dst: ip(server), sport: port, dport: 8080 }, reply: { src: ip(server), dst: ip(i), sport: 8080, dport: port } });
  }
  entries.push({ family: 'ipv4', protocol: 'udp', protocolNumber: 17, unreplied: true, assured: false,
    original: { src: ip(i), dst: ip(server), sport: 40000, dport: 5353 }, reply: { src: ip(server), dst: ip(i), sport: 5353, dport: 40000 } });
}
tables.push({ netns: HOST, source: 'netlink', sockets: [] });
const snapshot = {
  takenAt: new Date().toISOString(), hostname: 'bench', issues: [], containers,
  netns: { host: HOST, hostPid: 1, containers: netns }, processes, sockets: tables, netdev: [],
  conntrack: { status: 'ok', netns: HOST, entries },
};
const socketCount = tables.reduce((n, t) => n + t.sockets.length, 0);

const times = [];
let topology;
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  topology = buildTopology(snapshot);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`containers=${C} sockets=${socketCount} conntrack=${entries.length} -> nodes=${topology.nodes.length} edges=${topology.edges.length} ` +
  `connections=${topology.edges.reduce((n, e) => n + e.connections, 0)}`);
console.log(`buildTopology median ${times[Math.floor(times.length / 2)].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)}) over ${RUNS} runs`);
