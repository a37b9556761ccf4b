/**
 * What every pre-test probability model here needs, and the one error they throw for input they cannot use.
 */
import { type Sex, SYMPTOM_TYPES, type SymptomType } from '../scores.js';

/** The clinical inputs of the ESC pre-test probability models. */
export interface PtpInput {
  /** Age in years at the time of the ECG (fractions allowed). */
  age: number;
  sex: Sex;
  /**
   * The chest-pain type, or `dyspnoea` when dyspnoea is the only symptom, or `none`. With chest pain and dyspnoea
   * both present, give the chest-pain type here and set `dyspnoea`.
   */
  symptoms: SymptomType;
  /**
   * Dyspnoea present beside the chest-pain type in `symptoms` (implied when `symptoms` is `dyspnoea`). ESC 2019
   * lets chest pain take precedence, so it changes nothing there unless there is no chest pain; the ESC 2024
   * symptom score is the higher of the chest-pain score and dyspnoea's 2 (non-anginal pain with dyspnoea scores
   * 2, as in pretestcad's `calculate_esc_2024_symptom_score`).
   */
  dyspnoea?: boolean;
  /**
   * Count of the five ESC 2024 risk factors present: family history of premature CAD, smoking (current or past),
   * dyslipidaemia, hypertension, diabetes. An integer 0-5.
   */
  riskFactors: number;
  /** Agatston coronary artery calcium score, when one was measured. */
  cacs?: number;
}

/** The lowest age any of the ESC tables covers. */
export const PTP_MIN_AGE = 30;

/**
 * An input a model cannot use (invalid or outside the model's range). `input` names it; the message says what is
 * allowed and never repeats the value, which is patient data.
 */
export class PtpInputError extends Error {
  override readonly name = 'PtpInputError';
  constructor(
    readonly input: keyof PtpInput,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks the inputs every model shares: age a finite number >= 30, a known sex and symptom type, risk factors an
 * integer 0-5, and a calcium score (when given) a finite number >= 0. Model-specific limits (RF-CL's upper age)
 * are checked by the model.
 */
export function checkPtpInput(input: PtpInput): void {
  const { age, sex, symptoms, dyspnoea, riskFactors, cacs } = input;
  if (typeof age !== 'number' || !Number.isFinite(age)) throw new PtpInputError('age', 'age must be a number of years');
  if (age < PTP_MIN_AGE) {
    throw new PtpInputError('age', `age is under ${PTP_MIN_AGE}: the ESC pre-test probability models start at 30`);
  }
  if (sex !== 'male' && sex !== 'female') throw new PtpInputError('sex', 'sex must be male or female');
  if (!(SYMPTOM_TYPES as readonly string[]).includes(symptoms)) {
    throw new PtpInputError('symptoms', `symptoms must be one of ${SYMPTOM_TYPES.join(', ')}`);
  }
  if (dyspnoea !== undefined && typeof dyspnoea !== 'boolean') {
    throw new PtpInputError('dyspnoea', 'dyspnoea must be true or false');
  }
  if (typeof riskFactors !== 'number' || !Number.isInteger(riskFactors) || riskFactors < 0 || riskFactors > 5) {
    throw new PtpInputError('riskFactors', 'risk factors must be a whole number from 0 to 5');
  }
  if (cacs !== undefined && (typeof cacs !== 'number' || !Number.isFinite(cacs) || cacs < 0)) {
    throw new PtpInputError('cacs', 'the coronary calcium score must be a number >= 0 (Agatston)');
  }
}
