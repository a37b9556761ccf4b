/**
 * The HTTP server over HTTPS with real certificates (made here with openssl) and curl as the client: the feeds
 * (POST /ecg, STOW-RS) and the ops endpoints answer 2xx only with the right credentials (API key, client certificate
 * the CA signed, ops bearer token) and 401/403 otherwise; plain HTTP to the TLS port gets nothing; with
 * `clientCert: require` a client without a certificate fails the handshake.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import type { QueuedEngine } from '@ecgcad/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, dropPrefix, startTestEngine, stowBody, syntheticDicoms, uniquePrefix } from './pipeline-support.js';
import { makeTestCertificates, type TestCertificates } from './support/certs.js';
import { commandPresent } from './support/tools.js';

const OPS_TOKEN = 'ops-token-0123456789abcdef';
/** An IPv4 address of this machine that is not loopback (to be a non-local peer of the engine). */
const outsideIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
const tools = commandPresent('curl') && commandPresent('openssl', ['version']);

interface CurlResult {
  /** curl's exit code (0: an HTTP answer came back). */
  exit: number;
  status: number;
  body: string;
}

/** One curl request; `args` adds headers, certificates, a body. */
function curl(url: string, args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', ...args, url],
      { maxBuffer: 8 * 1024 * 1024 },
      (error, stdout) => {
        const text = String(stdout);
        const cut = text.lastIndexOf('\n');
        resolve({
          exit: error ? Number((error as { code?: number }).code ?? 1) : 0,
          status: Number(text.slice(cut + 1)) || 0,
          body: text.slice(0, Math.max(0, cut)),
        });
      },
    );
  });
}

describe.skipIf(!tools)(
  `HTTPS feeds and ops endpoints (${tools ? 'curl, openssl' : 'curl or openssl missing'})`,
  () => {
    let certs: TestCertificates;
    let engine: QueuedEngine & { tmp: string };
    let base: string;
    let dicomFile: string;
    let stowFile: string;
    let stowType: string;
    const prefix = uniquePrefix('https');

    beforeAll(async () => {
      certs = makeTestCertificates();
      engine = await startTestEngine({
        prefix,
        fhirUrl: 'http://127.0.0.1:9/unused',
        stages: [],
        overrides: [
          {
            path: ['http', 'tls'],
            value: {
              certFile: certs.serverCert,
              keyFile: certs.serverKey,
              caFile: certs.caCert,
              clientCert: 'optional',
            },
          },
          { path: ['ops', 'token'], value: OPS_TOKEN },
          // Short headers limit (also the TLS handshake limit) for the silent-client test; idle stays long.
          {
            path: ['http', 'timeouts'],
            value: { headersMs: 2000, requestMs: 20_000, idleMs: 60_000, keepAliveMs: 5000 },
          },
        ],
      });
      base = `https://localhost:${engine.http?.port}`;
      const [one, two, three] = syntheticDicoms(3, `https-${prefix.slice(-9, -1)}`);
      dicomFile = join(engine.tmp, 'one.dcm');
      await writeFile(dicomFile, one as Uint8Array);
      const stow = stowBody([two as Uint8Array]);
      stowFile = join(engine.tmp, 'stow.bin');
      stowType = stow.contentType;
      await writeFile(stowFile, stow.body);
      await writeFile(join(engine.tmp, 'three.dcm'), three as Uint8Array);
    });

    afterAll(async () => {
      await engine?.close();
      await dropPrefix(prefix);
      if (certs) await rm(certs.dir, { recursive: true, force: true });
    });

    const tls = () => ['--cacert', certs.caCert];
    const postEcg = (file: string, extra: string[]) =>
      curl(`${base}/ecg`, [...tls(), '-H', 'content-type: application/dicom', '--data-binary', `@${file}`, ...extra]);

    it('serves HTTPS only: the engine says https, plain HTTP to the port gets no HTTP answer', async () => {
      expect(engine.http?.url).toMatch(/^https:\/\//);
      const plain = await curl(`http://127.0.0.1:${engine.http?.port}/healthz`, []);
      expect(plain.status === 0 || plain.status >= 400).toBe(true);
      expect((await curl(`${base}/healthz`, tls())).status).toBe(200);
    });

    it('closes a connection that never completes the TLS handshake at the headers limit', async () => {
      const started = performance.now();
      const socket = connect(engine.http?.port as number, '127.0.0.1');
      socket.on('error', () => {});
      // Half a ClientHello, then silence.
      socket.on('connect', () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
      await new Promise((resolve) => socket.on('close', resolve));
      const ms = performance.now() - started;
      expect(ms).toBeGreaterThanOrEqual(1900);
      expect(ms).toBeLessThan(10_000);
    });

    it('POST /ecg: 401 without a key or with a wrong one, 202 with the key', async () => {
      const none = await postEcg(dicomFile, []);
      expect(none.status).toBe(401);
      expect(JSON.parse(none.body)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
      expect((await postEcg(dicomFile, ['-H', 'x-api-key: wrong-key-0123456789abcdef'])).status).toBe(401);
      const ok = await postEcg(dicomFile, ['-H', `x-api-key: ${API_KEY}`]);
      expect(ok.status).toBe(202);
      expect(JSON.parse(ok.body).status).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ecg\/.+\/status$/);
    });

    it('POST /ecg: a client certificate the CA signed authenticates without a key; an untrusted one does not', async () => {
      const trusted = await postEcg(join(engine.tmp, 'three.dcm'), [
        '--cert',
        certs.clientCert,
        '--key',
        certs.clientKey,
      ]);
      expect(trusted.status).toBe(202);
      const rogue = await postEcg(join(engine.tmp, 'three.dcm'), ['--cert', certs.rogueCert, '--key', certs.rogueKey]);
      expect(rogue.status).toBe(401);
    });

    it('STOW-RS: 401 without credentials, 200 with the key', async () => {
      const args = [...tls(), '-H', `content-type: ${stowType}`, '--data-binary', `@${stowFile}`];
      expect((await curl(`${base}/dicomweb/studies`, args)).status).toBe(401);
      expect((await curl(`${base}/dicomweb/studies`, [...args, '-H', `x-api-key: ${API_KEY}`])).status).toBe(200);
    });

    it('ops endpoints: 401 without or with a wrong token, 2xx with it; /healthz stays open', async () => {
      const bearer = (token: string) => ['-H', `authorization: Bearer ${token}`];
      for (const path of ['/metrics', '/readyz']) {
        expect((await curl(`${base}${path}`, tls())).status).toBe(401);
        expect((await curl(`${base}${path}`, [...tls(), ...bearer('wrong-token-0123456789abc')])).status).toBe(401);
        expect((await curl(`${base}${path}`, [...tls(), ...bearer(OPS_TOKEN)])).status).toBe(200);
      }
      const metrics = await curl(`${base}/metrics`, [...tls(), ...bearer(OPS_TOKEN)]);
      expect(metrics.body).toMatch(/^# HELP /m);
      const ready = await curl(`${base}/readyz`, [...tls(), ...bearer(OPS_TOKEN)]);
      expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { redis: 'ok' } });
    });

    it('/ecg/:id/status: 401 without credentials; the ops token or the sender key reads it', async () => {
      const taken = await postEcg(dicomFile, ['-H', `x-api-key: ${API_KEY}`]);
      const statusUrl = (JSON.parse(taken.body) as { status: string }).status.replace('127.0.0.1', 'localhost');
      expect((await curl(statusUrl, tls())).status).toBe(401);
      const bySender = await curl(statusUrl, [...tls(), '-H', `x-api-key: ${API_KEY}`]);
      expect(bySender.status).toBe(200);
      expect(JSON.parse(bySender.body)).toMatchObject({ status: 'queued' });
      expect((await curl(statusUrl, [...tls(), '-H', `authorization: Bearer ${OPS_TOKEN}`])).status).toBe(200);
    });
  },
);

describe.skipIf(!tools)('HTTPS with client certificates required', () => {
  let certs: TestCertificates;
  let engine: QueuedEngine & { tmp: string };
  const prefix = uniquePrefix('mtls');

  beforeAll(async () => {
    certs = makeTestCertificates();
    engine = await startTestEngine({
      prefix,
      fhirUrl: 'http://127.0.0.1:9/unused',
      stages: [],
      overrides: [
        {
          path: ['http', 'tls'],
          value: {
            certFile: certs.serverCert,
            keyFile: certs.serverKey,
            caFile: certs.caCert,
            clientCert: 'require',
            allowedSubjects: ['modality-1'],
          },
        },
      ],
    });
  });

  afterAll(async () => {
    await engine?.close();
    await dropPrefix(prefix);
    if (certs) await rm(certs.dir, { recursive: true, force: true });
  });

  it('fails the handshake without a certificate or with an untrusted one, and serves a trusted one', async () => {
    const url = `https://localhost:${engine.http?.port}/healthz`;
    const without = await curl(url, ['--cacert', certs.caCert]);
    expect(without.exit).not.toBe(0);
    expect(without.status).toBe(0);
    const rogue = await curl(url, ['--cacert', certs.caCert, '--cert', certs.rogueCert, '--key', certs.rogueKey]);
    expect(rogue.status).toBe(0);
    const trusted = await curl(url, ['--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey]);
    expect(trusted.status).toBe(200);
  });
});

describe('plain HTTP on a non-loopback address', () => {
  it('refuses to start without TLS unless http.allowInsecure is set; then ops answer loopback only', async () => {
    const prefix = uniquePrefix('insecure');
    const start = (allowInsecure: boolean) =>
      startTestEngine({
        prefix,
        fhirUrl: 'http://127.0.0.1:9/unused',
        stages: [],
        overrides: [
          { path: ['http', 'host'], value: '0.0.0.0' },
          { path: ['http', 'allowInsecure'], value: allowInsecure },
        ],
      });
    const refused = await start(false).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).issues[0]).toMatch(/^http: plain HTTP on 0\.0\.0\.0/);
    const engine = await start(true);
    try {
      expect((await fetch(`http://127.0.0.1:${engine.http?.port}/healthz`)).status).toBe(200);
      // No ops token: the ops endpoints answer loopback peers only.
      expect((await fetch(`http://127.0.0.1:${engine.http?.port}/metrics`)).status).toBe(200);
      if (outsideIp) {
        expect((await fetch(`http://${outsideIp}:${engine.http?.port}/metrics`)).status).toBe(403);
        expect((await fetch(`http://${outsideIp}:${engine.http?.port}/healthz`)).status).toBe(200);
      }
    } finally {
      await engine.close();
      await dropPrefix(prefix);
    }
  });
});
