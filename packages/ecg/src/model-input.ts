/**
 * The model card's `input` block: what tensor the model expects and how to make it from an Ecg.
 * prepare() in this package follows it exactly; the card decides, the code never guesses.
 */
import type { LeadName } from './ecg.js';

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
