import { describe, expect, it } from 'vitest';
import { isAuthorized } from './auth.js';
import { checkListenPolicy, isLoopback, localUrl, parseListen } from './listen.js';

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9057', { host: '127.0.0.1', port: 9057 }],
    ['[::1]:9057', { host: '::1', port: 9057 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    [':9057', { host: '0.0.0.0', port: 9057 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
  ])('%s', (text, want) => expect(parseListen(text)).toEqual(want));
  it.each(['9057', '127.0.0.1', '1.2.3.4:70000', '::1:9057', '[nothost]:1', 'a:b'])('rejects %j', (text) => {
    expect(() => parseListen(text)).toThrow(/bad listen address/);
  });
});

describe('localUrl (the image\'s healthcheck)', () => {
  it.each([
    ['127.0.0.1:9057', 'http://127.0.0.1:9057'], ['0.0.0.0:9057', 'http://127.0.0.1:9057'], ['[::]:9057', 'http://[::1]:9057'],
    ['10.0.0.5:80', 'http://10.0.0.5:80'], ['[fd00::5]:9057', 'http://[fd00::5]:9057'],
  ])('%s → %s', (listen, url) => expect(localUrl(parseListen(listen))).toBe(url));
});

describe('listen policy', () => {
  it('loopback needs nothing; anything else needs a token or --insecure-no-auth', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '172.17.0.1']) expect(isLoopback(h)).toBe(false);
    expect(checkListenPolicy({ host: '127.0.0.1', port: 9057 }, undefined, false)).toBeUndefined();
    expect(checkListenPolicy({ host: '0.0.0.0', port: 9057 }, undefined, false)).toMatch(/refusing to listen on 0\.0\.0\.0:9057 without authentication.*PORTOLAN_TOKEN/);
    expect(checkListenPolicy({ host: '::', port: 9057 }, undefined, false)).toMatch(/\[::\]:9057/);
    expect(checkListenPolicy({ host: '0.0.0.0', port: 9057 }, 'secret', false)).toBeUndefined();
    expect(checkListenPolicy({ host: '0.0.0.0', port: 9057 }, undefined, true)).toBeUndefined();
  });
});

describe('isAuthorized', () => {
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  it('bearer and basic (any user, token as password)', () => {
    expect(isAuthorized('Bearer s3cret', 's3cret')).toBe(true);
    expect(isAuthorized('bearer s3cret', 's3cret')).toBe(true);
    expect(isAuthorized(basic('prometheus', 's3cret'), 's3cret')).toBe(true);
    expect(isAuthorized(basic('', 's3cret'), 's3cret')).toBe(true);
  });
  it('rejects wrong, missing and malformed credentials', () => {
    expect(isAuthorized(undefined, 's3cret')).toBe(false);
    expect(isAuthorized('Bearer s3cre', 's3cret')).toBe(false);
    expect(isAuthorized('Bearer s3cret2', 's3cret')).toBe(false);
    expect(isAuthorized(basic('s3cret', 'x'), 's3cret')).toBe(false);
    expect(isAuthorized('Basic !!!', 's3cret')).toBe(false);
    expect(isAuthorized('Token s3cret', 's3cret')).toBe(false);
    expect(isAuthorized('Bearer', 's3cret')).toBe(false);
  });
});
