import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ecg, type LeadName, STANDARD_LEADS } from './ecg.js';
import { DEFAULT_INPUT_SPEC, type ModelInputSpec } from './model-input.js';
import { assessQuality } from './quality.js';
import { synthesizeEcg } from './synth/index.js';

const SPEC: ModelInputSpec = DEFAULT_INPUT_SPEC;

function withLeads(ecg: Ecg, change: (leads: Partial<Record<LeadName, Float32Array>>) => void): Ecg {
  const leads = { ...ecg.leads };
  change(leads);
  return { ...ecg, leads };
}

function lead(ecg: Ecg, name: LeadName): Float32Array {
  return Float32Array.from(ecg.leads[name] as Float32Array);
}

describe('assessQuality', () => {
  it('accepts clean 12-lead records at common rates', () => {
    for (const sampleRateHz of [100, 250, 500, 1000, 2000]) {
      expect(assessQuality(synthesizeEcg({ sampleRateHz, seed: sampleRateHz }), SPEC)).toEqual({
        analysable: true,
        reasons: [],
      });
    }
  });

  it('refuses a flat lead (lead off) and names it', () => {
    const v = assessQuality(synthesizeEcg({ flatLeads: ['V3'] }), SPEC);
    expect(v).toEqual({ analysable: false, reasons: ['flat leads (lead off or no signal): V3'] });
    // A dead line with one spike still counts as flat (tiny SD).
    const spiky = withLeads(synthesizeEcg(), (l) => {
      const x = new Float32Array(5000).fill(12);
      x[2000] = 250;
      l.V5 = x;
    });
    expect(assessQuality(spiky, SPEC).reasons).toEqual(['flat leads (lead off or no signal): V5']);
  });

  it('refuses a saturated lead (clipped at the rail) and one with absurd amplitude', () => {
    const ecg = synthesizeEcg();
    const clipped = withLeads(ecg, (l) => {
      const x = lead(ecg, 'V2');
      x.fill(4000, 1000, 1600); // 12 % of the window stuck at the top rail
      l.V2 = x;
    });
    expect(assessQuality(clipped, SPEC).reasons).toEqual(['saturated leads (clipped at an extreme value): V2']);
    const huge = withLeads(ecg, (l) => {
      l.aVL = lead(ecg, 'aVL').map((v) => v * 100);
    });
    expect(assessQuality(huge, SPEC).reasons).toEqual(['implausible amplitude (beyond 10 mV) in leads: aVL']);
  });

  it('counts rail samples exactly wherever they fall (any window length, any position, top or bottom rail)', () => {
    const ecg = synthesizeEcg();
    for (const samples of [5000, 4999, 4998, 4997]) {
      const spec = { ...SPEC, samples };
      const needed = Math.ceil(0.05 * samples); // the default saturatedFraction of this window
      for (const rail of [4000, -4000]) {
        for (const count of [needed, needed - 1]) {
          const clipped = withLeads(ecg, (l) => {
            const x = lead(ecg, 'V3');
            // The last sample of the window, then every 7th one backwards: all positions modulo 4 are hit.
            for (let k = 0; k < count; k++) x[samples - 1 - 7 * k] = rail;
            l.V3 = x;
          });
          const reasons = assessQuality(clipped, spec).reasons;
          if (count === needed) expect(reasons).toEqual(['saturated leads (clipped at an extreme value): V3']);
          else expect(reasons).toEqual([]);
        }
      }
    }
  });

  it('refuses NaN and infinite samples', () => {
    const ecg = synthesizeEcg();
    const bad = withLeads(ecg, (l) => {
      const a = lead(ecg, 'II');
      a[17] = Number.NaN;
      l.II = a;
      const b = lead(ecg, 'V6');
      b[4000] = Number.NEGATIVE_INFINITY;
      l.V6 = b;
    });
    expect(assessQuality(bad, SPEC).reasons).toEqual(['non-numeric samples (NaN or infinity) in leads: II, V6']);
  });

  it('refuses a short record and accepts one between the minimum and the model duration', () => {
    expect(assessQuality(synthesizeEcg({ durationS: 4.2 }), SPEC).reasons).toEqual(['too short: 4.2 s < 8 s required']);
    expect(assessQuality(synthesizeEcg({ durationS: 8.5 }), SPEC).analysable).toBe(true);
    expect(assessQuality(synthesizeEcg({ durationS: 8.5 }), SPEC, { minDurationS: 9 }).reasons).toEqual([
      'too short: 8.5 s < 9 s required',
    ]);
  });

  it('accepts an 8-lead record (limb leads derivable from I and II)', () => {
    const eight = withLeads(synthesizeEcg(), (l) => {
      for (const name of ['III', 'aVR', 'aVL', 'aVF'] as const) delete l[name];
    });
    expect(assessQuality(eight, SPEC)).toEqual({ analysable: true, reasons: [] });
    // The derivation sources are checked: a flat lead I would corrupt III, aVR, aVL and aVF.
    const flatI = withLeads(eight, (l) => {
      l.I = new Float32Array(5000);
    });
    expect(assessQuality(flatI, SPEC).reasons).toEqual(['flat leads (lead off or no signal): I']);
  });

  it('names leads that are missing and cannot be derived', () => {
    const noV = withLeads(synthesizeEcg(), (l) => {
      delete l.V1;
      delete l.V4;
    });
    expect(assessQuality(noV, SPEC).reasons).toEqual(['missing leads that cannot be derived: V1, V4']);
    const noI = withLeads(synthesizeEcg(), (l) => {
      for (const name of ['I', 'III', 'aVR'] as const) delete l[name];
    });
    expect(assessQuality(noI, SPEC).reasons).toEqual(['missing leads that cannot be derived: I, III, aVR']);
    // A card that does not use a lead does not need it.
    expect(assessQuality(noV, { ...SPEC, leads: ['I', 'II', 'V2'] }).analysable).toBe(true);
  });

  it('refuses an implausible sample rate', () => {
    const ecg = synthesizeEcg();
    expect(assessQuality({ ...ecg, sampleRateHz: 50 }, SPEC).reasons).toEqual([
      'implausible sample rate: 50 Hz (allowed 100..10000 Hz)',
    ]);
    expect(assessQuality({ ...ecg, sampleRateHz: 20_000 }, SPEC).reasons[0]).toBe(
      'implausible sample rate: 20000 Hz (allowed 100..10000 Hz)',
    );
    expect(assessQuality({ ...ecg, sampleRateHz: Number.NaN }, SPEC).analysable).toBe(false);
  });

  it('looks only at the window the model sees (the first 10 s)', () => {
    const ecg = synthesizeEcg({ durationS: 20 });
    const lateLeadOff = withLeads(ecg, (l) => {
      const x = lead(ecg, 'V1');
      x.fill(0, 5000);
      l.V1 = x;
    });
    expect(assessQuality(lateLeadOff, SPEC).analysable).toBe(true);
    const earlyLeadOff = withLeads(ecg, (l) => {
      const x = lead(ecg, 'V1');
      x.fill(0, 0, 5000);
      l.V1 = x;
    });
    expect(assessQuality(earlyLeadOff, SPEC).reasons).toEqual(['flat leads (lead off or no signal): V1']);
  });

  it('refuses records without samples or with leads of different lengths', () => {
    const ecg = synthesizeEcg();
    expect(assessQuality({ ...ecg, leads: {} }, SPEC).reasons).toEqual(['no waveform samples']);
    const ragged = withLeads(ecg, (l) => {
      l.V6 = lead(ecg, 'V6').subarray(0, 4000);
    });
    expect(assessQuality(ragged, SPEC).reasons).toContain('leads differ in length');
  });

  it('never throws, whatever the record holds', () => {
    const samples = fc.array(fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 0)), {
      maxLength: 300,
    });
    fc.assert(
      fc.property(
        fc.double(),
        fc.dictionary(fc.constantFrom(...STANDARD_LEADS), samples),
        fc.integer({ min: 1, max: 6000 }),
        (rate, leads, n) => {
          const ecg = synthesizeEcg({ durationS: 1 });
          const decoded = Object.fromEntries(Object.entries(leads).map(([k, v]) => [k, Float32Array.from(v)]));
          const v = assessQuality({ ...ecg, sampleRateHz: rate, leads: decoded }, { ...SPEC, samples: n });
          expect(v.analysable).toBe(v.reasons.length === 0);
          for (const r of v.reasons) expect(r.length).toBeLessThan(200);
        },
      ),
    );
  });
});
