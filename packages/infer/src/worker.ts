/**
 * The infer stage as a BullMQ worker: `ecg.infer` job {ecgId, payloadKey} -> payload store -> Predictor ->
 * `ecg.write` job {prediction} with job id = ECG id + model version (a re-run adds nothing twice).
 * Transient faults (Redis, batcher) are retried by BullMQ with backoff; a permanent one (payload gone, a record
 * the codec refuses, a model fault) becomes an UnrecoverableError, so the job goes straight to the failed set with
 * its reason.
 */
import {
  decodeEcgPayload,
  failureReason,
  type InferJobData,
  isPermanentFailure,
  type PayloadStore,
  PermanentError,
  QUEUE_NAMES,
  QUEUE_PREFIX,
  type StageEventListener,
  stageJobOptions,
  type WriteJobData,
  writeJobId,
} from '@ecgcad/ecg';
import { type ConnectionOptions, type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Predictor } from './predictor.js';

/** What an `ecg.infer` job returns (kept with the completed job; read by the status endpoint). */
export interface InferJobResult {
  status: 'scored' | 'not-analysable' | 'handed-off-earlier';
  /** The `ecg.write` job id. */
  writeJobId: string;
}

/** Options of {@link startInferWorker}. */
export interface InferWorkerOptions {
  /** Redis connection for the worker (an ioredis instance with `maxRetriesPerRequest: null`, or options). */
  connection: ConnectionOptions;
  predictor: Predictor;
  payloads: PayloadStore;
  /** Producer for `ecg.write`. */
  writeQueue: Queue<WriteJobData>;
  /** Queue key prefix. Default QUEUE_PREFIX (`{ecgcad}`). */
  prefix?: string;
  /**
   * Jobs in flight at once. Default 2 x the batcher's largest batch (32), so the dynamic batcher sees full batches
   * while the previous one runs.
   */
  concurrency?: number;
  /** Delete the payload once the write job is in Redis (frees Redis memory early). Default true. */
  deletePayloads?: boolean;
  /** Retry policy of the write jobs this worker adds. */
  writeRetry?: Parameters<typeof stageJobOptions>[0];
  /** Stalled-job check period. Default 30 000 ms (BullMQ's). */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails. Default 2. */
  maxStalledCount?: number;
  /** How long a job's lock lasts without renewal; a dead worker's jobs are re-run after it. Default 30 000 ms. */
  lockDurationMs?: number;
  onEvent?: StageEventListener;
}

/** Starts the `ecg.infer` worker. Close it with `worker.close()` (waits for active jobs). */
export function startInferWorker(options: InferWorkerOptions): Worker<InferJobData, InferJobResult> {
  const deletePayloads = options.deletePayloads ?? true;
  const writeOptions = stageJobOptions(options.writeRetry);
  const emit: StageEventListener = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A metrics hook must not change a job's fate.
    }
  };

  const processor = async (job: Job<InferJobData>): Promise<InferJobResult> => {
    const started = performance.now();
    const { ecgId, payloadKey } = job.data;
    const model = options.predictor.model.ref;
    const writeId = writeJobId(ecgId, model);
    try {
      const bytes = await options.payloads.get(payloadKey);
      if (bytes === undefined) {
        // A previous attempt may have handed over and deleted the payload before its completion was recorded.
        if (await options.writeQueue.getJob(writeId)) {
          emit({
            stage: 'infer',
            outcome: 'done',
            ecgId,
            ms: performance.now() - started,
            detail: 'handed-off-earlier',
          });
          return { status: 'handed-off-earlier', writeJobId: writeId };
        }
        throw new PermanentError('the ECG payload is missing or expired from the payload store');
      }
      const ecg = decodeEcgPayload(bytes);
      const prediction = await options.predictor.predict(ecg);
      await options.writeQueue.add('write', { prediction }, { ...writeOptions, jobId: writeId });
      if (deletePayloads) await options.payloads.delete(payloadKey);
      emit({ stage: 'infer', outcome: 'done', ecgId, ms: performance.now() - started, detail: prediction.status });
      return { status: prediction.status, writeJobId: writeId };
    } catch (err) {
      const reason = failureReason(err);
      const ms = performance.now() - started;
      if (isPermanentFailure(err)) {
        emit({ stage: 'infer', outcome: 'failed', ecgId, ms, reason });
        throw new UnrecoverableError(reason);
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ stage: 'infer', outcome: lastAttempt ? 'failed' : 'retry', ecgId, ms, reason });
      throw new Error(reason);
    }
  };

  return new Worker<InferJobData, InferJobResult>(QUEUE_NAMES.infer, processor, {
    connection: options.connection,
    prefix: options.prefix ?? QUEUE_PREFIX,
    concurrency: options.concurrency ?? 32,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
  });
}
