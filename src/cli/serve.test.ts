import { describe, expect, it } from 'vitest';
import { parseSflowAddress } from './serve.js';

describe('parseSflowAddress (--sflow)', () => {
  it.each([
    ['6343', { host: '0.0.0.0', port: 6343 }],
    ['16343', { host: '0.0.0.0', port: 16343 }],
    ['127.0.0.1:6343', { host: '127.0.0.1', port: 6343 }],
    [':7000', { host: '0.0.0.0', port: 7000 }],
    ['10.1.2.3', { host: '10.1.2.3', port: 6343 }],
    ['[::]:6343', { host: '::', port: 6343 }],
    ['[fd00::1]', { host: 'fd00::1', port: 6343 }],
    ['::1', { host: '::1', port: 6343 }],
  ])('%s', (text, expected) => {
    expect(parseSflowAddress(text)).toEqual(expected);
  });

  it.each([
    ['0', /port 0 out of range/], ['70000', /port 70000 out of range/], ['localhost:6343', /localhost is not an IP address/],
    ['[10.0.0.1]:6343', /\[10\.0\.0\.1\] is not an IPv6 address/], ['a:b:c', /not an address/],
  ])('refuses %s', (text, message) => {
    expect(() => parseSflowAddress(text)).toThrow(message);
  });
});

describe('export flags', () => {
  it('refuse a bad filter or target as a usage error naming the command', async () => {
    const { buildProgram } = await import('./program.js');
    const { exportFilterOf } = await import('./serve.js');
    expect(() => exportFilterOf({ exportPort: ['http'] }, 'portolan serve')).toThrow(/bad port "http"/);
    expect(() => exportFilterOf({ exportDirection: ['up'] }, 'portolan serve')).toThrow(/bad direction/);
    const parse = (args: string[]) => buildProgram().parseAsync(['node', 'portolan', ...args]);
    await expect(parse(['serve', '--export', 'kafka://x'])).rejects.toThrow(/--export <target>.*bad export target "kafka:\/\/x"/);
    await expect(parse(['serve', '--export-buffer-max', 'lots'])).rejects.toThrow(/bad size "lots"/);
    await expect(parse(['events', '--count', '0'])).rejects.toThrow(/positive whole number/);
  });
});

describe('portolan events', () => {
  it('follows this host\'s agent where PORTOLAN_LISTEN says it listens', async () => {
    const { defaultServer } = await import('./events.js');
    expect(defaultServer({})).toBe('http://127.0.0.1:9057');
    expect(defaultServer({ PORTOLAN_LISTEN: '0.0.0.0:9100' })).toBe('http://127.0.0.1:9100');
    expect(defaultServer({ PORTOLAN_LISTEN: '[::]:9100' })).toBe('http://[::1]:9100');
    expect(defaultServer({ PORTOLAN_LISTEN: '10.0.0.5:9057' })).toBe('http://10.0.0.5:9057');
  });
});
