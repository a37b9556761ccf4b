/**
 * The infer stage as a BullMQ worker: `ecg.infer` job {ecgId, payloadKey} -> payload store (an encoded Ecg, or the
 * DICOM bytes as received, decoded again; or the ECG a feed of this process decoded, see intakeHandoff) ->
 * Predictor -> `ecg.write` job {prediction} with job id = ECG id + model version (a re-run adds nothing twice); the
 * write jobs of one batch are added in one round trip (BulkAdder).
 * Transient faults (Redis, batcher) are retried by BullMQ with backoff; a permanent one (payload gone, a record
 * the codec refuses, a model fault) becomes an UnrecoverableError, so the job goes straight to the failed set with
 * its reason.
 */
import {
  checkInferJobData,
  type Ecg,
  type EcgHandoff,
  type InferJobData,
  isEncodedEcgPayload,
  type PayloadStore,
  PermanentError,
  type Prediction,
  QUEUE_NAMES,
  readEcgPayload,
  type SourceDecoder,
  type WriteJobData,
  withIntegerLeads,
  writeJobId,
} from '@ecgcad/ecg';
import {
  BulkAdder,
  type Queue,
  type StageWorkerOptions,
  stageJobOptions,
  startStageWorker,
  type Worker,
} from '@ecgcad/queue';
import type { Predictor } from './predictor.js';
import type { ShadowScorer } from './shadow.js';

/** What an `ecg.infer` job returns (kept with the completed job; read by the status endpoint). */
export interface InferJobResult {
  status: 'scored' | 'not-analysable' | 'handed-off-earlier';
  /** The `ecg.write` job id. */
  writeJobId: string;
}

/**
 * Options of {@link startInferWorker}. `concurrency` defaults to 32 (2 x the batcher's largest batch), so the
 * dynamic batcher sees full batches while the previous one runs.
 */
export interface InferWorkerOptions extends StageWorkerOptions {
  predictor: Predictor;
  payloads: PayloadStore;
  /** Producer for `ecg.write`. */
  writeQueue: Queue<WriteJobData>;
  /** Delete the payload once the write job is in Redis (frees Redis memory early). Default true. */
  deletePayloads?: boolean;
  /**
   * Hand the payload on to the write job (its `payloadKey`) instead of deleting it: the writer puts the waveform
   * into the ECG Observation and deletes the payload once delivered. Default false.
   */
  handOverPayloads?: boolean;
  /** Called with each decoded ECG and its prediction (model monitoring); must not throw. */
  onPredicted?: (ecg: Ecg, prediction: Prediction) => void;
  /** Shadow mode: scores with `predictor` (its live model) and a shadow model; only the live result is written. */
  shadow?: ShadowScorer;
  /**
   * Decodes a payload that holds the source bytes as received (a DICOM object; the engine passes the ingest
   * decoder). Without it such a payload fails its job for good.
   */
  decodeSource?: SourceDecoder;
  /**
   * Where a write worker in this process takes the decoded ECG of a handed-over payload instead of reading and
   * decoding it again (source payloads only; see EcgHandoff). Only with handOverPayloads.
   */
  handoff?: EcgHandoff;
  /**
   * Where the feeds of this process leave the ECGs they decoded (DICOM objects stored as received; see
   * createQueuedIntake): a job's ECG is taken from there, when it is that job's delivery, instead of reading the
   * payload from Redis and decoding it. Any job that finds nothing there (a retry, another process's feed, an entry
   * dropped for room or age) reads the payload store as before.
   */
  intakeHandoff?: EcgHandoff;
}

/** Starts the `ecg.infer` worker. Close it with `worker.close()` (waits for active jobs). */
export function startInferWorker(options: InferWorkerOptions): Worker<InferJobData, InferJobResult> {
  const deletePayloads = options.deletePayloads ?? true;
  const writeOptions = stageJobOptions(options.retry);
  // The write jobs of one batch's ECGs go to Redis in one round trip.
  const writeJobs = new BulkAdder(options.writeQueue);
  return startStageWorker<InferJobData, InferJobResult>(
    {
      stage: 'infer',
      queue: QUEUE_NAMES.infer,
      defaultConcurrency: 32,
      ecgIdOf: (job) => job.data.ecgId,
      checkData: checkInferJobData,
      async handle(job) {
        const { ecgId, payloadKey } = job.data;
        const writeId = writeJobId(ecgId, options.predictor.model.ref);
        const { receivedAt, feed, sha256 } = job.data;
        const meta = { feed: feed ?? 'unknown', receivedAt, sha256 };
        const handed = options.intakeHandoff?.take(payloadKey);
        let ecg: Ecg;
        /** Whether the payload holds the source bytes as received (what the write stage's handoff takes). */
        let isSource: boolean;
        if (handed && isDeliveryOf(handed, ecgId, meta)) {
          ecg = handed;
          isSource = true;
        } else {
          const bytes = await options.payloads.get(payloadKey);
          if (bytes === undefined) {
            // A previous attempt may have handed over and deleted the payload before its completion was recorded.
            if (await options.writeQueue.getJob(writeId)) {
              const result = { status: 'handed-off-earlier', writeJobId: writeId } as const;
              return { result, ecgId, detail: result.status };
            }
            throw new PermanentError('the ECG payload is missing or expired from the payload store');
          }
          ecg = readEcgPayload(bytes, meta, options.decodeSource);
          isSource = !isEncodedEcgPayload(bytes);
        }
        const shadowed = options.shadow ? await options.shadow.predict(ecg) : undefined;
        const prediction = shadowed ? shadowed.prediction : await options.predictor.predict(ecg);
        const handOver = options.handOverPayloads === true;
        const data: WriteJobData = handOver ? { prediction, payloadKey } : { prediction };
        // Left before the add: once the job is in Redis the writer may take it at once. With the leads as integers,
        // which is all the writer needs of them: half the bytes held while the write waits (withIntegerLeads).
        const handedOff =
          handOver && options.handoff && isSource && options.handoff.put(payloadKey, withIntegerLeads(ecg));
        try {
          await writeJobs.add('write', data, { ...writeOptions, jobId: writeId });
        } catch (err) {
          if (handedOff) options.handoff?.remove(payloadKey);
          throw err;
        }
        options.onPredicted?.(ecg, prediction);
        if (deletePayloads && !handOver) await options.payloads.delete(payloadKey);
        // After the hand-over: the shadow never holds up the live result (settle never rejects).
        await shadowed?.settle(true);
        return { result: { status: prediction.status, writeJobId: writeId }, ecgId, detail: prediction.status };
      },
    },
    options,
  );
}

/**
 * Whether an ECG a feed left is the one this job's payload holds: the same document (id and hash) from the same
 * delivery (feed and receipt time, which the job keeps from the delivery that added it; a resend's differ).
 */
function isDeliveryOf(ecg: Ecg, ecgId: string, meta: { feed: string; receivedAt: string; sha256?: string }): boolean {
  const { source } = ecg;
  return (
    ecg.id === ecgId &&
    source.sha256 === meta.sha256 &&
    source.feed === meta.feed &&
    source.receivedAt === meta.receivedAt
  );
}
