/**
 * Percentile bootstrap of the AUC and of sensitivity, specificity, PPV and NPV at fixed thresholds, seeded so that
 * reruns agree.
 *
 * Resampling is STRATIFIED, as pROC's default (Robin et al. 2011, BMC Bioinformatics 12:77): each resample draws m
 * positives with replacement from the m positives and n negatives from the n negatives, so every resample has both
 * classes and the same prevalence as the cohort (so PPV and NPV vary only through sensitivity and specificity).
 * The interval is the 2.5th and 97.5th percentiles of the resampled statistics (R's default quantile, type 7).
 *
 * Speed: the scores are sorted once into tie groups; a resample is only a count per tie group (one uniform draw
 * per resampled case), and the AUC and the confusion counts at each fixed threshold come from one weighted sweep
 * over the groups. O(N) per resample, no re-sorting.
 */
import { firstAtOrAbove, splitByLabel, tieGroups } from './binary.js';
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
  const groups = tieGroups(splitByLabel(p, y));
  const m = groups.positiveGroup.length;
  const n = groups.negativeGroup.length;
  const G = groups.values.length;
  const K = thresholds.length;
  // Group index at which each threshold starts calling positive, visited in ascending order during the sweep.
  const start = thresholds.map((t) => firstAtOrAbove(groups.values, t));
  const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => (start[a] as number) - (start[b] as number));
  const sortedStart = Int32Array.from(order, (k) => start[k] as number);

  const random = seededRandom(seed);
  const posCount = new Int32Array(G);
  const negCount = new Int32Array(G);
  const aucSamples = new Float64Array(resamples);
  const sens = Array.from({ length: K }, () => new Float64Array(resamples));
  const spec = Array.from({ length: K }, () => new Float64Array(resamples));
  const ppv = Array.from({ length: K }, () => new Float64Array(resamples));
  const npv = Array.from({ length: K }, () => new Float64Array(resamples));
  const { positiveGroup, negativeGroup } = groups;
  const mn = m * n;

  for (let r = 0; r < resamples; r++) {
    posCount.fill(0);
    negCount.fill(0);
    for (let i = 0; i < m; i++) {
      const g = positiveGroup[(random() * m) | 0] as number;
      posCount[g] = (posCount[g] as number) + 1;
    }
    for (let j = 0; j < n; j++) {
      const g = negativeGroup[(random() * n) | 0] as number;
      negCount[g] = (negCount[g] as number) + 1;
    }
    let negBelow = 0;
    let posBelow = 0;
    let sum = 0;
    let k = 0;
    for (let g = 0; g < G; g++) {
      while (k < K && sortedStart[k] === g) record(order[k++] as number, r, posBelow, negBelow);
      const pos = posCount[g] as number;
      const neg = negCount[g] as number;
      sum += pos * (negBelow + neg * 0.5);
      negBelow += neg;
      posBelow += pos;
    }
    while (k < K) record(order[k++] as number, r, posBelow, negBelow);
    aucSamples[r] = sum / mn;
  }

  function record(index: number, r: number, posBelow: number, negBelow: number): void {
    const tp = m - posBelow;
    const fn = posBelow;
    const tn = negBelow;
    const fp = n - negBelow;
    (sens[index] as Float64Array)[r] = tp / m;
    (spec[index] as Float64Array)[r] = tn / n;
    (ppv[index] as Float64Array)[r] = tp + fp > 0 ? tp / (tp + fp) : Number.NaN;
    (npv[index] as Float64Array)[r] = tn + fn > 0 ? tn / (tn + fn) : Number.NaN;
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
