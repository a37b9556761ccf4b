import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, PermanentError, TransientError } from '@ecgcad/ecg';
import { decodeJwt, decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SMART_SCOPES, OAuthTokenProvider } from './auth.js';
import { FhirClient } from './client.js';
import { SYSTEMS } from './codes.js';
import { examplePrediction } from './example.js';
import { startTestEhr, type TestEhr } from './test-ehr/server.js';
import { FhirWriter } from './writer.js';

async function keyPair(alg: 'RS384' | 'ES384', kid: string): Promise<{ privateKey: JWK; publicKey: JWK; pem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    privateKey: { ...(await exportJWK(privateKey)), kid, alg },
    publicKey: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    pem: await exportPKCS8(privateKey),
  };
}

describe('SMART Backend Services and client credentials against the test EHR', () => {
  let ehr: TestEhr;
  let rsa: Awaited<ReturnType<typeof keyPair>>;
  let ec: Awaited<ReturnType<typeof keyPair>>;
  let stranger: Awaited<ReturnType<typeof keyPair>>;

  beforeAll(async () => {
    rsa = await keyPair('RS384', 'rsa-1');
    ec = await keyPair('ES384', 'ec-1');
    stranger = await keyPair('RS384', 'rsa-1');
    ehr = await startTestEhr({
      patients: [{ system: SYSTEMS.patientId, value: 'MRN-000123' }],
      auth: {
        clients: [
          { clientId: 'ecgcad-smart', jwks: [rsa.publicKey, ec.publicKey] },
          { clientId: 'ecgcad-secret', secret: 's3cret:with/odd chars' },
        ],
      },
    });
  });
  afterAll(async () => {
    await ehr.close();
  });

  const smart = (privateKey: JWK | string, alg: 'RS384' | 'ES384', kid?: string) =>
    new FhirClient({
      baseUrl: ehr.url,
      auth: { type: 'smart-backend', tokenUrl: ehr.tokenUrl, clientId: 'ecgcad-smart', privateKey, alg, kid },
    });

  it('signs a client assertion with iss = sub = client_id, aud = token URL, a jti and exp <= 5 minutes', async () => {
    const provider = new OAuthTokenProvider({
      type: 'smart-backend',
      tokenUrl: ehr.tokenUrl,
      clientId: 'ecgcad-smart',
      privateKey: rsa.privateKey,
      alg: 'RS384',
      kid: 'rsa-1',
    });
    const jwt = await provider.clientAssertion();
    const claims = decodeJwt(jwt);
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'RS384', kid: 'rsa-1', typ: 'JWT' });
    expect(claims).toMatchObject({ iss: 'ecgcad-smart', sub: 'ecgcad-smart', aud: ehr.tokenUrl });
    expect(typeof claims.jti).toBe('string');
    const now = Math.floor(Date.now() / 1000);
    expect((claims.exp ?? 0) - now).toBeLessThanOrEqual(300);
    expect((claims.exp ?? 0) - now).toBeGreaterThan(200);
    expect((await provider.clientAssertion()) === jwt).toBe(false);
  });

  for (const alg of ['RS384', 'ES384'] as const) {
    it(`writes a Bundle through a ${alg} SMART token (JWK and PKCS#8 PEM keys)`, async () => {
      const pair = alg === 'RS384' ? rsa : ec;
      const byJwk = await smart(pair.privateKey, alg, pair.privateKey.kid).postTransaction(
        new FhirWriter({ sink: { deliver: async () => ({}) as never } }).bundleFor(examplePrediction()),
      );
      expect(byJwk.entries).toHaveLength(9);
      const byPem = await new FhirWriter({ sink: smart(pair.pem, alg, pair.privateKey.kid) }).write(
        examplePrediction(),
      );
      expect(byPem.created + byPem.existing).toBe(9);
    });
  }

  it('refuses an assertion signed by a key the client did not register, with a clear PermanentError', async () => {
    const before = ehr.tokens?.stats.refused ?? 0;
    const err = await smart(stranger.privateKey, 'RS384', 'rsa-1')
      .postTransaction(new FhirWriter({ sink: { deliver: async () => ({}) as never } }).bundleFor(examplePrediction()))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(
      /token endpoint .* answered 401 \(invalid_client: client_assertion rejected/,
    );
    expect((err as Error).message).toMatch(/signature verification failed/);
    expect(ehr.tokens?.stats.refused).toBe(before + 1);
  });

  it('refuses a replayed jti, an assertion for another audience and one living longer than 5 minutes', async () => {
    const provider = new OAuthTokenProvider({
      type: 'smart-backend',
      tokenUrl: ehr.tokenUrl,
      clientId: 'ecgcad-smart',
      privateKey: ec.privateKey,
      alg: 'ES384',
    });
    const post = (assertion: string) =>
      fetch(ehr.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
    const once = await provider.clientAssertion();
    expect((await post(once)).status).toBe(200);
    const replay = await post(once);
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/jti was already used/);

    const other = new OAuthTokenProvider({
      type: 'smart-backend',
      tokenUrl: `${ehr.tokenUrl}/elsewhere`,
      clientId: 'ecgcad-smart',
      privateKey: ec.privateKey,
      alg: 'ES384',
    });
    expect((await post(await other.clientAssertion())).body.error_description).toMatch(/aud/);

    const { SignJWT, importJWK } = await import('jose');
    const long = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES384' })
      .setIssuer('ecgcad-smart')
      .setSubject('ecgcad-smart')
      .setAudience(ehr.tokenUrl)
      .setJti('long-lived')
      .setExpirationTime('1h')
      .sign(await importJWK(ec.privateKey, 'ES384'));
    expect((await post(long)).body.error_description).toMatch(/more than 5 minutes/);
  });

  it('uses client credentials with a secret, caches the token, and renews it after a 401', async () => {
    const client = new FhirClient({
      baseUrl: ehr.url,
      auth: {
        type: 'client-credentials',
        tokenUrl: ehr.tokenUrl,
        clientId: 'ecgcad-secret',
        clientSecret: 's3cret:with/odd chars',
      },
    });
    const issued = ehr.tokens?.stats.issued ?? 0;
    const writer = new FhirWriter({ sink: client });
    await writer.write(examplePrediction());
    await writer.write(examplePrediction());
    expect(ehr.tokens?.stats.issued).toBe(issued + 1);
    ehr.tokens?.revokeAll();
    const after = await writer.write(examplePrediction());
    expect(after.existing).toBe(9);
    expect(ehr.tokens?.stats.issued).toBe(issued + 2);
  });

  it('refuses a wrong secret and requests without a token', async () => {
    const wrong = new FhirClient({
      baseUrl: ehr.url,
      auth: { type: 'client-credentials', tokenUrl: ehr.tokenUrl, clientId: 'ecgcad-secret', clientSecret: 'nope' },
    });
    await expect(wrong.deliver(new FhirWriter({ sink: wrong }).bundleFor(examplePrediction()))).rejects.toThrow(
      /answered 401 \(invalid_client: unknown client or wrong secret\)/,
    );
    const anonymous = new FhirClient({ baseUrl: ehr.url });
    await expect(anonymous.deliver(new FhirWriter({ sink: anonymous }).bundleFor(examplePrediction()))).rejects.toThrow(
      PermanentError,
    );
  });

  it('rejects bad auth configuration up front', () => {
    expect(
      () =>
        new OAuthTokenProvider({
          type: 'smart-backend',
          tokenUrl: 'ftp://x',
          clientId: '',
          privateKey: rsa.privateKey,
          alg: 'HS256' as 'RS384',
          assertionLifetimeS: 600,
        }),
    ).toThrow(ConfigError);
  });
});

describe('token endpoint faults (a real local HTTP server)', () => {
  /** A token endpoint answering from a script of responses, recording each request body. */
  async function scriptedTokenServer(
    script: Array<{ status: number; body: object; headers?: Record<string, string> }>,
  ) {
    const bodies: URLSearchParams[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString();
      });
      req.on('end', () => {
        bodies.push(new URLSearchParams(text));
        const next = script.shift() ?? { status: 500, body: { error: 'script exhausted' } };
        res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
        res.end(JSON.stringify(next.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/token`,
      bodies,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const provider = (tokenUrl: string) =>
    new OAuthTokenProvider({ type: 'client-credentials', tokenUrl, clientId: 'ecgcad', clientSecret: 's3cret' });

  it('treats 503 as transient (Retry-After kept) and gets the token on the next try', async () => {
    const token = await scriptedTokenServer([
      { status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'retry-after': '7' } },
      { status: 200, body: { access_token: 'tok-1', token_type: 'bearer', expires_in: 300 } },
    ]);
    try {
      const auth = provider(token.url);
      const first = await auth.authorization().catch((e: unknown) => e);
      expect(first).toBeInstanceOf(TransientError);
      expect((first as TransientError).retryAfterMs).toBe(7000);
      expect(String((first as Error).message)).toMatch(/answered 503/);
      await expect(auth.authorization()).resolves.toBe('Bearer tok-1');
      expect(auth.tokenRequests).toBe(2);
    } finally {
      await token.close();
    }
  });

  it('makes a write fail transiently (to be retried), not permanently, while the token endpoint is down', async () => {
    const token = await scriptedTokenServer([{ status: 502, body: {} }]);
    try {
      const client = new FhirClient({
        baseUrl: 'http://127.0.0.1:9/fhir',
        auth: { type: 'client-credentials', tokenUrl: token.url, clientId: 'ecgcad', clientSecret: 's3cret' },
      });
      const bundle = new FhirWriter({ sink: client }).bundleFor(examplePrediction());
      await expect(client.deliver(bundle)).rejects.toBeInstanceOf(TransientError);
    } finally {
      await token.close();
    }
    // Nothing listening at all: a network fault, also transient.
    await expect(provider(token.url).authorization()).rejects.toBeInstanceOf(TransientError);
  });

  it('keeps 4xx permanent with the reason the server gave, and requests the named default scopes', async () => {
    const token = await scriptedTokenServer([
      { status: 401, body: { error: 'invalid_client', error_description: 'unknown client' } },
      { status: 400, body: { error: 'invalid_scope' } },
    ]);
    try {
      const err = await provider(token.url)
        .authorization()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect(String((err as Error).message)).toMatch(
        /answered 401 \(invalid_client: unknown client\): the EHR refused this client's credentials/,
      );
      await expect(provider(token.url).authorization()).rejects.toThrow(
        /invalid_scope\): the EHR refused the requested scope/,
      );
      const scope = token.bodies[0]?.get('scope')?.split(' ');
      expect(scope).toEqual([...DEFAULT_SMART_SCOPES]);
      expect(scope).toContain('system/RiskAssessment.cs');
      expect(scope?.some((s) => s.includes('*'))).toBe(false);
    } finally {
      await token.close();
    }
  });
});
