import { describe, expect, it } from 'vitest';
import { pretestProbability } from '../ptp/pretest-probability.js';
import { combinedCategory, DEFAULT_RECLASSIFICATION, defaultReclassification } from '../reclassify.js';
import type { ScoreRow } from '../scores.js';
import { ptpComparison } from './ptp-comparison.js';

const row = (extra: Partial<ScoreRow>): ScoreRow => ({
  line: 2,
  ecgId: 'x',
  path: 'x.dcm',
  probabilities: { RCA: 0.2 },
  labels: { RCA: 1 },
  status: 'scored',
  ...extra,
});

describe('ptpComparison', () => {
  const cmp = ptpComparison(DEFAULT_RECLASSIFICATION, 'default');

  it('gives the level of the matrix model and combines like combinedCategory', () => {
    const input = { age: 62, sex: 'male' as const, symptoms: 'typical' as const, riskFactors: 3 };
    const got = cmp.level(row(input));
    expect(cmp.model).toBe('ESC 2024 RF-CL');
    expect(got).toEqual({ level: 'high' }); // RF-CL about 35 %: moderate, the high level
    const result = pretestProbability(input);
    for (const stratum of ['low', 'intermediate', 'high'] as const) {
      if ('level' in got)
        expect(cmp.matrix[got.level][stratum]).toBe(combinedCategory(DEFAULT_RECLASSIFICATION, result, stratum));
    }
    expect(cmp.level(row({ age: 35, sex: 'female', symptoms: 'non-anginal', riskFactors: 0 }))).toEqual({
      level: 'low',
    });
  });

  it('names the missing or out-of-range input instead of guessing', () => {
    expect(cmp.level(row({ sex: 'male', symptoms: 'typical', riskFactors: 1 }))).toEqual({ missing: 'no age' });
    expect(cmp.level(row({ age: 50, symptoms: 'typical', riskFactors: 1 }))).toEqual({ missing: 'no sex' });
    expect(cmp.level(row({ age: 25, sex: 'male', symptoms: 'typical', riskFactors: 1 }))).toEqual({
      missing: "age outside the model's range",
    });
    expect(cmp.level(row({ age: 85, sex: 'male', symptoms: 'typical', riskFactors: 1 }))).toEqual({
      missing: "age outside the model's range",
    });
    const cacs = ptpComparison(defaultReclassification('cacs-cl'), 'default');
    expect(cacs.level(row({ age: 50, sex: 'male', symptoms: 'typical', riskFactors: 1 }))).toEqual({
      missing: 'no cacs',
    });
    const esc2019 = ptpComparison(defaultReclassification('esc2019'), 'default');
    expect(esc2019.level(row({ age: 50, sex: 'male', symptoms: 'none', riskFactors: 1 }))).toEqual({
      missing: 'no ESC 2019 PTP value',
    });
  });
});
