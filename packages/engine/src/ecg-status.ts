/**
 * Where one ECG is now, from the jobs BullMQ keeps: queued, scoring, scored (waiting for the EHR), written, or failed
 * with its reason. Backs `GET /ecg/:id/status` (the statusUrl the HTTP feeds hand out).
 */
import { ecgJobId } from '@ecgcad/ecg';
import type { Job, Queue } from 'bullmq';
import type { EngineQueues } from './redis.js';

/** The answer of the status endpoint. */
export interface EcgStatus {
  ecgId: string;
  status: 'queued' | 'scoring' | 'scored' | 'writing' | 'written' | 'failed' | 'unknown';
  /** For `written`: whether the model scored the ECG or found it not analysable. */
  result?: 'scored' | 'not-analysable';
  /** For `failed`: the stage and the reason (patient-free). */
  stage?: 'ingest' | 'infer' | 'write';
  reason?: string;
  /** Attempts made by the current stage. */
  attempts?: number;
}

/**
 * A job with its state, the state read first: a job read after its state is at least as new as it. (Read the other
 * way round, a job fetched while active could be reported failed, with no reason and no attempts yet.)
 */
async function jobAndState(queue: Queue, id: string): Promise<{ job: Job; state: string } | undefined> {
  const state = await queue.getJobState(id);
  if (state === 'unknown') return undefined;
  const job = await queue.getJob(id);
  return job ? { job, state } : undefined;
}

const PENDING = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** Looks an ECG up across the queues. */
export async function ecgStatus(queues: EngineQueues, ecgId: string): Promise<EcgStatus> {
  const jobId = ecgJobId(ecgId);
  const infer = await jobAndState(queues.infer, jobId);
  if (!infer) {
    const ingest = await jobAndState(queues.ingest, jobId);
    if (!ingest) return { ecgId, status: 'unknown' };
    const { job: ingestJob, state } = ingest;
    if (state === 'failed') {
      return {
        ecgId,
        status: 'failed',
        stage: 'ingest',
        reason: ingestJob.failedReason,
        attempts: ingestJob.attemptsMade,
      };
    }
    return { ecgId, status: 'queued' };
  }
  const { job: inferJob, state } = infer;
  if (PENDING.has(state)) return { ecgId, status: 'queued', attempts: inferJob.attemptsMade };
  if (state === 'active') return { ecgId, status: 'scoring', attempts: inferJob.attemptsMade };
  if (state === 'failed') {
    return { ecgId, status: 'failed', stage: 'infer', reason: inferJob.failedReason, attempts: inferJob.attemptsMade };
  }
  const writeJobId = (inferJob.returnvalue as { writeJobId?: string } | null)?.writeJobId;
  const write = writeJobId ? await jobAndState(queues.write, writeJobId) : undefined;
  if (!write) return { ecgId, status: 'scored' };
  const { job: writeJob, state: writeState } = write;
  const result = writeJob.data.prediction.status;
  if (writeState === 'completed') return { ecgId, status: 'written', result };
  if (writeState === 'failed') {
    return { ecgId, status: 'failed', stage: 'write', reason: writeJob.failedReason, attempts: writeJob.attemptsMade };
  }
  if (writeState === 'active') return { ecgId, status: 'writing', result, attempts: writeJob.attemptsMade };
  return { ecgId, status: 'scored', result, attempts: writeJob.attemptsMade };
}
