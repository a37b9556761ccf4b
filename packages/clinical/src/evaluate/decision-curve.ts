/**
 * Decision curve analysis (Vickers & Elkin 2006, Med Decis Making 26:565): the net benefit of treating (here:
 * sending to CCTA or invasive work-up) the cases the model calls positive at a threshold probability pt, against
 * treating everyone and treating no one. A case is called positive when p >= pt, as everywhere in ecgcad.
 *
 *   net benefit = TP / n - FP / n x pt / (1 - pt);   treat-all = prevalence - (1 - prevalence) x pt / (1 - pt)
 */

/** Net benefit of the model, treat-all and treat-none at one threshold probability. */
export interface DecisionPoint {
  threshold: number;
  model: number;
  treatAll: number;
  treatNone: 0;
}

/** The study's grid: 0.01 to 0.60 by 0.01. */
export const DEFAULT_DECISION_THRESHOLDS: readonly number[] = Array.from({ length: 60 }, (_, i) => (i + 1) / 100);

/** Net benefit of "treat when p >= pt" at one threshold (0 < pt < 1). */
export function netBenefit(p: ArrayLike<number>, y: ArrayLike<number>, pt: number): number {
  if (!(pt > 0 && pt < 1)) throw new RangeError(`threshold probability must be in (0, 1), got ${pt}`);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < p.length; i++) {
    if ((p[i] as number) >= pt) {
      if (y[i] === 1) tp++;
      else fp++;
    }
  }
  return tp / p.length - (fp / p.length) * (pt / (1 - pt));
}

/**
 * The decision curve over a grid of thresholds. Sorts once, then counts the cases at or above each threshold by
 * binary search, so a 100,000-row cohort costs one sort.
 */
export function decisionCurve(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  thresholds: readonly number[] = DEFAULT_DECISION_THRESHOLDS,
): DecisionPoint[] {
  const n = p.length;
  if (n === 0 || y.length !== n) throw new RangeError('decisionCurve needs equal, non-empty p and y');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[a] as number) - (p[b] as number));
  const sorted = Float64Array.from(order, (i) => p[i] as number);
  // eventsFrom[r]: events among the cases of rank >= r.
  const eventsFrom = new Float64Array(n + 1);
  for (let r = n - 1; r >= 0; r--) eventsFrom[r] = (eventsFrom[r + 1] as number) + (y[order[r] as number] as number);
  const prevalence = (eventsFrom[0] as number) / n;
  return thresholds.map((pt) => {
    if (!(pt > 0 && pt < 1)) throw new RangeError(`threshold probability must be in (0, 1), got ${pt}`);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < pt) lo = mid + 1;
      else hi = mid;
    }
    const tp = eventsFrom[lo] as number;
    const fp = n - lo - tp;
    const odds = pt / (1 - pt);
    return {
      threshold: pt,
      model: tp / n - (fp / n) * odds,
      treatAll: prevalence - (1 - prevalence) * odds,
      treatNone: 0,
    };
  });
}
