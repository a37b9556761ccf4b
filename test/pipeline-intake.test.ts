/**
 * Queued intake on real Redis: resends, and two documents that claim one ECG id (sequential and racing), with each
 * kind of payload store: in memory, in Redis on another connection (the look-up, the payload and the add in turn),
 * and in Redis on the queue's own connection (the payload, the add and the read-back in one pipeline).
 */
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
import { RedisPayloadStore, stageJobOptions } from '@ecgcad/queue';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';

const prefix = `{ecgcad-test-intake-${randomUUID().slice(0, 8)}}`;
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const other = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const inferQueue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix });

afterAll(async () => {
  await inferQueue.obliterate({ force: true });
  await inferQueue.close();
  const keys = await connection.keys(`${prefix}:payload:*`);
  if (keys.length > 0) await connection.del(...keys);
  connection.disconnect();
  other.disconnect();
});

/** A payload store of the kind under test, empty, and how many payloads it holds. */
interface StoreKind {
  name: string;
  open(): { payloads: MemoryPayloadStore | RedisPayloadStore; count(): Promise<number> };
}

const redisStore = (redis: Redis) => () => {
  const payloads = new RedisPayloadStore(redis, { prefix: `${prefix}:payload:${randomUUID()}:`, ttlS: 600 });
  return { payloads, count: async () => (await connection.keys(`${payloads.prefix}*`)).length };
};

const STORES: StoreKind[] = [
  {
    name: 'memory store',
    open: () => {
      const payloads = new MemoryPayloadStore();
      return { payloads, count: async () => payloads.size };
    },
  },
  { name: 'Redis store on another connection', open: redisStore(other) },
  { name: "Redis store on the queue's connection (one pipeline)", open: redisStore(connection) },
];

/** Two decoded documents with one id: the same waveform source id, other bytes (another seed). */
function twoDocuments(id: string) {
  const first = synthesizeEcg({ seed: 21 });
  const second = synthesizeEcg({ seed: 22 });
  return [
    { ...first, id, source: { ...first.source, sha256: 'a'.repeat(64) } },
    { ...second, id, source: { ...second.source, sha256: 'b'.repeat(64) } },
  ] as const;
}

describe.each(STORES)('queued intake (real Redis), $name', ({ open }) => {
  it('a resend of the same bytes is a duplicate; another document with the id is refused, not merged', async () => {
    const { payloads } = open();
    const [doc, other] = twoDocuments(`intake-seq-${randomUUID()}`);
    const waiting = (await inferQueue.getJobCounts('waiting')).waiting ?? 0;
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id });
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
    await expect(enqueueEcg(other, { inferQueue, payloads })).rejects.toBeInstanceOf(DuplicateIdError);
    expect(await inferQueue.getJobCounts('waiting')).toMatchObject({ waiting: waiting + 1 });
  });

  it('a resend or a refused document leaves the stored payloads as they were (nothing written for nothing)', async () => {
    const { payloads, count } = open();
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
    expect(await count()).toBe(1);
    // The job's payload already gone (the infer worker deletes it once handed over): a resend writes none back.
    await payloads.delete(key);
    expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
    expect(await count()).toBe(0);
  });

  it('two first deliveries racing: exactly one is taken, and its job reads its own waveform', async () => {
    for (let round = 0; round < 5; round++) {
      const { payloads, count } = open();
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
      // The refused document's payload is gone again.
      expect(await count()).toBe(1);
    }
  });

  it('adds the job Queue.add would add (name, data, the stage options under the queue defaults), read back in one go', async () => {
    const { payloads } = open();
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
  it('a resend replaces a failed job (the dead-letter set) with a waiting one that reads its payload', async () => {
    const { payloads, count } = open();
    const [doc] = twoDocuments(`intake-failed-${randomUUID()}`);
    const name = `infer-failed-${randomUUID().slice(0, 8)}`;
    const queue = new Queue<InferJobData>(name, { connection, prefix });
    try {
      expect(await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 1 } })).toEqual({ ecgId: doc.id });
      const worker = new Worker(
        name,
        async () => {
          throw new Error('model away');
        },
        { connection: connection.duplicate(), prefix },
      );
      const job = (await queue.getJob(ecgJobId(doc.id)))!;
      await expect.poll(() => job.getState(), { timeout: 10_000 }).toBe('failed');
      await worker.close();
      // The failed job's payload gone meanwhile: the resend brings its own.
      await payloads.delete(job.data.payloadKey);
      expect(await count()).toBe(0);
      expect(await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 1 } })).toEqual({ ecgId: doc.id });
      const again = (await queue.getJob(ecgJobId(doc.id)))!;
      expect(await again.getState()).toBe('waiting');
      expect(decodeEcgPayload((await payloads.get(again.data.payloadKey))!).leads.V2).toEqual(doc.leads.V2);
      expect(await count()).toBe(1);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

describe('RedisPayloadStore.canPipelineWith', () => {
  it("is true for the store's own connection (as BullMQ wraps it) only", async () => {
    const payloads = new RedisPayloadStore(connection, { prefix: `${prefix}:payload:` });
    const jobKey = inferQueue.toKey('ecg-1');
    expect(payloads.canPipelineWith(connection, jobKey, 'k')).toBe(true);
    expect(payloads.canPipelineWith(await inferQueue.getBackend().client, jobKey, 'k')).toBe(true);
    expect(payloads.canPipelineWith(other, jobKey, 'k')).toBe(false);
    expect(payloads.canPipelineWith(undefined, jobKey, 'k')).toBe(false);
  });
});

describe("queued intake on the queue's own connection (one pipeline)", () => {
  const open = () => new RedisPayloadStore(connection, { prefix: `${prefix}:payload:${randomUUID()}:`, ttlS: 600 });

  it('sends the payload in the pipeline of the add: no look-up, no write of its own', async () => {
    const payloads = open();
    const inPipeline = vi.spyOn(payloads, 'queueStoreUnlessJob');
    const apart = [vi.spyOn(payloads, 'putIfAbsent'), vi.spyOn(payloads, 'put'), vi.spyOn(inferQueue, 'getJob')];
    const [doc] = twoDocuments(`intake-one-${randomUUID()}`);
    try {
      expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id });
      expect(inPipeline).toHaveBeenCalledTimes(1);
      for (const spy of apart) expect(spy).not.toHaveBeenCalled();
      const job = await inferQueue.getJob(ecgJobId(doc.id));
      expect(decodeEcgPayload((await payloads.get(job!.data.payloadKey))!).leads.V5).toEqual(doc.leads.V5);
    } finally {
      for (const spy of [inPipeline, ...apart]) spy.mockRestore();
    }
  });

  it('a job that stood at the write but was gone at the add: the add takes the document, with its payload', async () => {
    const payloads = open();
    const [doc] = twoDocuments(`intake-gone-${randomUUID()}`);
    const name = `infer-gone-${randomUUID().slice(0, 8)}`;
    const queue = new Queue<InferJobData>(name, { connection, prefix });
    try {
      // A job of an earlier delivery of the same bytes, with its payload (under the same key).
      const earlier = { ...doc, source: { ...doc.source, receivedAt: '2020-01-01T00:00:00.000Z' } };
      await enqueueEcg(earlier, { inferQueue: queue, payloads, retry: { attempts: 1 } });
      const jobId = ecgJobId(doc.id);
      // It goes away (say, removed by an operator) right between the payload's write and the add.
      const store = payloads.queueStoreUnlessJob.bind(payloads);
      const spy = vi.spyOn(payloads, 'queueStoreUnlessJob').mockImplementation((pipeline, jobKey, key, bytes) => {
        store(pipeline, jobKey, key, bytes);
        const raw = pipeline as unknown as {
          del(key: string): unknown;
          lrem(key: string, n: number, v: string): unknown;
        };
        raw.lrem(queue.toKey('wait'), 0, jobId);
        raw.del(jobKey);
      });
      // The pipeline has two more commands: the add and the read-back still come last.
      expect(await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 1 } })).toEqual({ ecgId: doc.id });
      spy.mockRestore();
      const job = (await queue.getJob(jobId))!;
      expect(job.data.receivedAt).toBe(doc.source.receivedAt);
      expect(await job.getState()).toBe('waiting');
      expect(decodeEcgPayload((await payloads.get(job.data.payloadKey))!).source.receivedAt).toBe(
        doc.source.receivedAt,
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
