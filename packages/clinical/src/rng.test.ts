import { describe, expect, it } from 'vitest';
import { randomIndex, seededRandom } from './rng.js';

describe('seededRandom', () => {
  it('is the published mulberry32 sequence (first outputs for seed 0 and 42)', () => {
    // Reference values computed with the reference C code: (uint32 output) / 2^32.
    const zero = seededRandom(0);
    expect(zero()).toBeCloseTo(0.26642920868471265, 15);
    const r = seededRandom(42);
    expect(r()).toBeCloseTo(0.6011037519201636, 15);
  });

  it('repeats with the same seed and differs with another', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const sa = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(sa);
    expect(Array.from({ length: 100 }, c)).not.toEqual(sa);
  });

  it('draws uniform values in [0, 1) and uniform indices', () => {
    const r = seededRandom(123);
    const counts = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r();
      if (!(u >= 0 && u < 1)) outside++;
      counts[randomIndex(r, 10)]++;
    }
    expect(outside).toBe(0);
    // Each bin expects 10,000; 5 sigma is about 475.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(475);
  });

  it('refuses a seed that is not a number', () => {
    expect(() => seededRandom(Number.NaN)).toThrow(RangeError);
  });
});
