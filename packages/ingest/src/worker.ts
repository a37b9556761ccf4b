/**
 * The ingest stage as a BullMQ worker, for feeds that hand over raw bytes (`ecg.ingest`, see createRawIntake):
 * payload store -> decodeEcg -> payload store (the DICOM bytes as they are, else the encoded Ecg) -> `ecg.infer`.
 * Bytes the decoder refuses are kept in the rejected store and the job fails for good with the decoder's reason.
 */
import {
  checkIngestJobData,
  type InferJobData,
  type IngestJobData,
  isPermanentFailure,
  type PayloadStore,
  PermanentError,
  QUEUE_NAMES,
} from '@ecgcad/ecg';
import { type Queue, type StageWorkerOptions, startStageWorker, type Worker } from '@ecgcad/queue';
import { decodeEcg } from './decode.js';
import type { DecodeLimits } from './limits.js';
import { enqueueEcg } from './queued-intake.js';
import type { RejectedStore } from './rejected-store.js';

/** What an `ecg.ingest` job returns. */
export interface IngestJobResult {
  ecgId: string;
  duplicate: boolean;
}

/** Options of {@link startIngestWorker}. `concurrency` defaults to 4 (decoding is CPU-bound). */
export interface IngestWorkerOptions extends StageWorkerOptions {
  payloads: PayloadStore;
  inferQueue: Queue<InferJobData>;
  /** Where refused bytes are kept. */
  rejected?: RejectedStore;
  limits?: Partial<DecodeLimits>;
}

/** Starts the `ecg.ingest` worker. */
export function startIngestWorker(options: IngestWorkerOptions): Worker<IngestJobData, IngestJobResult> {
  return startStageWorker<IngestJobData, IngestJobResult>(
    {
      stage: 'ingest',
      queue: QUEUE_NAMES.ingest,
      defaultConcurrency: 4,
      ecgIdOf: (job) => job.data.payloadKey,
      checkData: checkIngestJobData,
      async handle(job, track) {
        const bytes = await options.payloads.get(job.data.payloadKey);
        if (bytes === undefined)
          throw new PermanentError('the raw payload is missing or expired from the payload store');
        let ecg: ReturnType<typeof decodeEcg>;
        try {
          const { feed, receivedAt, sha256 } = job.data;
          ecg = decodeEcg(bytes, { feed, receivedAt, sha256 }, options.limits);
        } catch (err) {
          if (isPermanentFailure(err) && options.rejected && err instanceof Error && 'code' in err) {
            await options.rejected.put(
              bytes,
              {
                feed: job.data.feed,
                receivedAt: job.data.receivedAt,
                ...(job.data.name === undefined ? {} : { name: job.data.name }),
              },
              { code: String(err.code), message: err.message },
            );
          }
          throw err;
        }
        track.ecgId = ecg.id;
        const receipt = await enqueueEcg(
          ecg,
          {
            inferQueue: options.inferQueue,
            payloads: options.payloads,
            ...(options.retry ? { retry: options.retry } : {}),
          },
          bytes,
        );
        await options.payloads.delete(job.data.payloadKey);
        return { result: { ecgId: ecg.id, duplicate: receipt.duplicate === true }, ecgId: ecg.id };
      },
    },
    options,
  );
}
