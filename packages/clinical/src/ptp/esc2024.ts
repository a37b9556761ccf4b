/**
 * ESC 2024 risk-factor-weighted clinical likelihood (RF-CL) of obstructive CAD (Vrints et al., 2024 ESC Guidelines
 * for the management of chronic coronary syndromes, Eur Heart J 2024;45:3415-3537, Figure 4), which rounds the
 * RF-CL logistic model of Winther et al. (J Am Coll Cardiol 2020;76:2421-2432, doi:10.1016/j.jacc.2020.09.585).
 * Both are here: the table the guideline prints and the model for a value at the exact age.
 */
import type { Sex, SymptomType } from '../scores.js';
import { PTP_MIN_AGE, PtpInputError } from './input.js';

/** RF-CL covers ages 30 to 80 (the guideline's rows); outside it the model is not extrapolated. */
export const RFCL_MIN_AGE = PTP_MIN_AGE;
export const RFCL_MAX_AGE = 80;

/** ESC 2024 categories: <= 5 % very low, > 5-15 % low, > 15 % moderate (higher classes need clinical modifiers). */
export type Esc2024Category = 'very low' | 'low' | 'moderate';

/** The guideline's symptom groups (by symptom score) and risk-factor groups (by count). */
export const RFCL_SYMPTOM_GROUPS = ['0-1', '2', '3'] as const;
export type RfclSymptomGroup = (typeof RFCL_SYMPTOM_GROUPS)[number];
export const RFCL_RISK_FACTOR_GROUPS = ['0-1', '2-3', '4-5'] as const;
export type RfclRiskFactorGroup = (typeof RFCL_RISK_FACTOR_GROUPS)[number];
export const RFCL_AGE_BANDS = ['30-39', '40-49', '50-59', '60-69', '70-80'] as const;
export type RfclAgeBand = (typeof RFCL_AGE_BANDS)[number];

/** One table cell row: percent for 0-1, 2-3 and 4-5 risk factors. */
export type RfclCell = Readonly<Record<RfclRiskFactorGroup, number>>;

const cell = (rf01: number, rf23: number, rf45: number): RfclCell => ({ '0-1': rf01, '2-3': rf23, '4-5': rf45 });

/** Percent RF-CL per sex, age band, symptom group and risk-factor group (guideline Figure 4; CLINICAL.md). */
export const RFCL_TABLE: Readonly<
  Record<Sex, Readonly<Record<RfclAgeBand, Readonly<Record<RfclSymptomGroup, RfclCell>>>>>
> = {
  female: {
    '30-39': { '0-1': cell(0, 1, 2), '2': cell(0, 1, 3), '3': cell(2, 5, 10) },
    '40-49': { '0-1': cell(1, 1, 3), '2': cell(1, 2, 5), '3': cell(4, 7, 12) },
    '50-59': { '0-1': cell(1, 2, 5), '2': cell(2, 3, 7), '3': cell(6, 10, 15) },
    '60-69': { '0-1': cell(2, 4, 7), '2': cell(3, 6, 11), '3': cell(10, 14, 19) },
    '70-80': { '0-1': cell(4, 7, 11), '2': cell(6, 10, 16), '3': cell(16, 19, 23) },
  },
  male: {
    '30-39': { '0-1': cell(1, 2, 5), '2': cell(2, 4, 8), '3': cell(9, 14, 22) },
    '40-49': { '0-1': cell(2, 4, 8), '2': cell(3, 6, 12), '3': cell(14, 20, 27) },
    '50-59': { '0-1': cell(4, 7, 12), '2': cell(6, 11, 17), '3': cell(21, 27, 33) },
    '60-69': { '0-1': cell(8, 12, 17), '2': cell(12, 17, 25), '3': cell(32, 35, 39) },
    '70-80': { '0-1': cell(15, 19, 24), '2': cell(22, 27, 34), '3': cell(44, 44, 45) },
  },
};

/**
 * ESC 2024 symptom score: no pain 0, non-anginal 1, atypical 2, dyspnoea 2, typical 3. With dyspnoea beside chest
 * pain, the higher of the two (pretestcad `calculate_esc_2024_symptom_score`: non-anginal with dyspnoea is 2).
 */
export function symptomScore(symptoms: SymptomType, dyspnoea = false): 0 | 1 | 2 | 3 {
  const chestPain = ({ none: 0, 'non-anginal': 1, atypical: 2, dyspnoea: 2, typical: 3 } as const)[symptoms];
  return dyspnoea && chestPain < 2 ? 2 : chestPain;
}

/** The table's symptom group of a symptom score. */
export const symptomGroup = (score: 0 | 1 | 2 | 3): RfclSymptomGroup => (score <= 1 ? '0-1' : score === 2 ? '2' : '3');

/** The table's risk-factor group of a count 0-5. */
export function riskFactorGroup(count: number): RfclRiskFactorGroup {
  if (!Number.isInteger(count) || count < 0 || count > 5) {
    throw new PtpInputError('riskFactors', 'risk factors must be a whole number from 0 to 5');
  }
  return count <= 1 ? '0-1' : count <= 3 ? '2-3' : '4-5';
}

/** Refuses ages outside 30-80: RF-CL is never extrapolated. */
function checkRfclAge(age: number): void {
  if (!Number.isFinite(age) || age < RFCL_MIN_AGE || age > RFCL_MAX_AGE) {
    throw new PtpInputError('age', 'age is outside 30-80, the range of the ESC 2024 RF-CL model (not extrapolated)');
  }
}

/** The table's age row of an age in 30-80 (80 belongs to the 70-80 row). */
export function rfclAgeBand(age: number): RfclAgeBand {
  checkRfclAge(age);
  if (age >= 70) return '70-80';
  const decade = Math.floor(age / 10) * 10;
  return `${decade}-${decade + 9}` as RfclAgeBand;
}

/**
 * The RF-CL logistic model of Winther et al. 2020 (coefficients as in CLINICAL.md and the MIT-licensed R package
 * JauntyJJS/pretestcad, R/winther_ptp.R, `calculate_winther_2020_rf_cl_ptp`), for one symptom score and one
 * risk-factor group. Returns a FRACTION in (0, 1): the package returns 1 / (1 + exp(-z)) unscaled, and its tests
 * (verified against CardioLab/cadptp) expect e.g. 0.00172552 for a woman of 30 with non-anginal pain and 0 risk
 * factors, which the guideline table shows as 0 %.
 *
 * typical = symptom score 3; non-anginal = symptom score 0 or 1 (the supplement groups no pain with non-anginal);
 * rfGroup = 1 (0-1 risk factors), 2 (2-3), 3 (4-5).
 */
export function rfclModel(age: number, sex: Sex, score: 0 | 1 | 2 | 3, rfGroup: RfclRiskFactorGroup): number {
  checkRfclAge(age);
  const male = sex === 'male' ? 1 : 0;
  const typical = score === 3 ? 1 : 0;
  const nonAnginal = score <= 1 ? 1 : 0;
  const rf = rfGroup === '0-1' ? 1 : rfGroup === '2-3' ? 2 : 3;
  const z =
    -9.526 +
    1.6128 * male +
    0.0844 * age +
    2.7112 * typical -
    0.4675 * nonAnginal +
    1.494 * rf -
    0.0187 * age * typical -
    0.0131 * age * rf -
    0.2799 * typical * rf -
    0.2091 * male * rf;
  return 1 / (1 + Math.exp(-z));
}

/** RF-CL of a patient as a fraction in (0, 1), from the model at the exact age. */
export function rfclFraction(
  age: number,
  sex: Sex,
  symptoms: SymptomType,
  riskFactors: number,
  dyspnoea = false,
): number {
  return rfclModel(age, sex, symptomScore(symptoms, dyspnoea), riskFactorGroup(riskFactors));
}

/** RF-CL of a patient in percent, from the guideline's table (the cell of the patient's age band). */
export function rfclTablePercent(
  age: number,
  sex: Sex,
  symptoms: SymptomType,
  riskFactors: number,
  dyspnoea = false,
): number {
  const score = symptomScore(symptoms, dyspnoea);
  return RFCL_TABLE[sex][rfclAgeBand(age)][symptomGroup(score)][riskFactorGroup(riskFactors)];
}

/**
 * The ESC 2024 category of a percent: <= 5 very low, > 5-15 low, > 15 moderate. The guideline applies these
 * bounds to whole percents as its table prints them, so a model value is rounded to a whole percent first (5.4 %
 * is very low, as the table would show it as 5 %).
 */
export function esc2024Category(percent: number): Esc2024Category {
  const whole = Math.round(percent);
  if (whole <= 5) return 'very low';
  if (whole <= 15) return 'low';
  return 'moderate';
}
