import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import { examplePrediction, FhirClient, FhirWriter, SYSTEMS, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { fhirAuthFromConfig } from './fhir-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'ecgcad-auth-'));

describe('EHR authentication from the engine configuration', () => {
  let ehr: TestEhr;
  let pemFile: string;
  let jwkFile: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    pemFile = join(dir, 'smart.pem');
    writeFileSync(pemFile, await exportPKCS8(privateKey));
    jwkFile = join(dir, 'smart.jwk.json');
    writeFileSync(jwkFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'ec-1', alg: 'ES384' }));
    ehr = await startTestEhr({
      patients: [{ system: SYSTEMS.patientId, value: 'MRN-000123' }],
      auth: {
        clients: [
          {
            clientId: 'engine-smart',
            jwks: [{ ...(await exportJWK(publicKey)), kid: 'ec-1', alg: 'ES384', use: 'sig' }],
          },
          { clientId: 'engine-secret', secret: 'a-long-client-secret' },
        ],
      },
    });
  });
  afterAll(async () => {
    await ehr.close();
  });

  const writeThrough = (env: NodeJS.ProcessEnv) => {
    const config = loadConfig({ env: { ECGCAD_FHIR_URL: ehr.url, ECGCAD_FHIR_ALLOW_HTTP: '1', ...env } });
    const client = new FhirClient({ baseUrl: ehr.url, auth: fhirAuthFromConfig(config.fhir) });
    return new FhirWriter({ sink: client }).write(examplePrediction());
  };

  it('writes through SMART Backend Services with an ES384 key from a PKCS#8 PEM file named in the environment', async () => {
    const smartEnv = {
      ECGCAD_FHIR_AUTH: 'smart-backend',
      ECGCAD_FHIR_TOKEN_URL: ehr.tokenUrl,
      ECGCAD_FHIR_CLIENT_ID: 'engine-smart',
      ECGCAD_FHIR_PRIVATE_KEY_FILE: pemFile,
    };
    const result = await writeThrough({ ...smartEnv, ECGCAD_FHIR_KEY_ALG: 'ES384' });
    expect(result.created + result.existing).toBe(9);
    // The default algorithm is RS384: an EC key then cannot sign, and the write fails instead of going unsigned.
    await expect(writeThrough(smartEnv)).rejects.toThrow();
  });

  it('writes through SMART Backend Services with a private JWK file named in the config file', async () => {
    const cfgFile = join(dir, 'ecgcad.json');
    const auth = { type: 'smart-backend', tokenUrl: ehr.tokenUrl, clientId: 'engine-smart', alg: 'ES384', kid: 'ec-1' };
    writeFileSync(cfgFile, JSON.stringify({ fhir: { auth: { ...auth, privateKeyFile: jwkFile } } }));
    const result = await writeThrough({ ECGCAD_CONFIG: cfgFile });
    expect(result.created + result.existing).toBe(9);
  });

  it('writes through OAuth2 client credentials with the secret from the environment', async () => {
    const result = await writeThrough({
      ECGCAD_FHIR_AUTH: 'client-credentials',
      ECGCAD_FHIR_TOKEN_URL: ehr.tokenUrl,
      ECGCAD_FHIR_CLIENT_ID: 'engine-secret',
      ECGCAD_FHIR_CLIENT_SECRET: 'a-long-client-secret',
    });
    expect(result.created + result.existing).toBe(9);
  });

  it('without auth the protected EHR refuses with a permanent 401', async () => {
    await expect(writeThrough({})).rejects.toThrow(/401/);
  });

  it('refuses unreadable or public-only key files at start, naming the key and never the content', () => {
    const fhir = (privateKeyFile: string) =>
      loadConfig({
        env: {
          ECGCAD_FHIR_AUTH: 'smart-backend',
          ECGCAD_FHIR_TOKEN_URL: 'https://ehr.example.org/token',
          ECGCAD_FHIR_CLIENT_ID: 'x',
          ECGCAD_FHIR_PRIVATE_KEY_FILE: privateKeyFile,
        },
      }).fhir;
    expect(() => fhirAuthFromConfig(fhir(join(dir, 'missing.pem')))).toThrow(/fhir.auth.privateKeyFile: cannot read/);
    const publicOnly = join(dir, 'public.jwk.json');
    writeFileSync(publicOnly, JSON.stringify({ kty: 'EC', crv: 'P-384', x: 'secret-looking-x', y: 'y' }));
    expect(() => fhirAuthFromConfig(fhir(publicOnly))).toThrow(ConfigError);
    expect(() => fhirAuthFromConfig(fhir(publicOnly))).not.toThrow(/secret-looking/);
  });

  it('refuses client credentials without a secret, naming the key', () => {
    expect(() =>
      loadConfig({
        env: {
          ECGCAD_FHIR_AUTH: 'client-credentials',
          ECGCAD_FHIR_TOKEN_URL: 'https://ehr.example.org/token',
          ECGCAD_FHIR_CLIENT_ID: 'x',
        },
      }),
    ).toThrow(/fhir\.auth\.clientSecret/);
  });

  it('requires https for the EHR and the token URL unless fhir.allowInsecureHttp (loopback included)', () => {
    const oauth = {
      ECGCAD_FHIR_AUTH: 'client-credentials',
      ECGCAD_FHIR_CLIENT_ID: 'x',
      ECGCAD_FHIR_CLIENT_SECRET: 'y',
    };
    const load = (env: NodeJS.ProcessEnv) => () => loadConfig({ env });
    expect(load({ ECGCAD_FHIR_URL: 'http://127.0.0.1:8103/fhir' })).toThrow(/fhir\.url: must be an https:\/\/ URL/);
    expect(
      load({
        ...oauth,
        ECGCAD_FHIR_URL: 'https://ehr.example.org/fhir',
        ECGCAD_FHIR_TOKEN_URL: 'http://ehr.example.org/token',
      }),
    ).toThrow(/fhir\.auth\.tokenUrl: must be an https:\/\/ URL/);
    expect(
      load({
        ...oauth,
        ECGCAD_FHIR_URL: 'https://ehr.example.org/fhir',
        ECGCAD_FHIR_TOKEN_URL: 'https://ehr.example.org/token',
      })(),
    ).toMatchObject({ fhir: { allowInsecureHttp: false } });
    expect(
      load({
        ...oauth,
        ECGCAD_FHIR_URL: 'http://127.0.0.1:8103/fhir',
        ECGCAD_FHIR_TOKEN_URL: 'http://127.0.0.1:8103/token',
        ECGCAD_FHIR_ALLOW_HTTP: '1',
      })(),
    ).toMatchObject({ fhir: { allowInsecureHttp: true, url: 'http://127.0.0.1:8103/fhir' } });
  });
});
