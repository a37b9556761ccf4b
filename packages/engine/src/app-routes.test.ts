import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCsp, appRouteOptions, appRoutes } from './app-routes.js';
import { configSchema } from './config.js';
import { createLogger } from './logger.js';
import { EngineMetrics } from './metrics.js';
import { startOpsServer } from './ops.js';
import type { EngineQueues } from './redis.js';

describe('app routes', () => {
  let app: FastifyInstance;
  let dist: string;
  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'ecgcad-app-'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dist, 'launch.html'), '<!doctype html><title>launch</title>');
    writeFileSync(join(dist, 'app.js'), 'console.log(1)');
    writeFileSync(join(dist, 'dist-dir.js'), 'export {}');
    app = Fastify();
    await app.register(appRoutes, {
      clientId: 'ecgcad-viewer',
      scope: 'launch patient/*.read',
      fhirBaseUrl: 'http://127.0.0.1:8103/fhir',
      distDir: dist,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves the pages with a CSP that allows scripts from this origin only', async () => {
    for (const url of ['/app/', '/app/index.html', '/app/launch.html']) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*(https:|\*|unsafe)/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    const js = await app.inject('/app/app.js');
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect((await app.inject('/app')).headers.location).toBe('/app/');
  });

  it('answers config.json for the standalone launch, and 404 for what is not the app', async () => {
    const res = await app.inject('/app/config.json');
    expect(res.json()).toEqual({
      clientId: 'ecgcad-viewer',
      scope: 'launch patient/*.read',
      fhirBaseUrl: 'http://127.0.0.1:8103/fhir',
    });
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await app.inject('/app/dist-dir.js')).statusCode).toBe(404);
    expect((await app.inject('/app/..%2Fpackage.json')).statusCode).toBe(404);
  });

  it('lets the app reach the EHR origin (connect-src) but nothing else over plain http', () => {
    const csp = appCsp({ clientId: 'x', scope: 's', fhirBaseUrl: 'http://ehr.local:8103/fhir' });
    expect(csp).toMatch(/connect-src 'self' https: http:\/\/ehr\.local:8103(;|$)/);
  });

  it('takes its settings from the config section app (fhirBaseUrl defaults to fhir.url; off when disabled)', () => {
    const config = configSchema.parse({ fhir: { url: 'https://ehr.example/fhir' } });
    expect(appRouteOptions(config)).toMatchObject({
      clientId: 'ecgcad-viewer',
      fhirBaseUrl: 'https://ehr.example/fhir',
    });
    expect(appRouteOptions(configSchema.parse({ app: { enabled: false } }))).toBeUndefined();
  });

  it('answers 503 "not built" instead of failing the engine when the app was not built', async () => {
    const bare = Fastify();
    try {
      await bare.register(appRoutes, { clientId: 'x', scope: 's', distDir: join(dist, 'missing') });
      await bare.ready();
      const res = await bare.inject('/app/launch.html');
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('not built');
    } finally {
      await bare.close();
    }
  });

  it('finds the built app through @ecgcad/app when no folder is given', async () => {
    const real = Fastify();
    try {
      await real.register(appRoutes, { clientId: 'x', scope: 's' });
      await real.ready();
      const res = await real.inject('/app/launch.html');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('launch.js');
    } finally {
      await real.close();
    }
  });

  it('are on the engine HTTP server when the ops server gets them, open to callers without the ops token', async () => {
    const server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('silent'),
      metrics: new EngineMetrics(),
      // Only /ecg/:id/status reads the queues; this test does not call it.
      queues: {} as EngineQueues,
      checks: {},
      opsAuth: { token: 'an-ops-token-of-sixteen-chars' },
      app: { clientId: 'ecgcad-viewer', scope: 's', distDir: dist },
    });
    try {
      const page = await fetch(`${server.url}/app/launch.html`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('launch');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
