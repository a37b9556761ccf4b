/**
 * ROC curve and AUC of a score against a binary outcome. A prediction is positive when p >= threshold.
 */
import { splitByLabel, tieGroups } from './binary.js';

/** One operating point: "p >= threshold" is called positive. */
export interface RocPoint {
  threshold: number;
  sensitivity: number;
  specificity: number;
}

/**
 * AUC as the Mann-Whitney statistic: the probability that a random positive scores higher than a random negative,
 * ties counting 1/2 (Hanley & McNeil 1982, Radiology 143:29). Equals the trapezoidal area under rocCurve().
 */
export function auc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const groups = tieGroups(splitByLabel(p, y));
  let negativesBelow = 0;
  let sum = 0;
  let m = 0;
  for (let g = 0; g < groups.values.length; g++) {
    const pos = groups.positives[g] as number;
    const neg = groups.negatives[g] as number;
    sum += pos * (negativesBelow + neg / 2);
    negativesBelow += neg;
    m += pos;
  }
  return sum / (m * negativesBelow);
}

/**
 * The empirical ROC curve: one point per distinct score (threshold = that score), plus the corner (0, 0) with
 * threshold +Infinity (nothing called positive). Ordered by false-positive rate (1 - specificity) from (0, 0) to
 * (1, 1); the last point is the lowest score, where everything is called positive.
 */
export function rocCurve(p: ArrayLike<number>, y: ArrayLike<number>): RocPoint[] {
  const groups = tieGroups(splitByLabel(p, y));
  const m = groups.positiveGroup.length;
  const n = groups.negativeGroup.length;
  const points: RocPoint[] = [{ threshold: Number.POSITIVE_INFINITY, sensitivity: 0, specificity: 1 }];
  let tp = 0;
  let fp = 0;
  for (let g = groups.values.length - 1; g >= 0; g--) {
    tp += groups.positives[g] as number;
    fp += groups.negatives[g] as number;
    points.push({ threshold: groups.values[g] as number, sensitivity: tp / m, specificity: (n - fp) / n });
  }
  return points;
}
