import { describe, expect, it } from 'vitest';
import { median, pairedSummary, roundOrder, tQuantile95 } from './paired.js';

describe('pairedSummary', () => {
  it('finds a small shift that the spread between rounds would hide', () => {
    // Rounds swing by 4 ms between each other; B is 0.5 ms lower than A within every round.
    const a = [10, 14, 11, 13.5, 12, 10.5];
    const b = a.map((x, i) => x - 0.5 + (i % 2 ? 0.05 : -0.05));
    const s = pairedSummary(a, b);
    expect(s.pairs).toBe(6);
    expect(s.meanDifference).toBeCloseTo(-0.5, 10);
    expect(s.high).toBeLessThan(0);
    expect(s.low).toBeGreaterThan(-0.6);
    expect(s.verdict).toBe('lower');
    expect(s.lower).toBe(6);
    expect(s.higher).toBe(0);
    expect(s.relative).toBeCloseTo(-0.5 / (71 / 6), 10);
  });

  it('says unclear when the pairs disagree', () => {
    const s = pairedSummary([10, 10, 10, 10], [9, 11, 9.5, 10.6]);
    expect(s.verdict).toBe('unclear');
    expect(s.low).toBeLessThan(0);
    expect(s.high).toBeGreaterThan(0);
    expect(s.lower).toBe(2);
    expect(s.higher).toBe(2);
  });

  it('uses the t quantile of the pairs, not the normal one', () => {
    // Differences 1, 2, 3: mean 2, SD 1, t(2) = 4.303: 2 +- 4.303 / sqrt(3).
    const s = pairedSummary([0, 0, 0], [1, 2, 3]);
    expect(s.low).toBeCloseTo(2 - 4.303 / Math.sqrt(3), 10);
    expect(s.high).toBeCloseTo(2 + 4.303 / Math.sqrt(3), 10);
    // With the normal's 1.96 the interval would start at 0.87 and call B higher; three pairs cannot say so.
    expect(s.verdict).toBe('unclear');
    expect(s.medianB).toBe(2);
  });

  it('leaves out a pair whose measure is missing on either side', () => {
    const s = pairedSummary([1, Number.NaN, 3, 4], [2, 5, Number.NaN, 6]);
    expect(s.pairs).toBe(2);
    expect(s.meanDifference).toBe(1.5);
  });

  it('gives no interval for one pair', () => {
    const s = pairedSummary([1], [2]);
    expect(Number.isNaN(s.low)).toBe(true);
    expect(s.verdict).toBe('unclear');
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two, without reordering its input', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});

describe('tQuantile95 and roundOrder', () => {
  it('has the table values and the normal limit', () => {
    expect(tQuantile95(1)).toBe(12.706);
    expect(tQuantile95(5)).toBe(2.571);
    expect(tQuantile95(30)).toBe(2.042);
    expect(tQuantile95(200)).toBe(1.96);
    expect(Number.isNaN(tQuantile95(0))).toBe(true);
  });

  it('alternates which build runs first', () => {
    expect([0, 1, 2, 3].map(roundOrder)).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
      ['b', 'a'],
    ]);
  });
});
