import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findLeadQuantum, quantumCandidates } from './quantum.js';

/** Float32 samples as a source computes them: raw integers * scale + offset. */
const fromRaw = (raw: number[], scale: number, offset = 0): Float32Array =>
  Float32Array.from(raw, (r) => r * scale + offset);

describe('findLeadQuantum', () => {
  it("recovers the source's decimal step, not its Float32 rounding", () => {
    expect(findLeadQuantum(fromRaw([0, 3, -7, 12, 400], 2.5))).toEqual({ origin: 0, factor: 2.5 });
    expect(findLeadQuantum(fromRaw([1, 5, -9, 100], 4.88))).toEqual({ origin: 0, factor: 4.88 });
    expect(findLeadQuantum(fromRaw([1, 4, -4, 10], 1.22))).toEqual({ origin: 0, factor: 1.22 });
    // The coarsest step that fits: raw data all even give twice the step.
    expect(findLeadQuantum(fromRaw([2, 4, -4, 10], 1.22))).toEqual({ origin: 0, factor: 2.44 });
  });

  it('finds an origin when the samples need one, and handles flat, empty and non-finite leads', () => {
    // 12.8 is a multiple of the 0.2 step from 0: no origin needed; 13.3 is not a multiple of 5 or of 0.1 then.
    expect(findLeadQuantum(fromRaw([0, 1, 5, -3, 9], 5, 12.8))).toEqual({ origin: 0, factor: 0.2 });
    expect(findLeadQuantum(fromRaw([0, 1, 5, -3, 9], 5, 13.33))).toEqual({ origin: -1.67, factor: 5 });
    expect(findLeadQuantum(new Float32Array(8))).toEqual({ origin: 0, factor: 1 });
    expect(findLeadQuantum(new Float32Array(0))).toEqual({ origin: 0, factor: 1 });
    expect(findLeadQuantum(Float32Array.from([Number.NaN, Number.NaN]))).toEqual({ origin: 0, factor: 1 });
    expect(findLeadQuantum(Float32Array.from([5, Number.NaN, 10, Number.POSITIVE_INFINITY]))).toEqual({
      origin: 0,
      factor: 5,
    });
  });

  it('gives up on arbitrary floats', () => {
    expect(findLeadQuantum(Float32Array.from({ length: 500 }, (_, k) => 1234.5678 * Math.sin(k / 37.3)))).toBe(
      undefined,
    );
  });

  it('is the first of quantumCandidates that reproduces every sample', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(1, 2.5, 4.88, 1.22, 5, 0.5),
        (raw, scale) => {
          const samples = fromRaw(raw, scale);
          const q = findLeadQuantum(samples);
          expect(q).toEqual(findFirst(samples));
          // Short leads may have no gap small enough to divide down to the step; 5000-sample ones do.
          if (q === undefined) return;
          for (const v of samples) {
            const { origin, factor } = q as { origin: number; factor: number };
            expect(Math.fround(origin + factor * Math.round((v - origin) / factor))).toBe(v);
          }
        },
      ),
    );
  });
});

function findFirst(samples: Float32Array): { origin: number; factor: number } | undefined {
  for (const c of quantumCandidates(samples)) {
    if (samples.every((v) => Math.fround(c.origin + c.factor * Math.round((v - c.origin) / c.factor)) === v)) return c;
  }
  return undefined;
}
