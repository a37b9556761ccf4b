import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binormal } from './testing-data.js';
import {
  linspace,
  metricsAt,
  ruleInThreshold,
  ruleOutThreshold,
  STUDY_RULES,
  studyThresholds,
  ThresholdNotFoundError,
} from './thresholds.js';

/** The distinct observed scores, ascending. */
const distinct = (p: ArrayLike<number>): number[] => [...new Set(Array.from(p))].sort((a, b) => a - b);

/** Random cohorts with heavy ties and both classes. */
const cohorts = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 2, maxLength: 80 })
  .filter((cases) => cases.some(([, b]) => b) && cases.some(([, b]) => !b))
  .map((cases) => ({ p: cases.map(([v]) => v / 20), y: cases.map(([, b]) => (b ? 1 : 0)) }));
const targets = fc.double({ min: 0.01, max: 1, noNaN: true });

describe('metricsAt', () => {
  it('counts "p >= t" as positive, ties at t included', () => {
    const m = metricsAt([0.1, 0.2, 0.2, 0.3, 0.5, 0.5], [0, 0, 1, 0, 1, 1], 0.2);
    expect(m).toEqual({
      threshold: 0.2,
      sensitivity: 1,
      specificity: 1 / 3,
      ppv: 3 / 5,
      npv: 1,
      tp: 3,
      fp: 2,
      tn: 1,
      fn: 0,
    });
    expect(metricsAt([0.1, 0.9], [0, 1], 1)).toMatchObject({ tp: 0, fp: 0, ppv: null, npv: 0.5 });
  });
});

describe('ruleOutThreshold', () => {
  it('is the highest observed score with sensitivity >= target: at t it holds, at the next score above it fails', () => {
    fc.assert(
      fc.property(cohorts, targets, ({ p, y }, target) => {
        const t = ruleOutThreshold(p, y, target);
        const values = distinct(p);
        expect(values).toContain(t);
        expect(metricsAt(p, y, t).sensitivity).toBeGreaterThanOrEqual(target);
        const above = values.find((v) => v > t);
        if (above !== undefined) expect(metricsAt(p, y, above).sensitivity).toBeLessThan(target);
      }),
    );
  });

  it('on a worked example', () => {
    // Positives at 0.2, 0.4, 0.6, 0.8, 0.9: sensitivity 0.8 holds up to t = 0.4.
    const p = [0.2, 0.4, 0.6, 0.8, 0.9, 0.1, 0.3, 0.5];
    const y = [1, 1, 1, 1, 1, 0, 0, 0];
    expect(ruleOutThreshold(p, y, 0.8)).toBe(0.4);
    expect(ruleOutThreshold(p, y, 0.81)).toBe(0.2);
    expect(ruleOutThreshold(p, y, 0.6)).toBe(0.6);
    expect(ruleOutThreshold(p, y, 1)).toBe(0.2);
    expect(() => ruleOutThreshold(p, y, 0)).toThrow(RangeError);
  });
});

describe('ruleInThreshold', () => {
  it('is the lowest observed score with specificity >= target: at t it holds, at the next score below it fails', () => {
    fc.assert(
      fc.property(cohorts, targets, ({ p, y }, target) => {
        let t: number;
        try {
          t = ruleInThreshold(p, y, target);
        } catch (err) {
          // Only when even the highest score misses the target.
          expect(err).toBeInstanceOf(ThresholdNotFoundError);
          expect(metricsAt(p, y, Math.max(...p)).specificity).toBeLessThan(target);
          return;
        }
        const values = distinct(p);
        expect(values).toContain(t);
        expect(metricsAt(p, y, t).specificity).toBeGreaterThanOrEqual(target);
        const below = values.filter((v) => v < t).at(-1);
        if (below !== undefined) expect(metricsAt(p, y, below).specificity).toBeLessThan(target);
      }),
    );
  });

  it('names the vessel when no observed score reaches the target', () => {
    expect(() => ruleInThreshold([0.9, 0.9, 0.9, 0.5], [0, 0, 1, 0], 0.9, 'LAD')).toThrow(
      /^LAD: no observed score reaches a specificity of 0.9/,
    );
  });
});

describe('studyThresholds', () => {
  it('uses numpy.linspace grids bit for bit', () => {
    // Values printed by numpy 2.4: repr(np.linspace(0.01, 0.6, 200)[i]) and the LM grid.
    const grid = linspace(0.01, 0.6, 200);
    expect([grid[0], grid[1], grid[47], grid[48], grid[100], grid[199]]).toEqual([
      0.01, 0.012964824120603015, 0.14934673366834172, 0.15231155778894473, 0.3064824120603015, 0.6,
    ]);
    const lm = linspace(0.001, 0.1, 200);
    expect([lm[1], lm[17], lm[19], lm[100], lm[199]]).toEqual([
      0.0014974874371859296, 0.009457286432160802, 0.010452261306532661, 0.05074874371859296, 0.1,
    ]);
  });

  it('picks the first grid value >= base reaching the specificity; the grid value before it misses', () => {
    const { p, y } = binormal(200, 800, 1.2, 31, undefined, -2.5);
    for (const vessel of ['RCA', 'LAD', 'LCx'] as const) {
      const r = studyThresholds(p, y, vessel);
      expect(r.ruleOut).toBe(0.15);
      const grid = Array.from(linspace(0.01, 0.6, 200));
      const k = grid.indexOf(r.ruleIn);
      // Index 48 is the first grid value >= 0.15; this cohort needs a higher one, so the one before is checked too.
      expect(k).toBeGreaterThan(48);
      expect(metricsAt(p, y, r.ruleIn).specificity).toBeGreaterThanOrEqual(0.95);
      expect(metricsAt(p, y, grid[k - 1]!).specificity).toBeLessThan(0.95);
    }
  });

  it('for LM: base 0.01, specificity 0.87 on the 0.001-0.1 grid', () => {
    // Negatives spread over 0-0.1; the 87th percentile of negatives sits near 0.087.
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 1000; i++) {
      p.push(i / 10_000);
      y.push(0);
    }
    for (let i = 0; i < 50; i++) {
      p.push(0.05 + i / 1000);
      y.push(1);
    }
    const r = studyThresholds(p, y, 'LM');
    expect(r.ruleOut).toBe(0.01);
    expect(r.rule).toBe(STUDY_RULES.LM);
    const grid = Array.from(linspace(0.001, 0.1, 200));
    const k = grid.indexOf(r.ruleIn);
    expect(k).toBeGreaterThan(19);
    expect(metricsAt(p, y, r.ruleIn).specificity).toBeGreaterThanOrEqual(0.87);
    expect(metricsAt(p, y, grid[k - 1]!).specificity).toBeLessThan(0.87);
  });

  it('returns the base grid point itself when it already reaches the target, and errors naming the vessel when none does', () => {
    // All negatives below 0.15: the first grid value >= 0.15 already has specificity 1.
    expect(studyThresholds([0.1, 0.12, 0.5, 0.7], [0, 0, 1, 1], 'RCA').ruleIn).toBe(0.15231155778894473);
    // Half the negatives above 0.6: no grid value reaches 0.95.
    expect(() => studyThresholds([0.1, 0.7, 0.5, 0.9], [0, 0, 1, 1], 'LCx')).toThrow(
      /^LCx: no threshold from 0.15 to 0.6 on the study grid reaches a specificity of 0.95$/,
    );
  });
});
