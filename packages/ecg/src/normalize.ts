/**
 * Normalisation of the model input, as the card's `normalize` names it:
 * - `none`: values as they are;
 * - `zscore-record`: one mean and one population SD over the whole leads x samples array (ECGFounder's loader);
 * - `zscore-per-lead`: a mean and SD per lead.
 * A flat array (SD = 0, or SD lost in rounding next to the mean) is only centred, never divided by zero.
 */
import type { Normalization } from './model-input.js';

/** Affine map v -> (v - mean) * scale for one lead or the whole record. */
export interface ZScore {
  mean: number;
  /** 1 / SD, or 1 where the SD is zero or rounding noise. */
  scale: number;
}

/**
 * Mean and inverse population SD from running sums (Float64). Guards SD = 0: a constant signal maps to 0.
 */
export function zscoreFromSums(sum: number, sumSquares: number, count: number): ZScore {
  if (!(count > 0)) return { mean: 0, scale: 1 };
  const mean = sum / count;
  const variance = Math.max(0, sumSquares / count - mean * mean);
  const sd = Math.sqrt(variance);
  // Below ~1e-7 of the mean's magnitude the SD is float rounding, not signal.
  const flat = !(sd > 0) || !Number.isFinite(sd) || sd <= 1e-7 * Math.abs(mean);
  return { mean, scale: flat ? 1 : 1 / sd };
}

/** Shape of a leads x samples array. */
export interface ArrayShape {
  leads: number;
  samples: number;
  /** `NCL`: lead-major ([lead][sample]); `NLC`: sample-major ([sample][lead]). Default `NCL`. */
  layout?: 'NCL' | 'NLC';
}

/**
 * Normalises `data[offset .. offset + leads * samples)` in place and returns the per-lead affine maps applied
 * (one entry repeated for `zscore-record`, identity for `none`).
 */
export function normalize(
  data: Float32Array | Float64Array,
  mode: Normalization,
  shape: ArrayShape,
  offset = 0,
): ZScore[] {
  const { leads, samples } = shape;
  const nlc = shape.layout === 'NLC';
  if (offset < 0 || offset + leads * samples > data.length) throw new RangeError('normalize: array too small');
  const stride = nlc ? leads : 1;
  const base = (lead: number): number => offset + (nlc ? lead : lead * samples);
  if (mode === 'none') return Array.from({ length: leads }, () => ({ mean: 0, scale: 1 }));
  const sums = new Float64Array(leads);
  const squares = new Float64Array(leads);
  for (let l = 0; l < leads; l++) {
    let s = 0;
    let q = 0;
    for (let t = 0, i = base(l); t < samples; t++, i += stride) {
      const v = data[i] as number;
      s += v;
      q += v * v;
    }
    sums[l] = s;
    squares[l] = q;
  }
  let maps: ZScore[];
  if (mode === 'zscore-record') {
    let s = 0;
    let q = 0;
    for (let l = 0; l < leads; l++) {
      s += sums[l] as number;
      q += squares[l] as number;
    }
    const z = zscoreFromSums(s, q, leads * samples);
    maps = Array.from({ length: leads }, () => z);
  } else {
    maps = Array.from({ length: leads }, (_, l) => zscoreFromSums(sums[l] as number, squares[l] as number, samples));
  }
  for (let l = 0; l < leads; l++) {
    const { mean, scale } = maps[l] as ZScore;
    for (let t = 0, i = base(l); t < samples; t++, i += stride) data[i] = ((data[i] as number) - mean) * scale;
  }
  return maps;
}
