import { describe, expect, it } from 'vitest';
import { strataTable, stratumOf } from './strata.js';

describe('stratumOf', () => {
  it('puts the thresholds themselves in the upper stratum (p >= t is positive)', () => {
    const t = { ruleOut: 0.1, ruleIn: 0.4 };
    expect(stratumOf(0.0999, t)).toBe('low');
    expect(stratumOf(0.1, t)).toBe('intermediate');
    expect(stratumOf(0.3999, t)).toBe('intermediate');
    expect(stratumOf(0.4, t)).toBe('high');
  });
});

describe('strataTable', () => {
  it('counts cases and events per stratum', () => {
    const p = [0.05, 0.08, 0.12, 0.2, 0.3, 0.45, 0.5, 0.9];
    const y = [0, 0, 1, 0, 0, 1, 1, 0];
    const rows = strataTable(p, y, { ruleOut: 0.1, ruleIn: 0.4 });
    expect(rows.map((r) => [r.stratum, r.n, r.prevalence.k])).toEqual([
      ['low', 2, 0],
      ['intermediate', 3, 1],
      ['high', 3, 2],
    ]);
    expect(rows[2]?.share).toBe(3 / 8);
    expect(rows[0]?.prevalence.value).toBe(0);
    expect(rows[0]?.prevalence.ci95?.[1]).toBeGreaterThan(0.5); // 0 of 2: a wide interval, not a certainty
  });

  it('reports an empty stratum with n 0 and no prevalence', () => {
    const rows = strataTable([0.5, 0.6], [1, 0], { ruleOut: 0.1, ruleIn: 0.9 });
    expect(rows[0]).toMatchObject({ stratum: 'low', n: 0, share: 0, prevalence: { value: null, ci95: null } });
  });
});
