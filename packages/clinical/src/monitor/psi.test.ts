import { describe, expect, it } from 'vitest';
import { binIndex, histogram, PSI_EPSILON, populationStabilityIndex, quantileEdges, shares } from './psi.js';

describe('populationStabilityIndex', () => {
  it('is 0 for identical shares, whatever the sample sizes', () => {
    expect(populationStabilityIndex([10, 20, 70], [100, 200, 700])).toBe(0);
  });

  it('matches the formula by hand', () => {
    // e = [0.5, 0.5], a = [0.8, 0.2]
    const byHand = (0.8 - 0.5) * Math.log(0.8 / 0.5) + (0.2 - 0.5) * Math.log(0.2 / 0.5);
    expect(populationStabilityIndex([5, 5], [8, 2])).toBeCloseTo(byHand, 12);
    expect(byHand).toBeCloseTo(0.41589, 4);
  });

  it('is symmetric and floors empty bins at the epsilon', () => {
    expect(populationStabilityIndex([5, 5], [8, 2])).toBeCloseTo(populationStabilityIndex([8, 2], [5, 5]), 12);
    // All mass moved into a bin the reference never saw: finite, and large.
    const moved = populationStabilityIndex([10, 0], [0, 10]);
    const byHand = 2 * (1 - PSI_EPSILON) * Math.log(1 / PSI_EPSILON);
    expect(moved).toBeCloseTo(byHand, 9);
  });

  it('is NaN without data on either side and refuses different bins', () => {
    expect(populationStabilityIndex([0, 0], [1, 2])).toBeNaN();
    expect(populationStabilityIndex([1, 2], [0, 0])).toBeNaN();
    expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).toThrow(RangeError);
  });
});

describe('bins', () => {
  it('puts values in [edge, next edge)', () => {
    const edges = [0.1, 0.5, 0.9];
    expect([-1, 0.05, 0.1, 0.3, 0.5, 0.89, 0.9, 5].map((v) => binIndex(edges, v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(histogram(edges, [0, 0.2, 0.2, 1])).toEqual([1, 2, 0, 1]);
    expect(binIndex([], 42)).toBe(0);
  });

  it('cuts at deciles, without duplicate or empty-by-construction edges', () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    expect(quantileEdges(values)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(shares(histogram(quantileEdges(values), values))).toEqual(new Array(10).fill(0.1));
    expect(quantileEdges([500, 500, 500, 500])).toEqual([]);
    expect(quantileEdges([0, 0, 0, 1, 1])).toEqual([1]);
    expect(quantileEdges([Number.NaN])).toEqual([]);
  });
});
