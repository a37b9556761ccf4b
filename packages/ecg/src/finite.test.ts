import { describe, expect, it } from 'vitest';
import { allFinite, copyIfFinite } from './finite.js';
import { simdKernels, withoutSimd } from './simd-kernels.js';

describe('allFinite and copyIfFinite', () => {
  const paths = [
    ['WebAssembly SIMD', <T>(fn: () => T): T => fn()],
    ['JavaScript', withoutSimd],
  ] as const;

  it('has the kernels here, so both paths below are exercised', () => {
    expect(simdKernels()).toBeDefined();
  });

  for (const [name, run] of paths) {
    it(`finds NaN and both infinities at any position and takes every finite value (${name})`, () => {
      for (const n of [1, 7, 255, 256, 1001, 60_000]) {
        const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7) * 1e3);
        // The largest finite float32, a subnormal and -0 are finite.
        base[0] = 3.4028234663852886e38;
        if (n > 1) base[1] = 1e-45;
        if (n > 2) base[2] = -0;
        expect(run(() => allFinite(base))).toBe(true);
        const into = new Float32Array(n + 3).fill(7);
        expect(run(() => copyIfFinite(base, into, 2))).toBe(true);
        expect(Array.from(into.subarray(2, 2 + n))).toEqual(Array.from(base));
        expect([into[0], into[1], into[n + 2]]).toEqual([7, 7, 7]);
        for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          for (const at of new Set([0, 1, 2, 3, n >> 1, n - 4, n - 3, n - 2, n - 1].filter((i) => i >= 0 && i < n))) {
            const bad = base.slice();
            bad[at] = value;
            expect(run(() => allFinite(bad))).toBe(false);
            const untouched = new Float32Array(n).fill(7);
            expect(run(() => copyIfFinite(bad, untouched, 0))).toBe(false);
            expect(untouched.every((v) => v === 7)).toBe(true);
          }
        }
      }
    });
  }
});
