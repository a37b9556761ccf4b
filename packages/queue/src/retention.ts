/**
 * How long queued work is kept, and the payload TTL derived from it. A payload (the claim check of an `ecg.ingest`
 * or `ecg.infer` job) must outlive every job that may still need it: the job's wait in the queue and its retries
 * (`maxPendingS`), then its stay in the dead-letter set for replay (`keepFailedS`). So the TTL is derived from those
 * settings and a configured TTL shorter than that is refused: an accepted ECG is never lost to an expiry.
 */
import { ConfigError } from '@ecgcad/ecg';

/** Retention of queued work, seconds. */
export interface QueueRetention {
  /** How long a failed job stays in the dead-letter set for `ecgcad dlq replay` (BullMQ removeOnFail age). */
  keepFailedS: number;
  /** How long a completed job is kept (status answers, resend de-duplication; BullMQ removeOnComplete age). */
  keepCompletedS: number;
  /** The longest an accepted ECG may wait (queued, delayed or retrying) before its job completes or fails. */
  maxPendingS: number;
}

/** The defaults: failed jobs a week, completed jobs a day, a day of backlog and retries. */
export const DEFAULT_QUEUE_RETENTION: Readonly<QueueRetention> = Object.freeze({
  keepFailedS: 7 * 86_400,
  keepCompletedS: 86_400,
  maxPendingS: 86_400,
});

/**
 * Payload TTL, seconds: `keepFailedS + maxPendingS` (a job that fails at the end of its longest wait is still
 * replayable for its whole stay in the dead-letter set), or `configuredS` when it is at least that long.
 * Throws ConfigError for a configured TTL that is shorter.
 */
export function payloadTtlS(
  retention: Pick<QueueRetention, 'keepFailedS' | 'maxPendingS'>,
  configuredS?: number,
): number {
  const needed = retention.keepFailedS + retention.maxPendingS;
  if (configuredS === undefined) return needed;
  if (configuredS < needed) {
    throw new ConfigError([
      `payloads.ttlS: ${configuredS} s is shorter than the dead-letter retention plus the longest wait (${needed} s); ` +
        'payloads of failed jobs would expire before they can be replayed. Leave it unset to derive it',
    ]);
  }
  return configuredS;
}
