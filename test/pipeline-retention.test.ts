/**
 * No accepted ECG lost to a payload expiry, on real Redis with shortened retention (1 s here stands for 1 day):
 * the payload TTL is derived from the dead-letter retention and the longest wait, a failed job keeps its payload
 * for its whole stay in the dead-letter set, and `dlq replay` of a "6-day-old" failure runs end to end to the EHR.
 * A backlog that waits longer than the old fixed TTL (scaled: 1 s) still completes.
 */

import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, synthesizeEcg } from '@ecgcad/ecg';
import {
  ecgStatus,
  loadConfig,
  openPayloadStore,
  payloadTtlOf,
  type QueuedEngine,
  replayDeadLetters,
} from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  dropPrefix,
  REDIS_URL,
  resources,
  startTestEngine,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(engine: QueuedEngine, id: string, seed: number): Promise<string> {
  const response = await fetch(`${engine.http!.url}/ecg`, {
    method: 'POST',
    headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
    body: Buffer.from(writeDicomEcg({ ...synthesizeEcg({ seed, fast: true }), id })),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

describe('payload retention (real Redis, shortened clocks)', () => {
  let ehr: TestEhr;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const engines: QueuedEngine[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    ehr = await startTestEhr();
  });

  afterAll(async () => {
    for (const engine of engines) await engine.close();
    await ehr?.close();
    for (const prefix of prefixes) await dropPrefix(prefix);
    redis.disconnect();
  });

  const start = async (
    prefix: string,
    options: Parameters<typeof startTestEngine>[0]['overrides'],
    stages?: Array<'ingest' | 'infer' | 'write'>,
  ) => {
    const engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: options,
      ...(stages ? { stages } : {}),
    });
    engines.push(engine);
    return engine;
  };

  it('refuses a configured payload TTL shorter than the dead-letter retention; derives it by default', () => {
    expect(payloadTtlOf(loadConfig({ env: {} }))).toBe(8 * 86_400);
    const short = loadConfig({ env: {}, overrides: [{ path: ['payloads', 'ttlS'], value: 86_400 }] });
    expect(() => payloadTtlOf(short)).toThrow(ConfigError);
  });

  it('dlq replay of a "6-day-old" failure reaches the EHR: the failed job kept its payload', async () => {
    const prefix = uniquePrefix('retention-replay');
    prefixes.push(prefix);
    // 1 s = 1 day: failed jobs kept 7 "days", a "day" of waiting; the payload TTL is then 8 "days".
    const retention = [
      { path: ['retention', 'failedJobsS'], value: 7 },
      { path: ['payloads', 'maxPendingS'], value: 1 },
      // Two attempts 1.5-3 s apart: the job fails for good well after its payload was stored.
      { path: ['retry', 'attempts'], value: 2 },
      { path: ['retry', 'backoffDelayMs'], value: 3000 },
    ];
    const first = await start(prefix, retention);
    // The model runtime goes away: the infer job fails (transient, no attempts left) into the dead-letter set.
    await first.predictor!.close();
    const ecgId = await post(first, 'retention-replay-1', 61);
    await waitFor('the infer job to fail', async () => (await ecgStatus(first.queues, ecgId)).status === 'failed');
    const failed = (await first.queues.infer.getFailed())[0]!;
    const key = `${prefix}:payload:${failed.data.payloadKey}`;
    // The failure reset the payload's TTL to the full 8 "days" from now (without the reset it would be under 6.5 s).
    await waitFor('the payload TTL to be reset', async () => (await redis.pttl(key)) > 7000, 5000);
    await first.close();

    await sleep(6000); // six "days" later: past the old fixed TTL (one "day"), well inside the retention
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    const second = await start(prefix, retention);
    const store = openPayloadStore(redis, second.config);
    const replayed = await replayDeadLetters(second.queues, ['infer'], { all: true }, { payloads: store });
    expect(replayed).toHaveLength(1);
    await waitFor(
      'the replayed ECG to be written',
      async () => (await ecgStatus(second.queues, ecgId)).status === 'written',
    );
    const assessments = await resources(ehr, 'RiskAssessment');
    expect(assessments.length).toBeGreaterThanOrEqual(1);
    // Handed to the write stage (which carries the prediction itself): the payload is deleted at once.
    expect(await redis.exists(key)).toBe(0);
  }, 60_000);

  it('the engine sweeps rejected-store files and done/ drop files past their retention', async () => {
    const prefix = uniquePrefix('retention-sweep');
    prefixes.push(prefix);
    const folder = await mkdtemp(join(tmpdir(), 'ecgcad-sweep-drop-'));
    const engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      folder,
      stages: [],
      overrides: [
        { path: ['retention', 'rejectedS'], value: 2 },
        { path: ['retention', 'folderDoneS'], value: 2 },
        { path: ['retention', 'sweepIntervalS'], value: 1 },
      ],
    });
    engines.push(engine);
    const refused = await fetch(`${engine.http!.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-api-key': API_KEY },
      body: 'not an ECG',
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const rejectedDir = join(engine.tmp, 'rejected');
    expect((await readdir(rejectedDir)).filter((n) => !n.startsWith('.'))).toHaveLength(2);
    await writeFile(join(folder, 'done', 'old-drop.xml'), 'handled earlier');
    await waitFor(
      'the sweep to delete both',
      async () =>
        (await readdir(rejectedDir)).length === 0 && (await readdir(join(folder, 'done'))).length === 0
          ? true
          : undefined,
      10_000,
    );
  }, 30_000);

  it('a backlog waiting longer than the old fixed TTL completes: payloads live as long as configured', async () => {
    const prefix = uniquePrefix('retention-backlog');
    prefixes.push(prefix);
    const retention = [
      { path: ['retention', 'failedJobsS'], value: 2 },
      { path: ['payloads', 'maxPendingS'], value: 6 },
    ];
    // Feeds, ingest and write run; no infer worker yet: the ECG waits in the backlog.
    const feeds = await start(prefix, retention, ['ingest', 'write']);
    const before = (await resources(ehr, 'RiskAssessment')).length;
    const ecgId = await post(feeds, 'retention-backlog-1', 62);
    const job = await feeds.queues.infer.getJob(ecgId);
    const key = `${prefix}:payload:${job!.data.payloadKey}`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(7000);
    expect(ttl).toBeLessThanOrEqual(8000);
    await sleep(3000); // three "days" of backlog, past the old one-"day" TTL
    expect(await redis.exists(key)).toBe(1);
    const infer = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: retention,
      stages: ['infer'],
      feeds: false,
    });
    engines.push(infer);
    await waitFor('the backlog to be written', async () => (await ecgStatus(feeds.queues, ecgId)).status === 'written');
    expect((await resources(ehr, 'RiskAssessment')).length).toBe(before + 1);
    expect(await redis.exists(key)).toBe(0);
  }, 60_000);
});
