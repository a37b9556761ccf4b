/**
 * What the three stage workers share about jobs, without depending on BullMQ: job ids (one per ECG per stage, so a
 * resent ECG is not processed twice), the reason text that lands in the dead-letter set, and the typed event each
 * worker reports per job. The BullMQ side (job options, the worker shell) lives in @ecgcad/queue.
 */
import { createHash } from 'node:crypto';
import type { ModelRef } from '../contracts.js';
import { EcgcadError, isTransient } from '../errors.js';

/** The stages that run as queue workers. */
export type StageName = 'ingest' | 'infer' | 'write';

/**
 * BullMQ job id for an ECG. BullMQ refuses ids that look like integers or contain `:` (aECG and hash ids do:
 * `sha256:<hex>`), and long ids bloat every key, so ids outside a safe alphabet or over 100 characters are replaced
 * by `h-` + 40 hex digits of their sha256. The mapping is stable, so a resend gets the same id.
 */
export function ecgJobId(ecgId: string): string {
  const safe = /^[A-Za-z0-9._^@-]{1,100}$/.test(ecgId) && !/^\d+$/.test(ecgId) && !ecgId.startsWith('h-');
  return safe ? ecgId : `h-${createHash('sha256').update(ecgId).digest('hex').slice(0, 40)}`;
}

/** BullMQ job id on `ecg.write`: one per ECG and model version (a new model version writes a new result). */
export function writeJobId(ecgId: string, model: Pick<ModelRef, 'id' | 'version'>): string {
  const modelPart = `${model.id}@${model.version}`.replace(/[^A-Za-z0-9._@-]/g, '_');
  return `${ecgJobId(ecgId)}~${modelPart}`;
}

/**
 * The reason recorded for a failed job: `CODE: message` for ecgcad errors (patient-free by contract), the error
 * class only for anything else (its message might quote input).
 */
export function failureReason(err: unknown): string {
  if (err instanceof EcgcadError) return `${err.code}: ${err.message}`;
  return `internal error (${err instanceof Error ? err.name : typeof err})`;
}

/** True when no retry can fix `err`: the job should go straight to the dead-letter set. */
export function isPermanentFailure(err: unknown): boolean {
  return !isTransient(err);
}

/** What a stage worker reports once per processed job attempt. */
export interface StageEvent {
  stage: StageName;
  /** `done`: the job finished; `retry`: a transient fault, BullMQ retries it; `failed`: dead-lettered. */
  outcome: 'done' | 'retry' | 'failed';
  ecgId: string;
  /** Time the attempt took, ms. */
  ms: number;
  /** For `infer` jobs that finished: the prediction status. */
  detail?: string;
  /** For `retry` and `failed`: the failure reason. */
  reason?: string;
  /** ISO instant the feed received the ECG, where the stage knows it (write: for receipt-to-EHR latency). */
  receivedAt?: string;
}

/** Listener of stage events (metrics, logs). Must not throw; exceptions are swallowed. */
export type StageEventListener = (event: StageEvent) => void;
