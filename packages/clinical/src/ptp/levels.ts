/**
 * One three-level scale for every PTP model, so a reclassification matrix can be written once. Each model's
 * categories map to the management step the guideline attaches to them:
 *
 * | scale        | ESC 2019 (2019 Fig. 4)            | ESC 2024 RF-CL and CACS-CL (2024 Fig. 5)                |
 * |--------------|-----------------------------------|---------------------------------------------------------|
 * | low          | low (<= 5 %): defer testing       | very low (<= 5 %): defer testing                        |
 * | intermediate | intermediate (6-15 %): consider   | low (> 5-15 %): CACS or non-invasive testing to         |
 * |              | non-invasive testing              | reclassify                                              |
 * | high         | high (> 15 %): non-invasive or    | moderate (> 15 %): non-invasive testing (CCTA or        |
 * |              | invasive testing                  | functional imaging)                                     |
 */
import type { Esc2019Category } from './esc2019.js';
import type { Esc2024Category } from './esc2024.js';

/** The PTP models the engine computes. */
export const PTP_MODELS = ['esc2019', 'esc2024', 'cacs-cl'] as const;
export type PtpModel = (typeof PTP_MODELS)[number];

/** The common three-level scale: low = rule-out, intermediate = grey zone, high = testing. */
export const PTP_LEVELS = ['low', 'intermediate', 'high'] as const;
export type PtpLevel = (typeof PTP_LEVELS)[number];

const ESC2019_LEVELS: Readonly<Record<Esc2019Category, PtpLevel>> = {
  low: 'low',
  intermediate: 'intermediate',
  high: 'high',
};

const ESC2024_LEVELS: Readonly<Record<Esc2024Category, PtpLevel>> = {
  'very low': 'low',
  low: 'intermediate',
  moderate: 'high',
};

/** Maps a model's category to the three-level scale; throws on a category the model does not have. */
export function ptpLevel(model: PtpModel, category: string): PtpLevel {
  const table: Readonly<Record<string, PtpLevel>> = model === 'esc2019' ? ESC2019_LEVELS : ESC2024_LEVELS;
  const level = Object.hasOwn(table, category) ? table[category] : undefined;
  if (level === undefined) throw new RangeError(`${model} has no category "${category}"`);
  return level;
}
