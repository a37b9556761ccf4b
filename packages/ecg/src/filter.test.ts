import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitSine, tone } from '../../../test/support/signal.js';
import { ConfigError } from './errors.js';
import {
  butterworthHighpass,
  butterworthLowpass,
  designFilter,
  filtfilt,
  notchFilter,
  ZeroPhaseFilter,
} from './filter.js';

const FS = 500;
const CARD = { highpassHz: 0.5, lowpassHz: 40 };

/** A tone at the test rate. */
const toneAt = (f: number, n: number, amplitude = 1, phase = 0): Float32Array => tone(f, FS, n, amplitude, phase);

/** Amplitude of the component at f over y[a .. b). */
const amplitudeAt = (y: Float32Array, f: number, a: number, b: number): number => fitSine(y, FS, f, a, b).amplitude;

/** Magnitude of a section cascade at f (single pass). */
function gain(sections: ReturnType<typeof butterworthLowpass>, f: number): number {
  const w = (2 * Math.PI * f) / FS;
  let g = 1;
  for (const s of sections) {
    const re = (a0: number, a1: number, a2: number) => a0 + a1 * Math.cos(w) + a2 * Math.cos(2 * w);
    const im = (a1: number, a2: number) => -a1 * Math.sin(w) - a2 * Math.sin(2 * w);
    const num = Math.hypot(re(s.b0, s.b1, s.b2), im(s.b1, s.b2));
    const den = Math.hypot(re(1, s.a1, s.a2), im(s.a1, s.a2));
    g *= num / den;
  }
  return g;
}

describe('Butterworth design', () => {
  it('matches the Butterworth magnitude (bilinear, pre-warped) with -3 dB at the cutoff, for every order', () => {
    const warp = (f: number) => Math.tan((Math.PI * f) / FS);
    for (let order = 1; order <= 8; order++) {
      const lp = butterworthLowpass(order, 40, FS);
      const hp = butterworthHighpass(order, 0.5, FS);
      expect(lp).toHaveLength(Math.ceil(order / 2));
      expect(gain(lp, 40)).toBeCloseTo(Math.SQRT1_2, 9);
      expect(gain(hp, 0.5)).toBeCloseTo(Math.SQRT1_2, 9);
      for (const f of [0.1, 1, 4, 20, 39, 60, 120, 240]) {
        const r = warp(f) / warp(40);
        expect(gain(lp, f)).toBeCloseTo(1 / Math.sqrt(1 + r ** (2 * order)), 9);
        const h = warp(0.5) / warp(f);
        expect(gain(hp, f)).toBeCloseTo(1 / Math.sqrt(1 + h ** (2 * order)), 9);
      }
    }
  });

  it('refuses cutoffs outside (0, Nyquist) and crossed band edges with ConfigError', () => {
    expect(() => designFilter({ lowpassHz: 250 }, FS)).toThrow(ConfigError);
    expect(() => designFilter({ highpassHz: 0 }, FS)).toThrow(ConfigError);
    expect(() => designFilter({ highpassHz: 40, lowpassHz: 30 }, FS)).toThrow(ConfigError);
    expect(() => designFilter({ notchHz: 300 }, FS)).toThrow(ConfigError);
    expect(() => butterworthLowpass(0, 40, FS)).toThrow(ConfigError);
    expect(designFilter({}, FS)).toBeUndefined();
    expect(designFilter(undefined, FS)).toBeUndefined();
  });
});

describe('zero-phase filtering (card filter: high-pass 0.5 Hz, low-pass 40 Hz)', () => {
  it('passes in-band tones unchanged (within 1 %)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 3, max: 20, noNaN: true }),
        fc.double({ min: 0, max: 6.28, noNaN: true }),
        (f, ph) => {
          const y = filtfilt(toneAt(f, 5000, 100, ph), FS, CARD);
          expect(Math.abs(amplitudeAt(y, f, 1000, 4000) - 100)).toBeLessThan(1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('cuts out-of-band tones (mains and above, baseline wander below 0.1 Hz) to under 1 %', () => {
    fc.assert(
      fc.property(fc.double({ min: 80, max: 240, noNaN: true }), (f) => {
        const y = filtfilt(toneAt(f, 5000, 100), FS, CARD);
        expect(amplitudeAt(y, f, 1000, 4000)).toBeLessThan(1);
      }),
      { numRuns: 30 },
    );
    for (const f of [0.05, 0.08, 0.1]) {
      const y = filtfilt(toneAt(f, 60 * FS, 100), FS, CARD);
      expect(amplitudeAt(y, f, 10 * FS, 50 * FS)).toBeLessThan(1);
    }
  });

  it('is -6 dB at each cutoff (squared single-pass response)', () => {
    expect(amplitudeAt(filtfilt(toneAt(40, 5000, 100), FS, CARD), 40, 1000, 4000)).toBeCloseTo(50, 0);
    expect(amplitudeAt(filtfilt(toneAt(0.5, 20 * FS, 100), FS, CARD), 0.5, 4 * FS, 16 * FS)).toBeCloseTo(50, 0);
  });

  it('is zero-phase: the peak of a pulse does not move', () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 4700 }), fc.double({ min: 0, max: 0.99, noNaN: true }), (k, frac) => {
        const centre = k + frac;
        const x = new Float32Array(5000);
        for (let i = 0; i < x.length; i++) x[i] = 1000 * Math.exp(-(((i - centre) / 8) ** 2) / 2) + 300;
        const y = filtfilt(x, FS, CARD);
        let m = 0;
        for (let i = 1; i < y.length; i++) if ((y[i] as number) > (y[m] as number)) m = i;
        const a = y[m - 1] as number;
        const b = y[m] as number;
        const c = y[m + 1] as number;
        expect(Math.abs(m + (0.5 * (a - c)) / (a - 2 * b + c) - centre)).toBeLessThan(0.02);
      }),
      { numRuns: 40 },
    );
  });

  it('has no startup transient: a DC offset vanishes everywhere, a continuing sine is kept at the edges', () => {
    const dc = filtfilt(new Float32Array(5000).fill(1500), FS, CARD);
    for (const v of dc) expect(Math.abs(v)).toBeLessThan(1e-6);
    // 10 Hz starting and ending on zero crossings (5001 samples), on a 500 uV offset.
    const x = toneAt(10, 5001, 100).map((v) => v + 500);
    const y = filtfilt(x, FS, CARD);
    for (let i = 0; i < y.length; i++) {
      expect(Math.abs((y[i] as number) - ((x[i] as number) - 500))).toBeLessThan(1.5);
    }
  });

  it('removes mains with the notch and keeps neighbouring frequencies', () => {
    const spec = { notchHz: 50 };
    expect(amplitudeAt(filtfilt(toneAt(50, 5000, 100), FS, spec), 50, 1000, 4000)).toBeLessThan(0.5);
    expect(amplitudeAt(filtfilt(toneAt(45, 5000, 100), FS, spec), 45, 1000, 4000)).toBeGreaterThan(95);
    expect(amplitudeAt(filtfilt(toneAt(10, 5000, 100), FS, spec), 10, 1000, 4000)).toBeGreaterThan(99.9);
    expect(notchFilter(60, FS).b1).toBe(notchFilter(60, FS).a1);
  });

  it('is linear and handles records shorter than its padding', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 600 }),
        (v) => {
          const a = Float32Array.from(v);
          const b = Float32Array.from(v, (s) => 3 * s);
          const ya = filtfilt(a, FS, CARD);
          const yb = filtfilt(b, FS, CARD);
          for (let i = 0; i < v.length; i++) {
            expect(Number.isFinite(ya[i])).toBe(true);
            expect(Math.abs((yb[i] as number) - 3 * (ya[i] as number))).toBeLessThan(1e-2);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('filters in place inside a padded row exactly as apply() does', () => {
    const f = designFilter(CARD, FS) as ZeroPhaseFilter;
    const x = toneAt(7, 3000, 200, 1);
    const viaApply = Float64Array.from(x);
    f.apply(viaApply);
    const pad = f.padLength;
    const row = new Float64Array(3000 + 2 * pad);
    row.set(x, pad);
    f.applyPadded(row, pad, 3000);
    expect(row.subarray(pad, pad + 3000)).toEqual(viaApply);
    expect(() => f.applyPadded(row, pad - 1, 3000)).toThrow(RangeError);
    expect(new ZeroPhaseFilter([], 10).padLength).toBe(10);
  });
});
