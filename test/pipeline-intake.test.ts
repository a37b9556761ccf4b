/** Queued intake on real Redis: resends, and two documents that claim one ECG id (sequential and racing). */
import { randomUUID } from 'node:crypto';
import {
  DuplicateIdError,
  decodeEcgPayload,
  ecgJobId,
  type InferJobData,
  MemoryPayloadStore,
  QUEUE_NAMES,
  synthesizeEcg,
} from '@ecgcad/ecg';
import { enqueueEcg } from '@ecgcad/ingest/queued-intake';
import { stageJobOptions } from '@ecgcad/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const prefix = `{ecgcad-test-intake-${randomUUID().slice(0, 8)}}`;
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const inferQueue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix });

afterAll(async () => {
  await inferQueue.obliterate({ force: true });
  await inferQueue.close();
  connection.disconnect();
});

/** Two decoded documents with one id: the same waveform source id, other bytes (another seed). */
function twoDocuments(id: string) {
  const first = synthesizeEcg({ seed: 21 });
  const second = synthesizeEcg({ seed: 22 });
  return [
    { ...first, id, source: { ...first.source, sha256: 'a'.repeat(64) } },
    { ...second, id, source: { ...second.source, sha256: 'b'.repeat(64) } },
  ] as const;
}

describe('queued intake (real Redis)', () => {
  it('a resend of the same bytes is a duplicate; another document with the id is refused, not merged', async () => {
    const payloads = new MemoryPayloadStore();
    const [doc, other] = twoDocuments(`intake-seq-${randomUUID()}`);
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id });
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
    await expect(enqueueEcg(other, { inferQueue, payloads })).rejects.toBeInstanceOf(DuplicateIdError);
    expect(await inferQueue.getJobCounts('waiting')).toMatchObject({ waiting: 1 });
  });

  it('a resend or a refused document leaves the stored payloads as they were (nothing written for nothing)', async () => {
    const payloads = new MemoryPayloadStore();
    const [doc, other] = twoDocuments(`intake-payload-${randomUUID()}`);
    await enqueueEcg(doc, { inferQueue, payloads });
    const job = (await inferQueue.getJobs(['waiting'])).find((j) => j.data.ecgId === doc.id);
    const key = job!.data.payloadKey;
    const first = await payloads.get(key);
    // The resend (another receipt time, so other payload bytes) must not replace the waiting job's payload.
    const resend = { ...doc, source: { ...doc.source, receivedAt: '2030-01-01T00:00:00.000Z' } };
    expect(await enqueueEcg(resend, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
    expect(await payloads.get(key)).toEqual(first);
    await expect(enqueueEcg(other, { inferQueue, payloads })).rejects.toBeInstanceOf(DuplicateIdError);
    expect(payloads.size).toBe(1);
    // The job's payload already gone (the infer worker deletes it once handed over): a resend writes none back.
    await payloads.delete(key);
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
    expect(payloads.size).toBe(0);
  });

  it('two first deliveries racing: exactly one is taken, and its job reads its own waveform', async () => {
    for (let round = 0; round < 5; round++) {
      const payloads = new MemoryPayloadStore();
      const [a, b] = twoDocuments(`intake-race-${randomUUID()}`);
      const results = await Promise.allSettled([
        enqueueEcg(a, { inferQueue, payloads }),
        enqueueEcg(b, { inferQueue, payloads }),
      ]);
      const taken = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(taken).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateIdError);

      const jobs = await inferQueue.getJobs(['waiting']);
      const job = jobs.find((j) => j.data.ecgId === a.id);
      const winner = job?.data.sha256 === a.source.sha256 ? a : b;
      const stored = await payloads.get(job!.data.payloadKey);
      expect(decodeEcgPayload(stored!).leads.II).toEqual(winner.leads.II);
    }
  });

  it('adds the job Queue.add would add (name, data, the stage options under the queue defaults), read back in one go', async () => {
    const payloads = new MemoryPayloadStore();
    const [doc] = twoDocuments(`intake-add-${randomUUID()}`);
    const queue = new Queue<InferJobData>(QUEUE_NAMES.infer, {
      connection,
      prefix,
      defaultJobOptions: { priority: 0, attempts: 99, removeOnComplete: true },
    });
    try {
      expect(await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 4 } })).toEqual({ ecgId: doc.id });
      const job = await queue.getJob(ecgJobId(doc.id));
      const reference = await queue.add('infer', job!.data, {
        ...stageJobOptions({ attempts: 4 }),
        jobId: `${ecgJobId(doc.id)}-reference`,
      });
      const stored = await queue.getJob(reference.id!);
      expect(job!.name).toBe('infer');
      expect(job!.data).toEqual({
        ecgId: doc.id,
        sha256: doc.source.sha256,
        payloadKey: job!.data.payloadKey,
        receivedAt: doc.source.receivedAt,
      });
      expect(job!.opts).toEqual({ ...stored!.opts, jobId: ecgJobId(doc.id) });
      expect(job!.opts).toMatchObject({ attempts: 4, removeOnComplete: { age: 86_400 } });
      expect(await job!.getState()).toBe('waiting');
      await stored!.remove();
    } finally {
      await queue.close();
    }
  });
});
