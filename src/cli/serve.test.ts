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
