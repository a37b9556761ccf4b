import { describe, expect, it } from 'vitest';
import { inputStats, QUALITY_REASON_CODES, qualityReasonCode } from './input-stats.js';
import { DEFAULT_INPUT_SPEC } from './model-input.js';
import { assessQuality } from './quality.js';
import { synthesizeEcg } from './synth/index.js';

describe('inputStats', () => {
  it('reports rate, duration and no derived leads for a full 12-lead record', () => {
    const s = inputStats(synthesizeEcg({ sampleRateHz: 500, durationS: 10 }));
    expect(s.sampleRateHz).toBe(500);
    expect(s.durationS).toBe(10);
    expect(s.derivedLeadShare).toBe(0);
    expect(s.amplitudeMv).toBeGreaterThan(0.05);
    expect(s.amplitudeMv).toBeLessThan(2);
  });

  it('tracks muscle noise and baseline wander separately', () => {
    const quiet = { baselineWanderUv: 0, mainsUv: 0, muscleUv: 5 };
    const base = inputStats(synthesizeEcg({ seed: 3, noise: quiet }));
    const noisy = inputStats(synthesizeEcg({ seed: 3, noise: { ...quiet, muscleUv: 40 } }));
    const wandering = inputStats(synthesizeEcg({ seed: 3, noise: { ...quiet, baselineWanderUv: 300 } }));
    // The second-difference estimate recovers the white-noise SD within a few uV (the signal adds a little).
    expect(noisy.noiseUv).toBeGreaterThan(35);
    expect(noisy.noiseUv).toBeLessThan(50);
    expect(base.noiseUv).toBeLessThan(12);
    expect(noisy.baselineWanderUv).toBeLessThan(base.baselineWanderUv + 10);
    expect(wandering.baselineWanderUv).toBeGreaterThan(base.baselineWanderUv + 50);
    expect(Math.abs(noisy.amplitudeMv - base.amplitudeMv) / base.amplitudeMv).toBeLessThan(0.05);
    expect(Math.abs(wandering.noiseUv - base.noiseUv)).toBeLessThan(3);
  });

  it('counts absent standard leads as derived', () => {
    const ecg = synthesizeEcg();
    const { III: _3, aVR: _r, aVL: _l, aVF: _f, ...leads } = ecg.leads;
    expect(inputStats({ ...ecg, leads }).derivedLeadShare).toBeCloseTo(4 / 12, 12);
  });

  it('never throws on an empty or broken record', () => {
    const ecg = synthesizeEcg();
    expect(inputStats({ ...ecg, leads: {} })).toMatchObject({ amplitudeMv: 0, derivedLeadShare: 1 });
    const broken = Float32Array.from(ecg.leads.I as Float32Array);
    broken[10] = Number.NaN;
    expect(Number.isFinite(inputStats({ ...ecg, leads: { ...ecg.leads, I: broken } }).noiseUv)).toBe(true);
  });
});

describe('qualityReasonCode', () => {
  it('gives every reason the gate writes a code of its own', () => {
    const ecg = synthesizeEcg();
    const cases = [
      { ...ecg, sampleRateHz: 20 },
      { ...ecg, leads: {} },
      synthesizeEcg({ flatLeads: ['V3'] }),
      synthesizeEcg({ durationS: 3 }),
      { ...ecg, leads: { I: ecg.leads.I as Float32Array } },
    ];
    const codes = cases.flatMap((c) => assessQuality(c, DEFAULT_INPUT_SPEC).reasons.map(qualityReasonCode));
    expect(codes).toEqual(
      expect.arrayContaining(['sample-rate', 'no-samples', 'flat-leads', 'too-short', 'missing-leads']),
    );
    expect(codes).not.toContain('other');
    expect(qualityReasonCode('something new')).toBe('other');
    expect(new Set(QUALITY_REASON_CODES).size).toBe(QUALITY_REASON_CODES.length);
  });
});
