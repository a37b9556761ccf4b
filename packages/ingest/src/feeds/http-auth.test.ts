import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { apiKeyId, authChecker } from './http-auth.js';

const plainSocket = {} as Socket;
const tlsSocket = (authorized: boolean, cn: string) =>
  ({ authorized, getPeerCertificate: () => ({ subject: { CN: cn } }) }) as unknown as Socket;

describe('authChecker', () => {
  const key = 'k'.repeat(20);
  it('accepts any configured key by header or Authorization: ApiKey, nothing else', () => {
    const check = authChecker({ apiKeys: [key, 'another-key-1234567'] });
    // The principal names the key by its id (a hash prefix), never the key.
    expect(check({ 'x-api-key': key }, plainSocket)).toEqual({
      ok: true,
      method: 'api-key',
      principal: `api-key:${apiKeyId(key)}`,
      keyId: apiKeyId(key),
    });
    expect(check({ authorization: 'ApiKey another-key-1234567' }, plainSocket)).toEqual({
      ok: true,
      method: 'api-key',
      principal: `api-key:${apiKeyId('another-key-1234567')}`,
      keyId: apiKeyId('another-key-1234567'),
    });
    expect(apiKeyId(key)).toMatch(/^[0-9a-f]{12}$/);
    expect(apiKeyId(key)).not.toBe(apiKeyId('another-key-1234567'));
    expect(check({ authorization: `Bearer ${key}` }, plainSocket).ok).toBe(false);
    expect(check({ 'x-api-key': `${key}k` }, plainSocket).ok).toBe(false);
    expect(check({}, plainSocket).ok).toBe(false);
  });

  it('accepts verified client certificates, optionally by subject', () => {
    const any = authChecker({ clientCert: true });
    expect(any({}, tlsSocket(true, 'x'))).toEqual({ ok: true, method: 'client-cert', principal: 'cert:x' });
    expect(any({}, tlsSocket(false, 'x')).ok).toBe(false);
    expect(any({}, plainSocket).ok).toBe(false);
    const named = authChecker({ clientCert: { allowedSubjects: ['cart-1'] }, apiKeys: [key] });
    expect(named({}, tlsSocket(true, 'cart-1')).ok).toBe(true);
    expect(named({}, tlsSocket(true, 'cart-2')).ok).toBe(false);
    expect(named({ 'x-api-key': key }, tlsSocket(true, 'cart-2')).ok).toBe(true);
  });

  it('refuses a configuration with no method or short keys, unless anonymous is explicit', () => {
    expect(() => authChecker({})).toThrow(/anonymous: true/);
    expect(() => authChecker({ apiKeys: ['short'] })).toThrow(/16 characters/);
    expect(authChecker({ anonymous: true })({}, plainSocket)).toEqual({ ok: true, method: 'anonymous' });
  });
});
