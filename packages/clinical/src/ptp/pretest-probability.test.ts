import { describe, expect, it } from 'vitest';
import { ESC2019_NO_SYMPTOM_REASON } from './esc2019.js';
import { rfclFraction } from './esc2024.js';
import { type PtpInput, PtpInputError } from './input.js';
import { pretestProbability } from './pretest-probability.js';

const base: PtpInput = { age: 55, sex: 'male', symptoms: 'atypical', riskFactors: 2 };

function refusal(input: PtpInput): PtpInputError {
  try {
    pretestProbability(input);
  } catch (err) {
    if (err instanceof PtpInputError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('pretestProbability', () => {
  it('gives ESC 2019, ESC 2024 from the model at the exact age, and no CACS-CL without a calcium score', () => {
    const r = pretestProbability(base);
    expect(r.esc2019).toEqual({ percent: 17, category: 'high' });
    // Atypical: neither typical nor non-anginal. z = -9.526 + 1.6128 + 0.0844 x 55 + 1.494 x 2 - 0.0131 x 55 x 2
    // - 0.2091 x 2 = -2.1424, by hand.
    expect(r.esc2024.percent).toBeCloseTo(100 / (1 + Math.exp(2.1424)), 10);
    expect(r.esc2024).toMatchObject({ category: 'low', source: 'formula' });
    expect(r.esc2024.percent).toBeCloseTo(10.5044, 3);
    expect(r.cacsCl).toBeNull();
    expect(r.notes).toContain('ESC 2024 table cell (age 50-59, symptom score 2, risk factors 2-3): 11 %');
  });

  it('gives the table cell when asked, with the model value in the notes', () => {
    const r = pretestProbability(base, { esc2024Source: 'table' });
    expect(r.esc2024).toEqual({ percent: 11, category: 'low', source: 'table' });
    expect(r.notes).toContain('ESC 2024 RF-CL model at the exact age: 10.5 %');
  });

  it('adds CACS-CL from the RF-CL fraction when a calcium score is given', () => {
    const r = pretestProbability({ ...base, cacs: 150 });
    const rfcl = rfclFraction(55, 'male', 'atypical', 2);
    expect(r.cacsCl?.percent).toBeCloseTo(100 * (0.0013 + 0.2021 * rfcl + 0.1131 + 0.4077 * rfcl), 10);
    expect(r.cacsCl?.category).toBe('moderate');
    expect(r.notes).toContain('CACS-CL: calcium score bin 100-399');
    // A zero calcium score moves the same patient to very low.
    expect(pretestProbability({ ...base, cacs: 0 }).cacsCl?.category).toBe('very low');
  });

  it('has no ESC 2019 value without symptoms, and says why', () => {
    const r = pretestProbability({ ...base, symptoms: 'none' });
    expect(r.esc2019).toBeNull();
    expect(r.notes).toContain(ESC2019_NO_SYMPTOM_REASON);
    expect(r.esc2024.percent).toBeGreaterThan(0);
  });

  it('takes dyspnoea beside chest pain: ESC 2019 by chest pain, ESC 2024 by the higher score', () => {
    const r = pretestProbability({ ...base, symptoms: 'non-anginal', dyspnoea: true });
    expect(r.esc2019).toEqual({ percent: 11, category: 'intermediate' });
    expect(r.esc2024.percent).toBeCloseTo(100 * rfclFraction(55, 'male', 'atypical', 2), 12);
    const alone = pretestProbability({ ...base, symptoms: 'none', dyspnoea: true });
    expect(alone.esc2019).toEqual({ percent: 20, category: 'high' });
  });

  it('uses the 70+ ESC 2019 row and the 70-80 RF-CL row up to 80', () => {
    const r = pretestProbability(
      { age: 80, sex: 'female', symptoms: 'typical', riskFactors: 5 },
      { esc2024Source: 'table' },
    );
    expect(r.esc2019).toEqual({ percent: 27, category: 'high' });
    expect(r.esc2024).toEqual({ percent: 23, category: 'moderate', source: 'table' });
  });

  it('refuses inputs out of range or invalid, naming the input and never echoing its value', () => {
    const cases: Array<[Partial<PtpInput>, keyof PtpInput]> = [
      [{ age: 29 }, 'age'],
      [{ age: 80.5 }, 'age'],
      [{ age: 87 }, 'age'],
      [{ age: Number.NaN }, 'age'],
      [{ sex: 'other' as never }, 'sex'],
      [{ symptoms: 'chest pain' as never }, 'symptoms'],
      [{ riskFactors: 6 }, 'riskFactors'],
      [{ riskFactors: 1.5 }, 'riskFactors'],
      [{ riskFactors: -1 }, 'riskFactors'],
      [{ cacs: -3 }, 'cacs'],
      [{ cacs: Number.NaN }, 'cacs'],
      [{ dyspnoea: 'yes' as never }, 'dyspnoea'],
    ];
    for (const [change, input] of cases) {
      const err = refusal({ ...base, ...change });
      expect(err.input).toBe(input);
      const value = String(Object.values(change)[0]);
      expect(err.message).not.toContain(value);
    }
  });
});
