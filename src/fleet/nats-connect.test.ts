import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NatsConfigError, parseNatsServers, toConnectionOptions } from './nats-connect.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'portolan-nats-conf-'));
const file = (name: string, text: string) => { const f = path.join(dir, name); writeFileSync(f, text); return f; };
const CREDS = `-----BEGIN NATS USER JWT-----
eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJ4In0.sig
------END NATS USER JWT------

-----BEGIN USER NKEY SEED-----
SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4
------END USER NKEY SEED------
`;

describe('NATS configuration', () => {
  it('splits server lists from flags and the environment', () => {
    expect(parseNatsServers(['nats://a:4222,nats://b:4222', 'c'])).toEqual(['nats://a:4222', 'nats://b:4222', 'c']);
    expect(parseNatsServers([' nats://a:1  nats://b:2 '])).toEqual(['nats://a:1', 'nats://b:2']);
    expect(() => parseNatsServers([Array.from({ length: 65 }, (_, i) => `h${i}`).join(',')])).toThrow(/at most 64/);
  });

  it('takes user:password from the URL, keeps host:port, defaults the port, and names the connection', () => {
    const o = toConnectionOptions({ servers: ['nats://al%40ice:s3cr%3At@10.0.0.1:4333', '10.0.0.2', 'nats://[::1]:4222'], name: 'agent' });
    expect(o).toMatchObject({ servers: ['10.0.0.1:4333', '10.0.0.2:4222', '[::1]:4222'], user: 'al@ice', pass: 's3cr:t', name: 'agent' });
    expect(o.tls).toBeUndefined();
  });

  it('tls:// asks for TLS, with the CA, certificate and key files read once', () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const o = toConnectionOptions({ servers: ['tls://n1:4222'], caFile: ca });
    expect(o.tls).toEqual({ ca: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' });
    expect(toConnectionOptions({ servers: ['tls://n1:4222'] }).tls).toEqual({});
  });

  it('takes a token, an nkey seed file or a .creds file as the one credential', () => {
    expect(toConnectionOptions({ servers: ['n'], token: 'tok' }).token).toBe('tok');
    expect(toConnectionOptions({ servers: ['n'], nkeyFile: file('seed', 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n') }).authenticator).toBeTypeOf('function');
    expect(toConnectionOptions({ servers: ['n'], credsFile: file('u.creds', CREDS) }).authenticator).toBeTypeOf('function');
  });

  it.each<[string, Parameters<typeof toConnectionOptions>[0], RegExp]>([
    ['no server', { servers: [] }, /no NATS server/],
    ['another scheme', { servers: ['http://n:4222'] }, /nats:\/\/ or tls:\/\//],
    ['not a URL', { servers: ['nats://[zz'] }, /bad NATS URL/],
    ['two credentials', { servers: ['nats://u:p@n'], token: 't' }, /one NATS credential/],
    ['different URL credentials', { servers: ['nats://u:p@n1', 'nats://v:q@n2'] }, /different credentials/],
    ['a missing seed file', { servers: ['n'], nkeyFile: path.join(dir, 'nope') }, /cannot read the NATS nkey seed file/],
    ['a seed file without a seed', { servers: ['n'], nkeyFile: file('bad-seed', 'hello') }, /no nkey seed/],
    ['a creds file that is not one', { servers: ['n'], credsFile: file('bad.creds', 'hello') }, /not a NATS .creds file/],
    ['a missing CA file', { servers: ['tls://n'], caFile: path.join(dir, 'nope.pem') }, /cannot read the NATS CA file/],
  ])('refuses %s in one line', (_name, config, message) => {
    expect(() => toConnectionOptions(config)).toThrow(NatsConfigError);
    expect(() => toConnectionOptions(config)).toThrow(message);
  });
});
