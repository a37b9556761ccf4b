/**
 * The model card's `input` block: what tensor the model expects and how to make it from an Ecg.
 * prepare() in this package follows it exactly; the card decides, the code never guesses.
 */
import { type LeadName, STANDARD_LEADS } from './ecg.js';

/** Normalisation applied after filtering: none, one mean/SD over the whole array, or per lead. */
export type Normalization = 'none' | 'zscore-record' | 'zscore-per-lead';

export interface ModelInputSpec {
  /** ONNX input name. */
  name: string;
  /** Leads in tensor order. */
  leads: LeadName[];
  /** Rate the model expects; sources are resampled to it. */
  sampleRateHz: number;
  /** Samples per lead; longer records are cropped, shorter padded (within the quality gate's limits). */
  samples: number;
  /** Units of the tensor values. */
  units: 'uV' | 'mV';
  /** `NCL`: [batch, leads, samples]; `NLC`: [batch, samples, leads]. */
  layout: 'NCL' | 'NLC';
  /** Optional band-pass applied before normalisation. */
  filter?: { highpassHz?: number; lowpassHz?: number; notchHz?: number };
  normalize: Normalization;
}

/**
 * The default model input: 12 leads, 10 s at 500 Hz, in mV, band-passed 0.5-40 Hz, one z-score per record
 * (the seed study's shape and the demo model card's input block). Used where no model card is at hand
 * (`ecgcad inspect`'s quality verdict) and as the demo card's input.
 */
export const DEFAULT_INPUT_SPEC: Readonly<ModelInputSpec> = Object.freeze({
  name: 'ecg',
  leads: [...STANDARD_LEADS],
  sampleRateHz: 500,
  samples: 5000,
  units: 'mV',
  layout: 'NCL',
  filter: Object.freeze({ highpassHz: 0.5, lowpassHz: 40 }),
  normalize: 'zscore-record',
});
