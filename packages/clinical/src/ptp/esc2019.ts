/**
 * ESC 2019 pre-test probability of obstructive CAD (Knuuti et al., 2019 ESC Guidelines for the diagnosis and
 * management of chronic coronary syndromes, Eur Heart J 2020;41:407-477, Table 5): a table by sex, age band and
 * symptom type. Only symptomatic patients have a cell.
 */
import type { Sex, SymptomType } from '../scores.js';
import { PTP_MIN_AGE, PtpInputError } from './input.js';

/** The table's symptom columns. */
export const ESC2019_SYMPTOMS = ['typical', 'atypical', 'non-anginal', 'dyspnoea'] as const;
export type Esc2019Symptom = (typeof ESC2019_SYMPTOMS)[number];

/** The table's age rows; `70+` holds every age from 70 up. */
export const ESC2019_AGE_BANDS = ['30-39', '40-49', '50-59', '60-69', '70+'] as const;
export type Esc2019AgeBand = (typeof ESC2019_AGE_BANDS)[number];

/** ESC 2019 categories: <= 5 % low, 6-15 % intermediate, > 15 % high. */
export type Esc2019Category = 'low' | 'intermediate' | 'high';

/** Percent PTP per sex, age band and symptom column (Table 5 of the guideline; CLINICAL.md). */
export const ESC2019_TABLE: Readonly<
  Record<Sex, Readonly<Record<Esc2019AgeBand, Readonly<Record<Esc2019Symptom, number>>>>>
> = {
  male: {
    '30-39': { typical: 3, atypical: 4, 'non-anginal': 1, dyspnoea: 0 },
    '40-49': { typical: 22, atypical: 10, 'non-anginal': 3, dyspnoea: 12 },
    '50-59': { typical: 32, atypical: 17, 'non-anginal': 11, dyspnoea: 20 },
    '60-69': { typical: 44, atypical: 26, 'non-anginal': 22, dyspnoea: 27 },
    '70+': { typical: 52, atypical: 34, 'non-anginal': 24, dyspnoea: 32 },
  },
  female: {
    '30-39': { typical: 5, atypical: 3, 'non-anginal': 1, dyspnoea: 3 },
    '40-49': { typical: 10, atypical: 6, 'non-anginal': 2, dyspnoea: 3 },
    '50-59': { typical: 13, atypical: 6, 'non-anginal': 3, dyspnoea: 9 },
    '60-69': { typical: 16, atypical: 11, 'non-anginal': 6, dyspnoea: 14 },
    '70+': { typical: 27, atypical: 19, 'non-anginal': 10, dyspnoea: 12 },
  },
};

/** The age row of an age in years (>= 30; 70 and above is the `70+` row). */
export function esc2019AgeBand(age: number): Esc2019AgeBand {
  if (!Number.isFinite(age) || age < PTP_MIN_AGE) {
    throw new PtpInputError('age', 'age is under 30: the ESC 2019 table starts at 30');
  }
  if (age >= 70) return '70+';
  const decade = Math.floor(age / 10) * 10;
  return `${decade}-${decade + 9}` as Esc2019AgeBand;
}

/** The ESC 2019 category of a table percent: <= 5 low, 6-15 intermediate, > 15 high. */
export function esc2019Category(percent: number): Esc2019Category {
  if (percent <= 5) return 'low';
  if (percent <= 15) return 'intermediate';
  return 'high';
}

/** An ESC 2019 look-up: the cell, or why the table has none. */
export type Esc2019Result =
  | { available: true; percent: number; category: Esc2019Category; ageBand: Esc2019AgeBand; symptom: Esc2019Symptom }
  | { available: false; reason: string };

/** Why an asymptomatic patient has no ESC 2019 value. */
export const ESC2019_NO_SYMPTOM_REASON =
  'ESC 2019: no cell for patients without chest pain or dyspnoea (the table covers symptomatic patients only)';

/**
 * The ESC 2019 PTP of a patient. Chest pain takes precedence over dyspnoea, as the guideline says: the dyspnoea
 * column is used only without chest pain (`symptoms` `dyspnoea`, or `none` with `dyspnoea` true). No symptom at
 * all has no cell and is reported as unavailable, never guessed.
 */
export function esc2019Ptp(age: number, sex: Sex, symptoms: SymptomType, dyspnoea = false): Esc2019Result {
  const ageBand = esc2019AgeBand(age);
  const symptom: SymptomType = symptoms === 'none' && dyspnoea ? 'dyspnoea' : symptoms;
  if (symptom === 'none') return { available: false, reason: ESC2019_NO_SYMPTOM_REASON };
  const percent = ESC2019_TABLE[sex][ageBand][symptom];
  return { available: true, percent, category: esc2019Category(percent), ageBand, symptom };
}
