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
import { type Queue, stageJobOptions } from '@ecgcad/queue';
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
  // The job look-up and a write of the payload where none is go out together (one round trip, not two). The write
  // never touches a payload that is there (another delivery's job may own it); what it stored for nothing is
  // removed again below.
  const [existing, wrote] = await Promise.all([
    redisCall('look up the job', () => options.inferQueue.getJob(jobId)),
    options.payloads.putIfAbsent(key, payload),
  ]);
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
  const data: InferJobData = {
    ecgId: ecg.id,
    sha256: ecg.source.sha256,
    payloadKey: key,
    receivedAt: ecg.source.receivedAt,
  };
  // An add with a job id that exists is a no-op: when two first deliveries raced past the check above, the job
  // that stands tells which one was taken. The add and the read of the job that stands go out in one pipeline,
  // so the read runs right after the add (one round trip, not two).
  const storedSha = await redisCall('add the job', () =>
    addAndReadBack(options.inferQueue, data, { ...stageJobOptions(options.retry), jobId }),
  );
  if (storedSha !== undefined && storedSha !== ecg.source.sha256) {
    await options.payloads.delete(key);
    throw new DuplicateIdError();
  }
  return { ecgId: ecg.id };
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
) => { addJob(client: unknown): Promise<unknown> };

/** A BullMQ pipeline (ioredis ChainableCommander, as Queue.client's pipeline() gives it). */
interface Pipeline {
  hget(key: string, field: string): Pipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/**
 * Adds the `ecg.infer` job as Queue.add does (the queue's default options under ours, BullMQ's own add script) and
 * reads the `sha256` of the job that stands under its id, both in one pipeline: Redis runs them in order on one
 * connection, so the read sees the add. Returns undefined when no job (or no sha256) is there.
 */
async function addAndReadBack(
  queue: Queue<InferJobData>,
  data: InferJobData,
  opts: JobsOptions & { jobId: string },
): Promise<string | undefined> {
  const client = (await queue.getBackend().client) as unknown as { pipeline(): Pipeline };
  const pipeline = client.pipeline();
  const JobType = (queue as unknown as { Job: JobClass }).Job;
  const job = new JobType(queue, 'infer', data, { ...queue.defaultJobOptions, ...opts }, opts.jobId);
  // Job.addJob queues BullMQ's add script on the pipeline synchronously; its promise only reports the queuing.
  job.addJob(pipeline).catch(() => {});
  pipeline.hget(queue.toKey(opts.jobId), 'data');
  const results = await pipeline.exec();
  if (results?.length !== 2) throw new Error('the add pipeline returned no results');
  const [[addError, added], [readError, stored]] = results as [[Error | null, unknown], [Error | null, unknown]];
  if (addError) throw addError;
  // BullMQ's add script answers a negative code for a job it cannot add (e.g. a missing parent).
  if (typeof added === 'number' && added < 0) throw new Error(`BullMQ refused the job (code ${added})`);
  if (readError) throw readError;
  if (typeof stored !== 'string') return undefined;
  const sha256 = (JSON.parse(stored) as Partial<InferJobData> | null)?.sha256;
  return typeof sha256 === 'string' ? sha256 : undefined;
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
