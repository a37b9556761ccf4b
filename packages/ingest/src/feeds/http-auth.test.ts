import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { authChecker } from './http-auth.js';

const plainSocket = {} as Socket;
const tlsSocket = (authorized: boolean, cn: string) =>
  ({ authorized, getPeerCertificate: () => ({ subject: { CN: cn } }) }) as unknown as Socket;

describe('authChecker', () => {
  const key = 'k'.repeat(20);
  it('accepts any configured key by header or Authorization: ApiKey, nothing else', () => {
    const check = authChecker({ apiKeys: [key, 'another-key-1234567'] });
    // The key id is the sha256 prefix of the key that matched: stable, and not the key.
    const keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
    expect(check({ 'x-api-key': key }, plainSocket)).toEqual({ ok: true, method: 'api-key', keyId });
    expect(check({ authorization: 'ApiKey another-key-1234567' }, plainSocket)).toMatchObject({
      keyId: createHash('sha256').update('another-key-1234567').digest('hex').slice(0, 8),
    });
    expect(check({ authorization: 'ApiKey another-key-1234567' }, plainSocket).ok).toBe(true);
    expect(check({ authorization: `Bearer ${key}` }, plainSocket).ok).toBe(false);
    expect(check({ 'x-api-key': `${key}k` }, plainSocket).ok).toBe(false);
    expect(check({}, plainSocket).ok).toBe(false);
  });

  it('accepts verified client certificates, optionally by subject', () => {
    const any = authChecker({ clientCert: true });
    expect(any({}, tlsSocket(true, 'x'))).toEqual({ ok: true, method: 'client-cert' });
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
