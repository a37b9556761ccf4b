import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_RETRY_POLICY } from '@ecgcad/ecg';
import { DEFAULT_PTP_INPUT_OPTIONS, FhirClient } from '@ecgcad/fhir-writer';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactedConfig } from './config.js';
import { fhirAuthFromConfig } from './fhir-auth.js';
import { ptpFromConfig, sinkFromConfig } from './stages.js';

describe('loadConfig', () => {
  it('gives documented defaults with no file and no environment', () => {
    const config = loadConfig({ env: {} });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: '{ecgcad}', evictionPolicyCheck: 'refuse' });
    expect(config.http.port).toBe(8080);
    expect(config.dimse).toMatchObject({ port: 11112, aeTitle: 'ECGCAD' });
    expect(config.retry).toEqual(DEFAULT_RETRY_POLICY);
    expect(config.model.dir).toMatch(/models\/ecgcad-demo$/);
    expect(config.model.instances).toBe(1);
    expect(config.model.threads).toBeUndefined();
    expect(config.fhir.waveform).toBe(true);
    expect(loadConfig({ env: { ECGCAD_FHIR_WAVEFORM: 'false' } }).fhir.waveform).toBe(false);
  });

  it('merges file, environment and overrides in that order of precedence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecgcad-config-'));
    const file = join(dir, 'ecgcad.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000 }, dimse: { port: 104 }, out: '/data/out' }));
    const config = loadConfig({
      file,
      env: {
        ECGCAD_HTTP_PORT: '9100',
        ECGCAD_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
        ECGCAD_INSTANCES: '2',
        ECGCAD_THREADS: '1',
      },
      overrides: [{ path: ['out'], value: '/flag/out' }],
    });
    expect(config.http.port).toBe(9100);
    expect(config.dimse.port).toBe(104);
    expect(config.http.apiKeys).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(config.out).toBe('/flag/out');
    expect(config.model).toMatchObject({ instances: 2, threads: 1 });
  });

  it('reports every bad key on its own line and never echoes a value', () => {
    try {
      loadConfig({
        env: { ECGCAD_REDIS_URL: 'http://secret-host', ECGCAD_API_KEYS: 'short-secret' },
        overrides: [
          { path: ['dimse', 'aeTitle'], value: 'WAY-TOO-LONG-AE-TITLE' },
          { path: ['bogus'], value: 1 },
        ],
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues;
      expect(issues.some((i) => i.startsWith('redis.url:'))).toBe(true);
      expect(issues.some((i) => i.startsWith('http.apiKeys.0:'))).toBe(true);
      expect(issues.some((i) => i.startsWith('dimse.aeTitle:'))).toBe(true);
      expect(issues.some((i) => i.includes('bogus'))).toBe(true);
      expect((err as Error).message).not.toMatch(/secret/);
    }
  });

  it('takes the retry policy from the file, and names the old backoffDelayMs key rather than ignoring it', () => {
    const retry = { attempts: 5, baseDelayMs: 250, factor: 3, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 };
    expect(loadConfig({ env: {}, overrides: [{ path: ['retry'], value: retry }] }).retry).toEqual(retry);
    expect(() => loadConfig({ env: {}, overrides: [{ path: ['retry'], value: { backoffDelayMs: 200 } }] })).toThrow(
      /retry: .*backoffDelayMs/,
    );
  });

  it('refuses a non-numeric port from the environment and an unreadable file', () => {
    expect(() => loadConfig({ env: { ECGCAD_DIMSE_PORT: '11x' } })).toThrow(
      /ECGCAD_DIMSE_PORT: must be a whole number/,
    );
    expect(() => loadConfig({ file: '/no/such/ecgcad.json', env: {} })).toThrow(ConfigError);
  });

  it('redacts secrets', () => {
    const config = loadConfig({
      env: { ECGCAD_REDIS_URL: 'redis://user:pw@host:6379', ECGCAD_FHIR_TOKEN: 'tok', ECGCAD_API_KEYS: 'k'.repeat(16) },
    });
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toMatch(/pw@|"tok"|kkkkkkkkkkkkkkkk/);
  });

  it('sets the security keys from the environment, with safe defaults, and redacts the new secrets', () => {
    const defaults = loadConfig({ env: {} });
    expect(defaults.http).toMatchObject({ host: '127.0.0.1', allowInsecure: false, maxInFlight: 256 });
    expect(defaults.http.tls).toBeUndefined();
    expect(defaults.http.timeouts).toEqual({
      headersMs: 10_000,
      requestMs: 120_000,
      idleMs: 30_000,
      keepAliveMs: 5_000,
    });
    expect(defaults.ops).toEqual({ anonymousReadiness: false, users: [], dashboard: true });
    expect(defaults.backpressure).toEqual({ maxInferDepth: 10_000, retryAfterS: 30 });
    const config = loadConfig({
      env: {
        ECGCAD_HTTP_HOST: '0.0.0.0',
        ECGCAD_TLS_CERT_FILE: '/run/secrets/tls.crt',
        ECGCAD_TLS_KEY_FILE: '/run/secrets/tls.key',
        ECGCAD_TLS_CA_FILE: '/run/secrets/ca.crt',
        ECGCAD_TLS_CLIENT_CERT: 'optional',
        ECGCAD_OPS_TOKEN: 'ops-secret-0123456789',
        ECGCAD_REDIS_URL: 'rediss://redis.internal:6380',
        ECGCAD_REDIS_USERNAME: 'ecgcad',
        ECGCAD_REDIS_PASSWORD: 'redis-secret-0123',
        ECGCAD_REDIS_CA_FILE: '/run/secrets/redis-ca.crt',
        ECGCAD_MAX_INFER_DEPTH: '500',
      },
    });
    expect(config.http.tls).toMatchObject({ certFile: '/run/secrets/tls.crt', clientCert: 'optional' });
    expect(config.redis).toMatchObject({ username: 'ecgcad', tls: { caFile: '/run/secrets/redis-ca.crt' } });
    expect(config.backpressure.maxInferDepth).toBe(500);
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toMatch(/ops-secret|redis-secret/);
  });

  it('refuses client certificates without a CA, and a short ops token', () => {
    expect(() =>
      loadConfig({
        env: {},
        overrides: [{ path: ['http', 'tls'], value: { certFile: 'c', keyFile: 'k', clientCert: 'require' } }],
      }),
    ).toThrow(/http\.tls\.caFile: clientCert optional\/require needs caFile/);
    expect(() => loadConfig({ env: { ECGCAD_OPS_TOKEN: 'short' } })).toThrow(/ops\.token/);
  });

  it('ops users: name:role:token from ECGCAD_OPS_USERS or objects with a token hash; tokens never shown', () => {
    const config = loadConfig({
      env: { ECGCAD_OPS_USERS: 'alice:operator:alice-secret-0123456789,bob:viewer:bob-secret-0123:with:colons' },
    });
    expect(config.ops.users).toEqual([
      { name: 'alice', role: 'operator', token: 'alice-secret-0123456789' },
      { name: 'bob', role: 'viewer', token: 'bob-secret-0123:with:colons' },
    ]);
    expect(JSON.stringify(redactedConfig(config))).not.toMatch(/alice-secret|bob-secret/);
    const hashed = loadConfig({
      env: {},
      overrides: [{ path: ['ops', 'users'], value: [{ name: 'carol', role: 'viewer', tokenSha256: 'AB'.repeat(32) }] }],
    });
    expect(hashed.ops.users[0]?.tokenSha256).toBe('ab'.repeat(32));
  });

  it('refuses an unknown role, a short user token, both or neither token forms, and a duplicate name', () => {
    const bad =
      (users: unknown, env: Record<string, string> = {}) =>
      () =>
        loadConfig({ env, overrides: [{ path: ['ops', 'users'], value: users }] });
    expect(bad(['alice:admin:alice-secret-0123456789'])).toThrow(/ops\.users\.0\.role/);
    expect(bad(['alice:viewer:short'])).toThrow(/ops\.users\.0\.token/);
    expect(bad([{ name: 'a', role: 'viewer' }])).toThrow(/exactly one of token or tokenSha256/);
    expect(bad([{ name: 'a', role: 'viewer', token: 'x'.repeat(16), tokenSha256: 'a'.repeat(64) }])).toThrow(
      /exactly one/,
    );
    expect(bad(['a:viewer:aaaaaaaaaaaaaaaa', 'a:operator:bbbbbbbbbbbbbbbb'])).toThrow(
      /ops\.users\.1\.name: user names/,
    );
    expect(bad(['ops:viewer:aaaaaaaaaaaaaaaa'], { ECGCAD_OPS_TOKEN: 'ops-secret-0123456789' })).toThrow(/unique/);
    try {
      bad(['alice:admin:alice-secret-0123456789'])();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('alice-secret');
    }
  });

  describe('ptp', () => {
    it('is off by default, with the documented input defaults', () => {
      const { ptp } = loadConfig({ env: {} });
      expect(ptp).toMatchObject({ enabled: false, model: 'esc2024', problemListAuthoritative: false });
      const { enabled: _e, model: _m, ...inputs } = ptp;
      expect(inputs).toEqual(DEFAULT_PTP_INPUT_OPTIONS);
    });

    it('needs an EHR URL, and reads its matrix file at start, naming a bad cell', () => {
      expect(() => loadConfig({ env: { ECGCAD_PTP_ENABLED: 'true' } })).toThrow(/ptp\.enabled: needs fhir\.url/);
      const dir = mkdtempSync(join(tmpdir(), 'ecgcad-ptp-'));
      const matrixFile = join(dir, 'matrix.json');
      const cells = { low: 'low', intermediate: 'low', high: 'intermediate' };
      writeFileSync(
        matrixFile,
        JSON.stringify({
          ptpModel: 'esc2019',
          cells: { low: cells, intermediate: cells, high: { ...cells, high: 'x' } },
        }),
      );
      const config = loadConfig({
        env: {
          ECGCAD_PTP_ENABLED: 'true',
          ECGCAD_FHIR_URL: 'https://127.0.0.1:1/fhir',
          ECGCAD_PTP_MATRIX_FILE: matrixFile,
        },
      });
      expect(() => ptpFromConfig(config, sinkFromConfig(config))).toThrow(/ptp\.matrixFile: .*PTP high x AI high/);
      writeFileSync(
        matrixFile,
        JSON.stringify({ ptpModel: 'esc2019', cells: { low: cells, intermediate: cells, high: cells } }),
      );
      const ptp = ptpFromConfig(config, sinkFromConfig(config));
      expect(ptp.matrix?.ptpModel).toBe('esc2019');
      expect(ptp.searcher).toBeInstanceOf(FhirClient);
      expect(ptp.inputs?.problemListAuthoritative).toBe(false);
    });

    it('refuses malformed codes and unknown keys, and overrides one symptom list', () => {
      try {
        loadConfig({
          env: {},
          overrides: [
            { path: ['ptp', 'conditions', 'diabetes'], value: ['E11'] },
            { path: ['ptp', 'symptoms', 'source'], value: 'chart' },
            { path: ['ptp', 'colour'], value: 1 },
          ],
        });
        expect.unreachable();
      } catch (err) {
        const issues = (err as ConfigError).issues;
        expect(
          issues.some((i) => i.startsWith('ptp.conditions.diabetes.0: each code must be written system|code')),
        ).toBe(true);
        expect(issues.some((i) => i.startsWith('ptp.symptoms.source:'))).toBe(true);
        expect(issues.some((i) => i.includes('colour'))).toBe(true);
      }
      const config = loadConfig({
        env: {},
        overrides: [{ path: ['ptp', 'symptoms', 'mapping', 'typical'], value: ['http://example.org|TA'] }],
      });
      expect(config.ptp.symptoms.mapping.typical).toEqual(['http://example.org|TA']);
      expect(config.ptp.symptoms.mapping.atypical).toEqual(DEFAULT_PTP_INPUT_OPTIONS.symptoms.mapping.atypical);
    });

    it('asks the EHR for the read scopes PTP needs unless a scope is configured', () => {
      const fhir = {
        ...loadConfig({ env: {} }).fhir,
        auth: { type: 'client-credentials' as const, tokenUrl: 'https://ehr/token', clientId: 'c', clientSecret: 's' },
      };
      const read = fhirAuthFromConfig(fhir, { extraScopes: ['system/Patient.read'] });
      expect(read).toMatchObject({ scope: 'system/*.write system/Patient.read' });
      expect(fhirAuthFromConfig(fhir)).not.toHaveProperty('scope');
      const own = fhirAuthFromConfig({ ...fhir, auth: { ...fhir.auth, scope: 'system/*.*' } }, { extraScopes: ['x'] });
      expect(own).toMatchObject({ scope: 'system/*.*' });
    });
  });
});
