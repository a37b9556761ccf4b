/**
 * The dead-letter set is BullMQ's failed set of each queue: jobs that failed permanently (UnrecoverableError) or
 * ran out of attempts, each with its reason. List them, and replay them (move back to waiting) once the cause is
 * fixed.
 */
import type { RedisPayloadStore } from '@ecgcad/queue';
import type { Job, Queue } from 'bullmq';
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

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions {
  /**
   * The payload store: a replayed job's payload gets its full TTL again, so the replay (and its retries, and a
   * second stay in the dead-letter set) finds it.
   */
  payloads?: Pick<RedisPayloadStore, 'keep'>;
  /** Called once per replayed job (the audit trail's replay event). Must not throw. */
  onReplay?: (replay: { queue: string; jobId: string; ecgId: string | undefined }) => void;
}

/** Moves failed jobs back to waiting: one by id, or all of the given queues. Returns the ids replayed. */
export async function replayDeadLetters(
  queues: EngineQueues,
  which: QueueKey[],
  select: { id: string } | { all: true },
  options: ReplayOptions = {},
): Promise<string[]> {
  const replayed: string[] = [];
  const replay = async (queue: Queue, job: Job): Promise<void> => {
    const payloadKey = (job.data as { payloadKey?: unknown } | undefined)?.payloadKey;
    if (options.payloads && typeof payloadKey === 'string') await options.payloads.keep(payloadKey);
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    replayed.push(`${queue.name}/${job.id}`);
    try {
      options.onReplay?.({ queue: queue.name, jobId: job.id as string, ecgId: ecgIdOf(job.data) });
    } catch {
      // An audit hook must not stop a replay.
    }
  };
  for (const key of which) {
    const queue: Queue = queues[key];
    if ('id' in select) {
      const job = await queue.getJob(select.id);
      if (job && (await job.getState()) === 'failed') await replay(queue, job);
      continue;
    }
    for (;;) {
      const jobs = await queue.getFailed(0, 499);
      if (jobs.length === 0) break;
      for (const job of jobs) {
        if (!job?.id) continue;
        await replay(queue, job);
      }
    }
  }
  return replayed;
}
