import lowess from '@stdlib/stats-lowess';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rng.js';
import { brierScore, calibrationBins, calibrationSummary, smoothedCalibration } from './calibration.js';

// R's `cars` data set (Ezekiel 1930) and R 4.x's `lowess(cars)$y`, to 6 decimals: the library is a port of
// R's clowess, so it must reproduce R on R's own example.
const SPEED = [
  4, 4, 7, 7, 8, 9, 10, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 16, 16, 17, 17, 17,
  18, 18, 18, 18, 19, 19, 19, 20, 20, 20, 20, 20, 22, 23, 24, 24, 24, 24, 25,
];
const DIST = [
  2, 10, 4, 22, 16, 10, 18, 26, 34, 17, 28, 14, 20, 24, 28, 26, 34, 34, 46, 26, 36, 60, 80, 20, 26, 54, 32, 40, 32, 40,
  50, 42, 56, 76, 84, 36, 46, 68, 32, 48, 52, 56, 64, 66, 54, 70, 92, 93, 120, 85,
];
const R_LOWESS_CARS = [
  4.965459, 4.965459, 13.124495, 13.124495, 15.858633, 18.579691, 21.280313, 21.280313, 21.280313, 24.129277, 24.129277,
  27.119549, 27.119549, 27.119549, 27.119549, 30.027276, 30.027276, 30.027276, 30.027276, 32.962506, 32.962506,
  32.962506, 32.962506, 36.757728, 36.757728, 36.757728, 40.435075, 40.435075, 43.463492, 43.463492, 43.463492,
  46.885479, 46.885479, 46.885479, 46.885479, 50.793152, 50.793152, 50.793152, 56.491224, 56.491224, 56.491224,
  56.491224, 56.491224, 67.585824, 73.079695, 78.643164, 78.643164, 78.643164, 78.643164, 84.328698,
];

/** n cases whose outcome is drawn with probability exactly p: a perfectly calibrated model. */
function calibrated(n: number, seed: number): { p: Float64Array; y: Uint8Array } {
  const random = seededRandom(seed);
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = 0.02 + 0.9 * random();
    y[i] = random() < (p[i] as number) ? 1 : 0;
  }
  return { p, y };
}

describe('LOWESS (@stdlib/stats-lowess)', () => {
  it("reproduces R's lowess(cars) to 6 decimals", () => {
    const fit = lowess(SPEED, DIST);
    fit.y.forEach((v, i) => {
      expect(v).toBeCloseTo(R_LOWESS_CARS[i] as number, 5);
    });
  });
});

describe('brierScore', () => {
  it('is the mean squared error of the predictions', () => {
    expect(brierScore([0.1, 0.9, 0.5, 0.3], [0, 1, 1, 0])).toBeCloseTo((0.01 + 0.01 + 0.25 + 0.09) / 4, 15);
    expect(brierScore([1, 0], [1, 0])).toBe(0);
  });
});

describe('calibrationBins', () => {
  it('makes groups of equal size by sorted risk with their mean risk and observed share', () => {
    const p = [0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6, 0.5, 0.55];
    const y = [1, 0, 0, 1, 0, 1, 1, 0, 0, 1];
    const bins = calibrationBins(p, y, 5);
    expect(bins.map((b) => b.n)).toEqual([2, 2, 2, 2, 2]);
    expect(bins[0]).toMatchObject({ bin: 1, pMin: 0.1, pMax: 0.2 });
    expect(bins[0]?.meanPredicted).toBeCloseTo(0.15, 15);
    expect(bins[0]?.observed.value).toBe(0);
    expect(bins[4]?.observed.value).toBe(1);
    expect(bins[2]?.meanPredicted).toBeCloseTo(0.525, 15);
    const sizes = calibrationBins(
      Array.from({ length: 23 }, (_, i) => i / 23),
      new Array(23).fill(0),
    ).map((b) => b.n);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(23);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
});

describe('calibrationSummary', () => {
  it('on a perfectly calibrated model: deciles and the smoothed curve near the diagonal, Brier below the reference', () => {
    const { p, y } = calibrated(20_000, 7);
    const s = calibrationSummary(p, y);
    expect(s.bins).toHaveLength(10);
    for (const b of s.bins) {
      const [lo, hi] = b.observed.ci95 as [number, number];
      // 95 % intervals: allow the odd miss by checking a wider band.
      expect(b.meanPredicted).toBeGreaterThan(lo - 0.03);
      expect(b.meanPredicted).toBeLessThan(hi + 0.03);
    }
    expect(s.smoothed.length).toBeGreaterThan(100);
    for (const pt of s.smoothed) if (pt.x > 0.1 && pt.x < 0.85) expect(Math.abs(pt.y - pt.x)).toBeLessThan(0.05);
    expect(s.brier).toBeLessThan(s.brierPrevalenceOnly);
    expect(s.brierPrevalenceOnly).toBeCloseTo(s.prevalence * (1 - s.prevalence), 15);
    expect(s.brierSkill).toBeGreaterThan(0.2);
    expect(s.observedExpected).toBeCloseTo(s.events / p.reduce((a, b) => a + b, 0), 12);
    expect(Math.abs((s.recalibration?.slope.value as number) - 1)).toBeLessThan(0.1);
  });

  it('shows miscalibration: risks twice the truth lie below the diagonal', () => {
    const { p, y } = calibrated(5000, 9);
    const doubled = p.map((v) => Math.min(1, v * 2));
    const curve = smoothedCalibration(doubled, y);
    const mid = curve.filter((pt) => pt.x > 0.4 && pt.x < 0.9);
    expect(mid.length).toBeGreaterThan(10);
    for (const pt of mid) expect(pt.y).toBeLessThan(pt.x - 0.1);
  });
});
