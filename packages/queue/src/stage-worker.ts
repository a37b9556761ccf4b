/**
 * The BullMQ worker shell every stage shares: worker settings with their defaults, the stage events, and the
 * failure policy (a permanent fault goes straight to the failed set, the dead-letter queue, as an
 * UnrecoverableError; anything else is retried after the retry policy's delay, an EHR's Retry-After honoured). A
 * stage supplies only its job handler.
 */

import {
  failureReason,
  isPermanentFailure,
  QUEUE_PREFIX,
  type RetryPolicy,
  retryAfterOf,
  type StageEventListener,
  type StageName,
  TransientError,
} from '@ecgcad/ecg';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { stageBackoffStrategy } from './job-options.js';

/** Options every stage worker takes. */
export interface StageWorkerOptions {
  /** Redis connection for the worker (an ioredis instance with `maxRetriesPerRequest: null`, or options). */
  connection: ConnectionOptions;
  /** Queue key prefix. Default QUEUE_PREFIX (`{ecgcad}`). */
  prefix?: string;
  /** Jobs in flight at once. Default: the stage's own. */
  concurrency?: number;
  /** Stalled-job check period. Default 30 000 ms. */
  stalledIntervalMs?: number;
  /** Times a job may stall before it fails. Default 2. */
  maxStalledCount?: number;
  /** How long a job's lock lasts without renewal; a dead worker's jobs are re-run after it. Default 30 000 ms. */
  lockDurationMs?: number;
  /** Stage events for metrics and logs; a throwing listener never changes a job's fate. */
  onEvent?: StageEventListener;
  /**
   * The retry policy: its delays are the worker's backoff strategy; a stage that adds jobs to the next queue gives
   * them its attempts. Default DEFAULT_RETRY_POLICY.
   */
  retry?: Partial<RetryPolicy>;
}

/** What a stage's handler reports for the `done` event, beside the job's result. */
export interface StageJobDone<R> {
  result: R;
  ecgId: string;
  detail?: string;
  receivedAt?: string;
}

/** The stage definition: its name, queue, default concurrency and job handler. */
export interface StageDefinition<D, R> {
  stage: StageName;
  queue: string;
  defaultConcurrency: number;
  /** The ECG id a failure event names until the handler knows better (it may set `track.ecgId`). */
  ecgIdOf(job: Job<D>): string;
  /**
   * Checks the job's data before the handler runs (a contract check from @ecgcad/ecg); throwing a PermanentError
   * sends malformed job JSON to the dead-letter set at once, with its reason, instead of retrying a TypeError.
   */
  checkData?(data: unknown): void;
  handle(job: Job<D>, track: { ecgId: string }): Promise<StageJobDone<R>>;
}

/** Starts a stage's worker. Close it with `worker.close()` (waits for active jobs). */
export function startStageWorker<D, R>(definition: StageDefinition<D, R>, options: StageWorkerOptions): Worker<D, R> {
  const { stage } = definition;
  const emit: StageEventListener = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A metrics hook must not change a job's fate.
    }
  };
  const processor = async (job: Job<D>): Promise<R> => {
    const started = performance.now();
    const track = { ecgId: ecgIdOrUnknown(definition, job) };
    try {
      definition.checkData?.(job.data);
      const done = await definition.handle(job, track);
      emit({
        stage,
        outcome: 'done',
        ecgId: done.ecgId,
        ms: performance.now() - started,
        ...(done.detail === undefined ? {} : { detail: done.detail }),
        ...(done.receivedAt === undefined ? {} : { receivedAt: done.receivedAt }),
      });
      return done.result;
    } catch (err) {
      const reason = failureReason(err);
      const ms = performance.now() - started;
      if (isPermanentFailure(err)) {
        emit({ stage, outcome: 'failed', ecgId: track.ecgId, ms, reason });
        throw new UnrecoverableError(reason);
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ stage, outcome: lastAttempt ? 'failed' : 'retry', ecgId: track.ecgId, ms, reason });
      // The reason only (patient-free), and the peer's Retry-After, which the backoff strategy honours.
      const retryAfterMs = retryAfterOf(err);
      throw new TransientError(reason, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
  };
  return new Worker<D, R>(definition.queue, processor, {
    connection: options.connection,
    prefix: options.prefix ?? QUEUE_PREFIX,
    concurrency: options.concurrency ?? definition.defaultConcurrency,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
    settings: { backoffStrategy: stageBackoffStrategy(options.retry) },
  });
}

/** The ECG id of a job for events, or `unknown` when its data is too broken to name one. */
function ecgIdOrUnknown<D, R>(definition: StageDefinition<D, R>, job: Job<D>): string {
  try {
    const id = definition.ecgIdOf(job);
    return typeof id === 'string' ? id : 'unknown';
  } catch {
    return 'unknown';
  }
}
