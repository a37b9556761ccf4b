/**
 * The one retry policy in queued mode, on real Redis and the test EHR: an EHR answering 429 with Retry-After: 7
 * delays the write job's retry by about 7 s (BullMQ's custom backoff honours it), where the policy's own backoff
 * would have retried in a tenth of that.
 */
import { QUEUE_NAMES, type WriteJobData } from '@ecgcad/ecg';
import { examplePrediction, FhirClient, FhirWriter, SYSTEMS, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { startWriteWorker } from '@ecgcad/fhir-writer/worker';
import { type Queue as QueueT, stageJobOptions, type Worker } from '@ecgcad/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, REDIS_URL, uniquePrefix, waitFor } from './pipeline-support.js';

describe('queued retry after an EHR 429', () => {
  const prefix = uniquePrefix('retry-after');
  // The policy's own first delay is 50-100 ms: a retry ~7 s later can only be the EHR's Retry-After.
  const retry = { attempts: 3, baseDelayMs: 100, maxRetryAfterMs: 30_000 };
  let ehr: TestEhr;
  let connection: Redis;
  let queue: QueueT<WriteJobData>;
  let worker: Worker;

  beforeAll(async () => {
    ehr = await startTestEhr({ patients: [{ system: SYSTEMS.patientId, value: 'MRN-000123' }] });
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue<WriteJobData>(QUEUE_NAMES.write, { connection, prefix });
    worker = startWriteWorker({
      connection,
      prefix,
      retry,
      writer: new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url, timeoutMs: 5000 }) }),
    });
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    connection?.disconnect();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('waits the 7 s the EHR asked for before the second attempt, then writes', async () => {
    const attemptsStarted: number[] = [];
    let failedAt = 0;
    worker.on('active', () => attemptsStarted.push(Date.now()));
    worker.on('failed', () => {
      failedAt = Date.now();
    });
    ehr.faults.failNext(1, { status: 429, retryAfterS: 7 });
    const job = await queue.add(
      'write',
      { prediction: examplePrediction() },
      { ...stageJobOptions(retry), jobId: 'ra-7' },
    );

    await waitFor('the first attempt to fail', async () => failedAt > 0, 10_000);
    // While it waits, the job sits in the delayed set, due about 7 s after the failure.
    const delayed = await queue.getDelayed();
    expect(delayed.map((j) => j.id)).toEqual(['ra-7']);

    await waitFor('the write job to complete', async () => (await job.getState()) === 'completed', 15_000);
    const done = await queue.getJob('ra-7');
    expect(done?.attemptsMade).toBe(2);
    expect(done?.returnvalue).toMatchObject({ sink: 'fhir' });
    expect(attemptsStarted).toHaveLength(2);
    const waited = (attemptsStarted[1] as number) - failedAt;
    expect(waited).toBeGreaterThanOrEqual(6900);
    expect(waited).toBeLessThan(8500);
    expect(ehr.stats.faulted).toBe(1);
  }, 30_000);
});
