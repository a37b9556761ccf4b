/**
 * Calibration of predicted risks against observed outcomes: grouped (deciles of predicted risk), smoothed (LOWESS)
 * and the Brier score. Agreement is judged against the diagonal (observed = predicted).
 */
import lowess from '@stdlib/stats-lowess';
import { type Proportion, proportion } from './proportion.js';
import { type Recalibration, recalibration } from './recalibration.js';

/** One group of cases with similar predicted risk. */
export interface CalibrationBin {
  /** 1-based group number, from the lowest predicted risks. */
  bin: number;
  n: number;
  /** Lowest and highest predicted risk in the group. */
  pMin: number;
  pMax: number;
  meanPredicted: number;
  /** Events / n with a 95 % Wilson interval. */
  observed: Proportion;
}

/** A point of the smoothed calibration curve. */
export interface CurvePoint {
  x: number;
  y: number;
}

/** Everything the report shows about calibration for one vessel. */
export interface CalibrationSummary {
  n: number;
  events: number;
  /** Observed prevalence (events / n). */
  prevalence: number;
  /** Mean predicted risk: with prevalence, calibration-in-the-large. */
  meanPredicted: number;
  /** Observed events / expected events (sum of p). 1 is ideal. */
  observedExpected: number | null;
  /** Calibration intercept and slope (logistic recalibration); null when the fit does not converge. */
  recalibration: Recalibration | null;
  /** Brier score: mean of (p - y)^2. 0 is perfect. */
  brier: number;
  /** Brier score of a model that predicts the prevalence for everyone: prevalence x (1 - prevalence). */
  brierPrevalenceOnly: number;
  /** 1 - brier / brierPrevalenceOnly: the share of the reference Brier score the model removes (can be < 0). */
  brierSkill: number | null;
  bins: CalibrationBin[];
  /** LOWESS of y on p (see {@link smoothedCalibration}). */
  smoothed: CurvePoint[];
}

/** Mean squared difference between predicted risk and outcome (Brier 1950, Mon Weather Rev 78:1). */
export function brierScore(p: ArrayLike<number>, y: ArrayLike<number>): number {
  if (p.length !== y.length || p.length === 0) throw new RangeError('brierScore needs equal, non-empty p and y');
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const d = (p[i] as number) - (y[i] as number);
    sum += d * d;
  }
  return sum / p.length;
}

/** Indices of p in ascending order of p (stable). */
function ascendingOrder(p: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(p.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (p[a] as number) - (p[b] as number) || a - b);
}

/**
 * Groups of about equal size by sorted predicted risk (deciles by default): case of rank r (0-based) goes to group
 * floor(r x groups / n), so group sizes differ by at most one. Cases with tied predictions may straddle two groups;
 * with continuous model outputs that is rare and harmless. Fewer cases than groups: one group per case.
 */
export function calibrationBins(p: ArrayLike<number>, y: ArrayLike<number>, groups = 10): CalibrationBin[] {
  const n = p.length;
  const g = Math.min(groups, n);
  const order = ascendingOrder(p);
  const bins: CalibrationBin[] = [];
  let start = 0;
  for (let b = 0; b < g; b++) {
    const end = Math.floor(((b + 1) * n) / g);
    let sum = 0;
    let events = 0;
    for (let r = start; r < end; r++) {
      const i = order[r] as number;
      sum += p[i] as number;
      events += y[i] as number;
    }
    const size = end - start;
    bins.push({
      bin: b + 1,
      n: size,
      pMin: p[order[start] as number] as number,
      pMax: p[order[end - 1] as number] as number,
      meanPredicted: sum / size,
      observed: proportion(events, size),
    });
    start = end;
  }
  return bins;
}

/**
 * The smoothed calibration curve: LOWESS (Cleveland 1979, JASA 74:829) of the outcome on the predicted risk, with
 * span f (default 2/3, R's default) and NO robustness iterations, as Harrell's rms::val.prob and Austin & Steyerberg
 * 2014 (Stat Med 33:517) do for a binary outcome (robustness weights would treat the rarer class as outliers).
 * @stdlib/stats-lowess ports R's clowess; delta = 1 % of the range (R's default) keeps it O(100 n). At most
 * `points` points come back, evenly spread over the sorted cases, the fitted values clamped to [0, 1].
 */
export function smoothedCalibration(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  options: { f?: number; points?: number } = {},
): CurvePoint[] {
  const n = p.length;
  if (n < 3) return [];
  const order = ascendingOrder(p);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    xs[r] = p[order[r] as number] as number;
    ys[r] = y[order[r] as number] as number;
  }
  const range = (xs[n - 1] as number) - (xs[0] as number);
  const fit = lowess(xs, ys, { f: options.f ?? 2 / 3, nsteps: 0, delta: 0.01 * range, sorted: true });
  const max = options.points ?? 200;
  const step = Math.max(1, Math.floor(n / max));
  const out: CurvePoint[] = [];
  for (let r = 0; r < n; r += step) out.push({ x: fit.x[r] as number, y: clamp01(fit.y[r] as number) });
  if ((n - 1) % step !== 0) out.push({ x: fit.x[n - 1] as number, y: clamp01(fit.y[n - 1] as number) });
  return out;
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** Deciles, smoothed curve and Brier scores of one vessel. */
export function calibrationSummary(p: ArrayLike<number>, y: ArrayLike<number>, groups = 10): CalibrationSummary {
  const n = p.length;
  if (n === 0) throw new RangeError('calibrationSummary needs at least one case');
  let events = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    events += y[i] as number;
    sum += p[i] as number;
  }
  const prevalence = events / n;
  const brier = brierScore(p, y);
  const brierPrevalenceOnly = prevalence * (1 - prevalence);
  return {
    n,
    events,
    prevalence,
    meanPredicted: sum / n,
    observedExpected: sum > 0 ? events / sum : null,
    recalibration: events > 0 && events < n ? recalibration(p, y) : null,
    brier,
    brierPrevalenceOnly,
    brierSkill: brierPrevalenceOnly > 0 ? 1 - brier / brierPrevalenceOnly : null,
    bins: calibrationBins(p, y, groups),
    smoothed: smoothedCalibration(p, y),
  };
}
