/**
 * Redis with a password and TLS, started by this test (redis-server --requirepass --tls-port, certificates made here
 * with openssl): the queued pipeline runs end to end through it (POST /ecg -> ecg.infer -> model -> ecg.write -> the
 * test EHR); clients without the password or without TLS are refused. And the engine's check that warns about a
 * Redis outside this machine that lets anyone in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { checkRedisAuth, connectRedis, type Logger, type QueuedEngine, waitReady } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { Observation } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, resources, startTestEngine, syntheticDicoms, uniquePrefix, waitFor } from './pipeline-support.js';
import { makeTestCertificates, type TestCertificates } from './support/certs.js';
import { commandPresent } from './support/tools.js';

const PASSWORD = 'redis-test-password-0123456789';
const tools = commandPresent('redis-server') && commandPresent('openssl', ['version']);
/** An IPv4 address of this machine that is not loopback, for the unauthenticated-Redis check. */
const outsideIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts redis-server with `args`; resolves once it logs that it accepts connections. */
async function startRedis(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    ...args,
  ]);
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`redis-server exited:\n${log}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (_fields: unknown, msg?: string) => lines.push(msg ?? '');
  return { lines, warn: log, info: log, error: log } as unknown as Logger & { lines: string[] };
}

describe.skipIf(!tools)(`Redis with a password and TLS (${tools ? 'redis-server, openssl' : 'tools missing'})`, () => {
  let certs: TestCertificates;
  let redis: ChildProcess | undefined;
  let tlsPort: number;
  let ehr: TestEhr;
  let engine: (QueuedEngine & { tmp: string }) | undefined;

  beforeAll(async () => {
    certs = makeTestCertificates(outsideIp ? [outsideIp] : []);
    tlsPort = await freePort();
    redis = await startRedis([
      '--port',
      '0',
      '--bind',
      ...(outsideIp ? ['127.0.0.1', outsideIp] : ['127.0.0.1']),
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
      '--tls-ca-cert-file',
      certs.caCert,
      '--tls-auth-clients',
      'no',
      '--requirepass',
      PASSWORD,
    ]);
    ehr = await startTestEhr();
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await stopRedis(redis);
    if (certs) await rm(certs.dir, { recursive: true, force: true });
  });

  it('refuses a client without the password, and one without TLS', async () => {
    const noPassword = connectRedis(
      { url: `rediss://localhost:${tlsPort}`, tls: { caFile: certs.caCert } },
      'producer',
    );
    const errors: string[] = [];
    noPassword.on('error', (err: Error) => errors.push(err.message));
    await expect(waitReady(noPassword, 2000)).rejects.toThrow(/not reachable/);
    noPassword.disconnect();
    expect(errors.join('\n')).toMatch(/NOAUTH/);
    const plain = new Redis(`redis://127.0.0.1:${tlsPort}`, {
      password: PASSWORD,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    plain.on('error', () => {});
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });

  it('runs the queued pipeline end to end through it: POST /ecg to an Observation in the test EHR', async () => {
    const prefix = uniquePrefix('redis-tls');
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      redisUrl: `rediss://localhost:${tlsPort}`,
      overrides: [
        { path: ['redis', 'password'], value: PASSWORD },
        { path: ['redis', 'tls'], value: { caFile: certs.caCert } },
      ],
    });
    const [body] = syntheticDicoms(1, `tls-${prefix.slice(-9, -1)}`);
    const response = await fetch(`${engine.http?.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(body as Uint8Array),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await waitFor(
      'the Observation in the test EHR',
      async () => (await resources<Observation>(ehr, 'Observation?code=34534-8')).length > 0,
      90_000,
    );
    // The EHR commits before the write job completes (it then frees the payload): wait for the job's own verdict.
    const statusOf = async () =>
      (await (await fetch(`${engine?.http?.url}/ecg/${encodeURIComponent(id)}/status`)).json()) as { status: string };
    await waitFor('the write job to complete', async () => (await statusOf()).status !== 'writing', 30_000);
    expect(await statusOf()).toMatchObject({ status: 'written' });
  });

  it.skipIf(!outsideIp)('the auth check passes quietly for this Redis at a non-loopback address', async () => {
    const logger = recordingLogger();
    const target = { url: `rediss://${outsideIp}:${tlsPort}`, password: PASSWORD, tls: { caFile: certs.caCert } };
    const probe = connectRedis(target, 'producer');
    await waitReady(probe, 5000);
    probe.disconnect();
    await expect(checkRedisAuth(target, logger)).resolves.toBe(true);
    expect(logger.lines).toEqual([]);
  });
});

describe.skipIf(!tools)('the engine ACL user of deploy/redis-users.acl.example', () => {
  let redis: ChildProcess | undefined;
  let port: number;
  let dir: string;
  let ehr: TestEhr;
  let engine: (QueuedEngine & { tmp: string }) | undefined;

  beforeAll(async () => {
    ehr = await startTestEhr();
    const certs = makeTestCertificates();
    dir = certs.dir;
    const example = await readFile(new URL('../deploy/redis-users.acl.example', import.meta.url), 'utf8');
    await writeFile(
      join(dir, 'users.acl'),
      example.replace('>change-me-engine-password', `>${PASSWORD}`).replace('>change-me-admin-password', '>admin-pw'),
    );
    port = await freePort();
    redis = await startRedis(['--port', String(port), '--bind', '127.0.0.1', '--aclfile', join(dir, 'users.acl')]);
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await stopRedis(redis);
    await rm(dir, { recursive: true, force: true });
  });

  it('is enough for the queued pipeline, and refuses keys outside its prefix and admin commands', async () => {
    engine = await startTestEngine({
      prefix: '{ecgcad}',
      fhirUrl: ehr.url,
      redisUrl: `redis://127.0.0.1:${port}`,
      overrides: [
        { path: ['redis', 'username'], value: 'ecgcad' },
        { path: ['redis', 'password'], value: PASSWORD },
      ],
    });
    const [body] = syntheticDicoms(1, 'acl');
    const response = await fetch(`${engine.http?.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(body as Uint8Array),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await waitFor('the ECG written', async () => {
      const status = await fetch(`${engine?.http?.url}/ecg/${encodeURIComponent(id)}/status`);
      return ((await status.json()) as { status: string }).status === 'written';
    });
    expect(await resources<Observation>(ehr, 'Observation?code=34534-8')).toHaveLength(1);
    const client = new Redis(`redis://127.0.0.1:${port}`, { username: 'ecgcad', password: PASSWORD });
    try {
      await expect(client.set('elsewhere', '1')).rejects.toThrow(/NOPERM/);
      await expect(client.call('CONFIG', 'GET', 'maxmemory')).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
  });
});

describe.skipIf(!tools || !outsideIp)(
  `a Redis without authentication outside loopback (${outsideIp ? outsideIp : 'no non-loopback IPv4 address'})`,
  () => {
    let redis: ChildProcess | undefined;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      redis = await startRedis(['--port', String(port), '--bind', outsideIp as string, '--protected-mode', 'no']);
    });
    afterAll(() => stopRedis(redis));

    it('makes the engine warn loudly, and is not checked at a loopback address', async () => {
      const logger = recordingLogger();
      await expect(checkRedisAuth(`redis://${outsideIp}:${port}`, logger)).resolves.toBe(false);
      expect(logger.lines.join('\n')).toMatch(/^INSECURE: Redis at a non-loopback address accepts clients without/m);
      const quiet = recordingLogger();
      await expect(checkRedisAuth('redis://127.0.0.1:6379', quiet)).resolves.toBeUndefined();
      expect(quiet.lines).toEqual([]);
    });
  },
);
