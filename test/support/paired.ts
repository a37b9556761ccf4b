/**
 * Paired comparison of two builds measured in alternating runs (bench/ab.ts): on a host whose identical runs differ
 * by 10-25 %, one run each cannot show a change of a few per cent, but the same change in every pair of neighbouring
 * runs can. The interval is Student's t on the paired differences (B - A), which suits the few pairs a bench
 * affords; the sign count says how many pairs agree, without assuming anything about the spread.
 */

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (a 95 % interval). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Student's t quantile for a two-sided 95 % interval with `df` degrees of freedom (the normal's 1.96 past 30). */
export function tQuantile95(df: number): number {
  if (!(df >= 1)) return Number.NaN;
  return T_975[Math.floor(df) - 1] ?? 1.96;
}

/** What the pairs say about B against A for one measure. */
export interface PairedSummary {
  /** Pairs where both runs gave the measure. */
  pairs: number;
  medianA: number;
  medianB: number;
  /** Mean of B - A over the pairs. */
  meanDifference: number;
  /** 95 % interval of the mean difference; NaN with fewer than two pairs. */
  low: number;
  high: number;
  /** meanDifference relative to A's mean. */
  relative: number;
  /** Pairs where B came out lower than A, and higher. */
  lower: number;
  higher: number;
  /** Whether the interval lies wholly below 0 ('lower'), above it ('higher'), or holds it ('unclear'). */
  verdict: 'lower' | 'higher' | 'unclear';
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Summarises paired runs: a[i] and b[i] come from neighbouring runs of round i. A pair where either value is not a
 * finite number (the measure missing from one output) is left out.
 */
export function pairedSummary(a: readonly number[], b: readonly number[]): PairedSummary {
  const keptA: number[] = [];
  const keptB: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      keptA.push(x);
      keptB.push(y);
    }
  }
  const n = keptA.length;
  const differences = keptA.map((x, i) => (keptB[i] as number) - x);
  const mean = n > 0 ? differences.reduce((s, d) => s + d, 0) / n : Number.NaN;
  const variance = n > 1 ? differences.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1) : Number.NaN;
  const half = tQuantile95(n - 1) * Math.sqrt(variance / n);
  const low = mean - half;
  const high = mean + half;
  const meanA = n > 0 ? keptA.reduce((s, x) => s + x, 0) / n : Number.NaN;
  return {
    pairs: n,
    medianA: median(keptA),
    medianB: median(keptB),
    meanDifference: mean,
    low,
    high,
    relative: mean / meanA,
    lower: differences.filter((d) => d < 0).length,
    higher: differences.filter((d) => d > 0).length,
    verdict: high < 0 ? 'lower' : low > 0 ? 'higher' : 'unclear',
  };
}

/**
 * The order of round `round` (0-based): A first in even rounds, B first in odd ones, so a host that drifts one
 * way over the session weighs on both builds alike.
 */
export function roundOrder(round: number): ['a', 'b'] | ['b', 'a'] {
  return round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
}
