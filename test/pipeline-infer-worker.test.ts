/** The infer stage's BullMQ worker on real Redis: claim check, write job ids, payload freeing, dead-lettering. */
import { randomUUID } from 'node:crypto';
import {
  encodeEcgPayload,
  type InferJobData,
  MemoryPayloadStore,
  payloadKey,
  QUEUE_NAMES,
  type SourceMeta,
  type StageEvent,
  synthesizeEcg,
  type WriteJobData,
  writeJobId,
} from '@ecgcad/ecg';
import { buildModelInMemory, createSession, Predictor } from '@ecgcad/infer';
import { startInferWorker } from '@ecgcad/infer/worker';
import { decodeEcg, writeDicomEcg } from '@ecgcad/ingest';
import { stageJobOptions } from '@ecgcad/queue';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Real Redis on 127.0.0.1:6379, a prefix of its own, removed afterwards.
const prefix = `{ecgcad-test-infer-worker-${randomUUID().slice(0, 8)}}`;
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const inferQueue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix });
const writeQueue = new Queue<WriteJobData>(QUEUE_NAMES.write, { connection, prefix });
const payloads = new MemoryPayloadStore();
const events: StageEvent[] = [];
/** What the worker's source decoder was asked to decode (the engine passes @ecgcad/ingest's decodeEcg). */
const sourceDecodes: SourceMeta[] = [];
let predictor: Predictor;
let worker: ReturnType<typeof startInferWorker>;
let queueEvents: QueueEvents;

beforeAll(async () => {
  const { model } = buildModelInMemory();
  predictor = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), { batching: { maxBatch: 4 } });
  worker = startInferWorker({
    connection,
    predictor,
    payloads,
    writeQueue,
    prefix,
    concurrency: 4,
    onEvent: (e) => events.push(e),
    decodeSource: (bytes, meta) => {
      sourceDecodes.push(meta);
      return decodeEcg(bytes, meta);
    },
  });
  queueEvents = new QueueEvents(QUEUE_NAMES.infer, { connection: connection.duplicate(), prefix });
  await queueEvents.waitUntilReady();
});

afterAll(async () => {
  await worker.close();
  await queueEvents.close();
  await predictor.close();
  await inferQueue.obliterate({ force: true });
  await writeQueue.obliterate({ force: true });
  await inferQueue.close();
  await writeQueue.close();
  connection.disconnect();
});

describe('infer worker (real Redis)', () => {
  it('scores a stored ECG, adds one write job per ECG and model version, and frees the payload', async () => {
    const ecg = { ...synthesizeEcg({ seed: 5 }), id: 'worker-test-1' };
    const key = payloadKey('ecg', ecg.id);
    await payloads.put(key, encodeEcgPayload(ecg));
    const job = await inferQueue.add(
      'infer',
      { ecgId: ecg.id, payloadKey: key, receivedAt: ecg.source.receivedAt },
      {
        ...stageJobOptions(),
        jobId: ecg.id,
      },
    );
    const result = await job.waitUntilFinished(queueEvents, 20_000);
    const writeId = writeJobId(ecg.id, predictor.model.ref);
    expect(result).toEqual({ status: 'scored', writeJobId: writeId });
    const writeJob = await writeQueue.getJob(writeId);
    expect(writeJob?.data.prediction).toMatchObject({ status: 'scored', ecg: { id: ecg.id } });
    expect(await payloads.get(key)).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ stage: 'infer', outcome: 'done', detail: 'scored' }));

    // A re-run after the payload was freed (a lost completion) finds the write job and does not fail.
    await job.retry('completed');
    const again = await job.waitUntilFinished(queueEvents, 20_000);
    expect(again).toEqual({ status: 'handed-off-earlier', writeJobId: writeId });
    expect(await writeQueue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it("decodes a payload that holds the DICOM bytes as received, under the job's feed, and scores it as their Ecg", async () => {
    const bytes = writeDicomEcg({ ...synthesizeEcg({ seed: 6 }), id: 'worker-test-dicom' });
    const receivedAt = '2026-12-04T10:00:00.000Z';
    const ecg = decodeEcg(bytes, { feed: 'stow', receivedAt });
    const key = payloadKey('ecg', ecg.id);
    await payloads.put(key, bytes);
    const data = { ecgId: ecg.id, sha256: ecg.source.sha256, payloadKey: key, receivedAt, feed: 'stow' };
    const job = await inferQueue.add('infer', data, { ...stageJobOptions(), jobId: ecg.id });
    const result = await job.waitUntilFinished(queueEvents, 20_000);
    expect(result).toMatchObject({ status: 'scored' });
    expect(sourceDecodes).toContainEqual({ feed: 'stow', receivedAt, sha256: ecg.source.sha256 });
    const written = (await writeQueue.getJob(writeJobId(ecg.id, predictor.model.ref)))?.data.prediction;
    const expected = await predictor.predict(ecg);
    expect(written?.ecg).toEqual(expected.ecg);
    expect(written?.status === 'scored' && written.vessels).toEqual(expected.status === 'scored' && expected.vessels);
  });

  it('a job whose payload is gone fails at once (no retries) with a patient-free reason', async () => {
    const job = await inferQueue.add(
      'infer',
      {
        ecgId: 'worker-test-missing',
        payloadKey: payloadKey('ecg', 'nothing here'),
        receivedAt: new Date().toISOString(),
      },
      { ...stageJobOptions({ attempts: 5 }), jobId: 'worker-test-missing' },
    );
    await expect(job.waitUntilFinished(queueEvents, 20_000)).rejects.toThrow(/PERMANENT: .*payload is missing/);
    const failed = await inferQueue.getJob('worker-test-missing');
    expect(failed?.attemptsMade).toBe(1);
    expect(await failed?.getState()).toBe('failed');
  });

  it('a job with malformed data fails at once (no retries), naming the bad fields', async () => {
    const job = await inferQueue.add('infer', { ecgId: 42 } as unknown as InferJobData, {
      ...stageJobOptions({ attempts: 5 }),
      jobId: 'worker-test-malformed',
    });
    await expect(job.waitUntilFinished(queueEvents, 20_000)).rejects.toThrow(
      /PERMANENT: malformed infer job data: ecgId is missing; payloadKey is missing; receivedAt is missing/,
    );
    const failed = await inferQueue.getJob('worker-test-malformed');
    expect(failed?.attemptsMade).toBe(1);
    expect(events).toContainEqual(expect.objectContaining({ stage: 'infer', outcome: 'failed', ecgId: 'unknown' }));
  });
});
