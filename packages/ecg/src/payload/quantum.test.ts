import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findLeadQuantum,
  hintFactors,
  hintLeadQuantum,
  leadQuantumHint,
  quantumCandidates,
  quantumCandidatesOf,
  sampleGaps,
} from './quantum.js';

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

describe('lead quantum hints', () => {
  it('keeps a hint per lead array, and none for an array that is not the hinted one', () => {
    const lead = fromRaw([1, 2, 3], 2.5);
    hintLeadQuantum(lead, { origin: 0, factor: 2.5 });
    expect(leadQuantumHint(lead)).toEqual({ origin: 0, factor: 2.5 });
    expect(leadQuantumHint(new Float32Array(lead))).toBeUndefined();
  });

  it('ignores a hint that is no quantum (zero, negative or non-finite factor, non-finite origin)', () => {
    for (const quantum of [
      { origin: 0, factor: 0 },
      { origin: 0, factor: -1 },
      { origin: 0, factor: Number.NaN },
      { origin: Number.POSITIVE_INFINITY, factor: 1 },
    ]) {
      const lead = new Float32Array(2);
      hintLeadQuantum(lead, quantum);
      expect(leadQuantumHint(lead)).toBeUndefined();
    }
  });

  it("reads a hinted factor's binary rounding back to its decimal first, then offers it exactly as given", () => {
    // 0.0049 mV * 1000 (a DICOM sensitivity in mV, as microvolts) is 4.8999999999999995 in binary.
    const factor = 0.0049 * 1000;
    expect(factor).not.toBe(4.9);
    expect(hintFactors(factor)).toEqual([4.9, factor]);
    expect(hintFactors(2.5)).toEqual([2.5]);
    // A coarser reading (3 for 2.5) is never offered: it is not the source's step.
    expect(hintFactors(2.5)).not.toContain(3);
  });

  it('derives the same candidates from gaps measured elsewhere as from the samples', () => {
    const lead = fromRaw([3, -7, 12, 12, 400, 0], 2.5);
    let between = Number.POSITIVE_INFINITY;
    let fromZero = Number.POSITIVE_INFINITY;
    lead.forEach((v, i) => {
      const gap = i === 0 ? 0 : Math.abs(v - (lead[i - 1] as number));
      if (gap !== 0) between = Math.min(between, gap);
      if (v !== 0) fromZero = Math.min(fromZero, Math.abs(v));
    });
    const take = (g: Generator<unknown>) => Array.from({ length: 40 }, () => g.next().value);
    expect(take(quantumCandidatesOf(sampleGaps(lead[0] as number, between, fromZero)))).toEqual(
      take(quantumCandidates(lead)),
    );
  });
});
