/**
 * Where one ECG is now, from the jobs BullMQ keeps: queued, scoring, scored (waiting for the EHR), written, or failed
 * with its reason. Backs `GET /ecg/:id/status` (the statusUrl the HTTP feeds hand out).
 */
import { ecgJobId } from '@ecgcad/ecg';
import type { Job } from 'bullmq';
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

async function stateOf(job: Job): Promise<string> {
  return job.getState();
}

/**
 * The failure reason a status answer may carry: the stage workers record `CODE: message` for EcgcadErrors, whose
 * messages are patient-free by contract; anything else (BullMQ's stall text, a library's message) becomes a fixed
 * text, and everything is capped in length.
 */
export function publicReason(failedReason: string | undefined): string {
  if (failedReason && /^[A-Z][A-Z_]+: /.test(failedReason)) return failedReason.slice(0, 300);
  return 'processing failed (details in the engine log and dead-letter list)';
}

const PENDING = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** Looks an ECG up across the queues. */
export async function ecgStatus(queues: EngineQueues, ecgId: string): Promise<EcgStatus> {
  const jobId = ecgJobId(ecgId);
  const inferJob = await queues.infer.getJob(jobId);
  if (!inferJob) {
    const ingestJob = await queues.ingest.getJob(jobId);
    if (!ingestJob) return { ecgId, status: 'unknown' };
    const state = await stateOf(ingestJob);
    if (state === 'failed') {
      return {
        ecgId,
        status: 'failed',
        stage: 'ingest',
        reason: publicReason(ingestJob.failedReason),
        attempts: ingestJob.attemptsMade,
      };
    }
    return { ecgId, status: 'queued' };
  }
  const state = await stateOf(inferJob);
  if (PENDING.has(state)) return { ecgId, status: 'queued', attempts: inferJob.attemptsMade };
  if (state === 'active') return { ecgId, status: 'scoring', attempts: inferJob.attemptsMade };
  if (state === 'failed') {
    return {
      ecgId,
      status: 'failed',
      stage: 'infer',
      reason: publicReason(inferJob.failedReason),
      attempts: inferJob.attemptsMade,
    };
  }
  const writeJobId = (inferJob.returnvalue as { writeJobId?: string } | null)?.writeJobId;
  const writeJob = writeJobId ? await queues.write.getJob(writeJobId) : undefined;
  if (!writeJob) return { ecgId, status: 'scored' };
  const writeState = await stateOf(writeJob);
  const result = writeJob.data.prediction.status;
  if (writeState === 'completed') return { ecgId, status: 'written', result };
  if (writeState === 'failed') {
    return {
      ecgId,
      status: 'failed',
      stage: 'write',
      reason: publicReason(writeJob.failedReason),
      attempts: writeJob.attemptsMade,
    };
  }
  if (writeState === 'active') return { ecgId, status: 'writing', result, attempts: writeJob.attemptsMade };
  return { ecgId, status: 'scored', result, attempts: writeJob.attemptsMade };
}
