/**
 * The dead-letter set is BullMQ's failed set of each queue: jobs that failed permanently (UnrecoverableError) or
 * ran out of attempts, each with its reason. List them, and replay them (move back to waiting) once the cause is
 * fixed.
 */
import type { Queue } from 'bullmq';
import type { EngineQueues } from './redis.js';

/** One dead-lettered job. */
export interface DeadLetter {
  queue: string;
  jobId: string;
  ecgId: string | undefined;
  reason: string;
  attempts: number;
  failedAt: string | undefined;
}

/** Queue names as the CLI spells them. */
export type QueueKey = keyof EngineQueues;

function ecgIdOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as { ecgId?: string; prediction?: { ecg?: { id?: string } } };
  return d.ecgId ?? d.prediction?.ecg?.id;
}

/** Failed jobs of the given queues, oldest first, up to `limit` per queue. */
export async function listDeadLetters(queues: EngineQueues, which: QueueKey[], limit = 1000): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (const key of which) {
    const queue: Queue = queues[key];
    const jobs = await queue.getFailed(0, limit - 1);
    for (const job of jobs) {
      if (!job?.id) continue;
      out.push({
        queue: queue.name,
        jobId: job.id,
        ecgId: ecgIdOf(job.data),
        reason: job.failedReason,
        attempts: job.attemptsMade,
        failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
      });
    }
  }
  return out.sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
}

/** Moves failed jobs back to waiting: one by id, or all of the given queues. Returns the ids replayed. */
export async function replayDeadLetters(
  queues: EngineQueues,
  which: QueueKey[],
  select: { id: string } | { all: true },
): Promise<string[]> {
  const replayed: string[] = [];
  for (const key of which) {
    const queue: Queue = queues[key];
    if ('id' in select) {
      const job = await queue.getJob(select.id);
      if (job && (await job.getState()) === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed.push(`${queue.name}/${select.id}`);
      }
      continue;
    }
    for (;;) {
      const jobs = await queue.getFailed(0, 499);
      if (jobs.length === 0) break;
      for (const job of jobs) {
        if (!job?.id) continue;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed.push(`${queue.name}/${job.id}`);
      }
    }
  }
  return replayed;
}
