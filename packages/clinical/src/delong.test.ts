import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { delongAuc, Z_975 } from './delong.js';
import { binormal, hanleyMcNeil1982 } from './testing-data.js';

/**
 * An independent DeLong, straight from DeLong, DeLong & Clarke-Pearson 1988 (Biometrics 44:837-845), section 2:
 * psi(X, Y) = 1 if Y < X, 1/2 if Y = X, 0 if Y > X; structural components V10(X_i) = (1/n) sum_j psi(X_i, Y_j) and
 * V01(Y_j) = (1/m) sum_i psi(X_i, Y_j); S10 = sum_i (V10(X_i) - A)^2 / (m - 1), S01 likewise; var(A) = S10 / m +
 * S01 / n. O(m n), no sorting, no ranks.
 */
function delongReference(p: ArrayLike<number>, y: ArrayLike<number>): { auc: number; variance: number } {
  const x: number[] = [];
  const z: number[] = [];
  for (let i = 0; i < p.length; i++) (y[i] === 1 ? x : z).push(p[i] as number);
  const m = x.length;
  const n = z.length;
  const psi = (a: number, b: number): number => (b < a ? 1 : b === a ? 0.5 : 0);
  const v10 = x.map((xi) => z.reduce((s, yj) => s + psi(xi, yj), 0) / n);
  const v01 = z.map((yj) => x.reduce((s, xi) => s + psi(xi, yj), 0) / m);
  const a = v10.reduce((s, v) => s + v, 0) / m;
  const s10 = v10.reduce((s, v) => s + (v - a) ** 2, 0) / (m - 1);
  const s01 = v01.reduce((s, v) => s + (v - a) ** 2, 0) / (n - 1);
  return { auc: a, variance: s10 / m + s01 / n };
}

const datasets: Array<[string, { p: ArrayLike<number>; y: ArrayLike<number> }]> = [
  ['Hanley & McNeil 1982 ratings (5 values, heavy ties)', hanleyMcNeil1982()],
  ['binormal, continuous, 60 / 90', binormal(60, 90, 1, 11)],
  ['binormal rounded to 0.1 (heavy ties), 40 / 120', binormal(40, 120, 0.8, 12, 1)],
  ['binormal, unbalanced, 25 / 400', binormal(25, 400, 1.5, 13, 3)],
];

describe('delongAuc (Sun & Xu fast algorithm)', () => {
  it.each(datasets)('matches the O(m n) DeLong 1988 reference to 1e-9: %s', (_, { p, y }) => {
    const fast = delongAuc(p, y);
    const ref = delongReference(p, y);
    expect(Math.abs(fast.auc - ref.auc)).toBeLessThan(1e-9);
    expect(Math.abs(fast.variance - ref.variance)).toBeLessThan(1e-9);
    expect(Math.abs(fast.se - Math.sqrt(ref.variance))).toBeLessThan(1e-9);
    const lo = Math.max(0, ref.auc - Z_975 * Math.sqrt(ref.variance));
    const hi = Math.min(1, ref.auc + Z_975 * Math.sqrt(ref.variance));
    expect(Math.abs(fast.ci95[0] - lo)).toBeLessThan(1e-9);
    expect(Math.abs(fast.ci95[1] - hi)).toBeLessThan(1e-9);
  });

  it('gives the published Hanley & McNeil 1982 area, 0.8932, with a CI around it', () => {
    const { p, y } = hanleyMcNeil1982();
    const r = delongAuc(p, y);
    expect(r.auc.toFixed(4)).toBe('0.8932');
    expect(r.ci95[0]).toBeLessThan(r.auc);
    expect(r.ci95[1]).toBeGreaterThan(r.auc);
  });

  it('property: matches the reference on random tied data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 40 }),
        (pos, neg) => {
          const p = [...pos, ...neg].map((v) => v / 4);
          const y = [...pos.map(() => 1), ...neg.map(() => 0)];
          const fast = delongAuc(p, y);
          const ref = delongReference(p, y);
          expect(Math.abs(fast.auc - ref.auc)).toBeLessThan(1e-9);
          expect(Math.abs(fast.variance - ref.variance)).toBeLessThan(1e-9);
        },
      ),
    );
  });

  it('clamps the CI to [0, 1] for perfect separation', () => {
    const r = delongAuc([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1]);
    expect(r.auc).toBe(1);
    expect(r.variance).toBe(0);
    expect(r.ci95).toEqual([1, 1]);
  });
});
