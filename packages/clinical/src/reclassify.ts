/**
 * Reclassification: a guideline pre-test probability (PTP) category and the AI-ECG stratum of a vessel combined
 * into one management category. A site configures the matrix; the engine ships a documented default.
 *
 * Combined categories: low = rule-out, no further testing for obstructive CAD; intermediate = grey zone,
 * non-invasive testing (CCTA or functional imaging); high = testing with priority, or referral.
 */
import type { Stratum } from '@ecgcad/ecg';
import { z } from 'zod';
import { PTP_LEVELS, PTP_MODELS, type PtpLevel, type PtpModel, ptpLevel } from './ptp/levels.js';
import type { PtpResult } from './ptp/pretest-probability.js';

export type CombinedCategory = 'low' | 'intermediate' | 'high';

/** PTP level (the model's category on the three-level scale, see `ptpLevel`) x AI stratum -> combined category. */
export interface ReclassificationMatrix {
  /** Whose categories the rows are: the PTP model a site reclassifies. */
  ptpModel: PtpModel;
  cells: Record<PtpLevel, Record<Stratum, CombinedCategory>>;
  /** Free text for the site: where the matrix came from, who approved it. */
  description?: string;
}

/**
 * The default cells, in the spirit of the study (arXiv 2512.05136: the AI strata added to PTP improved rule-out and
 * shrank the grey zone). Rows are the PTP level, columns the AI stratum:
 *
 * | PTP \ AI     | low          | intermediate | high         |
 * |--------------|--------------|--------------|--------------|
 * | low          | low          | low          | intermediate |
 * | intermediate | low          | intermediate | high         |
 * | high         | high         | high         | high         |
 *
 * - An AI intermediate stratum moves no one: it adds nothing to the PTP.
 * - Intermediate PTP (the grey zone) is where the AI result acts: AI low moves the patient to rule-out (the AI
 *   rule-out threshold is chosen for high sensitivity), AI high to testing (the rule-in threshold is chosen for
 *   high specificity).
 * - Low PTP with AI high moves up one level to non-invasive testing: the AI flags disease the guideline would miss.
 * - High PTP is never moved down: an ECG model with an AUC near 0.7 cannot talk a patient with a > 15 % clinical
 *   likelihood out of testing.
 * - No cell moves a patient by more than one level.
 */
const DEFAULT_CELLS: ReclassificationMatrix['cells'] = {
  low: { low: 'low', intermediate: 'low', high: 'intermediate' },
  intermediate: { low: 'low', intermediate: 'intermediate', high: 'high' },
  high: { low: 'high', intermediate: 'high', high: 'high' },
};

/** The default matrix for a PTP model (the same cells on the three-level scale for every model). */
export function defaultReclassification(ptpModel: PtpModel): ReclassificationMatrix {
  return {
    ptpModel,
    cells: structuredClone(DEFAULT_CELLS),
    description: 'ecgcad default: AI low moves an intermediate PTP to rule-out, AI high one level toward testing',
  };
}

/** The default matrix, on ESC 2024 RF-CL (the current guideline). */
export const DEFAULT_RECLASSIFICATION: ReclassificationMatrix = defaultReclassification('esc2024');

/** A matrix that cannot be used. `path` names the field, e.g. `cells.intermediate.high`. */
export class ReclassificationMatrixError extends Error {
  override readonly name = 'ReclassificationMatrixError';
  constructor(
    message: string,
    readonly paths: string[] = [],
  ) {
    super(message);
  }
}

const CATEGORY_LIST = PTP_LEVELS.join(', ');
const category = z.enum(PTP_LEVELS, { error: `must be one of ${CATEGORY_LIST}` });
const row = z.strictObject({ low: category, intermediate: category, high: category });
const matrixSchema = z.strictObject({
  ptpModel: z.enum(PTP_MODELS, { error: `must be one of ${PTP_MODELS.join(', ')}` }),
  cells: z.strictObject({ low: row, intermediate: row, high: row }),
  description: z.string().optional(),
});

/** Where an issue is, in words a site's clinical lead can act on. */
function describePath(path: readonly PropertyKey[]): string {
  const dotted = path.map(String).join('.');
  if (path[0] === 'cells' && path.length === 3)
    return `cell PTP ${String(path[1])} x AI ${String(path[2])} (${dotted})`;
  if (path[0] === 'cells' && path.length === 2) return `row PTP ${String(path[1])} (${dotted})`;
  return dotted === '' ? 'the matrix' : dotted;
}

/** True when the key at the end of `path` is absent from its parent object (zod reports it as a wrong value). */
function isMissing(value: unknown, path: readonly PropertyKey[]): boolean {
  let parent = value;
  for (const key of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  const last = path.at(-1);
  return last !== undefined && parent !== null && typeof parent === 'object' && !Object.hasOwn(parent, last);
}

/**
 * Reads a reclassification matrix from JSON text or an already parsed value. Every cell must be present (3 PTP
 * levels x 3 AI strata) and name a combined category; unknown keys are refused. Errors name each bad cell.
 */
export function parseReclassificationMatrix(json: unknown): ReclassificationMatrix {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      throw new ReclassificationMatrixError('reclassification matrix: not valid JSON');
    }
  }
  const parsed = matrixSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const paths: string[] = [];
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? ` in ${describePath(issue.path)}` : '';
      paths.push(...issue.keys.map((k) => [...issue.path.map(String), k].join('.')));
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.join(', ')}${where}`;
    }
    paths.push(issue.path.map(String).join('.'));
    const problem = isMissing(value, issue.path) ? 'missing' : issue.message;
    return `${describePath(issue.path)}: ${problem}`;
  });
  throw new ReclassificationMatrixError(`reclassification matrix: ${problems.join('; ')}`, paths);
}

/**
 * Where a matrix departs from the rules the default follows: a cell that moves a patient by two levels, or moves
 * against the AI result (AI low raising, AI high lowering). A site may choose that; `evaluate` and the docs show
 * these lines so it is a choice, not a typo. Empty for the default.
 */
export function reclassificationWarnings(matrix: ReclassificationMatrix): string[] {
  const rank: Record<CombinedCategory, number> = { low: 0, intermediate: 1, high: 2 };
  const warnings: string[] = [];
  for (const ptp of PTP_LEVELS) {
    for (const ai of PTP_LEVELS) {
      const combined = matrix.cells[ptp][ai];
      const move = rank[combined] - rank[ptp];
      const cell = `cell PTP ${ptp} x AI ${ai} (${ptp} -> ${combined})`;
      if (Math.abs(move) > 1) warnings.push(`${cell} moves the patient by two levels`);
      if (ai === 'low' && move > 0) warnings.push(`${cell} raises the category on a low AI result`);
      if (ai === 'high' && move < 0) warnings.push(`${cell} lowers the category on a high AI result`);
    }
  }
  return warnings;
}

/** The PTP level of a result under a model; null when that model has no value (no cell, no calcium score). */
export function ptpLevelOf(result: PtpResult, model: PtpModel): PtpLevel | null {
  const value = model === 'esc2019' ? result.esc2019 : model === 'esc2024' ? result.esc2024 : result.cacsCl;
  return value === null ? null : ptpLevel(model, value.category);
}

/**
 * The combined category of a patient and one vessel's AI stratum. Null when the matrix's PTP model has no value
 * for this patient (ESC 2019 without symptoms, CACS-CL without a calcium score): `result.notes` says why.
 */
export function combinedCategory(
  matrix: ReclassificationMatrix,
  result: PtpResult,
  stratum: Stratum,
): CombinedCategory | null {
  const level = ptpLevelOf(result, matrix.ptpModel);
  return level === null ? null : matrix.cells[level][stratum];
}
