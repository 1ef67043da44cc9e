import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDns } from '../../test/fixtures/dns/fake-dns-server.js';
import { createReverseDns } from './reverse-dns.js';

describe('createReverseDns against a DNS server on loopback', () => {
  let server: Awaited<ReturnType<typeof startFakeDns>>;
  beforeAll(async () => { server = await startFakeDns({ '93.184.216.34': 'example.net' }); });
  afterAll(() => server.close());

  it('returns PTR names without the trailing dot, and [] for NXDOMAIN', async () => {
    const dns = createReverseDns({ servers: [`127.0.0.1:${server.port}`], timeoutMs: 2000 });
    expect(await dns.reverse('93.184.216.34')).toEqual(['example.net']);
    expect(await dns.reverse('10.9.9.9')).toEqual([]);
    expect(server.queries()).toBe(2);
  });

  it('cancel() rejects pending lookups at once', async () => {
    // A port where nothing answers: the lookup would wait for its timeout.
    const dns = createReverseDns({ servers: ['127.0.0.1:9'], timeoutMs: 30_000 });
    const pending = dns.reverse('10.9.9.8');
    dns.cancel();
    await expect(pending).rejects.toMatchObject({ code: 'ECANCELLED' });
  });
});
