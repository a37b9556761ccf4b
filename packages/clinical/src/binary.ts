/**
 * Checked inputs for the binary-outcome statistics: probabilities (any finite scores) and 0/1 labels of the same
 * length, split into the scores of the positives and of the negatives, each sorted ascending.
 */

/** Inputs that the statistics cannot use (lengths differ, a label not 0/1, a score not finite, one class only). */
export class StatisticsInputError extends Error {
  override readonly name = 'StatisticsInputError';
}

/** Scores of each class, sorted ascending. */
export interface SplitScores {
  /** Scores of the positives (label 1), ascending. */
  positives: Float64Array;
  /** Scores of the negatives (label 0), ascending. */
  negatives: Float64Array;
}

/** Splits scores by label and sorts each class. Throws StatisticsInputError for unusable input. */
export function splitByLabel(p: ArrayLike<number>, y: ArrayLike<number>, requireBothClasses = true): SplitScores {
  if (p.length !== y.length) {
    throw new StatisticsInputError(`${p.length} scores but ${y.length} labels: they must pair up`);
  }
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    const label = y[i];
    if (label === 1) m++;
    else if (label !== 0) throw new StatisticsInputError(`label at index ${i} is not 0 or 1`);
    if (!Number.isFinite(p[i])) throw new StatisticsInputError(`score at index ${i} is not a finite number`);
  }
  const n = y.length - m;
  if (requireBothClasses && (m === 0 || n === 0)) {
    throw new StatisticsInputError(`all ${y.length} labels are ${m === 0 ? '0' : '1'}: both classes are needed`);
  }
  const positives = new Float64Array(m);
  const negatives = new Float64Array(n);
  let a = 0;
  let b = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) positives[a++] = p[i] as number;
    else negatives[b++] = p[i] as number;
  }
  // Typed-array sort is numeric and ascending.
  positives.sort();
  negatives.sort();
  return { positives, negatives };
}

/**
 * The distinct scores of both classes in ascending order, with the number of positives and negatives at each:
 * the tie groups every ROC quantity is a sum over.
 */
export interface TieGroups {
  values: Float64Array;
  positives: Int32Array;
  negatives: Int32Array;
  /** For each sorted positive, the index of its group. */
  positiveGroup: Int32Array;
  /** For each sorted negative, the index of its group. */
  negativeGroup: Int32Array;
}

/** Merges the sorted scores of the two classes into tie groups. */
export function tieGroups({ positives, negatives }: SplitScores): TieGroups {
  const m = positives.length;
  const n = negatives.length;
  const values = new Float64Array(m + n);
  const pos = new Int32Array(m + n);
  const neg = new Int32Array(m + n);
  const positiveGroup = new Int32Array(m);
  const negativeGroup = new Int32Array(n);
  let i = 0;
  let j = 0;
  let g = -1;
  while (i < m || j < n) {
    const v = j >= n || (i < m && (positives[i] as number) <= (negatives[j] as number)) ? positives[i] : negatives[j];
    g++;
    values[g] = v as number;
    while (i < m && positives[i] === v) {
      positiveGroup[i++] = g;
      pos[g] = (pos[g] as number) + 1;
    }
    while (j < n && negatives[j] === v) {
      negativeGroup[j++] = g;
      neg[g] = (neg[g] as number) + 1;
    }
  }
  const groups = g + 1;
  return {
    values: values.slice(0, groups),
    positives: pos.slice(0, groups),
    negatives: neg.slice(0, groups),
    positiveGroup,
    negativeGroup,
  };
}

/** Index of the first of the ascending `values` that is >= t (values.length when none is). */
export function firstAtOrAbove(values: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
