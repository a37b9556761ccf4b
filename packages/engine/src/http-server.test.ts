import { ConfigError } from '@ecgcad/ecg';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { checkHttpExposure, clientCertAuth, httpsOptions, isLoopbackHost, limitInFlight } from './http-server.js';

function recorder(): { warn(fields: Record<string, unknown>, msg?: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (_fields, msg) => lines.push(msg ?? '') };
}

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.0.2.2', 'ecgcad.example.org', '::ffff:10.0.0.1', ''])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('checkHttpExposure', () => {
  const tls = { certFile: 'c.pem', keyFile: 'k.pem', clientCert: 'off' as const, minVersion: 'TLSv1.2' as const };

  it('refuses plain HTTP on a non-loopback address without allowInsecure, naming both ways out', () => {
    const logger = recorder();
    let error: unknown;
    try {
      checkHttpExposure({ host: '0.0.0.0', allowInsecure: false }, logger);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatch(/http\.tls.*http\.allowInsecure/);
  });

  it('lets plain HTTP through on loopback, and TLS anywhere, without a word', () => {
    const logger = recorder();
    checkHttpExposure({ host: '127.0.0.1', allowInsecure: false }, logger);
    checkHttpExposure({ host: '0.0.0.0', tls, allowInsecure: false }, logger);
    expect(logger.lines).toEqual([]);
  });

  it('warns loudly when the operator allows plain HTTP on the network', () => {
    const logger = recorder();
    checkHttpExposure({ host: '0.0.0.0', allowInsecure: true }, logger);
    expect(logger.lines[0]).toMatch(/^INSECURE: HTTP server without TLS/);
  });
});

describe('httpsOptions and clientCertAuth', () => {
  it('names the config key of an unreadable file, not its contents', () => {
    expect(() => httpsOptions({ certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } as never)).toThrow(
      /http\.tls\.certFile: cannot read \/nonexistent\/cert\.pem/,
    );
  });

  it('maps the client certificate mode to the feeds rule', () => {
    expect(clientCertAuth(undefined)).toBeUndefined();
    expect(clientCertAuth({ certFile: 'c', keyFile: 'k', clientCert: 'off', minVersion: 'TLSv1.2' })).toBeUndefined();
    expect(
      clientCertAuth({ certFile: 'c', keyFile: 'k', caFile: 'ca', clientCert: 'optional', minVersion: 'TLSv1.2' }),
    ).toBe(true);
    expect(
      clientCertAuth({
        certFile: 'c',
        keyFile: 'k',
        caFile: 'ca',
        clientCert: 'require',
        allowedSubjects: ['modality-1'],
        minVersion: 'TLSv1.2',
      }),
    ).toEqual({ allowedSubjects: ['modality-1'] });
  });
});

describe('limitInFlight', () => {
  it('answers 503 + Retry-After beyond the cap, spares exempt paths, and frees the slot when a request ends', async () => {
    const app = Fastify();
    const limiter = limitInFlight(app, { max: 1, retryAfterS: 7, exempt: ['/healthz'] });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.get('/slow', async () => {
      await held;
      return { ok: true };
    });
    app.get('/fast', async () => ({ ok: true }));
    app.get('/healthz', async () => ({ status: 'ok' }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const slow = fetch(`${url}/slow`);
      await expect.poll(() => limiter.current()).toBe(1);
      const refused = await fetch(`${url}/fast`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('7');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      release();
      expect((await slow).status).toBe(200);
      await expect.poll(() => limiter.current()).toBe(0);
      expect((await fetch(`${url}/fast`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
