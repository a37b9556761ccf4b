import { describe, expect, it } from 'vitest';
import { proportion, wilsonInterval } from './proportion.js';

describe('wilsonInterval', () => {
  it("matches Newcombe 1998's worked examples (Stat Med 17:857, table I, method 3)", () => {
    // 81/263: 0.2553 to 0.3662; 15/148: 0.0624 to 0.1605; 0/20: 0 to 0.1611; 1/29: 0.0061 to 0.1718.
    const cases: Array<[number, number, number, number]> = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, lo, hi] of cases) {
      const [a, b] = wilsonInterval(k, n);
      expect(a).toBeCloseTo(lo, 4);
      expect(b).toBeCloseTo(hi, 4);
    }
  });

  it('is exactly [x, 1] at k = n and stays in [0, 1]', () => {
    const [lo, hi] = wilsonInterval(20, 20);
    expect(hi).toBe(1);
    expect(lo).toBeCloseTo(1 - 0.1611, 4);
  });

  it('refuses impossible counts', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(0, 0)).toThrow(RangeError);
  });
});

describe('proportion', () => {
  it('is null-valued for an empty group and carries k, n otherwise', () => {
    expect(proportion(0, 0)).toEqual({ k: 0, n: 0, value: null, ci95: null });
    const p = proportion(5, 10);
    expect(p.value).toBe(0.5);
    expect(p.ci95?.[0]).toBeCloseTo(0.2366, 4);
    expect(p.ci95?.[1]).toBeCloseTo(0.7634, 4);
  });
});
