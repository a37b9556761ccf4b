import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { AuthResult } from '@ecgcad/ingest';
import { describe, expect, it } from 'vitest';
import { opsAccessChecker } from './ops-auth.js';

const TOKEN = 'ops-token-0123456789abcdef';
const socket = (remoteAddress: string) => ({ remoteAddress }) as Socket;

describe('opsAccessChecker', () => {
  it('with a token: only the right bearer token gets in, from anywhere, loopback included', () => {
    const check = opsAccessChecker({ token: TOKEN });
    expect(check({ authorization: `Bearer ${TOKEN}` }, socket('10.1.2.3'))).toBe('ok');
    expect(check({ authorization: `bearer ${TOKEN}` }, socket('10.1.2.3'))).toBe('ok');
    expect(check({ authorization: `Bearer ${TOKEN}x` }, socket('10.1.2.3'))).toBe('missing');
    expect(check({ authorization: `Basic ${TOKEN}` }, socket('10.1.2.3'))).toBe('missing');
    expect(check({}, socket('127.0.0.1'))).toBe('missing');
  });

  it('without a token: loopback peers only (403 for the rest: no credential can help)', () => {
    const check = opsAccessChecker({});
    expect(check({}, socket('127.0.0.1'))).toBe('ok');
    expect(check({}, socket('::ffff:127.0.0.1'))).toBe('ok');
    expect(check({ authorization: `Bearer ${TOKEN}` }, socket('10.1.2.3'))).toBe('forbidden');
  });

  it('takes the feeds credentials when the route offers them (the status URL)', () => {
    const check = opsAccessChecker({ token: TOKEN });
    const feedAuth = (headers: IncomingHttpHeaders): AuthResult =>
      headers['x-api-key'] === 'sender-key-0123456789' ? { ok: true, method: 'api-key' } : { ok: false };
    expect(check({ 'x-api-key': 'sender-key-0123456789' }, socket('10.1.2.3'), feedAuth)).toBe('ok');
    expect(check({ 'x-api-key': 'wrong' }, socket('10.1.2.3'), feedAuth)).toBe('missing');
  });
});
