/**
 * The fhir-writer stage as a BullMQ worker: `ecg.write` job {prediction} -> FhirWriter.write (build, validate,
 * deliver). The EHR side is idempotent (identifiers + conditional creates), so a job re-run after a crash or a
 * lost acknowledgement writes nothing twice. Transient faults (5xx, 429, timeouts) are retried with backoff;
 * a permanent one (4xx, a Bundle that fails validation) goes straight to the failed set with its reason.
 */
import {
  failureReason,
  isPermanentFailure,
  QUEUE_NAMES,
  QUEUE_PREFIX,
  type StageEventListener,
  type WriteJobData,
} from '@ecgcad/ecg';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { FhirWriter } from './writer.js';

/** What an `ecg.write` job returns (kept with the completed job; read by the status endpoint). */
export interface WriteJobResult {
  sink: 'fhir' | 'file';
  /** Entries created by this delivery. */
  created: number;
  /** Entries the EHR already had (a resend). */
  existing: number;
}

/** Options of {@link startWriteWorker}. */
export interface WriteWorkerOptions {
  /** Redis connection for the worker (an ioredis instance with `maxRetriesPerRequest: null`, or options). */
  connection: ConnectionOptions;
  writer: FhirWriter;
  /** Queue key prefix. Default QUEUE_PREFIX (`{ecgcad}`). */
  prefix?: string;
  /** Bundles in flight at once. Default 8. */
  concurrency?: number;
  /** Stalled-job check period. Default 30 000 ms. */
  stalledIntervalMs?: number;
  /** Times a job may stall before it fails. Default 2. */
  maxStalledCount?: number;
  /** How long a job's lock lasts without renewal; a dead worker's jobs are re-run after it. Default 30 000 ms. */
  lockDurationMs?: number;
  onEvent?: StageEventListener;
}

/** Starts the `ecg.write` worker. Close it with `worker.close()` (waits for active jobs). */
export function startWriteWorker(options: WriteWorkerOptions): Worker<WriteJobData, WriteJobResult> {
  const emit: StageEventListener = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A metrics hook must not change a job's fate.
    }
  };

  const processor = async (job: Job<WriteJobData>): Promise<WriteJobResult> => {
    const started = performance.now();
    const ecgId = job.data.prediction.ecg.id;
    try {
      const result = await options.writer.write(job.data.prediction);
      emit({
        stage: 'write',
        outcome: 'done',
        ecgId,
        ms: performance.now() - started,
        detail: result.sink,
        receivedAt: job.data.prediction.ecg.receivedAt,
      });
      return { sink: result.sink, created: result.created, existing: result.existing };
    } catch (err) {
      const reason = failureReason(err);
      const ms = performance.now() - started;
      if (isPermanentFailure(err)) {
        emit({ stage: 'write', outcome: 'failed', ecgId, ms, reason });
        throw new UnrecoverableError(reason);
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ stage: 'write', outcome: lastAttempt ? 'failed' : 'retry', ecgId, ms, reason });
      throw new Error(reason);
    }
  };

  return new Worker<WriteJobData, WriteJobResult>(QUEUE_NAMES.write, processor, {
    connection: options.connection,
    prefix: options.prefix ?? QUEUE_PREFIX,
    concurrency: options.concurrency ?? 8,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
  });
}
