import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { designFilter, type FilterSpec, filterWorkspace, type ZeroPhaseFilter } from './filter.js';
import { getResampler } from './resample.js';
import {
  deinterleaveInt16,
  formatInt16,
  type QuantisePass,
  SIMD_MIN_VALUES,
  scaledQuantum,
  simdKernels,
  withoutSimd,
} from './simd-kernels.js';

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
  expect(simdKernels()?.owns(w)).toBe(true);
  filter.applyRowsUnscaled(w, starts, n);
  return { plain, kernel: starts.map((s) => w.slice(s, s + n)) };
}

describe('SIMD kernels', () => {
  it('is available on this Node (WebAssembly SIMD)', () => {
    expect(simdKernels()).toBeDefined();
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

  it('sums, cross sums and writes exactly as the JavaScript loops of prepare() (even and odd lengths)', () => {
    const k = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const w = filterWorkspace(30_000);
    const x = rowValues(3, 5000);
    const y = rowValues(8, 5000);
    w.set(x, 11);
    w.set(y, 7000);
    const f32 = k.workspace32();
    for (const n of [0, 1, 2, 3, 4999, 5000]) {
      // rowSums / crossSum: even and odd samples in accumulators of their own, added at the end.
      let s0 = 0;
      let s1 = 0;
      let q0 = 0;
      let q1 = 0;
      let p0 = 0;
      let p1 = 0;
      for (let t = 0; t < n; t++) {
        const a = x[t] as number;
        const b = y[t] as number;
        if (t % 2 === 0) {
          s0 += a;
          q0 += a * a;
          p0 += a * b;
        } else {
          s1 += a;
          q1 += a * a;
          p1 += a * b;
        }
      }
      expect(k.sums(11, n)).toEqual({ s: s0 + s1, q: q0 + q1 });
      expect(k.cross(11, 7000, n)).toBe(p0 + p1);
      const dst = 2 * 14_000;
      const want = new Float32Array(n);
      for (let t = 0; t < n; t++) want[t] = ((x[t] as number) - 12.5) * 0.0123;
      k.write(11, dst, n, 12.5, 0.0123);
      expect(f32.slice(dst, dst + n)).toEqual(want);
      for (let t = 0; t < n; t++) want[t] = (-0.5 * (x[t] as number) + 1 * (y[t] as number) - 3.25) * 0.0456;
      k.writeDerived(11, 7000, dst, n, -0.5, 1, 3.25, 0.0456);
      expect(f32.slice(dst, dst + n)).toEqual(want);
    }
  });

  it('gives the lead statistics of the quality gate: four sums in order, extremes and how many samples sit on them', () => {
    const k = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const out = new Float64Array(12);
    let seed = 99;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (const n of [4, 7, 256, 1001, 5000, 10_003]) {
      for (const rail of [false, true]) {
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = Math.round((random() - 0.5) * 4000) / 4;
        // Clipped at both rails, in every lane; the extremes also repeat by chance (values on a 0.25 grid).
        if (rail) for (let i = 0; i < n; i += 3) x[i] = i % 2 ? 900 : -900;
        const s = new Float64Array(4);
        const q = new Float64Array(4);
        let max = Number.NEGATIVE_INFINITY;
        let min = Number.POSITIVE_INFINITY;
        const quads = 4 * (n >> 2);
        for (let i = 0; i < quads; i++) {
          const v = x[i] as number;
          (s[i % 4] as number) += v;
          (q[i % 4] as number) += v * v;
          max = Math.max(max, v);
          min = Math.min(min, v);
        }
        const head = x.subarray(0, quads);
        k.leadStats(x, n, out);
        expect(Array.from(out)).toEqual([
          ...s,
          ...q,
          max,
          head.filter((v) => v === max).length,
          min,
          head.filter((v) => v === min).length,
        ]);
      }
    }
  });

  it('checks stored limb leads against their derivation from I and II as the float64 formula does', () => {
    const k = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const tolerance = 1.5;
    const reference = (x: Float32Array, i: Float32Array, ii: Float32Array, n: number, a: number, b: number) => {
      for (let t = 0; t < n; t++) {
        const d = (x[t] as number) - (a * (i[t] as number) + b * (ii[t] as number));
        if (!(d <= tolerance && d >= -tolerance)) return false;
      }
      return true;
    };
    for (const n of [4, 7, 256, 1001, 10_000]) {
      const i = Float32Array.from({ length: n }, (_, t) => Math.round(800 * Math.sin(t / 37)) / 4);
      const ii = Float32Array.from({ length: n }, (_, t) => Math.round(900 * Math.cos(t / 23)) / 4 + 0.1);
      const cases: Array<{ x: Float32Array; a: number; b: number }> = [];
      for (const [a, b] of [
        [-1, 1],
        [-0.5, -0.5],
        [1, -0.5],
        [-0.5, 1],
      ] as const) {
        const exact = Float32Array.from({ length: n }, (_, t) => a * (i[t] as number) + b * (ii[t] as number));
        cases.push({ x: exact, a, b });
        // Off by exactly the tolerance (within), and just beyond it, NaN and infinity, at the first sample, in the
        // middle, in the last whole step of four and in the tail.
        for (const at of new Set([0, n >> 1, 4 * (n >> 2) - 1, n - 1])) {
          for (const change of [tolerance, -tolerance, 1.5001, -1.5001, Number.NaN, Number.POSITIVE_INFINITY]) {
            const x = exact.slice();
            x[at] = (x[at] as number) + change;
            cases.push({ x, a, b });
          }
        }
      }
      const got = k.storedDerivations(i, ii, n, cases, tolerance);
      const want = cases.map(({ x, a, b }) => reference(x, i, ii, n, a, b));
      expect(got).toEqual(want);
      expect(want.some((v) => v)).toBe(true);
      expect(want.some((v) => !v)).toBe(true);
    }
  });

  it('decimates two leads 2:1 with the half-band kernel exactly as the resampler does', () => {
    const k = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const resampler = getResampler(1000, 500, { protectBandHz: 50 });
    const weights = resampler.halfBand as NonNullable<typeof resampler.halfBand>;
    expect(weights).toBeDefined();
    for (const n of [20, 21, 1001, 10_000]) {
      const a = Float32Array.from(rowValues(1, n));
      const b = Float32Array.from(rowValues(2, n));
      const count = resampler.outputLength(n);
      const wantA = new Float64Array(count);
      const wantB = new Float64Array(count);
      resampler.process(a, n, wantA);
      resampler.process(b, n, wantB);
      const w = filterWorkspace(2 * count + n + 10);
      w.fill(Number.NaN);
      const [lo, hi] = resampler.processEdges(a, n, w, count, 3);
      resampler.processEdges(b, n, w, count, 3 + count);
      k.halfBand(a, b, n, 3, 3 + count, lo, hi, weights, 3 + 2 * count);
      expect(w.slice(3, 3 + count)).toEqual(wantA);
      expect(w.slice(3 + count, 3 + 2 * count)).toEqual(wantB);
    }
  });
  it('de-interleaves and scales 16-bit frames exactly as the float64 formula, at any alignment', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const r = seed % 6;
      return r === 0 ? -32768 : r === 1 ? 32767 : r === 2 ? 0 : ((seed >> 8) % 65536) - 32768;
    };
    const alloc = (n: number) => new Float32Array(n).fill(Number.NaN);
    const bits = (x: ArrayLike<number>) => Array.from(new Int32Array(Float32Array.from(x).buffer));
    const scales = [2.5, -1.25, 1, 0.078125, 1e6, -2, 3.75, 0.5, 4.875, 1, 2.5, -0.5, 7, 9];
    for (const count of [2, 4, 6, 10, 12, 14]) {
      for (const samples of [1, 2, 3, 4, 5, 8, 13, 10_000]) {
        const values = Array.from({ length: count * samples }, next);
        const channels = scales.slice(0, count).map((scale) => ({ scale, offset: 0 }));
        // Every channel, every other one, and one alone (the other lanes of its group go to a scratch row).
        const wantedSets = [
          channels.map(() => true),
          channels.map((_, c) => c % 2 === 1),
          channels.map((_, c) => c === count - 1),
        ];
        for (const byteShift of [0, 2, 6]) {
          const buffer = new ArrayBuffer(2 * values.length + byteShift + 8);
          const raw = new Int16Array(buffer, byteShift, values.length);
          raw.set(values);
          for (const wanted of wantedSets) {
            const outs = deinterleaveInt16(raw, count, samples, channels, wanted, alloc);
            expect(outs).toBeDefined();
            for (let c = 0; c < count; c++) {
              if (!wanted[c]) {
                expect(outs?.[c]).toBeUndefined();
                continue;
              }
              const scale = channels[c]?.scale as number;
              const want = Array.from({ length: samples }, (_, s) => (values[s * count + c] as number) * scale + 0);
              expect(bits(outs?.[c] ?? [])).toEqual(bits(want));
            }
          }
        }
      }
    }
  });
  it('leaves to the JavaScript loops what Float32 arithmetic would not give exactly', () => {
    const raw = new Int16Array(48).fill(3);
    const alloc = (n: number) => new Float32Array(n);
    const all = Array.from({ length: 12 }, () => true);
    const ok = Array.from({ length: 12 }, () => ({ scale: 2.5, offset: 0 }));
    expect(deinterleaveInt16(raw, 12, 4, ok, all, alloc)).toBeDefined();
    for (const bad of [
      { scale: 0.1, offset: 0 },
      { scale: 2.5, offset: 3 },
      { scale: Number.NaN, offset: 0 },
    ]) {
      const channels = ok.map((ch, c) => (c === 5 ? bad : ch));
      expect(deinterleaveInt16(raw, 12, 4, channels, all, alloc)).toBeUndefined();
      // An unwanted channel may have any scale.
      expect(
        deinterleaveInt16(
          raw,
          12,
          4,
          channels,
          all.map((_, c) => c !== 5),
          alloc,
        ),
      ).toBeDefined();
    }
    expect(deinterleaveInt16(raw, 3, 16, ok, all, alloc)).toBeUndefined();
    expect(withoutSimd(() => deinterleaveInt16(raw, 12, 4, ok, all, alloc))).toBeUndefined();
  });

  /** codec.ts's storeData with hintedPass's gaps, one sample at a time. */
  const reference = (lead: Float32Array, origin: number, factor: number) => {
    const data: number[] = [];
    let wide = false;
    let between = Number.POSITIVE_INFINITY;
    let fromZero = Number.POSITIVE_INFINITY;
    for (let i = 0; i < lead.length; i++) {
      const v = lead[i] as number;
      const d = Math.round((v - origin) / factor);
      if (Math.abs(d) > 2 ** 31 - 1 || Math.fround(origin + factor * d) !== v || Object.is(v, -0)) return undefined;
      if (Math.abs(d) > 32_767) wide = true;
      data.push(d);
      const gap = Math.abs(v - (lead[i === 0 ? 0 : i - 1] as number));
      if (gap !== 0) between = Math.min(between, gap);
      if (v !== 0) fromZero = Math.min(fromZero, Math.abs(v));
    }
    return { data, wide, between, fromZero };
  };
  /**
   * The kernel's pass against the reference: the same verdict, wide flag and gaps, and where no datum is wide the
   * same data. quantiseScaled may also answer wide for a lead with a miss among wide data: the codec's loop then
   * decides (`wideDefers`); it must never miss where the reference does not.
   */
  const check = (
    lead: Float32Array,
    origin: number,
    factor: number,
    pass: (lead: Float32Array, origin: number, factor: number) => QuantisePass | undefined,
    wideDefers = false,
  ) => {
    const want = reference(lead, origin, factor);
    const got = pass(lead, origin, factor);
    // (Never for a lead the reference takes with Int16 data.)
    if (wideDefers && got?.wide && (want === undefined || want.wide)) return;
    if (want === undefined) {
      expect(got).toBeUndefined();
      return;
    }
    expect(got).toBeDefined();
    expect({ wide: got?.wide, between: got?.between, fromZero: got?.fromZero }).toEqual({
      wide: want.wide,
      between: want.between,
      fromZero: want.fromZero,
    });
    if (!want.wide) expect(Array.from(got?.data ?? [])).toEqual(want.data);
  };
  /** A lead on the grid of (origin, factor), then with odd values and edge data put in, each checked. */
  const checkAround = (
    n: number,
    origin: number,
    factor: number,
    pass: Parameters<typeof check>[3],
    wideDefers = false,
  ) => {
    const grid = Float32Array.from({ length: n }, (_, i) => origin + factor * (((i * 37) % 2001) - 1000));
    check(grid, origin, factor, pass, wideDefers);
    for (const odd of [Number.NaN, Number.POSITIVE_INFINITY, -0, 0.3, 2 ** 40]) {
      for (const at of [0, 1, n - 1]) {
        const lead = new Float32Array(grid);
        lead[at] = odd;
        check(lead, origin, factor, pass, wideDefers);
      }
    }
    // The edges of Int16 data (-32768 is wide: the codec keeps Int16 symmetric) and of the 32-bit range.
    for (const datum of [32_767, -32_767, 32_768, -32_768, 2 ** 31 - 1, -(2 ** 31)]) {
      const lead = new Float32Array(grid);
      lead[n >> 1] = Math.fround(origin + factor * datum);
      check(lead, origin, factor, pass, wideDefers);
    }
  };

  it("quantises a lead as the payload codec's loop does: data, misses, Int16 range and gaps", () => {
    const kernels = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const pass = (lead: Float32Array, origin: number, factor: number) => kernels.quantise(lead, origin, factor);
    for (const n of [256, 257, 258, 259, 1000]) {
      for (const [origin, factor] of [
        [0, 2.5],
        [0, 4.88],
        [0, 0.0049 * 1000],
        [-3.3, 1.22],
        [12.8, 1 / 3],
      ] as const) {
        checkAround(n, origin, factor, pass);
      }
    }
    // A lead of zeros has no gaps; a constant lead none between samples.
    check(new Float32Array(300), 0, 1, pass);
    check(new Float32Array(300).fill(7.5), 0, 2.5, pass);
  });

  it('takes factors of at most 9 significant bits, positive Float32s, in Float32 (quantiseScaled)', () => {
    for (const factor of [2.5, 5, 1, 0.5, 0.0625, 4.875, 3.90625, 511, 2 ** -99, 2 ** 99]) {
      expect(scaledQuantum(factor), String(factor)).toBe(true);
    }
    // 5000 / 1024 has 10 bits; 4.88 and 1 / 3 are not Float32s; and the rest.
    for (const factor of [5000 / 1024, 4.88, 1 / 3, 513, 0, -2.5, Number.NaN, Infinity, 2 ** -101, 2 ** 101]) {
      expect(scaledQuantum(factor), String(factor)).toBe(false);
    }
  });

  it("quantiseScaled gives quantise's answer for every factor it takes", () => {
    const kernels = simdKernels() as NonNullable<ReturnType<typeof simdKernels>>;
    const pass = (lead: Float32Array, origin: number, factor: number) => {
      expect(origin).toBe(0);
      return kernels.quantiseScaled(lead, factor);
    };
    for (const n of [256, 257, 258, 259, 1000]) {
      for (const factor of [2.5, 5, 1, 0.5, 0.0625, 4.875, 3.90625, 511, 2 ** -99]) {
        checkAround(n, 0, factor, pass, true);
      }
    }
    check(new Float32Array(300), 0, 1, pass, true);
    check(new Float32Array(300).fill(7.5), 0, 2.5, pass, true);
    // Any Int16 data under any such factor, with a sample off the grid, halfway, or a grid value of another factor.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 511 }).filter((m) => m % 2 === 1),
        fc.integer({ min: -40, max: 20 }),
        fc.array(fc.integer({ min: -32_767, max: 32_767 }), { minLength: 256, maxLength: 600 }),
        fc.option(
          fc.tuple(fc.nat(), fc.double({ noDefaultInfinity: true }), fc.constantFrom('value', 'half', 'other')),
        ),
        (odd, exponent, data, off) => {
          const factor = odd * 2 ** exponent;
          expect(scaledQuantum(factor)).toBe(true);
          const lead = Float32Array.from(data, (d) => factor * d);
          if (off) {
            const [at, value, kind] = off;
            const i = at % lead.length;
            lead[i] =
              kind === 'value'
                ? value
                : kind === 'half'
                  ? Math.fround(factor * ((data[i] as number) + 0.5))
                  : Math.fround(factor * 1.5 * (data[i] as number));
          }
          check(lead, 0, factor, pass, true);
          check(lead, 0, factor, (l, o, f) => kernels.quantise(l, o, f));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('formatInt16 (the SampledData text kernel)', () => {
  it('writes each value in decimal, single-space separated, over the whole Int16 range', () => {
    expect(simdKernels()).toBeDefined();
    const edges = [0, 1, -1, 9, -9, 10, 99, -99, 100, 999, -999, 1000, -1000, 9999, -9999, 10_000, -10_000, 10_005];
    const all = Int16Array.from({ length: 65_536 + edges.length }, (_, i) =>
      i < edges.length ? (edges[i] as number) : i - edges.length - 32_768,
    );
    expect(formatInt16(all)).toBe(Array.from(all).join(' '));
    // Runs that end in each kind of token (a table token's 8-byte store past the end must not show).
    for (const last of [-32_768, 32_767, -5, 7, 0]) {
      const data = Int16Array.from({ length: 300 }, (_, i) => (i === 299 ? last : ((i * 7919) % 4001) - 2000));
      expect(formatInt16(data)).toBe(Array.from(data).join(' '));
    }
  });

  it('leaves short data, and hosts without the kernels, to the caller', () => {
    expect(formatInt16(new Int16Array(SIMD_MIN_VALUES - 1))).toBeUndefined();
    expect(withoutSimd(() => formatInt16(new Int16Array(1000)))).toBeUndefined();
    expect(formatInt16(new Int16Array(SIMD_MIN_VALUES))).toBe(new Array(SIMD_MIN_VALUES).fill('0').join(' '));
  });
});
