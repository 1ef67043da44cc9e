// Captures the host documents a real fleet published (the lab's agents) from JetStream into
// test/fixtures/fleet/<hostname>.json, for bench/fleet.mjs to replay. Reads the state stream as the hub does
// (the last message of every subject: a host's full document and its latest diff).
//   node bench/fleet-capture.mjs nats://10.79.X.254:19301 [outdir]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, DeliverPolicy } from 'nats';
import { applyPatch } from '../dist/fleet/doc-patch.js';
import { decodeMessage, STATE_STREAM } from '../dist/fleet/wire.js';

const [url, out = 'test/fixtures/fleet'] = process.argv.slice(2);
if (!url) { console.error('usage: node bench/fleet-capture.mjs NATS_URL [outdir]'); process.exit(2); }
const nc = await connect({ servers: url.split(',') });
const js = nc.jetstream();
const c = await js.consumers.get(STATE_STREAM, { deliver_policy: DeliverPolicy.LastPerSubject });
const full = new Map();
const diff = new Map();
for (;;) {
  const m = await c.next({ expires: 2000 });
  if (!m) break;
  const msg = decodeMessage(m.data);
  if (msg.kind === 'full') full.set(msg.host, msg);
  if (msg.kind === 'diff') diff.set(msg.host, msg);
  if (m.info.pending === 0) break;
}
mkdirSync(out, { recursive: true });
for (const [host, f] of full) {
  const d = diff.get(host);
  const doc = d && d.run === f.run && d.epoch === f.epoch && d.patch ? applyPatch(f.doc, d.patch) : f.doc;
  const file = path.join(out, `${doc.hostname}.json`);
  writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
  console.log(`${file}: ${doc.topology.nodes.length} nodes, ${doc.topology.edges.length} edges, ${JSON.stringify(doc).length} bytes`);
}
await nc.close();
