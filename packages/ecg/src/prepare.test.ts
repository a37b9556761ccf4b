import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ecg, LeadName } from './ecg.js';
import { ConfigError, NotAnalysableError } from './errors.js';
import { deriveLimbLeads } from './leads.js';
import { DEFAULT_INPUT_SPEC, type ModelInputSpec } from './model-input.js';
import { prepare, preparedLength, preparedSpan } from './prepare.js';
import { assessQuality } from './quality.js';
import { simdKernels, withoutSimd } from './simd-kernels.js';
import { synthesize, synthesizeEcg } from './synth/index.js';

const CARD: ModelInputSpec = DEFAULT_INPUT_SPEC;
const RAW: ModelInputSpec = { ...CARD, filter: undefined, normalize: 'none' };
const QUIET = { baselineWanderUv: 0, mainsUv: 0, muscleUv: 0 };

function meanSd(x: ArrayLike<number>): { mean: number; sd: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] as number;
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += ((x[i] as number) - mean) ** 2;
  return { mean, sd: Math.sqrt(q / x.length) };
}

/** Lead `c` of an NCL output. */
function row(out: Float32Array, c: number, samples = 5000): Float32Array {
  return out.subarray(c * samples, (c + 1) * samples);
}

function without(ecg: Ecg, names: LeadName[]): Ecg {
  const leads = { ...ecg.leads };
  for (const n of names) delete leads[n];
  return { ...ecg, leads };
}

describe('prepare', () => {
  it('writes leads x samples with zero mean and unit SD (zscore-record), from any source rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.oneof(fc.integer({ min: 100, max: 2000 }), fc.constantFrom(499.7, 1 / 0.002, 997)),
        (seed, sampleRateHz) => {
          const out = prepare(synthesizeEcg({ seed, sampleRateHz }), CARD);
          expect(out).toHaveLength(preparedLength(CARD));
          expect(out.length).toBe(12 * 5000);
          const { mean, sd } = meanSd(out);
          expect(Math.abs(mean)).toBeLessThan(1e-5);
          expect(Math.abs(sd - 1)).toBeLessThan(1e-4);
          expect(out.every((v) => Number.isFinite(v))).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('zscore-per-lead gives every lead zero mean and unit SD', () => {
    const out = prepare(synthesizeEcg({ seed: 3 }), { ...CARD, normalize: 'zscore-per-lead' });
    for (let c = 0; c < 12; c++) {
      const { mean, sd } = meanSd(row(out, c));
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(sd - 1)).toBeLessThan(1e-4);
    }
  });

  it('gives bit-identical input with and without the WebAssembly SIMD kernels, for every path they take', () => {
    expect(simdKernels()).toBeDefined();
    const cases: Array<[Ecg, ModelInputSpec]> = [
      [synthesizeEcg({ seed: 21, sampleRateHz: 1000 }), CARD],
      [synthesizeEcg({ seed: 22, sampleRateHz: 500 }), CARD],
      [synthesizeEcg({ seed: 23, sampleRateHz: 250 }), CARD],
      [synthesizeEcg({ seed: 24, sampleRateHz: 1000, durationS: 9.001 }), CARD],
      [
        without(synthesizeEcg({ seed: 25, sampleRateHz: 1000 }), ['III', 'aVR', 'aVL', 'aVF']),
        { ...CARD, leads: ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V4', 'V5', 'V6'] },
      ],
      [synthesizeEcg({ seed: 26, sampleRateHz: 1000 }), { ...CARD, filter: { ...CARD.filter, notchHz: 50 } }],
      [synthesizeEcg({ seed: 27, sampleRateHz: 1000 }), { ...CARD, normalize: 'zscore-per-lead', units: 'mV' }],
      [synthesizeEcg({ seed: 28, sampleRateHz: 1000 }), { ...CARD, layout: 'NLC' }],
      [synthesizeEcg({ seed: 29, sampleRateHz: 1000 }), RAW],
    ];
    for (const [ecg, spec] of cases) {
      const simd = prepare(ecg, spec);
      const plain = withoutSimd(() => prepare(ecg, spec));
      let mismatches = 0;
      for (let i = 0; i < simd.length; i++) if (!Object.is(simd[i], plain[i])) mismatches++;
      expect(mismatches).toBe(0);
    }
    const flat = synthesizeEcg({ seed: 30, flatLeads: ['V2'] });
    const clipped = synthesizeEcg({ seed: 31, sampleRateHz: 1000 });
    const v1 = clipped.leads.V1 as Float32Array;
    for (let i = 0; i < v1.length; i++) v1[i] = Math.max(-300, Math.min(300, v1[i] as number));
    for (const ecg of [flat, clipped]) {
      expect(assessQuality(ecg, CARD)).toEqual(withoutSimd(() => assessQuality(ecg, CARD)));
    }
  });

  it('NLC is the transpose of NCL (bit for bit: NCL is written by the SIMD kernels, NLC in JavaScript)', () => {
    for (const durationS of [10, 9.001]) {
      const ecg = synthesizeEcg({ seed: 4, sampleRateHz: 1000, durationS });
      const ncl = prepare(ecg, CARD);
      const nlc = prepare(ecg, { ...CARD, layout: 'NLC' });
      let mismatches = 0;
      for (let c = 0; c < 12; c++) {
        for (let t = 0; t < 5000; t++) if (!Object.is(nlc[t * 12 + c], ncl[c * 5000 + t])) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });

  it('picks leads in card order and converts microvolts to the card units', () => {
    const ecg = synthesizeEcg({ seed: 5 });
    const leads: LeadName[] = ['V6', 'I', 'aVF'];
    const mv = prepare(ecg, { ...RAW, leads });
    const uv = prepare(ecg, { ...RAW, leads, units: 'uV' });
    leads.forEach((name, c) => {
      const src = ecg.leads[name] as Float32Array;
      for (let t = 0; t < 5000; t += 3) {
        expect(uv[c * 5000 + t]).toBe(src[t]);
        expect(mv[c * 5000 + t]).toBeCloseTo((src[t] as number) / 1000, 6);
      }
    });
  });

  it('crops to the first N seconds and zero-pads a short record at the end', () => {
    const long = synthesizeEcg({ seed: 6, durationS: 20 });
    const cropped = prepare(long, RAW);
    expect(Array.from(row(cropped, 1))).toEqual(
      Array.from((long.leads.II as Float32Array).subarray(0, 5000), (v) => Math.fround(v / 1000)),
    );
    const short = synthesizeEcg({ seed: 6, durationS: 9 });
    const padded = prepare(short, CARD);
    for (let c = 0; c < 12; c++) {
      const lead = row(padded, c);
      expect(lead.subarray(4500).every((v) => v === 0)).toBe(true);
      expect(lead.subarray(4400, 4500).some((v) => v !== 0)).toBe(true);
    }
    // Statistics come from the real samples only.
    const real = new Float32Array(12 * 4500);
    for (let c = 0; c < 12; c++) real.set(row(padded, c).subarray(0, 4500), c * 4500);
    expect(Math.abs(meanSd(real).sd - 1)).toBeLessThan(1e-4);
  });

  describe('resampling under the card low-pass (protected band 0-50 Hz for lowpassHz 40)', () => {
    const LOWPASS: ModelInputSpec = { ...CARD, filter: { lowpassHz: 40 }, normalize: 'none', units: 'uV' };
    /** An 8-lead record (limb leads derived) whose leads are sines at f, each with its own phase. */
    function tones(f: number, sampleRateHz: number, amplitude: number): Ecg {
      const base = synthesizeEcg({ seed: 1, sampleRateHz });
      const n = 10 * sampleRateHz;
      const leads: Ecg['leads'] = {};
      (['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const).forEach((name, k) => {
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * f * i) / sampleRateHz + k);
        leads[name] = x;
      });
      return { ...base, leads };
    }
    /** Largest RMS over the card leads of seconds 1..9 of an NCL output, as dB relative to a sine of `amplitude`. */
    function worstDb(out: Float32Array, amplitude: number): number {
      let worst = 0;
      for (let c = 0; c < 12; c++) {
        let q = 0;
        for (let t = 500; t < 4500; t++) q += (out[c * 5000 + t] as number) ** 2;
        worst = Math.max(worst, Math.sqrt(q / 4000));
      }
      return 20 * Math.log10((worst * Math.SQRT2) / amplitude);
    }

    it('attenuates every tone above the target Nyquist by >= 60 dB after the whole chain (1000 and 2000 Hz)', () => {
      for (const from of [1000, 2000]) {
        for (const f of [255, 300, 350, 400, 430, 445, 450, 455, 470, 490, 510, 550, 700, 900]) {
          if (f >= from / 2) continue;
          const out = prepare(tones(f, from, 1000), LOWPASS, undefined, 0, { qualityChecked: true });
          expect(worstDb(out, 1000)).toBeLessThan(-60);
        }
      }
    });

    it('keeps in-band content as the 500 Hz record has it (within 0.1 %)', () => {
      for (const f of [1, 10, 25, 38]) {
        const reference = prepare(tones(f, 500, 1000), LOWPASS, undefined, 0, { qualityChecked: true });
        for (const from of [1000, 2000]) {
          const out = prepare(tones(f, from, 1000), LOWPASS, undefined, 0, { qualityChecked: true });
          let worst = 0;
          for (let c = 0; c < 12; c++) {
            for (let t = 500; t < 4500; t++) {
              worst = Math.max(worst, Math.abs((out[c * 5000 + t] as number) - (reference[c * 5000 + t] as number)));
            }
          }
          expect(worst).toBeLessThan(1);
        }
      }
    });
  });

  it('keeps features where they are: R peaks stay at their time through resampling and filtering', () => {
    for (const sampleRateHz of [240, 500, 1000, 997]) {
      const { ecg, beats } = synthesize({ seed: 7, sampleRateHz, noise: QUIET });
      const lead = row(prepare(ecg, CARD), 1); // II
      for (const { rTimeS } of beats) {
        const k = Math.round(rTimeS * 500);
        if (k < 20 || k > 4980) continue;
        let m = k - 10;
        for (let i = k - 10; i <= k + 10; i++) if ((lead[i] as number) > (lead[m] as number)) m = i;
        const a = lead[m - 1] as number;
        const b = lead[m] as number;
        const c = lead[m + 1] as number;
        const peakS = (m + (0.5 * (a - c)) / (a - 2 * b + c)) / 500;
        expect(Math.abs(peakS - rTimeS)).toBeLessThan(0.002);
      }
    }
  });

  it('gives the same input from 1000 Hz and 500 Hz recordings of the same heart', () => {
    const at500 = prepare(synthesizeEcg({ seed: 8, noise: QUIET }), CARD);
    const at1000 = prepare(synthesizeEcg({ seed: 8, noise: QUIET, sampleRateHz: 1000 }), CARD);
    let worst = 0;
    for (let i = 0; i < at500.length; i++)
      worst = Math.max(worst, Math.abs((at500[i] as number) - (at1000[i] as number)));
    expect(worst).toBeLessThan(0.02);
  });

  it('derives missing limb leads: an 8-lead record gives the same input as the full 12-lead one', () => {
    const full = synthesizeEcg({ seed: 9, sampleRateHz: 1000 });
    const derived: Ecg = { ...full, leads: deriveLimbLeads(without(full, ['III', 'aVR', 'aVL', 'aVF']).leads) };
    const eight = without(full, ['III', 'aVR', 'aVL', 'aVF']);
    const a = prepare(derived, CARD);
    const b = prepare(eight, CARD);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    expect(worst).toBeLessThan(1e-4);
  });

  it('derives stored limb leads that are their derivation to within a cart rounding, and only those', () => {
    // A cart's 12-lead record: I and II at 2.5 uV resolution, the limb leads computed from them and rounded.
    const clean = synthesizeEcg({ seed: 12, sampleRateHz: 1000 });
    const q = (v: number) => Math.round(v / 2.5) * 2.5;
    const I = (clean.leads.I as Float32Array).map(q);
    const II = (clean.leads.II as Float32Array).map(q);
    const cart: Ecg = { ...clean, leads: { ...clean.leads, I, II } };
    cart.leads.III = II.map((v, t) => q(v - (I[t] as number)));
    cart.leads.aVR = II.map((v, t) => q(-((I[t] as number) + v) / 2));
    cart.leads.aVL = II.map((v, t) => q((I[t] as number) - v / 2));
    cart.leads.aVF = II.map((v, t) => q(v - (I[t] as number) / 2));
    const processedEach = prepare(cart, CARD, undefined, 0, { derivedLeadToleranceUv: -1 });
    const derivedFast = prepare(cart, CARD);
    let worst = 0;
    for (let i = 0; i < derivedFast.length; i++) {
      worst = Math.max(worst, Math.abs((derivedFast[i] as number) - (processedEach[i] as number)));
    }
    expect(worst).toBeGreaterThan(0); // the derivation was used (the cart's rounding is gone) ...
    expect(worst).toBeLessThan(0.01); // ... and changed the input by less than 1/100 SD
    // A stored limb lead that is not the derivation is processed as stored (compared without the shared z-score).
    const odd: Ecg = { ...cart, leads: { ...cart.leads, aVL: (cart.leads.aVL as Float32Array).map((v) => v + 3) } };
    const spec: ModelInputSpec = { ...CARD, normalize: 'none' };
    const a = prepare(odd, spec);
    const b = prepare(odd, spec, undefined, 0, { derivedLeadToleranceUv: -1 });
    expect(Array.from(row(a, 4))).toEqual(Array.from(row(b, 4)));
  });

  it('keeps Einthoven (I + III = II) and Goldberger (aVR + aVL + aVF = 0) in the prepared input', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 100, max: 2000 }), (seed, sampleRateHz) => {
        // Without normalisation: the z-score's shared mean shift is not a lead relation.
        const spec: ModelInputSpec = { ...CARD, normalize: 'none', units: 'uV' };
        const out = prepare(without(synthesizeEcg({ seed, sampleRateHz }), ['III', 'aVR', 'aVL', 'aVF']), spec);
        const [i, ii, iii, avr, avl, avf] = [0, 1, 2, 3, 4, 5].map((c) => row(out, c));
        for (let t = 0; t < 5000; t += 5) {
          const scale = Math.abs(i?.[t] as number) + Math.abs(ii?.[t] as number) + 1;
          expect(Math.abs((i?.[t] as number) + (iii?.[t] as number) - (ii?.[t] as number))).toBeLessThan(1e-5 * scale);
          const sum = (avr?.[t] as number) + (avl?.[t] as number) + (avf?.[t] as number);
          expect(Math.abs(sum)).toBeLessThan(1e-5 * scale);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('writes into a batch tensor at an offset and touches nothing else', () => {
    const n = preparedLength(CARD);
    const batch = new Float32Array(3 * n).fill(-7);
    const ecg = synthesizeEcg({ seed: 10 });
    const returned = prepare(ecg, CARD, batch, n);
    expect(returned).toBe(batch);
    expect(batch.subarray(0, n).every((v) => v === -7)).toBe(true);
    expect(batch.subarray(2 * n).every((v) => v === -7)).toBe(true);
    expect(Array.from(batch.subarray(n, 2 * n))).toEqual(Array.from(prepare(ecg, CARD)));
    expect(() => prepare(ecg, CARD, batch, 2 * n + 1)).toThrow(RangeError);
  });

  it('refuses what the quality gate refuses, with its reasons', () => {
    try {
      prepare(synthesizeEcg({ flatLeads: ['V2'] }), CARD);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NotAnalysableError);
      expect((err as NotAnalysableError).reasons).toEqual(['flat leads (lead off or no signal): V2']);
    }
    expect(() => prepare(without(synthesizeEcg(), ['V1']), CARD)).toThrow(NotAnalysableError);
    expect(() => prepare({ ...synthesizeEcg(), sampleRateHz: 40 }, CARD)).toThrow(NotAnalysableError);
    // The gate's thresholds are the caller's to set.
    expect(() =>
      prepare(synthesizeEcg({ durationS: 8.5 }), CARD, undefined, 0, { quality: { minDurationS: 9 } }),
    ).toThrow(NotAnalysableError);
  });

  it('skips its own gate only when told the caller ran it', () => {
    const ecg = synthesizeEcg({ seed: 11 });
    const checked = prepare(ecg, CARD, undefined, 0, { qualityChecked: true });
    expect(Array.from(checked)).toEqual(Array.from(prepare(ecg, CARD)));
    const flat = synthesizeEcg({ flatLeads: ['V2'] });
    expect(() => prepare(flat, CARD)).toThrow(NotAnalysableError);
    expect(() => prepare(flat, CARD, undefined, 0, { qualityChecked: true })).not.toThrow();
  });

  it('refuses an invalid card with ConfigError', () => {
    const ecg = synthesizeEcg();
    expect(() => prepare(ecg, { ...CARD, samples: 0 })).toThrow(ConfigError);
    expect(() => prepare(ecg, { ...CARD, leads: [] })).toThrow(ConfigError);
    expect(() => prepare(ecg, { ...CARD, filter: { lowpassHz: 300 } })).toThrow(ConfigError);
    expect(() => prepare(ecg, { ...CARD, normalize: 'minmax' as never })).toThrow(ConfigError);
  });
});

describe('preparedSpan', () => {
  it('says where the input lies in the source: from 0 s, real samples first, then the zero padding', () => {
    const spec = DEFAULT_INPUT_SPEC as ModelInputSpec;
    const long = synthesizeEcg({ seed: 7, durationS: 12, sampleRateHz: 1000 });
    expect(preparedSpan(long, spec)).toEqual({ startS: 0, keptSamples: spec.samples });
    const short = synthesizeEcg({ seed: 8, durationS: 8.5, sampleRateHz: 250 });
    const span = preparedSpan(short, spec);
    expect(span).toEqual({ startS: 0, keptSamples: 4250 });
    const input = prepare(short, spec);
    // Every lead's real part ends exactly where the span says: zeros after it, signal just before.
    for (let c = 0; c < spec.leads.length; c++) {
      const row = input.subarray(c * spec.samples, (c + 1) * spec.samples);
      expect(row.subarray(span.keptSamples).every((v) => v === 0)).toBe(true);
      expect(row.subarray(span.keptSamples - 50, span.keptSamples).some((v) => v !== 0)).toBe(true);
    }
  });
});
