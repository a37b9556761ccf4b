/**
 * AUC with its variance and 95 % confidence interval by DeLong's method (DeLong, DeLong & Clarke-Pearson 1988,
 * Biometrics 44:837), computed with the fast midrank algorithm of Sun & Xu 2014 (IEEE Signal Processing Letters
 * 21(11):1389), O(N log N) instead of O(m n).
 */
import { splitByLabel } from './binary.js';

/** z for a two-sided 95 % interval: the 0.975 quantile of the standard normal (as pROC uses). */
export const Z_975 = 1.959963984540054;

export interface DelongAuc {
  auc: number;
  /** DeLong variance of the AUC: S10 / m + S01 / n. */
  variance: number;
  se: number;
  /** auc -+ Z_975 x se, clamped to [0, 1] (as pROC does). */
  ci95: [number, number];
}

/**
 * Midranks (1-based, ties get the mean of their ranks) of the ascending `sorted` values, written to `out`.
 */
function midranksSorted(sorted: Float64Array, out: Float64Array): void {
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[k] = rank;
    i = j + 1;
  }
}

/**
 * DeLong AUC, variance and CI. Structural components (DeLong 1988): for positive i, V10_i = the share of negatives
 * scoring below it (ties 1/2); for negative j, V01_j = the share of positives scoring above it (ties 1/2). Sun &
 * Xu get them from midranks: V10_i = (Tz_i - Tx_i) / n and V01_j = 1 - (Tz_j - Ty_j) / m, Tz the midrank in the
 * pooled sample and Tx, Ty the midrank within the class. AUC = mean(V10); variance = var(V10) / m + var(V01) / n
 * with sample variances (divisor m - 1, n - 1). Needs at least 2 of each class for a variance.
 */
export function delongAuc(p: ArrayLike<number>, y: ArrayLike<number>): DelongAuc {
  const { positives, negatives } = splitByLabel(p, y);
  const m = positives.length;
  const n = negatives.length;
  const tx = new Float64Array(m);
  const ty = new Float64Array(n);
  midranksSorted(positives, tx);
  midranksSorted(negatives, ty);
  // Pooled midranks from the two sorted classes by a merge: for each distinct value, the number of pooled values
  // below it and the size of its tie group give its midrank.
  const tzx = new Float64Array(m);
  const tzy = new Float64Array(n);
  let i = 0;
  let j = 0;
  while (i < m || j < n) {
    const v = j >= n || (i < m && (positives[i] as number) <= (negatives[j] as number)) ? positives[i] : negatives[j];
    const below = i + j;
    let i2 = i;
    let j2 = j;
    while (i2 < m && positives[i2] === v) i2++;
    while (j2 < n && negatives[j2] === v) j2++;
    const rank = below + (i2 - i + (j2 - j) + 1) / 2;
    tzx.fill(rank, i, i2);
    tzy.fill(rank, j, j2);
    i = i2;
    j = j2;
  }
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let sum10 = 0;
  for (let k = 0; k < m; k++) {
    v10[k] = ((tzx[k] as number) - (tx[k] as number)) / n;
    sum10 += v10[k] as number;
  }
  for (let k = 0; k < n; k++) v01[k] = 1 - ((tzy[k] as number) - (ty[k] as number)) / m;
  const aucValue = sum10 / m;
  const variance = sampleVariance(v10) / m + sampleVariance(v01) / n;
  const se = Math.sqrt(variance);
  const ci95: [number, number] = [Math.max(0, aucValue - Z_975 * se), Math.min(1, aucValue + Z_975 * se)];
  return { auc: aucValue, variance, se, ci95 };
}

/** Sample variance (divisor length - 1; NaN below 2 values), two-pass for accuracy. */
function sampleVariance(x: Float64Array): number {
  if (x.length < 2) return Number.NaN;
  let mean = 0;
  for (let k = 0; k < x.length; k++) mean += x[k] as number;
  mean /= x.length;
  let ss = 0;
  for (let k = 0; k < x.length; k++) {
    const d = (x[k] as number) - mean;
    ss += d * d;
  }
  return ss / (x.length - 1);
}
