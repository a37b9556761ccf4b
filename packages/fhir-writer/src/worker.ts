/**
 * The fhir-writer stage as a BullMQ worker: `ecg.write` job {prediction} -> FhirWriter.write (build, validate,
 * deliver). The EHR side is idempotent (identifiers + conditional creates), so a job re-run after a crash or a
 * lost acknowledgement writes nothing twice. Transient faults (5xx, 429, timeouts) are retried with backoff;
 * a permanent one (4xx, a Bundle that fails validation) goes straight to the failed set with its reason.
 */
import { checkWriteJobData, QUEUE_NAMES, type WriteJobData } from '@ecgcad/ecg';
import { type StageWorkerOptions, startStageWorker, type Worker } from '@ecgcad/queue';
import type { FhirWriter, WriteResult } from './writer.js';

/** What an `ecg.write` job returns (kept with the completed job; read by the status endpoint). */
export interface WriteJobResult {
  sink: 'fhir' | 'file';
  /** Entries created by this delivery. */
  created: number;
  /** Entries the EHR already had (a resend). */
  existing: number;
  /** With PTP on: computed, or not computed and the names of the missing inputs (no patient data). */
  ptp?: WriteResult['ptp'];
}

/** Options of {@link startWriteWorker}. `concurrency` (Bundles in flight at once) defaults to 8. */
export interface WriteWorkerOptions extends StageWorkerOptions {
  writer: FhirWriter;
  /** Called with each delivery (metrics: the PTP category mix); must not throw. */
  onWritten?: (result: WriteResult) => void;
}

/** Starts the `ecg.write` worker. Close it with `worker.close()` (waits for active jobs). */
export function startWriteWorker(options: WriteWorkerOptions): Worker<WriteJobData, WriteJobResult> {
  return startStageWorker<WriteJobData, WriteJobResult>(
    {
      stage: 'write',
      queue: QUEUE_NAMES.write,
      defaultConcurrency: 8,
      ecgIdOf: (job) => job.data.prediction.ecg.id,
      checkData: checkWriteJobData,
      async handle(job) {
        const { ecg } = job.data.prediction;
        const delivery = await options.writer.write(job.data.prediction);
        options.onWritten?.(delivery);
        return {
          result: {
            sink: delivery.sink,
            created: delivery.created,
            existing: delivery.existing,
            ...(delivery.ptp ? { ptp: delivery.ptp } : {}),
          },
          ecgId: ecg.id,
          detail: delivery.sink,
          receivedAt: ecg.receivedAt,
        };
      },
    },
    options,
  );
}
