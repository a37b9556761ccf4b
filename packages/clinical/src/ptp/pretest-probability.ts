/**
 * One entry point for pre-test probability: ESC 2019, ESC 2024 RF-CL and, with a calcium score, CACS-CL.
 */
import { cacsBin, cacsClFraction } from './cacs-cl.js';
import { esc2019Ptp } from './esc2019.js';
import {
  esc2024Category,
  RFCL_MAX_AGE,
  rfclAgeBand,
  rfclFraction,
  rfclTablePercent,
  riskFactorGroup,
  symptomGroup,
  symptomScore,
} from './esc2024.js';
import { checkPtpInput, type PtpInput, PtpInputError } from './input.js';

/** A model's value in percent and its category (the model's own category names). */
export interface PtpValue {
  percent: number;
  category: string;
}

export interface PtpResult {
  /** ESC 2019 table value; null when the table has no cell (no symptoms): `notes` says why. */
  esc2019: PtpValue | null;
  /** ESC 2024 RF-CL, and whether the percent came from the guideline's table or the model at the exact age. */
  esc2024: PtpValue & { source: 'table' | 'formula' };
  /** CACS-CL; null without a calcium score. */
  cacsCl: PtpValue | null;
  /** What a reader needs beside the numbers: missing cells, the other RF-CL source, the calcium bin. */
  notes: string[];
}

export interface PtpOptions {
  /**
   * Where the ESC 2024 percent comes from: `formula` (default), the RF-CL model at the exact age, or `table`, the
   * guideline's rounded cell for the age band. The other one is given in `notes`.
   */
  esc2024Source?: 'table' | 'formula';
}

const fmt = (percent: number): string => `${Number(percent.toFixed(1))} %`;

/**
 * The pre-test probability of obstructive CAD by each model. Throws `PtpInputError`, naming the input, for an
 * invalid input or one outside the models' range: age under 30, or over 80 (the end of ESC 2024 RF-CL; no model
 * value is extrapolated). CACS-CL always uses the RF-CL model value at the exact age, as Winther et al. define it.
 */
export function pretestProbability(input: PtpInput, options: PtpOptions = {}): PtpResult {
  checkPtpInput(input);
  const { age, sex, symptoms, riskFactors, cacs } = input;
  const dyspnoea = input.dyspnoea ?? false;
  if (age > RFCL_MAX_AGE) {
    throw new PtpInputError('age', 'age is over 80, the end of the ESC 2024 RF-CL model (not extrapolated)');
  }
  const notes: string[] = [];

  const esc2019 = esc2019Ptp(age, sex, symptoms, dyspnoea);
  if (!esc2019.available) notes.push(esc2019.reason);

  const rfcl = rfclFraction(age, sex, symptoms, riskFactors, dyspnoea);
  const formulaPercent = 100 * rfcl;
  const tablePercent = rfclTablePercent(age, sex, symptoms, riskFactors, dyspnoea);
  const source = options.esc2024Source ?? 'formula';
  const percent = source === 'table' ? tablePercent : formulaPercent;
  const cellName = `age ${rfclAgeBand(age)}, symptom score ${symptomGroup(symptomScore(symptoms, dyspnoea))}, risk factors ${riskFactorGroup(riskFactors)}`;
  notes.push(
    source === 'formula'
      ? `ESC 2024 table cell (${cellName}): ${tablePercent} %`
      : `ESC 2024 RF-CL model at the exact age: ${fmt(formulaPercent)}`,
  );

  let cacsCl: PtpValue | null = null;
  if (cacs !== undefined) {
    const cl = 100 * cacsClFraction(rfcl, cacs);
    cacsCl = { percent: cl, category: esc2024Category(cl) };
    notes.push(`CACS-CL: calcium score bin ${cacsBin(cacs)}`);
  }

  return {
    esc2019: esc2019.available ? { percent: esc2019.percent, category: esc2019.category } : null,
    esc2024: { percent, category: esc2024Category(percent), source },
    cacsCl,
    notes,
  };
}
