import { describe, expect, it } from 'vitest';
import { binormalAuc, binormalScoreRows } from './binormal.js';
import { bootstrapRoc, percentileInterval, quantile } from './bootstrap.js';
import { delongAuc } from './delong.js';
import { seededRandom } from './rng.js';
import { auc } from './roc.js';
import { labelled } from './scores.js';
import { binormal, hanleyMcNeil1982 } from './testing-data.js';

/**
 * A naive stratified bootstrap, the obvious way: materialise each resample (same random stream, same draw order:
 * all negatives, then all positives) and compute the AUC and threshold metrics from scratch on it.
 */
function naiveBootstrap(p: ArrayLike<number>, y: ArrayLike<number>, resamples: number, seed: number, t: number) {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < p.length; i++) (y[i] === 1 ? pos : neg).push(p[i] as number);
  pos.sort((a, b) => a - b);
  neg.sort((a, b) => a - b);
  const random = seededRandom(seed);
  const out: Array<{ auc: number; sens: number; spec: number; ppv: number }> = [];
  for (let r = 0; r < resamples; r++) {
    const rn = neg.map(() => neg[(random() * neg.length) | 0] as number);
    const rp = pos.map(() => pos[(random() * pos.length) | 0] as number);
    const tp = rp.filter((v) => v >= t).length;
    const fp = rn.filter((v) => v >= t).length;
    out.push({
      auc: auc([...rp, ...rn], [...rp.map(() => 1), ...rn.map(() => 0)]),
      sens: tp / rp.length,
      spec: (rn.length - fp) / rn.length,
      ppv: tp + fp > 0 ? tp / (tp + fp) : Number.NaN,
    });
  }
  return out;
}

describe('quantile', () => {
  it('is R type 7 (numpy default)', () => {
    // numpy.percentile([1, 2, 3, 4, 10], [2.5, 50, 97.5]) = [1.1, 3.0, 9.4]
    expect(quantile([10, 1, 3, 2, 4], 0.025)).toBeCloseTo(1.1, 12);
    expect(quantile([10, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([10, 1, 3, 2, 4], 0.975)).toBeCloseTo(9.4, 12);
    expect(percentileInterval([Number.NaN, 2, 1])).toEqual([1.025, 1.975]);
    expect(percentileInterval([Number.NaN])).toBeNull();
  });
});

describe('bootstrapRoc', () => {
  const data = binormal(70, 130, 1, 21, 2);

  it('matches a naive resample-and-recompute bootstrap on the same random stream exactly', () => {
    const t = 0.4;
    const fast = bootstrapRoc(data.p, data.y, { resamples: 200, seed: 5, thresholds: [t] });
    const naive = naiveBootstrap(data.p, data.y, 200, 5, t);
    naive.forEach((r, k) => {
      expect(fast.aucSamples[k]).toBeCloseTo(r.auc, 12);
    });
    const naiveAuc = percentileInterval(naive.map((r) => r.auc))!;
    expect(fast.auc![0]).toBeCloseTo(naiveAuc[0], 12);
    expect(fast.auc![1]).toBeCloseTo(naiveAuc[1], 12);
    const at = fast.thresholds[0]!;
    expect(at.sensitivity).toEqual(percentileInterval(naive.map((r) => r.sens)));
    expect(at.specificity).toEqual(percentileInterval(naive.map((r) => r.spec)));
    expect(at.ppv![0]).toBeCloseTo(percentileInterval(naive.map((r) => r.ppv))![0], 12);
  });

  it('is reproducible with a seed and differs with another', () => {
    const a = bootstrapRoc(data.p, data.y, { resamples: 300, seed: 42, thresholds: [0.3, 0.6] });
    const b = bootstrapRoc(data.p, data.y, { resamples: 300, seed: 42, thresholds: [0.3, 0.6] });
    const c = bootstrapRoc(data.p, data.y, { resamples: 300, seed: 43, thresholds: [0.3, 0.6] });
    expect(b).toEqual(a);
    expect(c.auc).not.toEqual(a.auc);
    expect(c.thresholds[0]!.sensitivity).not.toEqual(a.thresholds[0]!.sensitivity);
  });

  it('gives an AUC interval close to DeLong on a moderate sample (both estimate the same spread)', () => {
    const big = binormal(300, 700, 1, 22);
    const boot = bootstrapRoc(big.p, big.y, { resamples: 1000 });
    const de = delongAuc(big.p, big.y);
    expect(boot.auc![0]).toBeCloseTo(de.ci95[0], 1);
    expect(boot.auc![1]).toBeCloseTo(de.ci95[1], 1);
    expect(Math.abs(boot.auc![1] - boot.auc![0] - (de.ci95[1] - de.ci95[0]))).toBeLessThan(0.015);
  });

  it('covers the planted AUC about 95 % of the time over 200 seeded binormal cohorts, as DeLong does', () => {
    const truth = binormalAuc(1);
    let bootstrapHits = 0;
    let delongHits = 0;
    for (let s = 0; s < 200; s++) {
      const { p, y } = labelled(binormalScoreRows(400, { RCA: { prevalence: 0.25, separation: 1 } }, 1000 + s), 'RCA');
      const boot = bootstrapRoc(p, y, { resamples: 200, seed: s }).auc!;
      const de = delongAuc(p, y).ci95;
      if (boot[0] < truth && truth < boot[1]) bootstrapHits++;
      if (de[0] < truth && truth < de[1]) delongHits++;
    }
    // Binomial(200, 0.95): 90-99 % is a generous band; percentile bootstrap CIs of the AUC run slightly narrow.
    expect(bootstrapHits / 200).toBeGreaterThanOrEqual(0.9);
    expect(bootstrapHits / 200).toBeLessThanOrEqual(0.99);
    expect(delongHits / 200).toBeGreaterThanOrEqual(0.9);
    expect(delongHits / 200).toBeLessThanOrEqual(0.99);
  });

  it('handles thresholds below, between and above every score, and tied data', () => {
    const { p, y } = hanleyMcNeil1982();
    const r = bootstrapRoc(p, y, { resamples: 100, thresholds: [0, 3.5, 4, 99] });
    expect(r.thresholds[0]).toMatchObject({ sensitivity: [1, 1], specificity: [0, 0] });
    expect(r.thresholds[3]).toMatchObject({ sensitivity: [0, 0], specificity: [1, 1], ppv: null });
    // 3.5 and 4 call the same cases positive on integer ratings.
    expect(r.thresholds[2]!.sensitivity).toEqual(r.thresholds[1]!.sensitivity);
    expect(r.thresholds[1]!.threshold).toBe(3.5);
  });

  it('refuses bad options', () => {
    expect(() => bootstrapRoc(data.p, data.y, { resamples: 0 })).toThrow(RangeError);
    expect(() => bootstrapRoc(data.p, data.y, { level: 1 })).toThrow(RangeError);
  });
});
