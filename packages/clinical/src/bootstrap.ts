/**
 * Percentile bootstrap of the AUC and of sensitivity, specificity, PPV and NPV at fixed thresholds, seeded so that
 * reruns agree.
 *
 * Resampling is STRATIFIED, as pROC's default (Robin et al. 2011, BMC Bioinformatics 12:77): each resample draws m
 * positives with replacement from the m positives and n negatives from the n negatives, so every resample has both
 * classes and the same prevalence as the cohort (so PPV and NPV vary only through sensitivity and specificity).
 * The interval is the 2.5th and 97.5th percentiles of the resampled statistics (R's default quantile, type 7).
 *
 * Speed: each class is sorted once. A resample draws n negatives (a count per sorted negative, prefix-summed into
 * "resampled negatives below index j") and then m positives; each positive draw adds the resampled negatives below
 * its score plus half those tied with it (two look-ups at precomputed indices), so the AUC (Mann-Whitney) and the
 * 2 x 2 table at each fixed threshold need O(N) work per resample and no re-sorting. Random stream order:
 * negatives first, then positives.
 */
import { firstAtOrAbove, splitByLabel } from './binary.js';
import { seededRandom } from './rng.js';

export interface BootstrapOptions {
  /** Number of resamples (default 1,000). */
  resamples?: number;
  /** Seed of the resampling stream (default 42, the study's). */
  seed?: number;
  /** Thresholds (a case is positive when p >= t) at which to bootstrap sensitivity, specificity, PPV and NPV. */
  thresholds?: readonly number[];
  /** Coverage of the intervals (default 0.95). */
  level?: number;
}

/** A percentile interval; null when no resample gave a defined value (e.g. PPV with nothing called positive). */
export type Interval = [number, number] | null;

export interface ThresholdIntervals {
  threshold: number;
  sensitivity: Interval;
  specificity: Interval;
  ppv: Interval;
  npv: Interval;
}

export interface BootstrapResult {
  resamples: number;
  seed: number;
  level: number;
  /** Percentile interval of the AUC. */
  auc: Interval;
  /** The AUC of each resample, in resampling order. */
  aucSamples: Float64Array;
  /** Intervals at each requested threshold, in the order given. */
  thresholds: ThresholdIntervals[];
}

/**
 * The q-quantile (0 <= q <= 1) of values, R's type 7 / numpy's default (linear interpolation between order
 * statistics). Values that are not finite are ignored; NaN when none is left.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const finite = Float64Array.from(Array.prototype.filter.call(values, Number.isFinite) as number[]).sort();
  return quantileSorted(finite, q);
}

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** The percentile interval of the finite values, or null when none is finite. */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): Interval {
  const finite = Float64Array.from(Array.prototype.filter.call(values, Number.isFinite) as number[]).sort();
  if (finite.length === 0) return null;
  const alpha = (1 - level) / 2;
  return [quantileSorted(finite, alpha), quantileSorted(finite, 1 - alpha)];
}

/** Stratified percentile bootstrap of the AUC and of the threshold metrics. See the module comment. */
export function bootstrapRoc(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  options: BootstrapOptions = {},
): BootstrapResult {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 42;
  const level = options.level ?? 0.95;
  const thresholds = options.thresholds ?? [];
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError('resamples must be a whole number >= 1');
  if (!(level > 0 && level < 1)) throw new RangeError('level must be between 0 and 1');
  const { positives, negatives } = splitByLabel(p, y);
  const m = positives.length;
  const n = negatives.length;
  const K = thresholds.length;
  // For the i-th sorted positive: how many sorted negatives lie strictly below it (lo) and at or below it (hi).
  const lo = new Int32Array(m);
  const hi = new Int32Array(m);
  for (let i = 0, a = 0, b = 0; i < m; i++) {
    const x = positives[i] as number;
    while (a < n && (negatives[a] as number) < x) a++;
    if (b < a) b = a;
    while (b < n && (negatives[b] as number) <= x) b++;
    lo[i] = a;
    hi[i] = b;
  }
  // Where each threshold starts calling positive, in the sorted positives and negatives.
  const positiveStart = Int32Array.from(thresholds, (t) => firstAtOrAbove(positives, t));
  const negativeStart = Int32Array.from(thresholds, (t) => firstAtOrAbove(negatives, t));

  const random = seededRandom(seed);
  // negativesBelow[j]: resampled negatives among the j lowest (a prefix sum of the per-negative draw counts).
  const negativesBelow = new Int32Array(n + 1);
  const positivesBelow = new Int32Array(K);
  const aucSamples = new Float64Array(resamples);
  const sens = Array.from({ length: K }, () => new Float64Array(resamples));
  const spec = Array.from({ length: K }, () => new Float64Array(resamples));
  const ppv = Array.from({ length: K }, () => new Float64Array(resamples));
  const npv = Array.from({ length: K }, () => new Float64Array(resamples));

  for (let r = 0; r < resamples; r++) {
    // Negatives: draw counts per sorted negative (stored one place up), then prefix-sum them.
    negativesBelow.fill(0);
    for (let j = 0; j < n; j++) {
      const k = ((random() * n) | 0) + 1;
      negativesBelow[k] = (negativesBelow[k] as number) + 1;
    }
    for (let j = 1; j <= n; j++) negativesBelow[j] = (negativesBelow[j] as number) + (negativesBelow[j - 1] as number);
    // Positives: each draw adds the resampled negatives below it plus half those tied with it (Mann-Whitney).
    positivesBelow.fill(0);
    let twiceSum = 0;
    for (let i = 0; i < m; i++) {
      const d = (random() * m) | 0;
      twiceSum += (negativesBelow[lo[d] as number] as number) + (negativesBelow[hi[d] as number] as number);
      for (let k = 0; k < K; k++)
        if (d < (positiveStart[k] as number)) positivesBelow[k] = (positivesBelow[k] as number) + 1;
    }
    aucSamples[r] = twiceSum / (2 * m * n);
    for (let k = 0; k < K; k++) {
      const fn = positivesBelow[k] as number;
      const tp = m - fn;
      const tn = negativesBelow[negativeStart[k] as number] as number;
      const fp = n - tn;
      (sens[k] as Float64Array)[r] = tp / m;
      (spec[k] as Float64Array)[r] = tn / n;
      (ppv[k] as Float64Array)[r] = tp + fp > 0 ? tp / (tp + fp) : Number.NaN;
      (npv[k] as Float64Array)[r] = tn + fn > 0 ? tn / (tn + fn) : Number.NaN;
    }
  }

  return {
    resamples,
    seed,
    level,
    auc: percentileInterval(aucSamples, level),
    aucSamples,
    thresholds: thresholds.map((threshold, k) => ({
      threshold,
      sensitivity: percentileInterval(sens[k] as Float64Array, level),
      specificity: percentileInterval(spec[k] as Float64Array, level),
      ppv: percentileInterval(ppv[k] as Float64Array, level),
      npv: percentileInterval(npv[k] as Float64Array, level),
    })),
  };
}
