/**
 * The fhir-writer stage as a BullMQ worker: `ecg.write` job {prediction, payloadKey?} -> FhirWriter.write (build,
 * validate, deliver), with the ECG's samples read from the payload store for the ECG Observation's waveform. The EHR side is idempotent (identifiers + conditional creates), so a job re-run after a crash or a
 * lost acknowledgement writes nothing twice. Transient faults (5xx, 429, timeouts) are retried with backoff;
 * a permanent one (4xx, a Bundle that fails validation) goes straight to the failed set with its reason.
 */
import {
  checkWriteJobData,
  decodeEcgPayloadDetailed,
  type EcgHandoff,
  isEncodedEcgPayload,
  type PayloadStore,
  QUEUE_NAMES,
  type SourceDecoder,
  type WriteJobData,
} from '@ecgcad/ecg';
import { type StageWorkerOptions, startStageWorker, type Worker } from '@ecgcad/queue';
import type { WaveformInput } from './bundle.js';
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
  /** With the waveform on: whether the ECG Observation got the leads, or went without them (payload gone). */
  waveform?: 'included' | 'unavailable';
}

/** Options of {@link startWriteWorker}. `concurrency` (Bundles in flight at once) defaults to 8. */
export interface WriteWorkerOptions extends StageWorkerOptions {
  writer: FhirWriter;
  /**
   * Where the infer stage left the encoded Ecg (the job's `payloadKey`): read for the waveform, deleted once the
   * Bundle is delivered. Without it the ECG Observation goes without the leads.
   */
  payloads?: PayloadStore;
  /**
   * Decodes a payload that holds the source bytes as received (a DICOM object; the engine passes the ingest
   * decoder). Without it such a payload's result is written without the leads, as for any unreadable payload.
   */
  decodeSource?: SourceDecoder;
  /**
   * Where an infer worker in this process leaves the ECG it decoded from a handed-over payload, its leads as their
   * integers: taken instead of reading and decoding the payload again (see EcgHandoff, withIntegerLeads).
   */
  handoff?: EcgHandoff;
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
        const { prediction, payloadKey } = job.data;
        const { ecg } = prediction;
        const waveform = await waveformOf(job.data, options);
        const delivery = await options.writer.write(prediction, waveform);
        // Best effort: the payload's TTL removes it anyway, and a Redis fault here must not resend the Bundle. Not
        // waited for: on the worker's own connection (as the engine has it) Redis runs the DEL before the job's
        // completion, which BullMQ sends after this returns, so a completed job's payload is still gone, one round
        // trip sooner.
        if (payloadKey && options.payloads) void options.payloads.delete(payloadKey).catch(() => undefined);
        options.onWritten?.(delivery);
        return {
          result: {
            sink: delivery.sink,
            created: delivery.created,
            existing: delivery.existing,
            ...(delivery.ptp ? { ptp: delivery.ptp } : {}),
            ...(waveform ? { waveform: 'leads' in waveform ? 'included' : 'unavailable' } : {}),
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

/**
 * The samples for the ECG Observation, read from the payload store; undefined when the writer's waveform option is
 * off. A payload that is gone (expired, or never handed on) or unreadable never fails the job: the result is
 * written without the leads and the Observation says why.
 */
async function waveformOf(
  data: WriteJobData,
  options: Pick<WriteWorkerOptions, 'writer' | 'payloads' | 'decodeSource' | 'handoff'>,
): Promise<WaveformInput | undefined> {
  if (!options.writer.waveform) return undefined;
  if (!data.payloadKey || !options.payloads) {
    return { unavailable: 'the ECG samples were not handed on to the writer (waveform off in the infer stage)' };
  }
  const { ecg: summary } = data.prediction;
  const decoded = options.handoff?.take(data.payloadKey);
  if (decoded?.id === summary.id) return decoded;
  // A Redis fault is a TransientError: the job is retried, not written without the leads.
  const bytes = await options.payloads.get(data.payloadKey);
  if (bytes === undefined) {
    return { unavailable: 'the ECG samples had expired from the payload store before the result was written' };
  }
  try {
    if (!isEncodedEcgPayload(bytes)) {
      // Source bytes (DICOM as received): decoded again; the decoder's quantum hints make the writer's search short.
      const meta = { feed: summary.feed, receivedAt: summary.receivedAt, sha256: summary.sha256 };
      const ecg = options.decodeSource?.(bytes, meta);
      if (ecg?.id === summary.id) return ecg;
    } else {
      // The leads the codec stored as integers go into SampledData as they are (no quantum search, same data), and
      // are not also made into Float32 samples.
      const { ecg, quantised } = decodeEcgPayloadDetailed(bytes, { integersOnly: true });
      if (ecg.id === summary.id) return { ...ecg, quantised };
    }
  } catch {
    // Unreadable: fall through.
  }
  return { unavailable: 'the stored ECG samples could not be read' };
}
