import type { Stratum } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { auc } from '../roc.js';
import { labelled } from '../scores.js';
import { evaluateCohort, type PtpComparison, thinRoc } from './cohort.js';
import { STRATA } from './strata.js';
import { syntheticCohort } from './testing-cohort.js';

const THRESHOLDS = {
  RCA: { ruleOut: 0.15, ruleIn: 0.4 },
  LM: { ruleOut: 0.04, ruleIn: 0.2 },
  LAD: { ruleOut: 0.12, ruleIn: 0.41 },
  LCx: { ruleOut: 0.1, ruleIn: 0.35 },
};
const MODEL = { id: 'ecgcad-demo', version: '1.0.0', clinicalUse: false, intendedUse: 'Demonstration weights.' };

/** A toy PTP: age bands only; rows without an age are missing "age". Matrix: AI low lowers, AI high raises. */
const toyPtp: PtpComparison = {
  model: 'toy age bands',
  matrixSource: 'test',
  matrix: {
    low: { low: 'low', intermediate: 'low', high: 'intermediate' },
    intermediate: { low: 'low', intermediate: 'intermediate', high: 'high' },
    high: { low: 'intermediate', intermediate: 'high', high: 'high' },
  },
  level: (row) => {
    if (row.age === undefined) return { missing: 'age' };
    const level: Stratum = row.age < 45 ? 'low' : row.age < 65 ? 'intermediate' : 'high';
    return { level };
  },
};

describe('evaluateCohort', () => {
  const rows = syntheticCohort({ n: 1500, seed: 5, allNegative: ['LM'] });
  const evaluation = evaluateCohort(rows, {
    model: MODEL,
    thresholds: THRESHOLDS,
    bootstrap: { resamples: 200, seed: 42 },
    ptp: toyPtp,
    generatedAt: '2026-01-01T00:00:00.000Z',
  });

  it('evaluates each vessel with thresholds, and says why a vessel with one class is not evaluable', () => {
    expect(evaluation.vessels.map((v) => v.vessel)).toEqual(['RCA', 'LM', 'LAD', 'LCx']);
    const lm = evaluation.vessels[1];
    expect(lm).toMatchObject({ vessel: 'LM', evaluable: false, positives: 0, negatives: 1500 });
    expect(lm?.reason).toMatch(/0 positive and 1500 negative/);
    expect(lm?.auc).toBeUndefined();
    // Survival needs no label: LM still has its Kaplan-Meier comparison.
    expect(lm?.survival?.logRank.df).toBe(1);
  });

  it('has AUC with DeLong and bootstrap CIs around the AUC of the data, ROC ends at the corners', () => {
    const rca = evaluation.vessels[0];
    const { p, y } = labelled(rows, 'RCA');
    expect(rca?.auc?.value).toBeCloseTo(auc(p, y), 12);
    const [lo, hi] = (rca?.auc?.delong.ci95 ?? [Number.NaN, Number.NaN]) as [number, number];
    expect(lo).toBeLessThan(rca?.auc?.value as number);
    expect(hi).toBeGreaterThan(rca?.auc?.value as number);
    expect(rca?.auc?.bootstrap).toMatchObject({ resamples: 200, seed: 42 });
    expect(rca?.roc?.[0]).toEqual({ threshold: null, sensitivity: 0, specificity: 1 });
    expect(rca?.roc?.at(-1)).toMatchObject({ sensitivity: 1, specificity: 0 });
    expect(rca?.roc?.length).toBeLessThanOrEqual(400);
  });

  it('operating points count the cases at and above each threshold as positive', () => {
    const rca = evaluation.vessels[0];
    const { p, y } = labelled(rows, 'RCA');
    const ruleOut = rca?.operatingPoints?.[0];
    let tp = 0;
    let positives = 0;
    for (let i = 0; i < p.length; i++) {
      if (y[i] === 1) {
        positives++;
        if ((p[i] as number) >= 0.15) tp++;
      }
    }
    expect(ruleOut?.sensitivity).toMatchObject({ k: tp, n: positives });
    expect(ruleOut?.bootstrap.sensitivity?.[0]).toBeLessThanOrEqual(ruleOut?.sensitivity.value as number);
  });

  it('strata partition the labelled cases; calibration and decision curve are present', () => {
    const lad = evaluation.vessels[2];
    expect(lad?.strata?.map((s) => s.stratum)).toEqual([...STRATA]);
    expect(lad?.strata?.reduce((a, s) => a + s.n, 0)).toBe(lad?.n);
    expect(lad?.calibration?.bins).toHaveLength(10);
    expect(lad?.decisionCurve).toHaveLength(60);
    // The synthetic model is calibrated by construction: the Brier skill is positive.
    expect(lad?.calibration?.brierSkill).toBeGreaterThan(0);
  });

  it('compares PTP with PTP + AI through the matrix, and Kaplan-Meier separates the risk groups', () => {
    const rca = evaluation.vessels[0];
    const cmp = rca?.ptpComparison;
    expect(cmp?.model).toBe('toy age bands');
    expect(cmp?.n).toBe(1500);
    const moved = STRATA.flatMap((from) => STRATA.map((to) => (from === to ? 0 : (cmp?.table.events[from][to] ?? 0))));
    expect(moved.reduce((a, b) => a + b, 0)).toBe((cmp?.nri.events.up ?? 0) + (cmp?.nri.events.down ?? 0));
    expect(evaluation.settings.ptp?.model).toBe('toy age bands');
    const survival = rca?.survival;
    expect((survival?.low.n ?? 0) + (survival?.high.n ?? 0)).toBe(1500);
    expect(survival?.logRank.pValue).toBeLessThan(0.05);
  });

  it('without PTP inputs or follow-up says so, and the JSON round-trips', () => {
    const bare = syntheticCohort({ n: 200, seed: 8, withoutPtp: true, withoutFollowUp: true });
    const e = evaluateCohort(bare, {
      model: MODEL,
      thresholds: { RCA: THRESHOLDS.RCA },
      bootstrap: { resamples: 50 },
      ptp: toyPtp,
      generatedAt: 'now',
    });
    expect(e.vessels).toHaveLength(1);
    expect(e.vessels[0]?.ptpComparison).toBeUndefined();
    expect(e.vessels[0]?.survival).toBeUndefined();
    expect(e.vessels[0]?.survivalReason).toMatch(/no row has follow-up/);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });
});

describe('thinRoc', () => {
  it('keeps both ends and at most max points', () => {
    const pts = Array.from({ length: 1001 }, (_, i) => ({
      threshold: i,
      sensitivity: i / 1000,
      specificity: 1 - i / 1000,
    }));
    const thin = thinRoc(pts, 100);
    expect(thin).toHaveLength(100);
    expect(thin[0]).toBe(pts[0]);
    expect(thin.at(-1)).toBe(pts[1000]);
  });
});
