/**
 * Helpers of the pipeline and e2e tests: a queued engine on a unique Redis prefix (cleaned up afterwards), the
 * test EHR, resource counts, storescu, a STOW-RS body, and polling.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { createLogger, loadConfig, type QueuedEngine, startQueuedEngine } from '@ecgcad/engine';
import type { TestEhr } from '@ecgcad/fhir-writer';
import { writeDicomEcg } from '@ecgcad/ingest';
import { parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const API_KEY = 'test-key-0123456789abcdef';
export const run = promisify(execFile);

/** A prefix no other test uses; keeps the `{...}` hash tag form. */
export function uniquePrefix(name: string): string {
  return `{ecgcad-test-${name}-${randomUUID().slice(0, 8)}}`;
}

/** Deletes every key under a prefix. */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Options of {@link startTestEngine}. */
export interface TestEngineOptions {
  prefix: string;
  fhirUrl: string;
  redisUrl?: string;
  stages?: Array<'ingest' | 'infer' | 'write'>;
  feeds?: boolean;
  folder?: string;
  /** Extra config overrides. */
  overrides?: Array<{ path: string[]; value: unknown }>;
}

/** A queued engine on ephemeral ports, logging only warnings. */
export async function startTestEngine(options: TestEngineOptions): Promise<QueuedEngine & { tmp: string }> {
  const tmp = await mkdtemp(join(tmpdir(), 'ecgcad-e2e-'));
  const config = loadConfig({
    env: {},
    overrides: [
      { path: ['redis', 'url'], value: options.redisUrl ?? REDIS_URL },
      { path: ['redis', 'prefix'], value: options.prefix },
      { path: ['fhir', 'url'], value: options.fhirUrl },
      // The test EHR speaks http on loopback; the engine refuses http without this flag.
      { path: ['fhir', 'allowInsecureHttp'], value: true },
      { path: ['fhir', 'patientReference'], value: 'logical' },
      { path: ['fhir', 'unidentified'], value: 'placeholder' },
      { path: ['http', 'port'], value: 0 },
      { path: ['http', 'host'], value: '127.0.0.1' },
      { path: ['http', 'apiKeys'], value: [API_KEY] },
      { path: ['dimse', 'port'], value: 0 },
      { path: ['dimse', 'host'], value: '127.0.0.1' },
      { path: ['rejectedDir'], value: join(tmp, 'rejected') },
      { path: ['audit', 'file'], value: join(tmp, 'audit', 'audit.jsonl') },
      { path: ['retry', 'baseDelayMs'], value: 200 },
      { path: ['folder', 'dir'], value: options.folder },
      ...(options.overrides ?? []),
    ],
  });
  const engine = await startQueuedEngine({
    config,
    stages: options.stages ?? ['ingest', 'infer', 'write'],
    feeds: options.feeds ?? true,
    logger: createLogger('error'),
  });
  return Object.assign(engine, { tmp });
}

/** Resources of a type in the test EHR. */
export async function resources<T extends Resource>(ehr: TestEhr, query: string): Promise<T[]> {
  return (await ehr.repo.searchResources(
    parseSearchRequest(`${query}${query.includes('?') ? '&' : '?'}_count=100000`),
  )) as T[];
}

/** Polls until `check` returns a truthy value or the time runs out (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sends DICOM files with dcmtk storescu (TCP_NODELAY, as STACK.md says); `extraArgs` go first (e.g. `-aet`). */
export async function storescu(
  port: number,
  files: string[],
  aeTitle = 'ECGCAD',
  extraArgs: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  return run('storescu', [...extraArgs, '-aec', aeTitle, '-nh', '127.0.0.1', String(port), ...files], {
    env: { ...process.env, TCP_NODELAY: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** A multipart/related STOW-RS body of DICOM parts. */
export function stowBody(parts: Uint8Array[]): { body: Buffer; contentType: string } {
  const boundary = `ecgcad-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`));
    chunks.push(Buffer.from(part));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  };
}

/** `count` distinct DICOM ECGs: a few synthetic waveforms under distinct ids (so distinct SOP Instance UIDs). */
export function syntheticDicoms(count: number, tag: string): Uint8Array[] {
  const bases: Ecg[] = Array.from({ length: 10 }, (_, i) => synthesizeEcg({ seed: 500 + i, fast: true }));
  return Array.from({ length: count }, (_, i) =>
    writeDicomEcg({ ...(bases[i % bases.length] as Ecg), id: `e2e-${tag}-${i}` }),
  );
}

/** POSTs ECGs to /ecg, `parallel` at a time, retrying 503s as a sender would. Returns the ECG ids. */
export async function postAll(baseUrl: string, bodies: Uint8Array[], parallel = 16): Promise<string[]> {
  const ids: string[] = new Array(bodies.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const i = next++;
      for (;;) {
        let response: Response | undefined;
        try {
          response = await fetch(`${baseUrl}/ecg`, {
            method: 'POST',
            headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
            body: Buffer.from(bodies[i] as Uint8Array),
          });
        } catch {
          response = undefined;
        }
        if (response?.status === 202) {
          ids[i] = ((await response.json()) as { id: string }).id;
          break;
        }
        if (response && response.status !== 503) throw new Error(`POST /ecg answered ${response.status}`);
        await response?.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return ids;
}
