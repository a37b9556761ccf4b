/**
 * Datasets shared by the clinical package's tests (not exported from the package).
 */
import { seededRandom } from './rng.js';

/**
 * Hanley & McNeil 1982 (Radiology 143:29-36), Table 1: 109 CT images rated on a 5-point scale (1 definitely
 * normal ... 5 definitely abnormal); 58 normal with counts 33, 6, 6, 11, 2 and 51 abnormal with counts 3, 2, 2, 11,
 * 33 per rating. Published area under the ROC curve (Wilcoxon): 0.8932.
 */
export function hanleyMcNeil1982(): { p: Float64Array; y: Uint8Array } {
  const normal = [33, 6, 6, 11, 2];
  const abnormal = [3, 2, 2, 11, 33];
  const p: number[] = [];
  const y: number[] = [];
  normal.forEach((count, k) => {
    for (let i = 0; i < count; i++) {
      p.push(k + 1);
      y.push(0);
    }
  });
  abnormal.forEach((count, k) => {
    for (let i = 0; i < count; i++) {
      p.push(k + 1);
      y.push(1);
    }
  });
  return { p: Float64Array.from(p), y: Uint8Array.from(y) };
}

/** Standard normal deviate from a uniform stream (Box-Muller). */
export function normalDeviate(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Binormal scores: negatives N(0, 1), positives N(d, 1), plus `shift`, passed through the logistic, so true AUC = Phi(d / sqrt 2).
 * `decimals` rounds the probabilities to make ties; `shift` moves both classes on the logit scale.
 */
export function binormal(
  positives: number,
  negatives: number,
  d: number,
  seed: number,
  decimals?: number,
  shift = -1,
): { p: Float64Array; y: Uint8Array } {
  const random = seededRandom(seed);
  const n = positives + negatives;
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i < positives ? 1 : 0;
    const score = 1 / (1 + Math.exp(-(normalDeviate(random) + (label ? d : 0) + shift)));
    p[i] = decimals === undefined ? score : Number(score.toFixed(decimals));
    y[i] = label;
  }
  return { p, y };
}
