import { describe, expect, it } from 'vitest';
import {
  buildReferenceProfile,
  cohortReferenceProfile,
  driftRows,
  measureValues,
  type ProfileSample,
  parseReferenceProfile,
  ReferenceProfileError,
  stratumBands,
} from './profile.js';

const meta = { source: 'live' as const, createdAt: '2026-12-03T00:00:00.000Z' };

function sample(rate: number, noise: number, p: number): ProfileSample {
  const stats = {
    sampleRateHz: rate,
    durationS: 10,
    amplitudeMv: 0.3,
    noiseUv: noise,
    baselineWanderUv: 20,
    derivedLeadShare: 0,
  };
  return {
    values: measureValues(stats, { LAD: p }),
    strata: { LAD: p < 0.2 ? 'low' : p < 0.6 ? 'intermediate' : 'high' },
  };
}

describe('reference profile', () => {
  const reference = Array.from({ length: 200 }, (_, i) => sample(500, 5 + (i % 20), (i % 100) / 100));
  const profile = buildReferenceProfile(reference, meta);

  it('bins each measure: fixed edges for rate and probability, deciles for noise', () => {
    expect(profile.n).toBe(200);
    expect(profile.measures.sample_rate_hz?.counts).toEqual([0, 0, 0, 200, 0, 0, 0]);
    expect(profile.measures.probability_LAD?.counts).toEqual(new Array(10).fill(20));
    expect(profile.measures.noise_uv?.edges).toEqual([7, 9, 11, 13, 15, 17, 19, 21, 23]);
    expect(profile.strata?.LAD).toEqual({ low: 40, intermediate: 80, high: 80 });
    // Round trip through JSON and the schema.
    expect(parseReferenceProfile(JSON.stringify(profile))).toEqual(profile);
  });

  it('finds a shift in the shifted measures only', () => {
    const window = (rows: ProfileSample[]) => {
      // The window is binned on the reference's edges, as the engine does.
      return Object.fromEntries(
        Object.entries(profile.measures).map(([m, ref]) => {
          const values = rows.map((r) => r.values[m] as number);
          const counts = new Array(ref.counts.length).fill(0);
          for (const v of values) counts[ref.edges.filter((e) => e <= v).length]++;
          return [m, counts];
        }),
      ) as Record<string, number[]>;
    };
    const same = driftRows(
      profile,
      window(Array.from({ length: 200 }, (_, i) => sample(500, 5 + ((i + 7) % 20), ((i * 37) % 100) / 100))),
    );
    for (const row of same) expect(row.level, row.measure).toBe('stable');
    const shifted = driftRows(
      profile,
      window(Array.from({ length: 200 }, (_, i) => sample(250, 30 + (i % 20), (i % 100) / 100))),
    );
    const levels = Object.fromEntries(shifted.map((r) => [r.measure, r.level]));
    expect(levels).toMatchObject({
      sample_rate_hz: 'major',
      noise_uv: 'major',
      probability_LAD: 'stable',
      amplitude_mv: 'stable',
    });
    expect(driftRows(profile, {}).every((r) => r.level === 'no data')).toBe(true);
  });

  it('gives stratum bands that widen for small windows and never leave [0, 1]', () => {
    const small = stratumBands(profile, 20).find((b) => b.stratum === 'low');
    const large = stratumBands(profile, 100_000).find((b) => b.stratum === 'low');
    expect(small?.share).toBeCloseTo(0.2, 12);
    expect((small?.upper ?? 0) - (small?.lower ?? 0)).toBeGreaterThan((large?.upper ?? 0) - (large?.lower ?? 0));
    expect(large?.lower).toBeCloseTo(0.15, 12);
    expect(small?.lower).toBe(0);
  });

  it('refuses a malformed file with the path of the problem', () => {
    expect(() => parseReferenceProfile('{')).toThrow(ReferenceProfileError);
    const bad = { ...profile, measures: { x: { edges: [1, 2], counts: [1] } } };
    expect(() => parseReferenceProfile(bad)).toThrow(/measures\.x/);
  });
});

describe('cohortReferenceProfile', () => {
  it('profiles the scored rows with strata under the given thresholds', () => {
    const rows = [
      { status: 'scored', probabilities: { LAD: 0.05, RCA: 0.5 } },
      { status: 'scored', probabilities: { LAD: 0.35, RCA: 0.95 } },
      { status: 'scored', probabilities: { LAD: 0.75 } },
      { status: 'not-analysable', probabilities: {} },
    ];
    const profile = cohortReferenceProfile(
      rows,
      { LAD: { ruleOut: 0.1, ruleIn: 0.7 }, RCA: { ruleOut: 0.2, ruleIn: 0.9 } },
      meta,
    );
    expect(profile.n).toBe(3);
    expect(Object.keys(profile.measures)).toEqual(['probability_LAD', 'probability_RCA']);
    expect(profile.measures.probability_LAD?.counts).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
    expect(profile.strata).toEqual({
      LAD: { low: 1, intermediate: 1, high: 1 },
      RCA: { low: 0, intermediate: 1, high: 1 },
    });
  });
});
