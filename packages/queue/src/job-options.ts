/**
 * BullMQ job options for the stage queues: attempts, backoff and how long finished jobs are kept. Producers (the
 * queued intake, the infer worker adding write jobs) pass them with every job they add. The delays themselves are
 * computed by the stage worker's custom backoff strategy ({@link stageBackoffStrategy}) from the same policy.
 */
import { type RetryPolicy, retryDelayMs, retryPolicy } from '@ecgcad/ecg';

/** The backoff type of stage jobs: BullMQ hands it to the worker's `settings.backoffStrategy`. */
export const STAGE_BACKOFF_TYPE = 'custom';

/** BullMQ `JobsOptions` (structurally) for a stage's jobs: the policy's attempts, custom backoff, bounded history. */
export function stageJobOptions(retry: Partial<RetryPolicy> = {}): {
  attempts: number;
  backoff: { type: typeof STAGE_BACKOFF_TYPE };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number };
} {
  return {
    attempts: retryPolicy(retry).attempts,
    backoff: { type: STAGE_BACKOFF_TYPE },
    // Completed jobs are kept a day: they answer GET /ecg/:id/status and make a resend within a day a no-op.
    removeOnComplete: { age: 86_400, count: 200_000 },
    // Failed jobs are the dead-letter set: kept a week for `ecgcad dlq list|replay`.
    removeOnFail: { age: 7 * 86_400 },
  };
}

/**
 * BullMQ's `settings.backoffStrategy` for stage workers: the policy's delay for retry number `attemptsMade`
 * (BullMQ passes 1 for the first retry), honouring the failure's Retry-After up to the policy's cap.
 */
export function stageBackoffStrategy(
  retry: Partial<RetryPolicy> = {},
): (attemptsMade: number, type?: string, err?: Error) => number {
  const policy = retryPolicy(retry);
  return (attemptsMade, _type, err) => retryDelayMs(policy, attemptsMade, err);
}
