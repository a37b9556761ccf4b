/**
 * Occlusion sensitivity: which lead x time window of one ECG's model input moved each vessel's probability. Each
 * lead's window is in turn replaced by that lead's baseline and the copy is scored; the map holds, per vessel,
 * the plain probability minus the occluded one (positive: the region raised the risk).
 *
 * The baseline of a lead is its median over the real (unpadded) samples of the prepared input: the isoelectric
 * level, after the card's filter and normalisation, around which PQRST deflections sit (the median is robust to
 * the brief QRS and T waves). Replacing a window by it removes the waveform there without adding a step or an
 * offset the model never sees in real ECGs (zero would be such an offset for a card that does not z-score).
 *
 * The occluded copies are written straight into the batch tensor by the caller's batcher (one InputWriter each),
 * at most `chunk` at a time, so one ECG's map shares the session's batches with other ECGs' requests and never
 * fills the batcher's queue by itself. Pure apart from the `submit` it is given.
 */
import type { EcgAttribution, ModelInputSpec, PreparedSpan, Stratum, Vessel } from '@ecgcad/ecg';
import type { InputWriter } from './batcher.js';

/** Which scored ECGs get a map: those with any vessel high (default), every one, or none. */
export type AttributionWhen = 'any-high' | 'always' | 'never';

/** Attribution settings of the infer stage. */
export interface AttributionOptions {
  /** Default 'any-high' where attribution is configured (the engine); a bare Predictor defaults to 'never'. */
  when?: AttributionWhen;
  /**
   * Window length in seconds, rounded to whole samples at the model's rate. Default 1 s: about one beat at
   * 60 bpm, so a window holds one or two complexes; 12 leads x 10 windows = 120 extra model rows for a 10 s ECG.
   */
  windowS?: number;
}

/** The default window length, s (see AttributionOptions.windowS). */
export const DEFAULT_ATTRIBUTION_WINDOW_S = 1;

/** True when an ECG with these strata gets a map under `when`. */
export function wantsAttribution(when: AttributionWhen, strata: readonly { stratum: Stratum }[]): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  // A loop, not some(closure): a closure made per ECG is optimised again after every full collection.
  for (const v of strata) if (v.stratum === 'high') return true;
  return false;
}

/** The windows over one ECG's input, in model samples. */
export interface OcclusionWindows {
  /** Samples per window (the last one may be shorter). */
  windowSamples: number;
  /** Windows over the real samples; none lies wholly in the padding. */
  count: number;
  /** Real samples at the start of each row (the rest is padding, never occluded). */
  keptSamples: number;
}

/** Windows of `windowS` seconds over the real part of the input (RangeError for a window under one sample). */
export function occlusionWindows(spec: ModelInputSpec, keptSamples: number, windowS: number): OcclusionWindows {
  const windowSamples = Math.round(windowS * spec.sampleRateHz);
  if (!(windowSamples >= 1)) throw new RangeError(`attribution window of ${windowS} s is under one sample`);
  const kept = Math.max(0, Math.min(keptSamples, spec.samples));
  return { windowSamples, count: Math.ceil(kept / windowSamples), keptSamples: kept };
}

/** Per lead (card order), its median over the first `keptSamples` samples of `input` (layout as the card's). */
export function leadBaselines(input: Float32Array, spec: ModelInputSpec, keptSamples: number): Float32Array {
  const leads = spec.leads.length;
  const out = new Float32Array(leads);
  const n = Math.max(0, Math.min(keptSamples, spec.samples));
  if (n === 0) return out;
  const scratch = new Float32Array(n);
  for (let c = 0; c < leads; c++) {
    if (spec.layout === 'NCL') scratch.set(input.subarray(c * spec.samples, c * spec.samples + n));
    else for (let t = 0; t < n; t++) scratch[t] = input[t * leads + c] as number;
    scratch.sort();
    const mid = n >> 1;
    out[c] = n % 2 === 1 ? (scratch[mid] as number) : ((scratch[mid - 1] as number) + (scratch[mid] as number)) / 2;
  }
  return out;
}

/**
 * An InputWriter for occluded copy `lead` x `window`: the prepared input with that window of that lead set to the
 * lead's baseline.
 */
export function occludedWriter(
  input: Float32Array,
  spec: ModelInputSpec,
  windows: OcclusionWindows,
  baselines: Float32Array,
  lead: number,
  window: number,
): InputWriter {
  const from = window * windows.windowSamples;
  const to = Math.min(from + windows.windowSamples, windows.keptSamples);
  const value = baselines[lead] as number;
  return (batch, offset) => {
    batch.set(input, offset);
    if (spec.layout === 'NCL') {
      const row = offset + lead * spec.samples;
      batch.fill(value, row + from, row + to);
    } else {
      const leads = spec.leads.length;
      for (let t = from; t < to; t++) batch[offset + t * leads + lead] = value;
    }
  };
}

/**
 * Maps computed at once by one Predictor. Each map keeps up to one batch of copies in the batcher's queue; bounding
 * the maps bounds that share to about half the queue, so the plain requests of other ECGs always find room (a
 * full queue refuses them with a TransientError).
 */
export class MapSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('map slots must be a positive integer');
    this.free = size;
  }

  /** The slots for a batcher: half its queue in batches of `maxBatch`, at least one. */
  static forBatcher(batcher: { maxQueue: number; maxBatch: number }): MapSlots {
    return new MapSlots(Math.max(1, Math.floor(batcher.maxQueue / (2 * batcher.maxBatch))));
  }

  /** Runs `work` once a slot is free. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** What occlusionAttribution() needs. */
export interface OcclusionInput {
  /** The prepared model input of one ECG (card layout, leads x samples values). */
  input: Float32Array;
  spec: ModelInputSpec;
  /** Where the input lies in the source ECG (preparedSpan()). */
  span: PreparedSpan;
  /** The card's output vessels, in output order. */
  vessels: readonly Vessel[];
  /** The plain (unoccluded) probabilities, one per vessel. */
  probabilities: ArrayLike<number>;
  /** Scores one model input (the Predictor's batcher). */
  submit: (writer: InputWriter) => Promise<Float32Array>;
  /** Copies in flight at once; default 16 (a batch). */
  chunk?: number;
  windowS?: number;
}

/** Decimal places kept in the map: float32 probabilities carry about seven. */
const MAP_DECIMALS = 1e6;

/** Scores every occluded copy of one ECG and returns its occlusion-sensitivity map. */
export async function occlusionAttribution(args: OcclusionInput): Promise<EcgAttribution> {
  const { input, spec, span, vessels, probabilities } = args;
  const windows = occlusionWindows(spec, span.keptSamples, args.windowS ?? DEFAULT_ATTRIBUTION_WINDOW_S);
  const baselines = leadBaselines(input, spec, windows.keptSamples);
  const leads = spec.leads.length;
  const maps = vessels.map(() => Array.from({ length: leads }, () => new Array<number>(windows.count).fill(0)));
  const total = leads * windows.count;
  const chunk = Math.max(1, args.chunk ?? 16);
  for (let first = 0; first < total; first += chunk) {
    const cells = Array.from({ length: Math.min(chunk, total - first) }, (_, k) => first + k);
    const results = await Promise.all(
      cells.map((cell) => {
        const lead = Math.floor(cell / windows.count);
        const window = cell % windows.count;
        return args.submit(occludedWriter(input, spec, windows, baselines, lead, window));
      }),
    );
    cells.forEach((cell, k) => {
      const occluded = results[k] as Float32Array;
      const lead = Math.floor(cell / windows.count);
      const window = cell % windows.count;
      maps.forEach((map, v) => {
        const delta = (probabilities[v] as number) - (occluded[v] as number);
        // `+ 0` turns a rounded -0 into 0.
        (map[lead] as number[])[window] = Math.round(delta * MAP_DECIMALS) / MAP_DECIMALS + 0;
      });
    });
  }
  const byVessel: Partial<Record<Vessel, number[][]>> = {};
  vessels.forEach((vessel, v) => {
    byVessel[vessel] = maps[v] as number[][];
  });
  return {
    method: 'occlusion',
    windowS: windows.windowSamples / spec.sampleRateHz,
    startS: span.startS,
    leads: [...spec.leads],
    vessels: byVessel,
  };
}
