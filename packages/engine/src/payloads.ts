/**
 * The payload store of queued mode as the configuration sets it up: its TTL derived from the queue retention (so a
 * payload outlives every job that may need it), and the hook that keeps a failed job's payload for its whole stay
 * in the dead-letter set.
 */
import { payloadTtlS, RedisPayloadStore, type StageJobRetention, type Worker } from '@ecgcad/queue';
import type { Redis } from 'ioredis';
import type { EngineConfig } from './config.js';
import type { Logger } from './logger.js';

/** The payload TTL the configuration implies (throws ConfigError for a configured TTL that is too short). */
export function payloadTtlOf(config: EngineConfig): number {
  return payloadTtlS(
    { keepFailedS: config.retention.failedJobsS, maxPendingS: config.payloads.maxPendingS },
    config.payloads.ttlS,
  );
}

/** How long stage jobs are kept once finished, for stageJobOptions. */
export function jobRetentionOf(config: EngineConfig): Required<StageJobRetention> {
  return { keepFailedS: config.retention.failedJobsS, keepCompletedS: config.retention.completedJobsS };
}

/** A RedisPayloadStore on `redis` with the configured prefix and derived TTL. */
export function openPayloadStore(redis: Redis, config: EngineConfig): RedisPayloadStore {
  return new RedisPayloadStore(redis, { prefix: `${config.redis.prefix}:payload:`, ttlS: payloadTtlOf(config) });
}

/**
 * On every failed attempt of a job that holds a payload (`ecg.ingest`, `ecg.infer`, `ecg.write` with the waveform
 * on), resets the payload's TTL to the full derived TTL from now: a job that waited long before failing into the
 * dead-letter set stays replayable for its whole stay there. Best effort (a crash in between leaves the TTL set at intake, which already covers
 * `maxPendingS` of waiting); a failure here is logged, never thrown.
 */
export function keepPayloadsOfFailedJobs(
  worker: Worker<{ payloadKey?: string }>,
  payloads: RedisPayloadStore,
  logger: Logger,
): void {
  worker.on('failed', (job) => {
    const key = job?.data?.payloadKey;
    if (typeof key !== 'string') return;
    payloads.keep(key).then(
      (kept) => {
        if (!kept) logger.warn({ queue: worker.name, jobId: job?.id }, 'failed job has no payload left to keep');
      },
      (err: unknown) =>
        logger.warn(
          { queue: worker.name, jobId: job?.id, error: err instanceof Error ? err.message : String(err) },
          'could not extend the payload TTL of a failed job',
        ),
    );
  });
}
