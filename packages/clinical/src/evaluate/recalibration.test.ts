import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rng.js';
import { logOdds, recalibration } from './recalibration.js';

const logistic = (z: number): number => 1 / (1 + Math.exp(-z));

/** n cases with true log-odds z ~ N-ish spread; outcome drawn from logistic(z); predictions from `predict(z)`. */
function cohort(n: number, seed: number, predict: (z: number) => number) {
  const random = seededRandom(seed);
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const z = -1.5 + 3 * (random() + random() - 1);
    y[i] = random() < logistic(z) ? 1 : 0;
    p[i] = predict(z);
  }
  return { p, y };
}

describe('recalibration', () => {
  it('solves the score equations of both logistic models', () => {
    const { p, y } = cohort(3000, 1, (z) => logistic(0.8 * z + 0.3));
    const r = recalibration(p, y);
    expect(r).not.toBeNull();
    const lp = logOdds(p);
    // Offset model: sum(y) = sum(logistic(a + lp)).
    let s = 0;
    for (let i = 0; i < p.length; i++)
      s += (y[i] as number) - logistic((r?.intercept.value as number) + (lp[i] as number));
    expect(Math.abs(s)).toBeLessThan(1e-8);
  });

  it('is near intercept 0 and slope 1 for a calibrated model', () => {
    const { p, y } = cohort(20_000, 2, logistic);
    const r = recalibration(p, y);
    expect(r?.slope.ci95[0]).toBeLessThan(1);
    expect(r?.slope.ci95[1]).toBeGreaterThan(1);
    expect(r?.intercept.ci95[0]).toBeLessThan(0);
    expect(r?.intercept.ci95[1]).toBeGreaterThan(0);
  });

  it('recovers a planted miscalibration: predictions twice as extreme give slope 0.5; too high give intercept < 0', () => {
    const extreme = recalibration(
      ...(Object.values(cohort(20_000, 3, (z) => logistic(2 * z))) as [Float64Array, Uint8Array]),
    );
    expect(extreme?.slope.value).toBeCloseTo(0.5, 1);
    const high = recalibration(
      ...(Object.values(cohort(20_000, 4, (z) => logistic(z + 1))) as [Float64Array, Uint8Array]),
    );
    expect(high?.intercept.value).toBeCloseTo(-1, 1);
    expect(high?.slope.value).toBeCloseTo(1, 1);
  });

  it('survives predictions of exactly 0 and 1', () => {
    const r = recalibration([0, 1, 0.2, 0.8, 0.5, 0.4], [0, 1, 0, 1, 1, 0]);
    expect(r === null || Number.isFinite(r.slope.value)).toBe(true);
  });
});
