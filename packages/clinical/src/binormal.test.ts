import { describe, expect, it } from 'vitest';
import { binormalAuc, binormalScoreRows, normalCdf } from './binormal.js';
import { auc } from './roc.js';
import { labelled } from './scores.js';

describe('binormal cohorts', () => {
  it('normalCdf agrees with scipy.stats.norm.cdf to 1e-7', () => {
    expect(Math.abs(normalCdf(1.2 / Math.SQRT2) - 0.8019280454239629)).toBeLessThan(1e-7);
    expect(Math.abs(normalCdf(-2.3) - 0.010724110021675809)).toBeLessThan(1e-8);
    expect(Math.abs(normalCdf(0.5) - 0.6914624612740131)).toBeLessThan(1e-7);
    expect(Math.abs(normalCdf(0) - 0.5)).toBeLessThan(1e-7);
  });

  it('plants the AUC and prevalence it is asked for, reproducibly', () => {
    const rows = binormalScoreRows(
      20_000,
      { RCA: { prevalence: 0.2, separation: 1 }, LM: { prevalence: 0.05, separation: 0.6 } },
      3,
    );
    const rca = labelled(rows, 'RCA');
    const lm = labelled(rows, 'LM');
    expect(rca.p.length).toBe(20_000);
    expect(labelled(rows, 'LAD').p.length).toBe(0);
    // SE of the AUC here is about 0.005 (RCA) and 0.01 (LM); 3 SE.
    expect(Math.abs(auc(rca.p, rca.y) - binormalAuc(1))).toBeLessThan(0.015);
    expect(Math.abs(auc(lm.p, lm.y) - binormalAuc(0.6))).toBeLessThan(0.03);
    expect(Math.abs(lm.y.reduce((s, v) => s + v, 0) / 20_000 - 0.05)).toBeLessThan(0.005);
    expect(binormalScoreRows(50, { RCA: { prevalence: 0.2, separation: 1 } }, 3)).toEqual(
      binormalScoreRows(50, { RCA: { prevalence: 0.2, separation: 1 } }, 3),
    );
  });
});
