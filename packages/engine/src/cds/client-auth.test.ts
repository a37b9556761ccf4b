import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CdsClientIdentity, startCdsClientIdentity } from '../../../../test/support/cds-support.js';
import { ClientAuthError, type ClientAuthenticator, createClientAuthenticator, ReplayCache } from './client-auth.js';

const AUD = 'https://cds.example.org/cds-services/ecgcad-ecg-cad-risk';

describe('CDS client JWT check (real ES384 keys, JWK Set over HTTP)', () => {
  let client: CdsClientIdentity;
  let other: CdsClientIdentity;
  let check: ClientAuthenticator;

  beforeAll(async () => {
    client = await startCdsClientIdentity();
    other = await startCdsClientIdentity({ iss: 'https://other-ehr.example.org' });
    check = createClientAuthenticator({
      clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }],
      maxLifetimeS: 300,
    });
  });
  afterAll(async () => {
    await client?.close();
    await other?.close();
  });

  const refused = async (authorization: string | undefined, reason: RegExp, aud = AUD): Promise<void> => {
    const attempt = check(authorization, aud);
    await expect(attempt).rejects.toBeInstanceOf(ClientAuthError);
    await expect(attempt).rejects.toThrow(reason);
  };

  it('accepts a JWT signed by a trusted client for this endpoint', async () => {
    const token = await client.sign(AUD);
    await expect(check(`Bearer ${token}`, AUD)).resolves.toMatchObject({ iss: client.iss });
  });

  it('accepts RS384 as well as ES384 (the two algorithms CDS Hooks recommends)', async () => {
    const rsa = await startCdsClientIdentity({ alg: 'RS384', iss: 'https://rsa-ehr.example.org' });
    try {
      const both = createClientAuthenticator({
        clients: [
          { iss: client.iss, jwksUrl: client.jwksUrl },
          { iss: rsa.iss, jwksUrl: rsa.jwksUrl },
        ],
      });
      await expect(both(`Bearer ${await rsa.sign(AUD)}`, AUD)).resolves.toMatchObject({ iss: rsa.iss });
      await expect(both(`Bearer ${await client.sign(AUD)}`, AUD)).resolves.toMatchObject({ iss: client.iss });
    } finally {
      await rsa.close();
    }
  });

  it('accepts a JWT with no jku (keys from the configured JWK Set URL)', async () => {
    await expect(check(`Bearer ${await client.sign(AUD, { jku: null })}`, AUD)).resolves.toBeDefined();
  });

  it('refuses a missing or malformed Authorization header', async () => {
    await refused(undefined, /missing bearer JWT/);
    await refused('Basic dXNlcjpwYXNz', /missing bearer JWT/);
    await refused('Bearer abc.def', /malformed JWT/);
  });

  it('refuses a bad signature', async () => {
    await refused(`Bearer ${await client.sign(AUD, { foreignKey: true })}`, /signature does not verify/);
  });

  it('refuses an expired JWT', async () => {
    await refused(`Bearer ${await client.sign(AUD, { expiresInS: -120, issuedAtS: -400 })}`, /expired/);
  });

  it('refuses a JWT for another endpoint (aud)', async () => {
    await refused(`Bearer ${await client.sign(`${AUD}-other`)}`, /claim aud invalid/);
  });

  it('refuses a replayed jti, and a JWT without jti', async () => {
    const token = await client.sign(AUD);
    await check(`Bearer ${token}`, AUD);
    await refused(`Bearer ${token}`, /replay/);
    await refused(`Bearer ${await client.sign(AUD, { omitJti: true })}`, /jti/);
  });

  it('refuses a jku that is not on the issuer allow list, before fetching it', async () => {
    const before = other.jwksFetches();
    await refused(`Bearer ${await client.sign(AUD, { jku: other.jwksUrl })}`, /jku is not on the allow list/);
    expect(other.jwksFetches()).toBe(before);
  });

  it('refuses an unknown issuer, an unknown kid and a JWT that lives too long', async () => {
    await refused(`Bearer ${await other.sign(AUD)}`, /iss is not a trusted CDS client/);
    await refused(`Bearer ${await client.sign(AUD, { kid: 'rotated-away' })}`, /no key .* matches/);
    await refused(`Bearer ${await client.sign(AUD, { expiresInS: 3600 })}`, /lives longer than 300 s/);
  });

  it('refuses symmetric (HMAC) and unsigned JWTs', async () => {
    const hs = await new SignJWT({ jti: 'x' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: client.kid })
      .setIssuer(client.iss)
      .setAudience(AUD)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode('a shared secret of enough length!!'));
    await refused(`Bearer ${hs}`, /alg HS256 not accepted/);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT","kid":"k"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: client.iss, aud: AUD, jti: 'y' }),
    ).toString('base64url')}.`;
    await refused(`Bearer ${none}`, /alg none not accepted|malformed/);
  });

  it('fetches the JWK Set once and reuses it', async () => {
    const fresh = createClientAuthenticator({ clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }] });
    const before = client.jwksFetches();
    for (let i = 0; i < 5; i++) await fresh(`Bearer ${await client.sign(AUD)}`, AUD);
    expect(client.jwksFetches() - before).toBe(1);
  });
});

describe('ReplayCache', () => {
  it('refuses a key until it expires, then forgets it', () => {
    const cache = new ReplayCache();
    expect(cache.add('a', 1_000, 0)).toBe(true);
    expect(cache.add('a', 1_000, 500)).toBe(false);
    expect(cache.add('a', 30_000, 20_000)).toBe(true);
    expect(cache.add('b', 40_000, 31_000)).toBe(true);
    expect(cache.size).toBe(1);
  });
});
