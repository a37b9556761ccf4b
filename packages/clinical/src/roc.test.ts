import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StatisticsInputError } from './binary.js';
import { auc, rocCurve } from './roc.js';
import { binormal, hanleyMcNeil1982 } from './testing-data.js';

/** O(m n) Mann-Whitney count, straight from the definition. */
function bruteAuc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < p.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < p.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      const a = p[i] as number;
      const b = p[j] as number;
      s += a > b ? 1 : a === b ? 0.5 : 0;
    }
  }
  return s / pairs;
}

/** Trapezoidal area under the curve's points (FPR on x, sensitivity on y). */
function trapezoid(points: ReturnType<typeof rocCurve>): number {
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    area += (1 - b.specificity - (1 - a.specificity)) * ((a.sensitivity + b.sensitivity) / 2);
  }
  return area;
}

describe('auc', () => {
  it('reproduces Hanley & McNeil 1982 (Radiology 143:29), Table 1 rating data: 0.8932', () => {
    const { p, y } = hanleyMcNeil1982();
    expect(auc(p, y).toFixed(4)).toBe('0.8932');
  });

  it('is 0.75 on the classic four-case example and 1/2 for a constant score', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(auc([0.3, 0.3, 0.3], [0, 1, 1])).toBe(0.5);
  });

  it('agrees with the O(m n) count on binormal data with and without ties', () => {
    for (const data of [binormal(50, 150, 1, 1), binormal(80, 40, 0.5, 2, 1), binormal(30, 30, 2, 3, 2)]) {
      expect(auc(data.p, data.y)).toBeCloseTo(bruteAuc(data.p, data.y), 12);
    }
  });

  it('property: equals the O(m n) count and the trapezoid under rocCurve', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 2, maxLength: 60 }),
        (cases) => {
          const y = cases.map(([, b]) => (b ? 1 : 0));
          fc.pre(y.includes(0) && y.includes(1));
          const p = cases.map(([v]) => v / 6);
          const a = auc(p, y);
          expect(a).toBeCloseTo(bruteAuc(p, y), 12);
          expect(trapezoid(rocCurve(p, y))).toBeCloseTo(a, 12);
        },
      ),
    );
  });

  it('refuses one class only, mismatched lengths, labels not 0/1 and NaN scores', () => {
    expect(() => auc([0.1, 0.2], [1, 1])).toThrow(/both classes/);
    expect(() => auc([0.1, 0.2], [1])).toThrow(StatisticsInputError);
    expect(() => auc([0.1, 0.2], [1, 2])).toThrow(/index 1 is not 0 or 1/);
    expect(() => auc([0.1, Number.NaN], [1, 0])).toThrow(/index 1 is not a finite/);
  });
});

describe('rocCurve', () => {
  it('gives one point per distinct score from (0, 0) to (1, 1), p >= threshold called positive', () => {
    const points = rocCurve([0.1, 0.4, 0.35, 0.8, 0.4], [0, 0, 1, 1, 1]);
    expect(points).toEqual([
      { threshold: Number.POSITIVE_INFINITY, sensitivity: 0, specificity: 1 },
      { threshold: 0.8, sensitivity: 1 / 3, specificity: 1 },
      { threshold: 0.4, sensitivity: 2 / 3, specificity: 0.5 },
      { threshold: 0.35, sensitivity: 1, specificity: 0.5 },
      { threshold: 0.1, sensitivity: 1, specificity: 0 },
    ]);
  });

  it('is monotone in FPR and sensitivity', () => {
    const { p, y } = binormal(40, 60, 1, 9, 2);
    const points = rocCurve(p, y);
    for (let k = 1; k < points.length; k++) {
      expect(points[k]!.sensitivity).toBeGreaterThanOrEqual(points[k - 1]!.sensitivity);
      expect(points[k]!.specificity).toBeLessThanOrEqual(points[k - 1]!.specificity);
      expect(points[k]!.threshold).toBeLessThan(points[k - 1]!.threshold);
    }
    expect(points.at(-1)).toMatchObject({ sensitivity: 1, specificity: 0 });
  });
});
