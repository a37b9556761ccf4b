/**
 * The infer stage's core: Ecg in, Prediction out. Quality gate first (a record that cannot be analysed gets a
 * not-analysable Prediction with its reasons, never a score), then prepare() straight into the batch tensor, the
 * dynamic batcher, and per-vessel strata from the card's thresholds.
 */
import {
  assessQuality,
  type Ecg,
  NotAnalysableError,
  PermanentError,
  type Prediction,
  prepare,
  preparedSpan,
  type QualityOptions,
  type Stratum,
  summarizeEcg,
  type VesselPrediction,
} from '@ecgcad/ecg';
import {
  type AttributionOptions,
  type AttributionWhen,
  DEFAULT_ATTRIBUTION_WINDOW_S,
  MapSlots,
  occlusionAttribution,
  wantsAttribution,
} from './attribution.js';
import { DynamicBatcher, type DynamicBatcherOptions, type SubmitOptions } from './batcher.js';
import type { VesselThresholds } from './card.js';
import { type InferLogger, silentLogger } from './logger.js';
import { type LoadedModel, loadModelFolder } from './model-folder.js';
import { createSession, type ModelSession, type SessionOptions } from './session.js';

/** p < ruleOut: low; p >= ruleIn: high; otherwise intermediate. */
export function stratumOf(probability: number, thresholds: Pick<VesselThresholds, 'ruleOut' | 'ruleIn'>): Stratum {
  if (probability < thresholds.ruleOut) return 'low';
  if (probability >= thresholds.ruleIn) return 'high';
  return 'intermediate';
}

/** Options for Predictor. */
export interface PredictorOptions {
  /** Dynamic batching (see DynamicBatcherOptions for defaults). */
  batching?: DynamicBatcherOptions;
  /** Thresholds of the quality gate (prepare() and assessQuality() defaults otherwise). */
  quality?: QualityOptions;
  /** Clock for `predictedAt` (tests). Default: the system clock. */
  now?: () => Date;
  /** Occlusion-sensitivity maps (attribution.ts); default none. */
  attribution?: AttributionOptions;
}

/** Per-call options of Predictor.predict(). */
export interface PredictOptions extends Pick<SubmitOptions, 'timeoutMs'> {
  /**
   * Sees the prepared model input once it sits in the batch tensor (a view: copy it before returning). Shadow mode
   * scores the same input with a second model instead of preparing the ECG twice.
   */
  onPrepared?: (input: Float32Array) => void;
}

/** Turns Ecgs into Predictions with one model session. */
export class Predictor {
  readonly model: LoadedModel;
  readonly session: ModelSession;
  /** The batcher in front of the session: listen to its 'batch' event for metrics. */
  readonly batcher: DynamicBatcher;
  private readonly quality: QualityOptions | undefined;
  private readonly now: () => Date;
  private readonly attributionWhen: AttributionWhen;
  private readonly attributionWindowS: number;
  private readonly mapSlots: MapSlots;

  constructor(session: ModelSession, options: PredictorOptions = {}) {
    this.session = session;
    this.model = session.model;
    this.batcher = new DynamicBatcher(session, options.batching);
    this.quality = options.quality;
    this.now = options.now ?? (() => new Date());
    this.attributionWhen = options.attribution?.when ?? 'never';
    this.attributionWindowS = options.attribution?.windowS ?? DEFAULT_ATTRIBUTION_WINDOW_S;
    this.mapSlots = MapSlots.forBatcher(this.batcher);
    if (!(this.attributionWindowS * session.model.card.input.sampleRateHz >= 1)) {
      throw new RangeError(`attribution.windowS ${this.attributionWindowS} is under one sample of the model input`);
    }
  }

  /**
   * Scores one ECG (`options.timeoutMs` overrides the batcher's per-request timeout). Resolves with a `not-analysable` Prediction when the quality gate refuses the record;
   * rejects with TransientError for batcher faults (full queue, timeout, failed run), which a retry may fix.
   */
  async predict(ecg: Ecg, options: PredictOptions = {}): Promise<Prediction> {
    const { card, ref } = this.model;
    const ecgSummary = summarizeEcg(ecg);
    const verdict = assessQuality(ecg, card.input, this.quality);
    const notAnalysable = (reasons: string[]): Prediction => ({
      status: 'not-analysable',
      ecg: ecgSummary,
      model: ref,
      reasons,
      predictedAt: this.now().toISOString(),
    });
    if (!verdict.analysable) return notAnalysable(verdict.reasons);
    let probs: Float32Array;
    // Kept for the occlusion map: a copy out of the batch tensor (cheaper than preparing the record again), taken
    // once the run returns and only when this result gets a map (most do not), not from every input.
    let input: Float32Array | undefined;
    const when = this.attributionWhen;
    const submitOptions =
      when === 'never'
        ? options
        : {
            ...options,
            onResult: (result: Float32Array, view: Float32Array) => {
              if (wantsAttribution(when, strataOf(result, card))) input = view.slice();
            },
          };
    try {
      // The gate just ran on this record with these thresholds: prepare() need not run it again.
      const prepareOptions = { qualityChecked: true, ...(this.quality ? { quality: this.quality } : {}) };
      probs = await this.batcher.submit((batch, offset) => {
        prepare(ecg, card.input, batch, offset, prepareOptions);
        options.onPrepared?.(batch.subarray(offset, offset + this.model.inputSize));
      }, submitOptions);
    } catch (err) {
      if (err instanceof NotAnalysableError) return notAnalysable(err.reasons);
      throw err;
    }
    // A loop, not map(closure): predict runs per ECG, and a closure made per call is optimised again after every
    // full collection.
    const vessels: VesselPrediction[] = [];
    for (const [i, vessel] of card.outputs.vessels.entries()) {
      const probability = probs[i] as number;
      if (!(probability >= 0 && probability <= 1)) {
        throw new PermanentError(`model ${ref.id} ${ref.version} returned a probability outside [0, 1] for ${vessel}`);
      }
      const thresholds = card.thresholds[vessel] as VesselThresholds;
      vessels.push({
        vessel,
        probability,
        stratum: stratumOf(probability, thresholds),
        thresholds: { ruleOut: thresholds.ruleOut, ruleIn: thresholds.ruleIn },
      });
    }
    const attribution =
      input && wantsAttribution(this.attributionWhen, vessels)
        ? await this.mapSlots.run(() =>
            occlusionAttribution({
              input: input as Float32Array,
              spec: card.input,
              span: preparedSpan(ecg, card.input),
              vessels: card.outputs.vessels,
              probabilities: probs,
              submit: (writer) => this.batcher.submit(writer, options),
              chunk: this.batcher.maxBatch,
              windowS: this.attributionWindowS,
            }),
          )
        : undefined;
    return {
      status: 'scored',
      ecg: ecgSummary,
      model: ref,
      vessels,
      predictedAt: this.now().toISOString(),
      ...(attribution ? { attribution } : {}),
    };
  }

  /** Waits for accepted requests, then releases the session. */
  async close(): Promise<void> {
    await this.batcher.close();
    await this.session.release();
  }
}

/** The stratum of each card vessel for one row of probabilities (what wantsAttribution reads). */
function strataOf(probabilities: Float32Array, card: LoadedModel['card']): { stratum: Stratum }[] {
  const strata: { stratum: Stratum }[] = [];
  for (const [i, vessel] of card.outputs.vessels.entries()) {
    strata.push({ stratum: stratumOf(probabilities[i] as number, card.thresholds[vessel] as VesselThresholds) });
  }
  return strata;
}

/** Options for createPredictor(). */
export interface CreatePredictorOptions extends PredictorOptions {
  session?: SessionOptions;
  logger?: InferLogger;
}

/** Loads a model folder, opens its session (with provider fallback) and returns a Predictor. */
export async function createPredictor(modelDir: string, options: CreatePredictorOptions = {}): Promise<Predictor> {
  const model = await loadModelFolder(modelDir);
  const session = await createSession(model, { logger: options.logger ?? silentLogger, ...options.session });
  return new Predictor(session, options);
}
