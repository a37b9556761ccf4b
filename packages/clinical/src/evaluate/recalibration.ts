/**
 * Logistic recalibration (Cox 1958, Biometrika 45:562; the "weak calibration" level of Van Calster et al. 2016,
 * J Clin Epidemiol 74:167): regress the outcome on the model's log-odds lp = logit(p).
 *
 * - Calibration intercept ("calibration-in-the-large"): a in logit P(y = 1) = a + lp (lp as an offset). 0 is ideal;
 *   a < 0 means the model predicts too high on average.
 * - Calibration slope: b in logit P(y = 1) = a' + b lp. 1 is ideal; b < 1 means predictions too extreme
 *   (overfitting), b > 1 too modest.
 *
 * Fitted by Newton-Raphson on the binomial log-likelihood; 95 % Wald CIs from the observed information.
 */
import { Z_975 } from '../delong.js';

export interface Estimate {
  value: number;
  se: number;
  ci95: [number, number];
}

export interface Recalibration {
  /** Calibration intercept with lp as an offset. */
  intercept: Estimate;
  /** Calibration slope (its model's own intercept is not reported). */
  slope: Estimate;
}

/** Probabilities are clamped to [EPS, 1 - EPS] before the logit, so a 0 or 1 does not give an infinite log-odds. */
const EPS = 1e-8;
const logistic = (z: number): number => 1 / (1 + Math.exp(-z));

const estimate = (value: number, variance: number): Estimate => {
  const se = Math.sqrt(variance);
  return { value, se, ci95: [value - Z_975 * se, value + Z_975 * se] };
};

/** Log-odds of the predictions. */
export function logOdds(p: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: p.length }, (_, i) => {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i] as number));
    return Math.log(q / (1 - q));
  });
}

/** Calibration intercept and slope. Needs both outcome classes; returns null when the fit does not converge. */
export function recalibration(p: ArrayLike<number>, y: ArrayLike<number>): Recalibration | null {
  const n = p.length;
  if (n !== y.length || n === 0) throw new RangeError('recalibration needs equal, non-empty p and y');
  const lp = logOdds(p);

  // Intercept with offset: one parameter.
  let a = 0;
  let infoA = 0;
  let converged = false;
  for (let iter = 0; iter < 50; iter++) {
    let score = 0;
    infoA = 0;
    for (let i = 0; i < n; i++) {
      const mu = logistic(a + (lp[i] as number));
      score += (y[i] as number) - mu;
      infoA += mu * (1 - mu);
    }
    const step = score / infoA;
    a += step;
    if (Math.abs(step) < 1e-12) {
      converged = true;
      break;
    }
  }
  if (!converged || !Number.isFinite(a)) return null;

  // Intercept and slope: two parameters, 2 x 2 information matrix.
  let b0 = 0;
  let b1 = 1;
  let i00 = 0;
  let i01 = 0;
  let i11 = 0;
  converged = false;
  for (let iter = 0; iter < 100; iter++) {
    let s0 = 0;
    let s1 = 0;
    i00 = 0;
    i01 = 0;
    i11 = 0;
    for (let i = 0; i < n; i++) {
      const x = lp[i] as number;
      const mu = logistic(b0 + b1 * x);
      const w = mu * (1 - mu);
      const r = (y[i] as number) - mu;
      s0 += r;
      s1 += r * x;
      i00 += w;
      i01 += w * x;
      i11 += w * x * x;
    }
    const det = i00 * i11 - i01 * i01;
    if (!(det > 0)) return null;
    const d0 = (i11 * s0 - i01 * s1) / det;
    const d1 = (i00 * s1 - i01 * s0) / det;
    b0 += d0;
    b1 += d1;
    if (Math.abs(d0) < 1e-12 && Math.abs(d1) < 1e-12) {
      converged = true;
      break;
    }
  }
  if (!converged || !Number.isFinite(b1)) return null;
  const det = i00 * i11 - i01 * i01;
  return { intercept: estimate(a, 1 / infoA), slope: estimate(b1, i00 / det) };
}
