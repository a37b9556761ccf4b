import { describe, expect, it } from 'vitest';
import { designFilter, type FilterSpec, filterWorkspace, type ZeroPhaseFilter } from './filter.js';
import { biquadKernel } from './filter-kernel.js';

/** Deterministic ECG-like rows: a baseline drift, a few tones and noise, different per row. */
function rowValues(row: number, n: number): Float64Array {
  const x = new Float64Array(n);
  let seed = 12345 + 977 * row;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    x[i] = 300 * Math.sin(0.003 * i + row) + 80 * Math.sin(0.21 * i) + (seed / 0x7fffffff - 0.5) * 40 + 50 * row;
  }
  return x;
}

/** Filters `rows` rows of `n` values both ways: one by one in a plain array, and all at once in the workspace. */
function both(filter: ZeroPhaseFilter, rows: number, n: number): { plain: Float64Array[]; kernel: Float64Array[] } {
  const pad = filter.padLength + 3;
  const stride = n + 2 * pad;
  const plain: Float64Array[] = [];
  const starts: number[] = [];
  const w = filterWorkspace(rows * stride + 5);
  w.fill(Number.NaN);
  for (let r = 0; r < rows; r++) {
    const x = rowValues(r, n);
    const row = new Float64Array(stride);
    row.set(x, pad);
    filter.applyPaddedUnscaled(row, pad, n);
    plain.push(row.slice(pad, pad + n));
    w.set(x, 5 + r * stride + pad);
    starts.push(5 + r * stride + pad);
  }
  expect(biquadKernel?.owns(w)).toBe(true);
  filter.applyRowsUnscaled(w, starts, n);
  return { plain, kernel: starts.map((s) => w.slice(s, s + n)) };
}

describe('SIMD filter kernel', () => {
  it('is available on this Node (WebAssembly SIMD)', () => {
    expect(biquadKernel).toBeDefined();
  });

  const cases: Array<[string, FilterSpec, number]> = [
    ['card band-pass at 500 Hz', { highpassHz: 0.5, lowpassHz: 40 }, 500],
    ['card band-pass at 1000 Hz', { highpassHz: 0.5, lowpassHz: 40 }, 1000],
    ['band-pass and notch (a group of three, then one)', { highpassHz: 0.5, lowpassHz: 40, notchHz: 50 }, 500],
    ['low-pass alone (two sections: JavaScript path)', { lowpassHz: 40 }, 500],
  ];
  for (const [name, spec, rate] of cases) {
    it(`gives bit-identical rows to the JavaScript filter: ${name}, 1 to 11 rows`, () => {
      const filter = designFilter(spec, rate) as ZeroPhaseFilter;
      for (let rows = 1; rows <= 11; rows++) {
        const { plain, kernel } = both(filter, rows, 2000 + 37 * rows);
        for (let r = 0; r < rows; r++) expect(kernel[r]).toEqual(plain[r]);
      }
    });
  }

  it('gives bit-identical rows for records shorter than the padding, and for two samples', () => {
    const filter = designFilter({ highpassHz: 0.5, lowpassHz: 40 }, 500) as ZeroPhaseFilter;
    for (const n of [2, 3, 17, filter.padLength - 1, filter.padLength + 1]) {
      const { plain, kernel } = both(filter, 5, n);
      for (let r = 0; r < 5; r++) expect(kernel[r]).toEqual(plain[r]);
    }
  });

  it('keeps a larger workspace valid after growing, and refuses rows without room for the padding', () => {
    const small = filterWorkspace(10);
    const big = filterWorkspace(small.length + 100_000);
    expect(big.length).toBeGreaterThanOrEqual(small.length + 100_000);
    expect(filterWorkspace(10)).toBe(big);
    const filter = designFilter({ highpassHz: 0.5, lowpassHz: 40 }, 500) as ZeroPhaseFilter;
    expect(() => filter.applyRowsUnscaled(big, [filter.padLength - 1], 1000)).toThrow(RangeError);
  });
});
