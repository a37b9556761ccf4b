/**
 * BullMQ job options for the stage queues: attempts, backoff and how long finished jobs are kept. Producers (the
 * queued intake, the infer worker adding write jobs) pass them with every job they add.
 */

/** Retry policy of the queued stages. */
export interface StageRetryOptions {
  /** Attempts in all, the first included. Default 12 (with the default delay, about an hour of retries). */
  attempts?: number;
  /** First retry delay; each further retry doubles it (with jitter). Default 1000 ms. */
  backoffDelayMs?: number;
}

/** BullMQ `JobsOptions` (structurally) for a stage's jobs: attempts, exponential backoff, bounded history. */
export function stageJobOptions(retry: StageRetryOptions = {}): {
  attempts: number;
  backoff: { type: 'exponential'; delay: number; jitter: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number };
} {
  return {
    attempts: retry.attempts ?? 12,
    backoff: { type: 'exponential', delay: retry.backoffDelayMs ?? 1000, jitter: 0.5 },
    // Completed jobs are kept a day: they answer GET /ecg/:id/status and make a resend within a day a no-op.
    removeOnComplete: { age: 86_400, count: 200_000 },
    // Failed jobs are the dead-letter set: kept a week for `ecgcad dlq list|replay`.
    removeOnFail: { age: 7 * 86_400 },
  };
}
