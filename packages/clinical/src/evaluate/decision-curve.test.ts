import { describe, expect, it } from 'vitest';
import { seededRandom } from '../rng.js';
import { DEFAULT_DECISION_THRESHOLDS, decisionCurve, netBenefit } from './decision-curve.js';

describe('netBenefit', () => {
  it('is TP/n - FP/n x pt/(1-pt), positive meaning p >= pt', () => {
    // 10 cases: at pt = 0.2 the model calls 4 positive (p >= 0.2), 3 of them events.
    const p = [0.05, 0.1, 0.15, 0.19, 0.2, 0.3, 0.5, 0.9, 0.01, 0.02];
    const y = [0, 1, 0, 0, 1, 0, 1, 1, 0, 0];
    expect(netBenefit(p, y, 0.2)).toBeCloseTo(3 / 10 - (1 / 10) * (0.2 / 0.8), 15);
  });

  it('refuses thresholds outside (0, 1)', () => {
    expect(() => netBenefit([0.5], [1], 0)).toThrow(RangeError);
    expect(() => netBenefit([0.5], [1], 1)).toThrow(RangeError);
  });
});

describe('decisionCurve', () => {
  it('agrees with netBenefit at every grid point, treat-all follows the prevalence, treat-none is 0', () => {
    const random = seededRandom(3);
    const p = Array.from({ length: 2000 }, () => Math.round(random() * 100) / 100); // ties on the grid on purpose
    const y = p.map((v) => (random() < v ? 1 : 0));
    const prevalence = y.reduce<number>((a, b) => a + b, 0) / y.length;
    const curve = decisionCurve(p, y);
    expect(curve).toHaveLength(DEFAULT_DECISION_THRESHOLDS.length);
    for (const point of curve) {
      expect(point.model).toBeCloseTo(netBenefit(p, y, point.threshold), 12);
      expect(point.treatAll).toBeCloseTo(prevalence - (1 - prevalence) * (point.threshold / (1 - point.threshold)), 12);
      expect(point.treatNone).toBe(0);
    }
    // Treat-all equals the model where the model calls everyone positive: at pt below every p.
    const low = decisionCurve([0.5, 0.6, 0.7], [1, 0, 1], [0.1]);
    expect(low[0]?.model).toBeCloseTo(low[0]?.treatAll as number, 15);
  });

  it('a useful model beats both references over the middle of the grid', () => {
    const random = seededRandom(11);
    const p = Array.from({ length: 5000 }, () => random());
    const y = p.map((v) => (random() < v ? 1 : 0));
    for (const point of decisionCurve(p, y, [0.2, 0.4, 0.6])) {
      expect(point.model).toBeGreaterThan(point.treatAll);
      expect(point.model).toBeGreaterThan(0);
    }
  });
});
