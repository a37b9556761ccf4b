import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalize, zscoreFromSums } from './normalize.js';

function meanSd(values: ArrayLike<number>): { mean: number; sd: number } {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  const mean = s / values.length;
  let q = 0;
  for (let i = 0; i < values.length; i++) q += ((values[i] as number) - mean) ** 2;
  return { mean, sd: Math.sqrt(q / values.length) };
}

const leadsArb = fc.integer({ min: 1, max: 12 }).chain((leads) =>
  fc.integer({ min: 2, max: 50 }).chain((samples) =>
    fc.record({
      leads: fc.constant(leads),
      samples: fc.constant(samples),
      data: fc.array(fc.double({ min: -5000, max: 5000, noNaN: true }), {
        minLength: leads * samples,
        maxLength: leads * samples,
      }),
      // A DC offset per lead, so per-lead and whole-record statistics differ.
      offsets: fc.array(fc.double({ min: -2000, max: 2000, noNaN: true }), { minLength: leads, maxLength: leads }),
    }),
  ),
);

function build(c: { leads: number; samples: number; data: number[]; offsets: number[] }): Float32Array {
  return Float32Array.from(c.data, (v, i) => v + (c.offsets[Math.floor(i / c.samples)] as number));
}

describe('normalize', () => {
  it('zscore-record: one mean and SD over the whole array gives mean 0 and SD 1 overall', () => {
    fc.assert(
      fc.property(leadsArb, (c) => {
        const x = build(c);
        fc.pre(meanSd(x).sd > 1);
        normalize(x, 'zscore-record', c);
        const { mean, sd } = meanSd(x);
        expect(Math.abs(mean)).toBeLessThan(1e-5);
        expect(Math.abs(sd - 1)).toBeLessThan(1e-5);
      }),
    );
  });

  it('zscore-record keeps the ratios between leads (the same map for all)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    const maps = normalize(x, 'zscore-record', { leads: 2, samples: 4 });
    expect(maps[0]).toEqual(maps[1]);
    expect(((x[7] as number) - (x[4] as number)) / ((x[3] as number) - (x[0] as number))).toBeCloseTo(10, 5);
  });

  it('zscore-per-lead: every lead has mean 0 and SD 1, in either layout', () => {
    fc.assert(
      fc.property(leadsArb, (c) => {
        const ncl = build(c);
        const nlc = new Float32Array(ncl.length);
        for (let l = 0; l < c.leads; l++) {
          for (let t = 0; t < c.samples; t++) nlc[t * c.leads + l] = ncl[l * c.samples + t] as number;
        }
        for (let l = 0; l < c.leads; l++) fc.pre(meanSd(ncl.subarray(l * c.samples, (l + 1) * c.samples)).sd > 1);
        normalize(ncl, 'zscore-per-lead', c);
        normalize(nlc, 'zscore-per-lead', { ...c, layout: 'NLC' });
        for (let l = 0; l < c.leads; l++) {
          const lead = ncl.subarray(l * c.samples, (l + 1) * c.samples);
          const { mean, sd } = meanSd(lead);
          expect(Math.abs(mean)).toBeLessThan(1e-5);
          expect(Math.abs(sd - 1)).toBeLessThan(1e-5);
          for (let t = 0; t < c.samples; t++) expect(nlc[t * c.leads + l]).toBeCloseTo(lead[t] as number, 5);
        }
      }),
    );
  });

  it('none leaves values alone', () => {
    const x = Float32Array.from([5, -3, 7]);
    normalize(x, 'none', { leads: 1, samples: 3 });
    expect(Array.from(x)).toEqual([5, -3, 7]);
  });

  it('never divides by zero: a flat record is centred to zeros, not NaN', () => {
    const x = new Float32Array(24).fill(812.5);
    normalize(x, 'zscore-record', { leads: 2, samples: 12 });
    for (const v of x) expect(v).toBe(0);
    const y = Float32Array.from([1, 1, 1, 2, 4, 6]);
    normalize(y, 'zscore-per-lead', { leads: 2, samples: 3 });
    expect(Array.from(y.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(zscoreFromSums(0, 0, 0)).toEqual({ mean: 0, scale: 1 });
    // SD lost in float rounding next to a large mean counts as flat.
    expect(zscoreFromSums(1e6 * 100, 1e12 * 100 + 1e-3, 100).scale).toBe(1);
  });

  it('works on a slice of a larger array (a batch tensor)', () => {
    const batch = new Float32Array(10).fill(7);
    batch.set([1, 2, 3, 4], 3);
    normalize(batch, 'zscore-record', { leads: 1, samples: 4 }, 3);
    expect(batch[0]).toBe(7);
    expect(batch[9]).toBe(7);
    expect(meanSd(batch.subarray(3, 7)).mean).toBeCloseTo(0, 6);
    expect(() => normalize(batch, 'none', { leads: 2, samples: 4 }, 3)).toThrow(RangeError);
  });
});
