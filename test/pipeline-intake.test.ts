/** Queued intake on real Redis: resends, and two documents that claim one ECG id (sequential and racing). */
import { createHash, randomUUID } from 'node:crypto';
import {
  DuplicateIdError,
  decodeEcgPayload,
  EcgHandoff,
  ecgJobId,
  type InferJobData,
  type IngestJobData,
  MalformedInputError,
  MemoryPayloadStore,
  PAYLOAD_MAGIC,
  payloadKey,
  QUEUE_NAMES,
  synthesizeEcg,
  TransientError,
} from '@ecgcad/ecg';
import { decodeEcg, readPart10Meta, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { createQueuedIntake, createRawIntake, enqueueEcg } from '@ecgcad/ingest/queued-intake';
import { RedisPayloadStore, stageJobOptions } from '@ecgcad/queue';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix } from './pipeline-support.js';

const prefix = `{ecgcad-test-intake-${randomUUID().slice(0, 8)}}`;
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const inferQueue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix });

afterAll(async () => {
  await inferQueue.close();
  connection.disconnect();
  // Every key under the prefix, the queue's and the payloads' (the machine's Redis is shared).
  await dropPrefix(prefix);
});

/** Payloads in Redis on the queue's connection, as the engine's producer has them: the write goes out with the add. */
function redisPayloads(): RedisPayloadStore {
  return new RedisPayloadStore(connection, { prefix: `${prefix}:payload:`, ttlS: 600 });
}

/** Runs the waiting `ecg.infer` job of `id` on `queue` into the failed set (a processor that throws). */
async function failJob(queue: Queue<InferJobData>, id: string): Promise<void> {
  const workerConnection = connection.duplicate();
  const worker = new Worker<InferJobData>(
    QUEUE_NAMES.infer,
    async () => {
      throw new Error('infer failed');
    },
    { connection: workerConnection, prefix: queue.opts.prefix! },
  );
  try {
    await expect
      .poll(() => queue.getJob(ecgJobId(id)).then((job) => job?.getState()), { timeout: 5000 })
      .toBe('failed');
  } finally {
    await worker.close();
    workerConnection.disconnect();
  }
}

/** The payload key enqueueEcg stores a document under. */
function payloadKeyOf(ecg: { id: string; source: { sha256: string } }): string {
  return payloadKey('ecg', `${ecg.id}\n${ecg.source.sha256}`);
}

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

  it('stores a DICOM object as received (its feed in the job) and encodes an aECG or a DICOM preamble that reads as the codec', async () => {
    const payloads = new MemoryPayloadStore();
    const intake = createQueuedIntake({ inferQueue, payloads });
    const meta = { feed: 'cstore', receivedAt: '2026-12-04T10:00:00.000Z' };
    const stored = async (ecgId: string) => {
      const job = await inferQueue.getJob(ecgJobId(ecgId));
      return { data: job!.data, bytes: (await payloads.get(job!.data.payloadKey))! };
    };
    const dicom = writeDicomEcg({ ...synthesizeEcg({ seed: 61 }), id: `2.25.${Date.now()}1` });
    const taken = await intake(dicom, meta);
    const kept = await stored(taken.ecgId);
    expect(Buffer.from(kept.bytes).equals(Buffer.from(dicom))).toBe(true);
    expect(kept.data.feed).toBe('cstore');

    const aecg = writeAecg({ ...synthesizeEcg({ seed: 62 }), id: `intake-aecg-${randomUUID()}` });
    const encoded = await stored((await intake(aecg, { ...meta, feed: 'http' })).ecgId);
    expect(decodeEcgPayload(encoded.bytes).source.feed).toBe('http');
    expect(encoded.data.feed).toBeUndefined();

    // A preamble is free text; one that begins with the codec's magic would be read as an encoded Ecg.
    const odd = writeDicomEcg({ ...synthesizeEcg({ seed: 63 }), id: `2.25.${Date.now()}3` });
    odd.set(new TextEncoder().encode(PAYLOAD_MAGIC), 0);
    const oddKept = await stored((await intake(odd, meta)).ecgId);
    expect(decodeEcgPayload(oddKept.bytes).leads.II?.length).toBeGreaterThan(0);
    expect(oddKept.data.feed).toBeUndefined();
  });

  it("takes the feed's hash of what the sender sent: two wrappings of one data set are one document", async () => {
    const payloads = new MemoryPayloadStore();
    const intake = createQueuedIntake({ inferQueue, payloads });
    const first = writeDicomEcg({ ...synthesizeEcg({ seed: 65 }), id: `2.25.${Date.now()}5` });
    // The same data set in another wrapping (C-STORE: the File Meta the feed adds names the calling AE title; here
    // the preamble, which is free text, differs).
    const second = first.slice();
    second.set(new TextEncoder().encode('forwarded'), 0);
    // The feed's hash: of the data set alone, which both wrappings share.
    const sha256 = createHash('sha256')
      .update(first.subarray(readPart10Meta(first).datasetStart))
      .digest('hex');
    const meta = { feed: 'cstore', receivedAt: '2026-12-04T10:00:00.000Z', sha256 };
    const taken = await intake(first, meta);
    expect(await intake(second, meta)).toEqual({ ecgId: taken.ecgId, duplicate: true });
    expect((await inferQueue.getJob(ecgJobId(taken.ecgId)))?.data.sha256).toBe(sha256);
    // Without the feed's hash the bytes' own is the document's: the other wrapping is then another document.
    const unwrapped = { feed: 'http', receivedAt: meta.receivedAt };
    await expect(intake(second, unwrapped)).rejects.toBeInstanceOf(DuplicateIdError);

    // The raw intake keys by it too, and hands it to the ingest worker with the job.
    const ingestQueue = new Queue<IngestJobData>(QUEUE_NAMES.ingest, { connection, prefix });
    try {
      const raw = await createRawIntake({ ingestQueue, payloads })(second, meta);
      expect(raw.ecgId).toBe(`sha256:${sha256}`);
      expect((await ingestQueue.getJob(ecgJobId(raw.ecgId)))?.data).toMatchObject({ sha256, feed: 'cstore' });
    } finally {
      await ingestQueue.obliterate({ force: true });
      await ingestQueue.close();
    }
  });

  it('a DICOM object it refuses leaves no payload and no job (its write went out before the check)', async () => {
    const payloads = redisPayloads();
    const intake = createQueuedIntake({ inferQueue, payloads });
    const whole = writeDicomEcg({ ...synthesizeEcg({ seed: 64 }), id: `2.25.${Date.now()}4` });
    const truncated = whole.subarray(0, whole.length - 1000); // the waveform data shorter than its header says
    const refused = await intake(truncated, { feed: 'cstore', receivedAt: '2026-12-04T10:00:00.000Z' }).catch(
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(MalformedInputError);
    const sha256 = createHash('sha256').update(truncated).digest('hex');
    expect(await payloads.get(payloadKey('ecg', `source\n${sha256}`))).toBeUndefined();
  });

  it('with a handoff, decodes a DICOM object and leaves its ECG for the infer stage; nothing for a resend or a refusal', async () => {
    const payloads = redisPayloads();
    const handoff = new EcgHandoff();
    const intake = createQueuedIntake({ inferQueue, payloads, handoff });
    const meta = { feed: 'cstore', receivedAt: '2026-12-05T08:00:00.000Z' };
    const bytes = writeDicomEcg({ ...synthesizeEcg({ seed: 66 }), id: `2.25.${Date.now()}6` });
    const taken = await intake(bytes, meta);
    const job = await inferQueue.getJob(ecgJobId(taken.ecgId));
    const key = job!.data.payloadKey;
    // Stored as without a handoff; the decode is what the infer stage's own decode of the payload gives.
    expect(Buffer.from((await payloads.get(key))!).equals(Buffer.from(bytes))).toBe(true);
    const left = handoff.take(key);
    expect(left).toEqual(decodeEcg(bytes, { ...meta, sha256: job!.data.sha256 }));
    handoff.put(key, left!);
    // A resend is a duplicate: it leaves nothing (the job's entry, which the resend's replaced, is taken back).
    expect(await intake(bytes, { ...meta, receivedAt: '2026-12-05T08:00:05.000Z' })).toEqual({
      ecgId: taken.ecgId,
      duplicate: true,
    });
    expect(handoff.size).toBe(0);
    // A refused object leaves nothing either.
    const truncated = bytes.subarray(0, bytes.length - 1000);
    await expect(intake(truncated, meta)).rejects.toBeInstanceOf(MalformedInputError);
    expect(handoff.size).toBe(0);
  });

  describe('with the payload store on the queue connection (one pipeline for a new ECG)', () => {
    it('stores the payload with its TTL; a resend is a duplicate that keeps it; another document keeps nothing', async () => {
      const payloads = redisPayloads();
      const [doc, other] = twoDocuments(`intake-redis-${randomUUID()}`);
      expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id });
      const job = await inferQueue.getJob(ecgJobId(doc.id));
      const stored = await payloads.get(job!.data.payloadKey);
      expect(decodeEcgPayload(stored!).leads.II).toEqual(doc.leads.II);
      expect(await connection.ttl(`${payloads.prefix}${job!.data.payloadKey}`)).toBeGreaterThan(500);

      const resend = { ...doc, source: { ...doc.source, receivedAt: '2030-01-01T00:00:00.000Z' } };
      expect(await enqueueEcg(resend, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
      expect(await payloads.get(job!.data.payloadKey)).toEqual(stored);
      await expect(enqueueEcg(other, { inferQueue, payloads })).rejects.toBeInstanceOf(DuplicateIdError);
      expect(await payloads.get(payloadKeyOf(other))).toBeUndefined();
      expect(await job!.getState()).toBe('waiting');
    });

    it('a duplicate whose payload is gone (handed over or expired) writes none back', async () => {
      const payloads = redisPayloads();
      const [doc] = twoDocuments(`intake-gone-${randomUUID()}`);
      await enqueueEcg(doc, { inferQueue, payloads });
      const job = await inferQueue.getJob(ecgJobId(doc.id));
      await payloads.delete(job!.data.payloadKey);
      expect(await enqueueEcg(doc, { inferQueue, payloads })).toEqual({ ecgId: doc.id, duplicate: true });
      expect(await payloads.get(job!.data.payloadKey)).toBeUndefined();
    });

    it('a copy left without a job is replaced by the new delivery (as any resend did)', async () => {
      const payloads = redisPayloads();
      const [doc] = twoDocuments(`intake-left-${randomUUID()}`);
      await enqueueEcg(doc, { inferQueue, payloads });
      const job = await inferQueue.getJob(ecgJobId(doc.id));
      const key = job!.data.payloadKey;
      await job!.remove();
      const resend = { ...doc, source: { ...doc.source, receivedAt: '2030-01-01T00:00:00.000Z' } };
      expect(await enqueueEcg(resend, { inferQueue, payloads })).toEqual({ ecgId: doc.id });
      expect(decodeEcgPayload((await payloads.get(key))!).source.receivedAt).toBe('2030-01-01T00:00:00.000Z');
      expect((await inferQueue.getJob(ecgJobId(doc.id)))!.data.receivedAt).toBe('2030-01-01T00:00:00.000Z');
    });

    it('a failed job is replaced: the resend retries, with its own payload; so is another document with the id', async () => {
      // A queue of its own: the worker that fails the job takes every waiting job of its queue.
      const queue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix: `${prefix}-failed` });
      const payloads = redisPayloads();
      const [doc, other] = twoDocuments(`intake-failed-${randomUUID()}`);
      try {
        await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 1 } });
        await failJob(queue, doc.id);
        const resend = { ...doc, source: { ...doc.source, receivedAt: '2030-01-01T00:00:00.000Z' } };
        expect(await enqueueEcg(resend, { inferQueue: queue, payloads })).toEqual({ ecgId: doc.id });
        const job = await queue.getJob(ecgJobId(doc.id));
        expect(await job!.getState()).toBe('waiting');
        expect(job!.data.receivedAt).toBe('2030-01-01T00:00:00.000Z');
        expect(decodeEcgPayload((await payloads.get(job!.data.payloadKey))!).source.receivedAt).toBe(
          '2030-01-01T00:00:00.000Z',
        );

        await job!.remove();
        await enqueueEcg(doc, { inferQueue: queue, payloads, retry: { attempts: 1 } });
        await failJob(queue, doc.id);
        expect(await enqueueEcg(other, { inferQueue: queue, payloads })).toEqual({ ecgId: doc.id });
        const replaced = await queue.getJob(ecgJobId(doc.id));
        expect(replaced!.data.sha256).toBe(other.source.sha256);
        expect(decodeEcgPayload((await payloads.get(replaced!.data.payloadKey))!).leads.II).toEqual(other.leads.II);
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
      }
    });

    it('two first deliveries of different documents racing: one is taken with its own waveform, the other keeps nothing', async () => {
      for (let round = 0; round < 5; round++) {
        const payloads = redisPayloads();
        const [a, b] = twoDocuments(`intake-redis-race-${randomUUID()}`);
        const results = await Promise.allSettled([
          enqueueEcg(a, { inferQueue, payloads }),
          enqueueEcg(b, { inferQueue, payloads }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const refused = results.filter((r) => r.status === 'rejected');
        expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateIdError);
        const job = await inferQueue.getJob(ecgJobId(a.id));
        const winner = job!.data.sha256 === a.source.sha256 ? a : b;
        expect(decodeEcgPayload((await payloads.get(job!.data.payloadKey))!).leads.II).toEqual(winner.leads.II);
        const loser = winner === a ? b : a;
        expect(job!.data.payloadKey).toBe(payloadKeyOf(winner));
        expect(await payloads.get(payloadKeyOf(loser))).toBeUndefined();
      }
    });
  });
});

describe('queued intake when Redis refuses the payload (real Redis, an ACL user without write access to payloads)', () => {
  it('answers a TransientError and leaves no job without its payload (the add it sent is taken back)', async () => {
    const user = `ecgcad-test-${randomUUID().slice(0, 8)}`;
    const admin = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    // Reads everywhere, writes only to the queue's keys (one pattern must grant both for a script's keys): the
    // payload's SET is refused (NOPERM), the add is not.
    await admin.acl('SETUSER', user, 'on', 'nopass', '%R~*', `~${prefix}:${QUEUE_NAMES.infer}:*`, '+@all', '&*');
    const limited = new Redis('redis://127.0.0.1:6379', { username: user, password: 'x', maxRetriesPerRequest: null });
    const queue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection: limited, prefix });
    try {
      const payloads = new RedisPayloadStore(limited, { prefix: `${prefix}:payload:`, ttlS: 600 });
      const [doc] = twoDocuments(`intake-noperm-${randomUUID()}`);
      const refused = await enqueueEcg(doc, { inferQueue: queue, payloads }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(TransientError);
      expect(String((refused as Error).cause)).toMatch(/NOPERM/);
      expect(await inferQueue.getJob(ecgJobId(doc.id))).toBeUndefined();
      expect(await connection.exists(`${prefix}:payload:${payloadKeyOf(doc)}`)).toBe(0);
      // With the payload writable again, the resend is taken.
      expect(await enqueueEcg(doc, { inferQueue, payloads: redisPayloads() })).toEqual({ ecgId: doc.id });
    } finally {
      await queue.close();
      limited.disconnect();
      await admin.acl('DELUSER', user);
      admin.disconnect();
    }
  });
});
