import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitSine, tone } from '../../../test/support/signal.js';
import { LimitExceededError, NotAnalysableError } from './errors.js';
import { filtfilt } from './filter.js';
import { getResampler, Resampler, resample, snapRate } from './resample.js';

function rms(y: Float32Array, a: number, b: number): number {
  let q = 0;
  for (let i = a; i < b; i++) q += (y[i] as number) ** 2;
  return Math.sqrt(q / (b - a));
}

/** Integer or fractional source rates across the supported range. */
const anyRate = fc.oneof(fc.integer({ min: 100, max: 10_000 }), fc.double({ min: 100, max: 10_000, noNaN: true }));

describe('resample', () => {
  it('keeps a sine at f: same frequency and amplitude, no distortion, from any rate in 100..10000 Hz to 500 Hz', () => {
    fc.assert(
      fc.property(
        anyRate,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 6.28, noNaN: true }),
        (from, u, ph) => {
          // Well inside both passbands: up to 70 % of the lower Nyquist (the passband reaches 80 %, at most 150 Hz).
          const maxF = Math.min(0.7 * (Math.min(from, 500) / 2), 140);
          const f = 2 + u * (maxF - 2);
          const n = Math.round(4 * from);
          const y = resample(tone(f, from, n, 1000, ph), from, 500);
          expect(y.length).toBe(Math.ceil((n * 500) / from - 1e-9));
          const fit = fitSine(y, 500, f, 500, 1500); // seconds 1..3, away from the edges
          expect(Math.abs(fit.amplitude - 1000)).toBeLessThan(3); // 0.3 % (passband ripple)
          expect(fit.residual).toBeLessThan(2); // anything but the sine at f is below -54 dB
        },
      ),
      { numRuns: 60 },
    );
  });

  it('attenuates a tone above the target Nyquist by more than 40 dB (no aliasing)', () => {
    fc.assert(
      fc.property(anyRate, fc.double({ min: 0, max: 1, noNaN: true }), (from, u) => {
        fc.pre(from > 560);
        const f = 252 + u * (0.45 * from - 252);
        const y = resample(tone(f, from, Math.round(2 * from), 1000), from, 500);
        const outRms = rms(y, 100, y.length - 100);
        expect(20 * Math.log10((outRms * Math.SQRT2) / 1000)).toBeLessThan(-40);
      }),
      { numRuns: 60 },
    );
  });

  it('meets its stopband specification (>= 60 dB) just above the Nyquist of 1000 -> 500 Hz', () => {
    const y = resample(tone(255, 1000, 10_000, 1000), 1000, 500);
    expect(20 * Math.log10((rms(y, 200, 4800) * Math.SQRT2) / 1000)).toBeLessThan(-60);
  });

  it('is latency-free: a symmetric pulse keeps its centre time', () => {
    fc.assert(
      fc.property(anyRate, fc.double({ min: 0.3, max: 1.7, noNaN: true }), (from, t0) => {
        const n = Math.round(2 * from);
        const x = new Float32Array(n);
        const sigma = 0.02;
        for (let i = 0; i < n; i++) x[i] = 1000 * Math.exp(-(((i / from - t0) / sigma) ** 2) / 2);
        const y = resample(x, from, 500);
        let k = 0;
        for (let i = 1; i < y.length; i++) if ((y[i] as number) > (y[k] as number)) k = i;
        // Parabolic interpolation of the peak.
        const a = y[k - 1] as number;
        const b = y[k] as number;
        const c = y[k + 1] as number;
        const peak = k + (0.5 * (a - c)) / (a - 2 * b + c);
        expect(Math.abs(peak / 500 - t0)).toBeLessThan(0.05 / 500);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps a constant exactly constant, edges included (unit DC gain, mirrored edges)', () => {
    for (const from of [100, 240, 360, 997, 1000, 499.7, 8000]) {
      const y = resample(new Float32Array(Math.round(3 * from)).fill(-250), from, 500);
      for (const v of y) expect(v).toBeCloseTo(-250, 3);
    }
  });

  it('copies when the rates are equal, taking 1 / 0.002 as exactly 500 Hz', () => {
    const x = tone(7, 500, 1000, 3);
    const y = resample(x, 1 / 0.002, 500);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
    expect(snapRate(1 / 0.002)).toBe(500);
    expect(snapRate(499.7)).toBe(499.7);
    // Float32 in, at an offset, asked for more outputs than inputs: widened exactly, the last value held.
    const f32 = Float32Array.from(x.subarray(0, 50));
    const out = new Float64Array(70).fill(Number.NaN);
    getResampler(500, 500).process(f32, 40, out, 60, 5);
    expect(Array.from(out.subarray(5, 45))).toEqual(Array.from(f32.subarray(0, 40)));
    expect(out.subarray(45, 65).every((v) => v === f32[39])).toBe(true);
    expect([out[4], out[65]].every(Number.isNaN)).toBe(true);
  });

  it('computes only the outputs asked for', () => {
    const r = getResampler(1000, 500);
    const x = tone(10, 1000, 10_000, 100);
    const full = new Float64Array(r.outputLength(x.length));
    r.process(x, x.length, full);
    const part = new Float64Array(100).fill(Number.NaN);
    r.process(x, x.length, part, 100);
    for (let i = 0; i < 100; i++) expect(part[i]).toBe(full[i]);
    expect(r.outputLength(0)).toBe(0);
  });

  it('rational paths: every interior output is its kernel row applied at floor(i M / L), bit for bit (phase passes, 9-tap and longer kernels)', () => {
    /** dot()'s order: four running sums over j = 0, 4, 8 ... / 1, 5, 9 ... / 2, 6 ... / 3, 7 ..., then (s0 + s1) + (s2 + s3). */
    const rowDot = (x: Float64Array, start: number, h: Float64Array, row: number, taps: number): number => {
      const sums = [0, 0, 0, 0];
      const whole = taps - (taps % 4);
      for (let j = 0; j < taps; j++) {
        const lane = j < whole ? j % 4 : 0;
        sums[lane] = (sums[lane] as number) + (x[start + j] as number) * (h[row + j] as number);
      }
      return (sums[0] as number) + (sums[1] as number) + ((sums[2] as number) + (sums[3] as number));
    };
    type Internals = { table: Float64Array; taps: number; radius: number; up: number; down: number };
    for (const from of [240, 250, 300, 360, 600, 128]) {
      for (const options of [{ protectBandHz: 50 }, {}]) {
        const r = getResampler(from, 500, options);
        const { table, taps, radius, up, down } = r as unknown as Internals;
        expect(up).toBeGreaterThan(1);
        const n = from * 3 + 7;
        const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 900 + ((i * 7919) % 13) - 6);
        const out = new Float64Array(r.outputLength(n));
        r.process(x, n, out);
        let interior = 0;
        for (let i = 0; i < out.length; i++) {
          const phase = (i * down) % up;
          const start = (i * down - phase) / up - radius;
          if (start < 0 || start + taps > n) continue;
          interior++;
          expect(Object.is(out[i], rowDot(x, start, table, phase * taps, taps))).toBe(true);
        }
        expect(interior).toBeGreaterThan(out.length / 2);
      }
    }
  });

  it('handles records shorter than its kernel', () => {
    for (const n of [1, 2, 5, 13]) {
      const y = resample(new Float32Array(n).fill(5), 1000, 500);
      expect(y.length).toBe(Math.ceil(n / 2));
      for (const v of y) expect(v).toBeCloseTo(5, 4);
    }
  });

  it('documents its design and caches resamplers per rate pair', () => {
    const r = getResampler(1000, 500);
    expect(r).toBe(getResampler(1000, 500));
    expect(r.passbandHz).toBe(150);
    expect(r.stopbandHz).toBe(250);
    expect(r.stopbandAttenuationDb).toBe(60);
    expect(r.taps).toBe(39);
    expect(new Resampler(100, 500).passbandHz).toBe(40);
    expect(new Resampler(240, 500).passbandHz).toBe(96);
    const wide = getResampler(1000, 500, { maxPassbandHz: 250 });
    expect(wide.passbandHz).toBe(200);
    expect(wide.taps).toBe(75);
    // The wide design keeps 190 Hz; the default one rolls off above 150 Hz.
    const at190 = (x: Float32Array) => fitSine(x, 500, 190, 500, 1500).amplitude;
    const y = tone(190, 1000, 4000, 1000);
    expect(Math.abs(at190(resample(y, 1000, 500, { maxPassbandHz: 250 })) - 1000)).toBeLessThan(2);
    expect(at190(resample(y, 1000, 500))).toBeLessThan(900);
  });

  it('refuses impossible rates with typed errors', () => {
    expect(() => resample(new Float32Array(10), 0, 500)).toThrow(NotAnalysableError);
    expect(() => resample(new Float32Array(10), Number.NaN, 500)).toThrow(NotAnalysableError);
    expect(() => resample(new Float32Array(10), 1e9, 1)).toThrow(LimitExceededError);
  });

  describe('with a protected band (the caller low-passes the output)', () => {
    const P = 50; // prepare() uses 1.25 x the card's 40 Hz low-pass

    it('keeps a sine inside the protected band: same amplitude, nothing else above -60 dB (images included)', () => {
      fc.assert(
        fc.property(
          anyRate,
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 6.28, noNaN: true }),
          (from, u, ph) => {
            // The full design applies (passband 80 % of the lower Nyquist) where that is narrower than P.
            const f = 1 + u * (Math.min(P, 0.95 * getResampler(from, 500, { protectBandHz: P }).passbandHz) - 1);
            const n = Math.round(4 * from);
            const y = resample(tone(f, from, n, 1000, ph), from, 500, { protectBandHz: P });
            expect(y.length).toBe(Math.ceil((n * 500) / from - 1e-9));
            const fit = fitSine(y, 500, f, 500, 1500);
            expect(Math.abs(fit.amplitude - 1000)).toBeLessThan(3);
            expect(fit.residual).toBeLessThan(0.7); // 1000 x 10^(-60/20) / sqrt(2)
          },
        ),
        { numRuns: 60 },
      );
    });

    it('keeps images below -60 dB where the kernels are shortest (sources of 250-360 Hz, tones near P)', () => {
      // Kaiser's length formula alone gave 7-tap kernels here with images at -58.7 dB (322 Hz, 40 Hz tone).
      for (const from of [250, 280, 300, 322, 322.04, 330.5, 360]) {
        for (const f of [40.12, 45, 49]) {
          const y = resample(tone(f, from, Math.round(4 * from), 1000), from, 500, { protectBandHz: P });
          expect(fitSine(y, 500, f, 500, 1500).residual).toBeLessThan(0.7);
        }
      }
    });

    it('after the 40 Hz low-pass, any tone above the target Nyquist is attenuated >= 60 dB', () => {
      fc.assert(
        fc.property(anyRate, fc.double({ min: 0, max: 1, noNaN: true }), (from, u) => {
          fc.pre(from > 560);
          const f = 252 + u * (0.48 * from - 252);
          const y = resample(tone(f, from, Math.round(3 * from), 1000), from, 500, { protectBandHz: P });
          // The low-pass alone: what matters here is aliasing, not the high-pass's edge behaviour.
          const out = filtfilt(y, 500, { lowpassHz: 40 });
          expect(20 * Math.log10((rms(out, 250, out.length - 250) * Math.SQRT2) / 1000)).toBeLessThan(-60);
        }),
        { numRuns: 80 },
      );
    });

    it('attenuates >= 60 dB on its own every tone that folds into the protected band (1000 and 2000 Hz sources)', () => {
      for (const from of [1000, 2000]) {
        for (let f = 450; f <= from / 2 - 1; f += 3) {
          const y = resample(tone(f, from, 3 * from, 1000), from, 500, { protectBandHz: P });
          expect(20 * Math.log10((rms(y, 200, y.length - 200) * Math.SQRT2) / 1000)).toBeLessThan(-60);
        }
      }
    });

    it('is far shorter: 1000 -> 500 Hz is a half-band kernel with 4 multiplications per output', () => {
      const r = getResampler(1000, 500, { protectBandHz: P });
      expect(r).not.toBe(getResampler(1000, 500));
      expect(r.protectedBand).toBe(true);
      expect(r.passbandHz).toBe(50);
      expect(r.stopbandHz).toBe(450);
      expect(r.taps).toBe(13);
      expect(r.multipliesPerOutput).toBe(4);
      expect(getResampler(1000, 500).multipliesPerOutput).toBe(16); // its sinc zeros (every 5th tap) are skipped too
    });

    it('gives the same outputs whether asked for all or some, records shorter than the kernel included', () => {
      for (const from of [1000, 2000, 3000]) {
        const r = getResampler(from, 500, { protectBandHz: P });
        for (const n of [3, 9, 40, 5000]) {
          const x = tone(10, from, n, 100);
          const full = new Float64Array(r.outputLength(n));
          r.process(x, n, full);
          const k = Math.min(7, full.length);
          const part = new Float64Array(k).fill(Number.NaN);
          r.process(x, n, part, k);
          for (let i = 0; i < k; i++) expect(part[i]).toBe(full[i]);
          // Interior (folded pairs) and edge (reflected) paths both have unit DC gain.
          const flat = new Float64Array(r.outputLength(n));
          r.process(new Float32Array(n).fill(7), n, flat);
          for (const v of flat) expect(v).toBeCloseTo(7, 9);
        }
      }
    });

    it('falls back to the full design when the band is not narrower than its passband', () => {
      const r = new Resampler(1000, 500, { protectBandHz: 150 });
      expect(r.protectedBand).toBe(false);
      expect(r.taps).toBe(39);
      expect(new Resampler(100, 500, { protectBandHz: 45 }).stopbandHz).toBe(50);
      expect(() => new Resampler(1000, 500, { protectBandHz: 0 })).toThrow(RangeError);
    });

    it('keeps a constant exactly constant and is latency-free', () => {
      for (const from of [240, 997, 1000, 2000, 499.7]) {
        const y = resample(new Float32Array(Math.round(3 * from)).fill(-250), from, 500, { protectBandHz: P });
        for (const v of y) expect(v).toBeCloseTo(-250, 3);
        const n = Math.round(2 * from);
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = 1000 * Math.exp(-(((i / from - 1) / 0.02) ** 2) / 2);
        const z = resample(x, from, 500, { protectBandHz: P });
        let k = 0;
        for (let i = 1; i < z.length; i++) if ((z[i] as number) > (z[k] as number)) k = i;
        const a = z[k - 1] as number;
        const b = z[k] as number;
        const c = z[k + 1] as number;
        expect(Math.abs((k + (0.5 * (a - c)) / (a - 2 * b + c)) / 500 - 1)).toBeLessThan(0.05 / 500);
      }
    });
  });

  it('half-band decimation (1000 -> 500 Hz, protected band) centres every input on its outputs', () => {
    const r = getResampler(1000, 500, { protectBandHz: 50 });
    expect(r.decimationFactor).toBe(2);
    const impulse = (p: number): Float64Array => {
      const x = new Float32Array(1000);
      x[p] = 1;
      const out = new Float64Array(r.outputLength(1000));
      r.process(x, 1000, out);
      return out;
    };
    // An even input sits on output p / 2 alone; an odd one weighs on the outputs either side symmetrically.
    const even = impulse(500);
    expect(Array.from(even).filter((v) => v !== 0)).toEqual([even[250]]);
    const odd = impulse(501);
    for (let i = 0; i < odd.length; i++) {
      if (i < 248 || i > 253) expect(odd[i]).toBe(0);
      else expect(odd[i]).toBe(odd[501 - i]);
    }
    expect(odd[250]).toBeGreaterThan(0);
    // Every interior output, the first and last included, weighs its inputs by the same kernel.
    // Weight of the input d samples from an output's centre (odd d: read off the impulse at 501).
    const h = (d: number): number =>
      d % 2 === 0 ? (d === 0 ? (even[250] as number) : 0) : (odd[250 - (Math.abs(d) - 1) / 2] as number);
    for (let p = 0; p < 1000; p++) {
      const out = impulse(p);
      for (let i = 3; 2 * i + 6 <= 999; i++) {
        const d = p - 2 * i;
        expect(out[i]).toBe(Math.abs(d) <= 6 ? h(d) : 0);
      }
    }
  });
});
