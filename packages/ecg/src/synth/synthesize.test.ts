import { describe, expect, it } from 'vitest';
import { type LeadName, STANDARD_LEADS } from '../ecg.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_INPUT_SPEC, type ModelInputSpec } from '../model-input.js';
import { assessQuality } from '../quality.js';
import { DOWER_MATRIX, INDEPENDENT_LEADS } from './dower.js';
import { ST_GROUP_LEADS, type SynthOptions, synthesize, synthesizeEcg } from './synthesize.js';

const quiet: SynthOptions['noise'] = { baselineWanderUv: 0, mainsUv: 0, muscleUv: 0 };

/**
 * A small Pan-Tompkins-style R-peak detector: derivative, squaring, 120 ms moving-window integration, a threshold
 * at 30 % of the record's maximum, 250 ms refractory period, and the peak of |x| near each detection.
 */
function detectRPeaks(x: Float32Array, fs: number): number[] {
  const n = x.length;
  const energy = new Float64Array(n);
  for (let k = 1; k < n - 1; k++) {
    const d = (x[k + 1] as number) - (x[k - 1] as number);
    energy[k] = d * d;
  }
  const win = Math.round(0.12 * fs);
  const integrated = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += energy[k] as number;
    if (k >= win) acc -= energy[k - win] as number;
    integrated[k] = acc / win;
  }
  const threshold = 0.3 * Math.max(...integrated);
  const refractory = Math.round(0.25 * fs);
  const peaks: number[] = [];
  let k = 0;
  while (k < n) {
    if ((integrated[k] as number) > threshold) {
      // The R peak is the largest |x| in the integration window that ends here.
      let best = k;
      for (let j = Math.max(0, k - win); j <= Math.min(n - 1, k + win); j++) {
        if (Math.abs(x[j] as number) > Math.abs(x[best] as number)) best = j;
      }
      if (peaks.length === 0 || best - (peaks[peaks.length - 1] as number) > refractory) peaks.push(best);
      k += refractory;
    } else k++;
  }
  return peaks;
}

function heartRate(peaks: number[], fs: number): number {
  const rr: number[] = [];
  for (let i = 1; i < peaks.length; i++) rr.push(((peaks[i] as number) - (peaks[i - 1] as number)) / fs);
  return 60 / (rr.reduce((a, b) => a + b, 0) / rr.length);
}

const lead = (leads: Partial<Record<LeadName, Float32Array>>, name: LeadName): Float32Array => {
  const samples = leads[name];
  if (!samples) throw new Error(`missing ${name}`);
  return samples;
};

describe('synthesize', () => {
  it('returns twelve leads of durationS * rate samples with synthetic, clearly fake demographics', () => {
    const ecg = synthesizeEcg({ seed: 42, sampleRateHz: 500, durationS: 10 });
    expect(Object.keys(ecg.leads)).toEqual([...STANDARD_LEADS]);
    for (const name of STANDARD_LEADS) expect(lead(ecg.leads, name).length).toBe(5000);
    expect(ecg.id).toBe('synthetic:42');
    expect(ecg.patient).toMatchObject({
      identifier: 'SYN-42',
      identifierSystem: 'urn:ecgcad:synthetic',
      name: 'SYNTHETIC^ECG-42',
    });
    expect(ecg.device).toEqual({ manufacturer: 'ecgcad', model: 'synth' });
    expect(ecg.sampleRateHz).toBe(500);
    expect(ecg.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = synthesizeEcg({ seed: 7 });
    const b = synthesizeEcg({ seed: 7 });
    const c = synthesizeEcg({ seed: 8 });
    for (const name of STANDARD_LEADS) expect(lead(a.leads, name)).toEqual(lead(b.leads, name));
    expect(lead(a.leads, 'II')).not.toEqual(lead(c.leads, 'II'));
    expect(a.source.sha256).toBe(b.source.sha256);
    expect(a.source.sha256).not.toBe(c.source.sha256);
    const fastA = synthesizeEcg({ seed: 7, fast: true });
    const fastB = synthesizeEcg({ seed: 7, fast: true });
    expect(lead(fastA.leads, 'V3')).toEqual(lead(fastB.leads, 'V3'));
  });

  it.each([45, 60, 75, 100, 140])('measured heart rate is within 2 bpm of %i bpm', (bpm) => {
    for (const sampleRateHz of [500, 1000]) {
      const { ecg } = synthesize({ seed: bpm, heartRateBpm: bpm, sampleRateHz });
      const peaks = detectRPeaks(lead(ecg.leads, 'II'), sampleRateHz);
      expect(peaks.length).toBeGreaterThanOrEqual(Math.floor((bpm / 60) * 10) - 1);
      expect(Math.abs(heartRate(peaks, sampleRateHz) - bpm)).toBeLessThan(2);
    }
  });

  it('detected R peaks fall on the ground-truth beats', () => {
    const { ecg, beats } = synthesize({ seed: 3, heartRateBpm: 80 });
    const peaks = detectRPeaks(lead(ecg.leads, 'II'), 500).map((k) => k / 500);
    const truth = beats.map((b) => b.rTimeS).filter((t) => t > 0.1 && t < 9.9);
    for (const t of truth) expect(Math.min(...peaks.map((p) => Math.abs(p - t)))).toBeLessThan(0.01);
  });

  it('has heart-rate variability when asked for it, and none without', () => {
    const rrSpread = (hrvStdBpm: number): number => {
      const { beats } = synthesize({ seed: 11, hrvStdBpm, durationS: 60 });
      const rr = beats.map((b) => b.rrS);
      return Math.max(...rr) - Math.min(...rr);
    };
    expect(rrSpread(0)).toBe(0);
    expect(rrSpread(3)).toBeGreaterThan(0.03);
  });

  it('QRS is dominantly positive in II and V5, negative in aVR, rS in V1 (over many seeds)', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { ecg, beats } = synthesize({ seed });
      const fs = ecg.sampleRateHz;
      const qrsExtremes = (name: LeadName): { max: number; min: number } => {
        const x = lead(ecg.leads, name);
        let max = 0;
        let min = 0;
        for (const b of beats) {
          const centre = Math.round(b.rTimeS * fs);
          // Relative to the PR segment 80 ms before R, so baseline wander does not count.
          const base = x[Math.max(0, centre - Math.round(0.08 * fs))] as number;
          for (let k = centre - Math.round(0.05 * fs); k <= centre + Math.round(0.05 * fs); k++) {
            if (k < 0 || k >= x.length) continue;
            max = Math.max(max, (x[k] as number) - base);
            min = Math.min(min, (x[k] as number) - base);
          }
        }
        return { max, min };
      };
      for (const name of ['II', 'V5'] as const) {
        const { max, min } = qrsExtremes(name);
        expect(max).toBeGreaterThan(2 * -min);
        expect(max).toBeGreaterThan(600);
      }
      const avr = qrsExtremes('aVR');
      expect(-avr.min).toBeGreaterThan(2 * avr.max);
      const v1 = qrsExtremes('V1');
      expect(-v1.min).toBeGreaterThan(v1.max);
    }
  });

  it('keeps Einthoven and Goldberger exactly (to float32 rounding)', () => {
    const ecg = synthesizeEcg({ seed: 5 });
    const i = lead(ecg.leads, 'I');
    const ii = lead(ecg.leads, 'II');
    for (let k = 0; k < i.length; k += 7) {
      const a = i[k] as number;
      const b = ii[k] as number;
      expect(lead(ecg.leads, 'III')[k]).toBeCloseTo(b - a, 3);
      expect(lead(ecg.leads, 'aVR')[k]).toBeCloseTo(-(a + b) / 2, 3);
      expect(lead(ecg.leads, 'aVL')[k]).toBeCloseTo(a - b / 2, 3);
      expect(lead(ecg.leads, 'aVF')[k]).toBeCloseTo(b - a / 2, 3);
    }
  });

  it('without noise, the independent leads are the Dower projection of one VCG (rank 3)', () => {
    // Any lead is a combination of X, Y, Z: solve for XYZ from I, II, V2 and predict V5.
    const ecg = synthesizeEcg({ seed: 9, noise: quiet });
    const rows = [DOWER_MATRIX.I, DOWER_MATRIX.II, DOWER_MATRIX.V2];
    const det = (m: number[][]): number =>
      m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
      m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
      m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
    const m = rows.map((r) => [...r]);
    const d = det(m);
    for (let k = 0; k < 5000; k += 13) {
      const v = [lead(ecg.leads, 'I')[k]!, lead(ecg.leads, 'II')[k]!, lead(ecg.leads, 'V2')[k]!];
      // Cramer's rule.
      const xyz = [0, 1, 2].map((col) => det(m.map((row, r) => row.map((c, j) => (j === col ? v[r]! : c)))) / d);
      const [cx, cy, cz] = DOWER_MATRIX.V5;
      expect(lead(ecg.leads, 'V5')[k]).toBeCloseTo(cx * xyz[0]! + cy * xyz[1]! + cz * xyz[2]!, 1);
    }
    expect(INDEPENDENT_LEADS).toHaveLength(8);
  });

  it.each(Object.keys(ST_GROUP_LEADS) as (keyof typeof ST_GROUP_LEADS)[])(
    'an ST shift in the %s leads moves their ST segment by exactly shiftUv',
    (group) => {
      const shiftUv = group === 'inferior' ? -150 : 200;
      const base = synthesize({ seed: 21 });
      const shifted = synthesize({ seed: 21, st: { leads: group, shiftUv } });
      const fs = 500;
      const named = ST_GROUP_LEADS[group];
      for (const b of base.beats) {
        const st = Math.round((b.rTimeS + 0.1) * fs);
        const pr = Math.round((b.rTimeS - 0.09) * fs);
        if (pr < 0 || st >= 5000) continue;
        for (const name of STANDARD_LEADS) {
          const delta = lead(shifted.ecg.leads, name)[st]! - lead(base.ecg.leads, name)[st]!;
          // The PR segment is untouched everywhere.
          expect(lead(shifted.ecg.leads, name)[pr]).toBe(lead(base.ecg.leads, name)[pr]);
          if (named.includes(name)) expect(delta).toBeCloseTo(shiftUv, 2);
          else if (name.startsWith('V')) expect(delta).toBe(0);
        }
      }
      if (group === 'inferior') {
        // Reciprocal change in aVL (= I - II/2).
        const b = base.beats[2]!;
        const st = Math.round((b.rTimeS + 0.1) * fs);
        const delta = lead(shifted.ecg.leads, 'aVL')[st]! - lead(base.ecg.leads, 'aVL')[st]!;
        expect(delta).toBeCloseTo(-shiftUv / 2, 2);
      }
    },
  );

  it('flat leads are constant zero and the others are untouched', () => {
    const base = synthesizeEcg({ seed: 4 });
    const ecg = synthesizeEcg({ seed: 4, flatLeads: ['V3', 'aVL'] });
    expect(lead(ecg.leads, 'V3').every((v) => v === 0)).toBe(true);
    expect(lead(ecg.leads, 'aVL').every((v) => v === 0)).toBe(true);
    expect(lead(ecg.leads, 'V4')).toEqual(lead(base.leads, 'V4'));
  });

  it('passes the quality gate with default options, and a flat lead makes it not analysable for that reason', () => {
    const spec: ModelInputSpec = { ...DEFAULT_INPUT_SPEC, filter: undefined };
    for (const sampleRateHz of [500, 1000]) {
      const ok = assessQuality(synthesizeEcg({ seed: 12, sampleRateHz }), spec);
      expect(ok.reasons).toEqual([]);
      expect(ok.analysable).toBe(true);
    }
    const flat = assessQuality(synthesizeEcg({ seed: 12, flatLeads: ['V3'] }), spec);
    expect(flat.analysable).toBe(false);
    expect(flat.reasons.join(' ')).toMatch(/flat/i);
    expect(flat.reasons.join(' ')).toContain('V3');
  });

  it('noise options set the noise level', () => {
    const clean = synthesizeEcg({ seed: 6, noise: quiet });
    const noisy = synthesizeEcg({ seed: 6, noise: { baselineWanderUv: 0, mainsUv: 0, muscleUv: 20 } });
    const fast = synthesizeEcg({ seed: 6, fast: true, noise: { baselineWanderUv: 0, mainsUv: 0, muscleUv: 20 } });
    const sd = (a: Float32Array, b: Float32Array): number => {
      let s = 0;
      for (let k = 0; k < a.length; k++) s += ((a[k] as number) - (b[k] as number)) ** 2;
      return Math.sqrt(s / a.length);
    };
    expect(sd(lead(noisy.leads, 'V1'), lead(clean.leads, 'V1'))).toBeCloseTo(20, -0.5);
    expect(sd(lead(fast.leads, 'V1'), lead(clean.leads, 'V1'))).toBeCloseTo(20, -0.5);
    const mains = synthesizeEcg({ seed: 6, noise: { baselineWanderUv: 0, mainsUv: 40, muscleUv: 0, mainsHz: 60 } });
    // A pure 60 Hz sinusoid of peak 20-40 uV: RMS between 14 and 29 uV.
    const rms = sd(lead(mains.leads, 'V2'), lead(clean.leads, 'V2'));
    expect(rms).toBeGreaterThan(14);
    expect(rms).toBeLessThan(29);
  });

  it('amplitudeScale scales the cardiac signal', () => {
    const a = synthesizeEcg({ seed: 2, noise: quiet });
    const b = synthesizeEcg({ seed: 2, noise: quiet, amplitudeScale: 0.5 });
    for (let k = 0; k < 5000; k += 11) expect(lead(b.leads, 'II')[k]).toBeCloseTo(lead(a.leads, 'II')[k]! / 2, 2);
  });

  it('refuses options out of range with a ConfigError naming each bad key', () => {
    expect(() => synthesizeEcg({ heartRateBpm: 0 })).toThrow(ConfigError);
    try {
      synthesizeEcg({ seed: -1, sampleRateHz: Number.NaN, flatLeads: ['V7' as LeadName] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).toMatch(/seed/);
      expect(issues).toMatch(/sampleRateHz/);
      expect(issues).toMatch(/V7/);
    }
  });
});
