import { describe, expect, it } from 'vitest';
import {
  CLINICAL_MD_SKIP_REASON,
  clinicalMdPresent,
  markdownTableAfter,
} from '../../../../test/support/clinical-md.js';
import { noteSkip } from '../../../../test/support/samples.js';
import {
  ESC2019_AGE_BANDS,
  ESC2019_NO_SYMPTOM_REASON,
  ESC2019_SYMPTOMS,
  ESC2019_TABLE,
  type Esc2019Symptom,
  esc2019AgeBand,
  esc2019Category,
  esc2019Ptp,
} from './esc2019.js';
import { PtpInputError } from './input.js';

if (!clinicalMdPresent) noteSkip(import.meta.url, CLINICAL_MD_SKIP_REASON);

describe('ESC 2019 table', () => {
  // An independent copy of a few cells (guideline Table 5), so this runs where CLINICAL.md is absent.
  it.each([
    ['male', '40-49', 'typical', 22],
    ['male', '30-39', 'dyspnoea', 0],
    ['male', '50-59', 'non-anginal', 11],
    ['male', '70+', 'atypical', 34],
    ['female', '30-39', 'typical', 5],
    ['female', '60-69', 'dyspnoea', 14],
    ['female', '70+', 'typical', 27],
    ['female', '50-59', 'atypical', 6],
  ] as const)('%s %s %s is %i %%', (sex, band, symptom, percent) => {
    expect(ESC2019_TABLE[sex][band][symptom]).toBe(percent);
  });

  describe.skipIf(!clinicalMdPresent)(
    `against CLINICAL.md${clinicalMdPresent ? '' : ` (${CLINICAL_MD_SKIP_REASON})`}`,
    () => {
      it('matches every cell (men / women x age band x symptom)', () => {
        const { header, rows } = markdownTableAfter('ESC 2019 pre-test probability');
        const columns: Record<string, Esc2019Symptom> = {
          'typical angina': 'typical',
          atypical: 'atypical',
          'non-anginal': 'non-anginal',
          'dyspnoea only': 'dyspnoea',
        };
        expect(header.slice(1).map((h) => columns[h])).toEqual([...ESC2019_SYMPTOMS]);
        expect(rows.map((r) => r[0])).toEqual([...ESC2019_AGE_BANDS]);
        let checked = 0;
        for (const row of rows) {
          const band = row[0] as (typeof ESC2019_AGE_BANDS)[number];
          ESC2019_SYMPTOMS.forEach((symptom, i) => {
            const [men, women] = (row[i + 1] ?? '').split('/').map(Number);
            expect({ band, symptom, men, women }).toEqual({
              band,
              symptom,
              men: ESC2019_TABLE.male[band][symptom],
              women: ESC2019_TABLE.female[band][symptom],
            });
            checked += 2;
          });
        }
        expect(checked).toBe(40);
      });
    },
  );
});

describe('esc2019AgeBand', () => {
  it.each([
    [30, '30-39'],
    [39.99, '30-39'],
    [40, '40-49'],
    [59, '50-59'],
    [69.9, '60-69'],
    [70, '70+'],
    [95, '70+'],
  ] as const)('age %d is row %s', (age, band) => {
    expect(esc2019AgeBand(age)).toBe(band);
  });

  it('refuses ages under 30 and non-numbers, naming the age', () => {
    for (const age of [29.99, 0, -1, Number.NaN]) {
      expect(() => esc2019AgeBand(age)).toThrow(PtpInputError);
      try {
        esc2019AgeBand(age);
      } catch (err) {
        expect((err as PtpInputError).input).toBe('age');
      }
    }
  });
});

describe('esc2019Category', () => {
  it.each([
    [0, 'low'],
    [5, 'low'],
    [6, 'intermediate'],
    [15, 'intermediate'],
    [16, 'high'],
    [52, 'high'],
  ] as const)('%i %% is %s', (percent, category) => {
    expect(esc2019Category(percent)).toBe(category);
  });
});

describe('esc2019Ptp', () => {
  it('looks up the cell and its category', () => {
    expect(esc2019Ptp(55, 'male', 'atypical')).toEqual({
      available: true,
      percent: 17,
      category: 'high',
      ageBand: '50-59',
      symptom: 'atypical',
    });
    expect(esc2019Ptp(72, 'female', 'non-anginal')).toMatchObject({ percent: 10, category: 'intermediate' });
    expect(esc2019Ptp(45, 'female', 'dyspnoea')).toMatchObject({ percent: 3, category: 'low' });
  });

  it('has no cell for patients without symptoms, and says so', () => {
    expect(esc2019Ptp(55, 'male', 'none')).toEqual({ available: false, reason: ESC2019_NO_SYMPTOM_REASON });
  });

  it('lets chest pain take precedence over dyspnoea', () => {
    expect(esc2019Ptp(55, 'male', 'non-anginal', true)).toMatchObject({ percent: 11, symptom: 'non-anginal' });
    expect(esc2019Ptp(55, 'male', 'none', true)).toMatchObject({ percent: 20, symptom: 'dyspnoea' });
    expect(esc2019Ptp(55, 'male', 'dyspnoea', false)).toMatchObject({ percent: 20, symptom: 'dyspnoea' });
  });
});
