// NATS credentials and TLS as portolan takes them (`--nats`, `--nats-token-file`, `--nats-nkey`, `--nats-ca`),
// against Debian's nats-server configured each way on loopback: the right credential connects, a wrong or missing
// one is refused by the server. (A `.creds` file needs an operator/account JWT setup, not made here: its parsing
// is unit-tested in src/fleet/nats-connect.test.ts.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nkeys } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsConfig } from '../../src/fleet/nats-connect.js';
import { eventually } from './serve-agent.js';

// This branch's ports: 19240-19249.
let port = 19240;
const dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-nats-auth-'));
const servers: ChildProcess[] = [];

async function natsServer(args: string[]): Promise<number> {
  const p = port++;
  const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(p), ...args], { stdio: 'ignore' });
  servers.push(proc);
  await eventually(() => new Promise<boolean>((resolve) => {
    const s = net.connect(p, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 10_000, `nats-server on ${p}`);
  return p;
}

/** Connects and closes; resolves with the error message, or 'ok'. */
async function attempt(config: NatsConfig): Promise<string> {
  try {
    const nc = await connectNats(config, { timeout: 3000, maxReconnectAttempts: 0, reconnect: false });
    await nc.close();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('NATS credentials and TLS', () => {
  it('a token', async () => {
    const p = await natsServer(['--auth', 'fleet-token-0123456789']);
    expect(await attempt({ servers: [`nats://127.0.0.1:${p}`], token: 'fleet-token-0123456789' })).toBe('ok');
    expect(await attempt({ servers: [`nats://127.0.0.1:${p}`], token: 'wrong' })).toMatch(/AUTHORIZATION_VIOLATION|Authorization/i);
    expect(await attempt({ servers: [`nats://127.0.0.1:${p}`] })).toMatch(/AUTHORIZATION_VIOLATION|Authorization/i);
  });

  it('user and password in the URL', async () => {
    const p = await natsServer(['--user', 'agent', '--pass', 'p@ss:word']);
    expect(await attempt({ servers: [`nats://agent:${encodeURIComponent('p@ss:word')}@127.0.0.1:${p}`] })).toBe('ok');
    expect(await attempt({ servers: [`nats://agent:nope@127.0.0.1:${p}`] })).toMatch(/AUTHORIZATION_VIOLATION|Authorization/i);
  });

  it('an nkey seed file', async () => {
    const user = nkeys.createUser();
    const other = nkeys.createUser();
    const conf = path.join(dir, 'nkey.conf');
    writeFileSync(conf, `authorization { users = [ { nkey: ${user.getPublicKey() as string} } ] }\n`);
    const p = await natsServer(['-c', conf]);
    const seed = path.join(dir, 'user.nk');
    writeFileSync(seed, `${new TextDecoder().decode(user.getSeed() as Uint8Array)}\n`, { mode: 0o600 });
    const wrong = path.join(dir, 'other.nk');
    writeFileSync(wrong, new TextDecoder().decode(other.getSeed() as Uint8Array), { mode: 0o600 });
    expect(await attempt({ servers: [`nats://127.0.0.1:${p}`], nkeyFile: seed })).toBe('ok');
    expect(await attempt({ servers: [`nats://127.0.0.1:${p}`], nkeyFile: wrong })).toMatch(/AUTHORIZATION_VIOLATION|Authorization/i);
  });

  it('tls:// with a private CA', async () => {
    const ca = path.join(dir, 'ca');
    const run = (...args: string[]) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    };
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=portolan test CA', '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
    // nats.js verifies an IP-addressed server under the name "localhost" (it sets no servername for an IP).
    writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'server.key'), '-out', path.join(dir, 'server.csr'));
    run('x509', '-req', '-in', path.join(dir, 'server.csr'), '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', path.join(dir, 'ext'), '-out', path.join(dir, 'server.pem'));
    const p = await natsServer(['--tls', '--tlscert', path.join(dir, 'server.pem'), '--tlskey', path.join(dir, 'server.key')]);
    expect(await attempt({ servers: [`tls://127.0.0.1:${p}`], caFile: `${ca}.pem` })).toBe('ok');
    // Without the CA the server's certificate is not trusted.
    expect(await attempt({ servers: [`tls://127.0.0.1:${p}`] })).not.toBe('ok');
  });
});
