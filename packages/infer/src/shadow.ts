/**
 * Shadow mode: a second model scores the ECGs the live model scores (all, or a fraction picked by the ECG id's
 * hash), on the same prepared input, so the ECG is prepared once. The live Prediction is returned as soon as the
 * live model has it; the shadow's only ever goes to `onScored` (metrics, the shadow store), never to the EHR.
 * A shadow fault (its batcher, its session, `onScored`) is caught and reported to `onFailure`: it never fails the
 * live result.
 */
import { type Ecg, PermanentError, type Prediction, summarizeEcg, type VesselPrediction } from '@ecgcad/ecg';
import type { VesselThresholds } from './card.js';
import { type PredictOptions, type Predictor, stratumOf } from './predictor.js';
import { type ShadowRecord, shadowRecordOf } from './shadow-compare.js';
import { inShadowSample } from './shadow-sample.js';

type Scored = Extract<Prediction, { status: 'scored' }>;

/** Options of {@link ShadowScorer}. */
export interface ShadowScorerOptions {
  live: Predictor;
  shadow: Predictor;
  /** Share of ECGs the shadow scores, picked by the ECG id's hash (deterministic). Default 1. */
  fraction?: number;
  /** Gets each ECG both models scored, once the live result's fate is known. May be async; must not throw. */
  onScored: (record: ShadowRecord) => void | Promise<void>;
  /** A shadow fault, by step (`score`: the shadow model; `record`: onScored). Messages hold no patient data. */
  onFailure?: (step: 'score' | 'record', err: unknown) => void;
  /** Clock of the records (tests). */
  now?: () => Date;
}

/** A live Prediction, with the shadow's scoring still under way. */
export interface ShadowedPrediction {
  /** The live model's result: the only one that goes on to the write stage. */
  prediction: Prediction;
  /**
   * Records the pair once the shadow is done (`written`: whether the live result was written or handed to the
   * write stage). Never rejects; a no-op when the shadow did not score this ECG.
   */
  settle(written: boolean): Promise<void>;
}

/** Scores with the live model and, alongside, the shadow model. */
export class ShadowScorer {
  readonly live: Predictor;
  readonly shadow: Predictor;
  readonly fraction: number;
  /** Whether both models take the same input, so the live model's prepared input can be reused. */
  readonly sharesInput: boolean;
  private readonly options: ShadowScorerOptions;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: ShadowScorerOptions) {
    this.live = options.live;
    this.shadow = options.shadow;
    this.fraction = options.fraction ?? 1;
    this.options = options;
    const a = options.live.model;
    const b = options.shadow.model;
    this.sharesInput = a.inputSize === b.inputSize && JSON.stringify(a.card.input) === JSON.stringify(b.card.input);
  }

  /**
   * The live Prediction (rejects exactly as Predictor.predict does) and a handle on the shadow's. When both
   * models share an input spec, the shadow gets a copy of the live model's prepared input; otherwise it prepares
   * its own, in parallel.
   */
  async predict(ecg: Ecg, options: PredictOptions = {}): Promise<ShadowedPrediction> {
    if (!inShadowSample(ecg.id, this.fraction)) {
      return { prediction: await this.live.predict(ecg, options), settle: async () => {} };
    }
    let shadow: Promise<Scored | undefined> | undefined;
    const failed = (err: unknown): undefined => {
      this.options.onFailure?.('score', err);
      return undefined;
    };
    if (this.sharesInput) {
      const onPrepared = (input: Float32Array): void => {
        options.onPrepared?.(input);
        try {
          shadow = this.scoreInput(ecg, input.slice()).catch(failed);
        } catch (err) {
          failed(err);
        }
      };
      const prediction = await this.live.predict(ecg, { ...options, onPrepared });
      return this.handle(prediction, shadow);
    }
    // Another input spec (sample rate, leads, normalisation): the shadow prepares the ECG itself.
    shadow = this.shadow.predict(ecg).then((p) => (p.status === 'scored' ? p : undefined), failed);
    this.track(shadow);
    const prediction = await this.live.predict(ecg, options);
    return this.handle(prediction, shadow);
  }

  /** Waits for shadow work under way, then releases the shadow model (the live one is its owner's to close). */
  async close(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.shadow.close();
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const done = (): void => {
      this.pending.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  private async scoreInput(ecg: Ecg, input: Float32Array): Promise<Scored> {
    const { card, ref } = this.shadow.model;
    const probs = await this.track(this.shadow.batcher.submit(input));
    const vessels: VesselPrediction[] = card.outputs.vessels.map((vessel, i) => {
      const probability = probs[i] as number;
      if (!(probability >= 0 && probability <= 1)) {
        throw new PermanentError(`shadow model ${ref.id} ${ref.version} returned a probability outside [0, 1]`);
      }
      return { vessel, probability, stratum: stratumOf(probability, card.thresholds[vessel] as VesselThresholds) };
    });
    return { status: 'scored', ecg: summarizeEcg(ecg), model: ref, vessels, predictedAt: this.now().toISOString() };
  }

  private handle(prediction: Prediction, shadow: Promise<Scored | undefined> | undefined): ShadowedPrediction {
    if (!shadow || prediction.status !== 'scored') return { prediction, settle: async () => {} };
    const live = prediction;
    const settle = async (written: boolean): Promise<void> => {
      const other = await shadow;
      if (!other) return;
      try {
        await this.track(Promise.resolve(this.options.onScored(shadowRecordOf(live, other, written, this.now()))));
      } catch (err) {
        this.options.onFailure?.('record', err);
      }
    };
    return { prediction, settle };
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}
