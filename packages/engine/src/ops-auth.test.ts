import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { AuthResult } from '@ecgcad/ingest';
import { describe, expect, it } from 'vitest';
import { opsAccessChecker, opsIdentifier } from './ops-auth.js';

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

describe('opsIdentifier', () => {
  const ALICE = 'alice-token-0123456789abcdef';
  const BOB = 'bob-token-0123456789abcdefgh';
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const identify = opsIdentifier({
    token: TOKEN,
    users: [
      { name: 'alice', role: 'operator', token: ALICE },
      { name: 'bob', role: 'viewer', tokenSha256: createHash('sha256').update(BOB).digest('hex') },
    ],
  });

  it('names the user and role of a bearer token or a Basic user and token; the ops token is a viewer', () => {
    expect(identify({ authorization: `Bearer ${ALICE}` }, socket('10.1.2.3'))).toEqual({
      verdict: 'ok',
      principal: { name: 'alice', role: 'operator' },
    });
    expect(identify({ authorization: basic('alice', ALICE) }, socket('10.1.2.3'))).toMatchObject({
      principal: { name: 'alice', role: 'operator' },
    });
    // A hashed token in the config works the same.
    expect(identify({ authorization: basic('bob', BOB) }, socket('10.1.2.3'))).toMatchObject({
      principal: { name: 'bob', role: 'viewer' },
    });
    expect(identify({ authorization: basic('ops', TOKEN) }, socket('10.1.2.3'))).toMatchObject({
      principal: { name: 'ops', role: 'viewer' },
    });
  });

  it('refuses a Basic user name that is not the token owner, a wrong token, and no credentials on loopback', () => {
    expect(identify({ authorization: basic('bob', ALICE) }, socket('10.1.2.3'))).toEqual({ verdict: 'missing' });
    expect(identify({ authorization: basic('alice', `${ALICE}x`) }, socket('10.1.2.3'))).toEqual({
      verdict: 'missing',
    });
    expect(identify({ authorization: 'Basic !!!' }, socket('10.1.2.3'))).toEqual({ verdict: 'missing' });
    expect(identify({}, socket('127.0.0.1'))).toEqual({ verdict: 'missing' });
  });

  it('without any credential configured: a loopback peer is a viewer; nobody else gets in', () => {
    const open = opsIdentifier({ users: [] });
    expect(open({}, socket('127.0.0.1'))).toEqual({ verdict: 'ok', principal: { name: 'loopback', role: 'viewer' } });
    expect(open({ authorization: basic('alice', ALICE) }, socket('10.1.2.3'))).toEqual({ verdict: 'forbidden' });
  });
});
