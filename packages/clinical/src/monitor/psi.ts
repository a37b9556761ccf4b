/**
 * Population stability index (PSI) between a reference distribution and a current one over the same bins:
 *
 *   PSI = sum over bins of (a_i - e_i) ln(a_i / e_i)
 *
 * where e_i is the reference's share of bin i and a_i the current window's. A bin empty on either side would make
 * the logarithm infinite, so each share is floored at {@link PSI_EPSILON} (1e-4, i.e. one in ten thousand) before
 * the sum. Reading (the credit-scoring convention most model-monitoring guides use): below 0.1 stable, 0.1 to 0.25
 * a moderate shift worth a look, above 0.25 a major shift.
 */

/** Floor of each bin's share before the logarithm (an empty bin counts as 1 in 10,000). */
export const PSI_EPSILON = 1e-4;
/** PSI above which a shift is major (the alert threshold). */
export const PSI_MAJOR = 0.25;
/** PSI above which a shift is moderate. */
export const PSI_MODERATE = 0.1;

/** Bin counts -> shares (all zeros for an empty histogram). */
export function shares(counts: readonly number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (n > 0 ? c / n : 0));
}

/**
 * PSI of `actual` counts against `expected` counts (same bins, same order). NaN when either side is empty:
 * no data is not "no drift". Throws RangeError when the bin counts differ.
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) {
    throw new RangeError(`PSI needs the same bins on both sides (${expected.length} vs ${actual.length})`);
  }
  const e = shares(expected);
  const a = shares(actual);
  if (!e.some((x) => x > 0) || !a.some((x) => x > 0)) return Number.NaN;
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i] as number, PSI_EPSILON);
    const ai = Math.max(a[i] as number, PSI_EPSILON);
    psi += (ai - ei) * Math.log(ai / ei);
  }
  return psi;
}

/**
 * The bin of `value` given ascending interior cut points: bin 0 is (-inf, edges[0]), bin i is
 * [edges[i-1], edges[i]), the last is [edges[last], +inf). There are edges.length + 1 bins. NaN goes to bin 0.
 */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  // First edge greater than value = number of edges <= value.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of `values` per bin. */
export function histogram(edges: readonly number[], values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binIndex(edges, v)] = (counts[binIndex(edges, v)] as number) + 1;
  return counts;
}

/**
 * Interior cut points at the reference's deciles (or `bins` quantiles), de-duplicated: a measure with few distinct
 * values gets fewer bins. Empty for no finite values.
 */
export function quantileEdges(values: readonly number[], bins = 10): number[] {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / bins))] as number;
    // A cut equal to the minimum would leave bin 0 empty by construction.
    if (q > (sorted[0] as number) && (edges.length === 0 || q > (edges[edges.length - 1] as number))) edges.push(q);
  }
  return edges;
}
