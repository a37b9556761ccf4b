import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CdsClientIdentity, startCdsClientIdentity } from '../../../../test/support/cds-support.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { EngineMetrics } from '../metrics.js';
import { type OpsServer, startOpsServer } from '../ops.js';
import type { EngineQueues } from '../redis.js';
import { cdsRoutesOptionsFromConfig } from './setup.js';
import { discoverySchema } from './spec.js';

describe('CDS Hooks from the engine configuration', () => {
  let client: CdsClientIdentity;
  beforeAll(async () => {
    client = await startCdsClientIdentity();
  });
  afterAll(async () => {
    await client?.close();
  });

  it('refuses cds.enabled without a trusted client, http JWK Sets and malformed order codes', () => {
    expect(() => loadConfig({ env: { ECGCAD_CDS_ENABLED: '1' } })).toThrow(
      /cds\.clients: .*at least one trusted client/,
    );
    expect(() => loadConfig({ env: {}, overrides: [{ path: ['cds', 'orderCodes'], value: ['75574'] }] })).toThrow(
      /cds\.orderCodes/,
    );
    const plain = [{ iss: 'https://ehr.example.org', jwksUrl: 'http://ehr.example.org/jwks' }];
    expect(() => loadConfig({ env: {}, overrides: [{ path: ['cds', 'clients'], value: plain }] })).toThrow(
      /cds\.clients\.0\.jwksUrl: must be an https/,
    );
    const defaults = loadConfig({ env: {} }).cds;
    expect(defaults).toMatchObject({ enabled: false, recentDays: 365, maxCards: 3, maxTokenLifetimeS: 300 });
    expect(defaults.orderCodes).toContain('http://www.ama-assn.org/go/cpt|75574');
  });

  it('derives the audience base and the viewer link from cds.baseUrl, else http.publicUrl, else the listen URL', () => {
    const clients = [{ iss: 'https://ehr.example.org', jwksUrl: 'https://ehr.example.org/jwks' }];
    const logger = createLogger('silent');
    const listen = () => 'http://127.0.0.1:8080';
    const withBase = loadConfig({
      env: {},
      overrides: [
        { path: ['cds'], value: { enabled: true, clients, baseUrl: 'https://cds.example.org/' } },
        { path: ['http', 'publicUrl'], value: 'https://engine.example.org' },
      ],
    });
    const a = cdsRoutesOptionsFromConfig(withBase, logger, listen);
    expect([typeof a.baseUrl === 'function' ? a.baseUrl() : a.baseUrl]).toEqual(['https://cds.example.org']);
    expect(typeof a.appLaunchUrl === 'function' ? a.appLaunchUrl() : a.appLaunchUrl).toBe(
      'https://cds.example.org/app/launch.html',
    );
    const bare = loadConfig({ env: {}, overrides: [{ path: ['cds'], value: { enabled: true, clients } }] });
    const b = cdsRoutesOptionsFromConfig(bare, logger, listen);
    expect(typeof b.baseUrl === 'function' ? b.baseUrl() : b.baseUrl).toBe('http://127.0.0.1:8080');
    expect(b.data.engine).toBeUndefined();
  });

  it('serves discovery and authenticated calls on the ops server when enabled (the `serve` wiring)', async () => {
    const config = loadConfig({
      env: {},
      overrides: [
        {
          path: ['cds'],
          value: { enabled: true, allowInsecureHttp: true, clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }] },
        },
      ],
    });
    const logger = createLogger('silent');
    const metrics = new EngineMetrics();
    let server: OpsServer | undefined;
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      metrics,
      queues: {} as EngineQueues,
      checks: {},
      cds: cdsRoutesOptionsFromConfig(config, logger, () => server?.url ?? '', metrics.registry),
    });
    try {
      const discovery = await fetch(`${server.url}/cds-services`);
      expect(discoverySchema.parse(await discovery.json()).services).toHaveLength(3);
      const url = `${server.url}/cds-services/ecgcad-ecg-cad-risk`;
      const body = JSON.stringify({
        hook: 'patient-view',
        hookInstance: 'h1',
        context: { patientId: 'p1' },
        prefetch: { ecgcadResults: null, ecgcadPtp: null },
      });
      const call = (token?: string) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body,
        });
      expect((await call()).status).toBe(401);
      const ok = await call(await client.sign(url));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ cards: [] });
      const text = await metrics.registry.metrics();
      expect(text).toContain('ecgcad_cds_calls_total{service="ecgcad-ecg-cad-risk",status="401"} 1');
      expect(text).toContain('ecgcad_cds_calls_total{service="ecgcad-ecg-cad-risk",status="200"} 1');
      expect(text).toMatch(/ecgcad_cds_call_duration_seconds_count\{service="ecgcad-ecg-cad-risk"\} 2/);
    } finally {
      await server.close();
    }
  });
});
