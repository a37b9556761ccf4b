import { VESSELS } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { binormalAuc } from './binormal.js';
import { COHORT_DEFAULTS, generateCohort, sampleLatentAucs, separationForAuc } from './cohort.js';
import { formatScoreRows, readScores, scoresHeader } from './scores.js';

describe('binormal AUC', () => {
  it('separationForAuc inverts binormalAuc and matches known values', () => {
    // Phi(1) = 0.841344746..., so d = sqrt 2 gives that AUC.
    expect(binormalAuc(Math.SQRT2)).toBeCloseTo(0.8413447461, 6);
    expect(binormalAuc(0)).toBeCloseTo(0.5, 7);
    for (const auc of [0.55, 0.68, 0.72, 0.9, 0.99]) expect(binormalAuc(separationForAuc(auc))).toBeCloseTo(auc, 6);
    // Phi^-1(0.975) = 1.959963985
    expect(separationForAuc(0.975) / Math.SQRT2).toBeCloseTo(1.959963985, 7);
  });
});

describe('generateCohort', () => {
  const big = generateCohort({ count: 20_000, seed: 3 });

  it('is deterministic in its seed', () => {
    expect(generateCohort({ count: 50, seed: 9 })).toEqual(generateCohort({ count: 50, seed: 9 }));
    expect(generateCohort({ count: 50, seed: 9 })).not.toEqual(generateCohort({ count: 50, seed: 10 }));
  });

  it('has the planted prevalences and, in a large sample, the planted latent AUCs', () => {
    const aucs = sampleLatentAucs(big);
    for (const v of VESSELS) {
      const positives = big.subjects.filter((s) => s.clinical.labels[v] === 1).length;
      expect(positives / big.subjects.length).toBeCloseTo(COHORT_DEFAULTS.vessels[v].prevalence, 1.5);
      expect(Math.abs((aucs[v] as number) - COHORT_DEFAULTS.vessels[v].auc)).toBeLessThan(0.015);
    }
  });

  it('correlates disease across vessels and ties the clinical columns to it', () => {
    const sick = big.subjects.filter((s) => VESSELS.some((v) => s.clinical.labels[v] === 1));
    const well = big.subjects.filter((s) => VESSELS.every((v) => s.clinical.labels[v] === 0));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const share = <T>(xs: T[], f: (x: T) => boolean): number => xs.filter(f).length / xs.length;
    expect(mean(sick.map((s) => s.clinical.age as number))).toBeGreaterThan(
      mean(well.map((s) => s.clinical.age as number)) + 2,
    );
    expect(share(sick, (s) => s.clinical.sex === 'male')).toBeGreaterThan(
      share(well, (s) => s.clinical.sex === 'male'),
    );
    expect(share(sick, (s) => s.clinical.symptoms === 'typical')).toBeGreaterThan(
      share(well, (s) => s.clinical.symptoms === 'typical') + 0.1,
    );
    expect(share(sick, (s) => s.clinical.cacs === 0)).toBeLessThan(share(well, (s) => s.clinical.cacs === 0) - 0.3);
    expect(share(sick, (s) => s.clinical.maceEvent === 1)).toBeGreaterThan(
      1.5 * share(well, (s) => s.clinical.maceEvent === 1),
    );
    // Multi-vessel disease more often than independence would give (shared liability).
    const both = share(big.subjects, (s) => s.clinical.labels.LAD === 1 && s.clinical.labels.RCA === 1);
    const lad = share(big.subjects, (s) => s.clinical.labels.LAD === 1);
    const rca = share(big.subjects, (s) => s.clinical.labels.RCA === 1);
    expect(both).toBeGreaterThan(1.3 * lad * rca);
  });

  it('writes clinical columns a scores file accepts (ages inside the PTP tables)', () => {
    const small = generateCohort({ count: 500, seed: 4 });
    const text =
      scoresHeader() +
      formatScoreRows(
        small.subjects.map((s) => ({
          ecgId: '',
          path: `${s.index}`,
          probabilities: {},
          status: 'failed',
          ...s.clinical,
        })),
      );
    const rows = readScores(text);
    expect(rows).toHaveLength(500);
    for (const row of rows) {
      expect(row.age).toBeGreaterThanOrEqual(35);
      expect(row.age).toBeLessThanOrEqual(80);
      expect(Object.keys(row.labels)).toHaveLength(4);
      expect(row.maceDays).toBeGreaterThan(0);
    }
  });

  it('refuses impossible settings', () => {
    expect(() => generateCohort({ count: 0 })).toThrow(RangeError);
    expect(() => generateCohort({ count: 5, vessels: { LM: { prevalence: 0, auc: 0.7 } } })).toThrow(/LM/);
    expect(() => generateCohort({ count: 5, vessels: { LAD: { prevalence: 0.3, auc: 1 } } })).toThrow(/LAD/);
  });
});
