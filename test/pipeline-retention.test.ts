/**
 * No accepted ECG lost to a payload expiry, on real Redis with shortened retention (seconds stand for days):
 * the payload TTL is derived from the dead-letter retention and the longest wait, a failed job keeps its payload
 * for its whole stay in the dead-letter set, and `dlq replay` of a "6-day-old" failure runs end to end to the EHR.
 * `dlq replay` runs through the built CLI (`ecgcad dlq replay --all`), or in-process when the CLI is not built.
 * A backlog that waits longer than the old fixed TTL (scaled: 1 s) still completes.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  run,
  startTestEngine,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const CLI = fileURLToPath(new URL('../packages/engine/dist/cli.js', import.meta.url));
/** With the CLI built, the replay goes through `ecgcad dlq replay`; without, through the same function in-process. */
const cliBuilt = existsSync(CLI);
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
    // 2 s = 1 day: failed jobs kept 7 "days", a "day" of waiting; the payload TTL is then 8 "days" (16 s).
    const retention = [
      { path: ['retention', 'failedJobsS'], value: 14 },
      { path: ['payloads', 'maxPendingS'], value: 2 },
      // Two attempts 1.5-3 s apart: the job fails for good well after its payload was stored.
      { path: ['retry', 'attempts'], value: 2 },
      { path: ['retry', 'baseDelayMs'], value: 3000 },
    ];
    const first = await start(prefix, retention);
    // The model runtime goes away: the infer job fails (transient, no attempts left) into the dead-letter set.
    await first.predictor!.close();
    const ecgId = await post(first, 'retention-replay-1', 61);
    await waitFor('the infer job to fail', async () => (await ecgStatus(first.queues, ecgId)).status === 'failed');
    const failed = (await first.queues.infer.getFailed())[0]!;
    const key = `${prefix}:payload:${failed.data.payloadKey}`;
    // The failure reset the payload's TTL to the full 8 "days" from now (without the reset it would be under 14.5 s).
    await waitFor('the payload TTL to be reset', async () => (await redis.pttl(key)) > 15_000, 5000);
    await first.close();

    await sleep(12_000); // six "days" later: past the old fixed TTL (one "day"), inside the retention
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    if (cliBuilt) {
      // The operator's way: `ecgcad dlq replay --all` gives the payload its full TTL again and records the replay.
      const configFile = join(await mkdtemp(join(tmpdir(), 'ecgcad-replay-')), 'config.json');
      await writeFile(
        configFile,
        JSON.stringify({ redis: { prefix }, retention: { failedJobsS: 14 }, payloads: { maxPendingS: 2 } }),
      );
      const { stdout } = await run(
        process.execPath,
        [CLI, 'dlq', 'replay', '--all', '--queue', 'infer', '--config', configFile],
        {
          env: { ...process.env, ECGCAD_CONFIG: '' },
        },
      );
      expect(stdout).toContain('replayed 1 job(s)');
      expect(await redis.pttl(key)).toBeGreaterThan(12_000);
      const pending = (await redis.lrange(`${prefix}:audit:pending`, 0, -1)).map(
        (l) => JSON.parse(l) as { subtype: Array<{ code: string }> },
      );
      expect(pending.some((e) => e.subtype[0]?.code === 'replayed')).toBe(true);
    }
    const second = await start(prefix, retention);
    if (!cliBuilt) {
      const store = openPayloadStore(redis, second.config);
      expect(await replayDeadLetters(second.queues, ['infer'], { all: true }, { payloads: store })).toHaveLength(1);
    }
    await waitFor(
      'the replayed ECG to be written',
      async () => (await ecgStatus(second.queues, ecgId)).status === 'written',
    );
    const assessments = await resources(ehr, 'RiskAssessment');
    expect(assessments.length).toBeGreaterThanOrEqual(1);
    // Written: the payload is deleted (by the writer, once it put the waveform into the ECG Observation).
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
