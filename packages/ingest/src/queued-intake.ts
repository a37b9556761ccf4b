/**
 * Intakes for queued mode. `createQueuedIntake` decodes at the feed (so the sender learns at once when its bytes are
 * refused), stores the encoded Ecg in the payload store and adds the `ecg.infer` job; it resolves only once the job
 * is in Redis, so a feed acknowledges nothing that could still be lost. `createRawIntake` defers decoding to the
 * ingest worker (for bytes too big or too many to decode inline): it stores the raw bytes and adds an `ecg.ingest`
 * job. Both are idempotent: job id = ECG id (or the bytes' hash), so a resend adds nothing.
 */
import { createHash } from 'node:crypto';
import {
  DuplicateIdError,
  type Ecg,
  ecgJobId,
  encodeEcgPayload,
  type InferJobData,
  type IngestJobData,
  type PayloadStore,
  payloadKey,
  type RetryPolicy,
  TransientError,
} from '@ecgcad/ecg';
import { type Queue, RedisPayloadStore, stageJobOptions } from '@ecgcad/queue';
import { decodeEcg } from './decode.js';
import type { Intake, IntakeMeta, IntakeReceipt } from './feeds/intake.js';
import type { DecodeLimits } from './limits.js';

/** Options of {@link createQueuedIntake}. */
export interface QueuedIntakeOptions {
  /** Producer for `ecg.infer` (on a connection with bounded retries, so a request fails fast when Redis is away). */
  inferQueue: Queue<InferJobData>;
  payloads: PayloadStore;
  /** Decoder limits (defaults in limits.ts). */
  limits?: Partial<DecodeLimits>;
  /** Retry policy of the infer jobs. */
  retry?: Partial<RetryPolicy>;
}

/** Where a Redis call failed, as a TransientError (the sender retries; 0xA700 / HTTP 503). */
async function redisCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TransientError) throw err;
    throw new TransientError(`queue unavailable: could not ${what}`, { cause: err });
  }
}

/**
 * Stores a decoded Ecg and adds its `ecg.infer` job. A job already waiting, running or done makes this a duplicate
 * when its bytes are the same, and a DuplicateIdError (refused, kept) when another document took the id; a failed
 * job (the dead-letter set) is replaced, so a resend is a way to retry.
 */
export async function enqueueEcg(
  ecg: Ecg,
  options: Pick<QueuedIntakeOptions, 'inferQueue' | 'payloads' | 'retry'>,
): Promise<IntakeReceipt> {
  const jobId = ecgJobId(ecg.id);
  // The payload key names the document (id and bytes), so a concurrent document with the same id cannot
  // overwrite this one's waveform; whichever job BullMQ keeps, its payload is its own.
  const key = payloadKey('ecg', `${ecg.id}\n${ecg.source.sha256}`);
  const payload = encodeEcgPayload(ecg);
  const data: InferJobData = {
    ecgId: ecg.id,
    sha256: ecg.source.sha256,
    payloadKey: key,
    receivedAt: ecg.source.receivedAt,
  };
  const doc: Document = { ecg, key, payload, data, opts: { ...stageJobOptions(options.retry), jobId } };
  const { inferQueue, payloads } = options;
  if (payloads instanceof RedisPayloadStore) {
    const client = await redisCall('reach the queue', async () => inferQueue.getBackend().client);
    if (payloads.canPipelineWith(client, inferQueue.toKey(jobId), key)) {
      return enqueueInOnePipeline(doc, client as unknown as { pipeline(): Pipeline }, { ...options, payloads });
    }
  }
  // The job look-up and a write of the payload where none is go out together (one round trip, not two). The write
  // never touches a payload that is there (another delivery's job may own it); what it stored for nothing is
  // removed again in settle.
  const [existing, wrote] = await Promise.all([
    redisCall('look up the job', () => inferQueue.getJob(jobId)),
    payloads.putIfAbsent(key, payload),
  ]);
  return settle(doc, existing, wrote, options);
}

/** One ECG on its way in: its payload, where it goes, and the job that claims it. */
interface Document {
  ecg: Ecg;
  key: string;
  payload: Uint8Array;
  data: InferJobData;
  opts: JobsOptions & { jobId: string };
}

/**
 * The common case in one round trip, when the payload store shares the queue's connection: the payload's write
 * (replacing any copy when no job stands under the id, else only where none is), the add and the read of the job
 * that stands go out in one pipeline, which Redis runs in order on the connection, so the job is added only after
 * its payload is stored. A job that stood before (a resend, a failed job) is settled as the general path does.
 */
async function enqueueInOnePipeline(
  doc: Document,
  client: { pipeline(): Pipeline },
  options: Pick<QueuedIntakeOptions, 'inferQueue' | 'retry'> & { payloads: RedisPayloadStore },
): Promise<IntakeReceipt> {
  const { inferQueue, payloads } = options;
  const { ecg, key, payload, data, opts } = doc;
  const pipeline = client.pipeline();
  payloads.queueStoreUnlessJob(pipeline, inferQueue.toKey(opts.jobId), key, payload);
  const { results, job } = await redisCall('add the job', () => addAndReadBack(inferQueue, data, opts, pipeline));
  const [storeError, stored] = results[0] as PipelineResult;
  const [add, read] = results.slice(-2) as [PipelineResult, PipelineResult];
  const standing = readBack(add, read);
  // The job that stands is the one this add built: the same data, added in the same millisecond (a resend's job,
  // even one with the same receipt time, was added at another).
  const ours = standing.data === JSON.stringify(data) && standing.timestamp === String(job.timestamp);
  if (storeError) {
    // The write failed but Redis ran the add after it (a pipeline is not a transaction): a job of this document
    // must not stand without its payload, so the payload is written once more, or the job taken back.
    if (ours) {
      try {
        await payloads.put(key, payload);
        return { ecgId: ecg.id };
      } catch {
        await inferQueue.remove(opts.jobId).catch(() => {});
      }
    }
    throw new TransientError('payload store: could not store a payload in Redis', { cause: storeError });
  }
  const [jobBefore, written] = stored as [number, number];
  if (jobBefore === 0) {
    // No job stood, so the payload is stored; the job that stands now tells whether this document was taken.
    return taken(doc, standing.sha256, options);
  }
  if (ours) {
    // The job that stood was gone by the time the add ran, and the add took this document: its payload must be
    // this one's, whatever copy the write left in place.
    if (written !== 1) await payloads.put(key, payload);
    return { ecgId: ecg.id };
  }
  const existing = await redisCall('look up the job', () => inferQueue.getJob(opts.jobId));
  return settle(doc, existing, written === 1, options);
}

/**
 * The rest of an intake once the job that stood under the id is known (`existing`) and whether the payload was
 * written where none was (`wrote`): a duplicate, a refusal, or the add (replacing a failed job).
 */
async function settle(
  doc: Document,
  existing: Awaited<ReturnType<Queue<InferJobData>['getJob']>>,
  wrote: boolean,
  options: Pick<QueuedIntakeOptions, 'inferQueue' | 'payloads' | 'retry'>,
): Promise<IntakeReceipt> {
  const { ecg, key, payload, data, opts } = doc;
  if (existing) {
    const state = await redisCall('read the job state', () => existing.getState());
    if (state !== 'failed' && state !== 'unknown') {
      if (wrote) await options.payloads.delete(key);
      const earlier = (existing.data as Partial<InferJobData> | undefined)?.sha256;
      if (earlier && earlier !== ecg.source.sha256) throw new DuplicateIdError();
      return { ecgId: ecg.id, duplicate: true };
    }
    if (state === 'failed') await redisCall('replace a failed job', () => existing.remove());
  }
  // A copy left there (a failed job's, or a job's gone before its payload expired) is replaced, as any resend did.
  if (!wrote) await options.payloads.put(key, payload);
  // An add with a job id that exists is a no-op: when two first deliveries raced past the check above, the job
  // that stands tells which one was taken. The add and the read of the job that stands go out in one pipeline,
  // so the read runs right after the add (one round trip, not two).
  const { results } = await redisCall('add the job', async () => {
    const client = (await options.inferQueue.getBackend().client) as unknown as { pipeline(): Pipeline };
    return addAndReadBack(options.inferQueue, data, opts, client.pipeline());
  });
  const [add, read] = results.slice(-2) as [PipelineResult, PipelineResult];
  return taken(doc, readBack(add, read).sha256, options);
}

/** The receipt when the job that stands has `storedSha`: this document's, or a refusal (its payload removed). */
async function taken(
  doc: Document,
  storedSha: string | undefined,
  options: Pick<QueuedIntakeOptions, 'payloads'>,
): Promise<IntakeReceipt> {
  if (storedSha !== undefined && storedSha !== doc.ecg.source.sha256) {
    await options.payloads.delete(doc.key);
    throw new DuplicateIdError();
  }
  return { ecgId: doc.ecg.id };
}

/** Options of Queue.add. */
type JobsOptions = NonNullable<Parameters<Queue<InferJobData>['add']>[2]>;

/** What Queue.add builds a job with (a Queue's protected `Job` class: BullMQ's Job, or a subclass of it). */
type JobClass = new (
  queue: Queue<InferJobData>,
  name: string,
  data: InferJobData,
  opts: JobsOptions,
  id: string,
) => { timestamp: number; addJob(client: unknown): Promise<unknown> };

/** One command's result in a pipeline. */
type PipelineResult = [Error | null, unknown];

/** A BullMQ pipeline (ioredis ChainableCommander, as Queue.client's pipeline() gives it). */
interface Pipeline {
  eval(script: string, numKeys: number, ...args: (string | Buffer | number)[]): Pipeline;
  hmget(key: string, ...fields: string[]): Pipeline;
  exec(): Promise<PipelineResult[] | null>;
}

/**
 * Adds the `ecg.infer` job on `pipeline`, after what the caller queued on it, as Queue.add does (the queue's default
 * options under ours, BullMQ's own add script), then reads the `data` and `timestamp` of the job that stands under
 * its id: Redis runs them in order on one connection, so the read sees the add. Resolves with every command's
 * result (the last two are the add's and the read's) and the job the add built.
 */
async function addAndReadBack(
  queue: Queue<InferJobData>,
  data: InferJobData,
  opts: JobsOptions & { jobId: string },
  pipeline: Pipeline,
): Promise<{ results: PipelineResult[]; job: { timestamp: number } }> {
  const JobType = (queue as unknown as { Job: JobClass }).Job;
  const job = new JobType(queue, 'infer', data, { ...queue.defaultJobOptions, ...opts }, opts.jobId);
  // Job.addJob queues BullMQ's add script on the pipeline synchronously; its promise only reports the queuing.
  job.addJob(pipeline).catch(() => {});
  pipeline.hmget(queue.toKey(opts.jobId), 'data', 'timestamp');
  const results = await pipeline.exec();
  if (!results || results.length < 2) throw new Error('the add pipeline returned no results');
  return { results, job };
}

/** The job that stands after an add: its data and timestamp as stored, and the `sha256` in its data. */
interface Standing {
  data: string | undefined;
  timestamp: string | undefined;
  sha256: string | undefined;
}

/** The add's outcome and the job that stands after it (all undefined when none is there). Throws when the add failed. */
function readBack(add: PipelineResult, read: PipelineResult): Standing {
  const [addError, added] = add;
  const [readError, stored] = read;
  if (addError) throw new TransientError('queue unavailable: could not add the job', { cause: addError });
  // BullMQ's add script answers a negative code for a job it cannot add (e.g. a missing parent).
  if (typeof added === 'number' && added < 0) {
    throw new TransientError('queue unavailable: could not add the job', {
      cause: new Error(`BullMQ refused the job (code ${added})`),
    });
  }
  if (readError) throw new TransientError('queue unavailable: could not add the job', { cause: readError });
  const [data, timestamp] = Array.isArray(stored) ? (stored as unknown[]) : [];
  const standing: Standing = {
    data: typeof data === 'string' ? data : undefined,
    timestamp: typeof timestamp === 'string' ? timestamp : undefined,
    sha256: undefined,
  };
  if (standing.data === undefined) return standing;
  const sha256 = (JSON.parse(standing.data) as Partial<InferJobData> | null)?.sha256;
  return { ...standing, sha256: typeof sha256 === 'string' ? sha256 : undefined };
}

/** Intake that decodes inline and enqueues `ecg.infer`. Decoder errors pass through (the feed refuses the bytes). */
export function createQueuedIntake(options: QueuedIntakeOptions): Intake {
  return async (bytes: Uint8Array, meta: IntakeMeta): Promise<IntakeReceipt> => {
    const ecg = decodeEcg(bytes, { feed: meta.feed, receivedAt: meta.receivedAt }, options.limits);
    return enqueueEcg(ecg, options);
  };
}

/** Options of {@link createRawIntake}. */
export interface RawIntakeOptions {
  /** Producer for `ecg.ingest`. */
  ingestQueue: Queue<IngestJobData>;
  payloads: PayloadStore;
  retry?: Partial<RetryPolicy>;
}

/**
 * Intake that stores the raw bytes and enqueues `ecg.ingest`; the ingest worker decodes. The receipt's ECG id is
 * `sha256:<hex>` of the bytes (the real id is known only after decoding). Refusals then surface in the failed set
 * and the rejected store, not to the sender.
 */
export function createRawIntake(options: RawIntakeOptions): Intake {
  return async (bytes: Uint8Array, meta: IntakeMeta): Promise<IntakeReceipt> => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const ecgId = `sha256:${sha256}`;
    const jobId = ecgJobId(ecgId);
    const existing = await redisCall('look up the job', () => options.ingestQueue.getJob(jobId));
    if (existing) return { ecgId, duplicate: true };
    const key = payloadKey('raw', sha256);
    await options.payloads.put(key, bytes);
    const data: IngestJobData = {
      payloadKey: key,
      feed: meta.feed,
      receivedAt: meta.receivedAt,
      ...(meta.name === undefined ? {} : { name: meta.name }),
    };
    await redisCall('add the job', () =>
      options.ingestQueue.add('ingest', data, { ...stageJobOptions(options.retry), jobId }),
    );
    return { ecgId };
  };
}
