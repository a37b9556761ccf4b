/**
 * The ingest stage as a BullMQ worker, for feeds that hand over raw bytes (`ecg.ingest`, see createRawIntake):
 * payload store -> decodeEcg -> payload store (encoded Ecg) -> `ecg.infer`. Bytes the decoder refuses are kept in
 * the rejected store and the job fails for good with the decoder's reason.
 */
import {
  failureReason,
  type InferJobData,
  type IngestJobData,
  isPermanentFailure,
  type PayloadStore,
  PermanentError,
  QUEUE_NAMES,
  QUEUE_PREFIX,
  type StageEventListener,
  type StageRetryOptions,
} from '@ecgcad/ecg';
import { type ConnectionOptions, type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import { decodeEcg } from './decode.js';
import type { DecodeLimits } from './limits.js';
import { enqueueEcg } from './queued-intake.js';
import type { RejectedStore } from './rejected-store.js';

/** What an `ecg.ingest` job returns. */
export interface IngestJobResult {
  ecgId: string;
  duplicate: boolean;
}

/** Options of {@link startIngestWorker}. */
export interface IngestWorkerOptions {
  connection: ConnectionOptions;
  payloads: PayloadStore;
  inferQueue: Queue<InferJobData>;
  /** Where refused bytes are kept. */
  rejected?: RejectedStore;
  limits?: Partial<DecodeLimits>;
  /** Retry policy of the infer jobs this worker adds. */
  inferRetry?: StageRetryOptions;
  /** Queue key prefix. Default QUEUE_PREFIX. */
  prefix?: string;
  /** Jobs decoded at once. Default 4 (decoding is CPU-bound). */
  concurrency?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** How long a job's lock lasts without renewal; a dead worker's jobs are re-run after it. Default 30 000 ms. */
  lockDurationMs?: number;
  onEvent?: StageEventListener;
}

/** Starts the `ecg.ingest` worker. */
export function startIngestWorker(options: IngestWorkerOptions): Worker<IngestJobData, IngestJobResult> {
  const emit: StageEventListener = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A metrics hook must not change a job's fate.
    }
  };
  const processor = async (job: Job<IngestJobData>): Promise<IngestJobResult> => {
    const started = performance.now();
    let ecgId = job.data.payloadKey;
    try {
      const bytes = await options.payloads.get(job.data.payloadKey);
      if (bytes === undefined) throw new PermanentError('the raw payload is missing or expired from the payload store');
      let ecg: ReturnType<typeof decodeEcg>;
      try {
        ecg = decodeEcg(bytes, { feed: job.data.feed, receivedAt: job.data.receivedAt }, options.limits);
      } catch (err) {
        if (isPermanentFailure(err) && options.rejected && err instanceof Error && 'code' in err) {
          await options.rejected.put(
            bytes,
            {
              feed: job.data.feed,
              receivedAt: job.data.receivedAt,
              ...(job.data.name === undefined ? {} : { name: job.data.name }),
            },
            { code: String(err.code), message: err.message },
          );
        }
        throw err;
      }
      ecgId = ecg.id;
      const receipt = await enqueueEcg(ecg, {
        inferQueue: options.inferQueue,
        payloads: options.payloads,
        ...(options.inferRetry ? { retry: options.inferRetry } : {}),
      });
      await options.payloads.delete(job.data.payloadKey);
      emit({ stage: 'ingest', outcome: 'done', ecgId, ms: performance.now() - started });
      return { ecgId, duplicate: receipt.duplicate === true };
    } catch (err) {
      const reason = failureReason(err);
      const ms = performance.now() - started;
      if (isPermanentFailure(err)) {
        emit({ stage: 'ingest', outcome: 'failed', ecgId, ms, reason });
        throw new UnrecoverableError(reason);
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ stage: 'ingest', outcome: lastAttempt ? 'failed' : 'retry', ecgId, ms, reason });
      throw new Error(reason);
    }
  };
  return new Worker<IngestJobData, IngestJobResult>(QUEUE_NAMES.ingest, processor, {
    connection: options.connection,
    prefix: options.prefix ?? QUEUE_PREFIX,
    concurrency: options.concurrency ?? 4,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
  });
}
