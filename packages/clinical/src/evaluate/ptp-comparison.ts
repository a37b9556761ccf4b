/**
 * PTP for the evaluation: the guideline pre-test probability of each scores row (ESC 2019, ESC 2024 RF-CL or
 * CACS-CL, from the columns age, sex, symptoms, risk_factors, cacs) on the three-level scale, and a
 * reclassification matrix to combine it with the AI stratum. Rows that lack an input, or whose input is outside the
 * model's range, get no PTP and are counted by reason; nothing is guessed or extrapolated.
 */

import { PtpInputError } from '../ptp/input.js';
import type { PtpModel } from '../ptp/levels.js';
import { PTP_MODEL_INFO } from '../ptp/models.js';
import { pretestProbability } from '../ptp/pretest-probability.js';
import { ptpLevelOf, type ReclassificationMatrix, reclassificationWarnings } from '../reclassify.js';
import type { ScoreRow } from '../scores.js';
import type { PtpComparison } from './cohort.js';

/** How the report's tables name each PTP model (PTP_MODEL_INFO has the full names). */
export const PTP_MODEL_NAMES: Record<PtpModel, string> = {
  esc2019: 'ESC 2019 PTP',
  esc2024: 'ESC 2024 RF-CL',
  'cacs-cl': 'ESC 2024 CACS-CL',
};

/** The PtpComparison of a reclassification matrix (its ptpModel decides which PTP is used). */
export function ptpComparison(matrix: ReclassificationMatrix, matrixSource: string): PtpComparison {
  return {
    model: PTP_MODEL_NAMES[matrix.ptpModel],
    reference: PTP_MODEL_INFO[matrix.ptpModel].reference,
    matrixSource,
    matrix: matrix.cells,
    matrixWarnings: reclassificationWarnings(matrix),
    level(row: ScoreRow) {
      const { age, sex, symptoms, riskFactors, cacs } = row;
      if (age === undefined) return { missing: 'no age' };
      if (sex === undefined) return { missing: 'no sex' };
      if (symptoms === undefined) return { missing: 'no symptoms' };
      if (riskFactors === undefined) return { missing: 'no risk_factors' };
      if (matrix.ptpModel === 'cacs-cl' && cacs === undefined) return { missing: 'no cacs' };
      try {
        const result = pretestProbability({ age, sex, symptoms, riskFactors, ...(cacs === undefined ? {} : { cacs }) });
        const level = ptpLevelOf(result, matrix.ptpModel);
        return level === null ? { missing: `no ${PTP_MODEL_NAMES[matrix.ptpModel]} value` } : { level };
      } catch (err) {
        // The error names the input and its range, never the value.
        if (err instanceof PtpInputError) return { missing: `${err.input} outside the model's range` };
        throw err;
      }
    },
  };
}
