/**
 * deploy/ stays consistent with the engine: the Kubernetes ConfigMap's ecgcad.json passes the engine's config
 * schema with TLS on its non-loopback bind address, and compose publishes ports on loopback unless told otherwise.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHttpExposure, loadConfig } from '@ecgcad/engine';
import { describe, expect, it } from 'vitest';

const deploy = (file: string) => readFileSync(new URL(`../deploy/${file}`, import.meta.url), 'utf8');

describe('deploy/', () => {
  it('k8s: the ConfigMap config is valid, HTTPS on all interfaces, Redis over TLS, probes over HTTPS', () => {
    const manifest = deploy('k8s/ecgcad.yaml');
    const block = /ecgcad\.json: \|\n((?: {4}.*\n)+)/.exec(manifest)?.[1];
    expect(block).toBeDefined();
    const file = join(mkdtempSync(join(tmpdir(), 'ecgcad-deploy-')), 'ecgcad.json');
    writeFileSync(file, block as string);
    const config = loadConfig({ file, env: { ECGCAD_OPS_TOKEN: 'x'.repeat(20) } });
    expect(config.http).toMatchObject({ host: '0.0.0.0', tls: { clientCert: 'optional' }, allowInsecure: false });
    expect(config.redis.url).toMatch(/^rediss:\/\//);
    expect(config.dimse).toMatchObject({ host: '0.0.0.0', tls: { certFile: '/etc/ecgcad/tls/tls.crt' } });
    expect(config.dimse.allowedCallingAeTitles?.length).toBeGreaterThan(0);
    expect(() => checkHttpExposure(config.http, { warn: () => {} })).not.toThrow();
    expect(manifest.match(/scheme: HTTPS/g)?.length).toBe(6);
    expect(manifest.match(/readOnlyRootFilesystem: true/g)?.length).toBe(3);
    expect(manifest.match(/runAsNonRoot: true/g)?.length).toBe(3);
    expect(manifest.match(/drop: \[ALL\]/g)?.length).toBe(3);
  });

  it('compose: every published port binds to loopback by default, and Redis needs a password', () => {
    const compose = deploy('docker-compose.yml');
    const published = [...compose.matchAll(/^\s+- "(.+:\d+:\d+)"$/gm)].map((m) => m[1]);
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^\$\{ECGCAD_BIND_ADDRESS:-127\.0\.0\.1\}:/);
    expect(compose).toMatch(/--requirepass "\$\$REDIS_PASSWORD"/);
  });
});
