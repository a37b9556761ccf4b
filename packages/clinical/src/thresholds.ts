/**
 * Operating points of a score on a binary outcome, and the two ways of choosing the rule-out and rule-in
 * thresholds of a vessel: by target sensitivity / specificity on the observed scores, or by the study notebook's
 * rule (fixed base threshold and a search on a fixed grid). A case is called positive when p >= t throughout.
 */
import type { Vessel } from '@ecgcad/ecg';
import { firstAtOrAbove, splitByLabel, tieGroups } from './binary.js';

/** The 2 x 2 table of "p >= threshold" against the label, and its rates. */
export interface ThresholdMetrics {
  threshold: number;
  /** tp / (tp + fn). */
  sensitivity: number;
  /** tn / (tn + fp). */
  specificity: number;
  /** tp / (tp + fp); null when nothing is called positive. */
  ppv: number | null;
  /** tn / (tn + fn); null when nothing is called negative. */
  npv: number | null;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** No threshold meets the target: names what was asked and, where known, the vessel. */
export class ThresholdNotFoundError extends Error {
  override readonly name = 'ThresholdNotFoundError';
  constructor(
    message: string,
    readonly vessel?: Vessel,
  ) {
    super(vessel ? `${vessel}: ${message}` : message);
  }
}

/** Metrics from the four counts (the one place sensitivity and specificity are divided out, so all agree). */
export function metricsFromCounts(threshold: number, tp: number, fp: number, tn: number, fn: number): ThresholdMetrics {
  return {
    threshold,
    sensitivity: tp / (tp + fn),
    specificity: tn / (tn + fp),
    ppv: tp + fp > 0 ? tp / (tp + fp) : null,
    npv: tn + fn > 0 ? tn / (tn + fn) : null,
    tp,
    fp,
    tn,
    fn,
  };
}

/** Sensitivity, specificity, PPV and NPV of "p >= t". Needs both classes. */
export function metricsAt(p: ArrayLike<number>, y: ArrayLike<number>, t: number): ThresholdMetrics {
  const { positives, negatives } = splitByLabel(p, y);
  const fn = firstAtOrAbove(positives, t);
  const tn = firstAtOrAbove(negatives, t);
  return metricsFromCounts(t, positives.length - fn, negatives.length - tn, tn, fn);
}

function checkTarget(name: string, target: number): void {
  if (!(target > 0 && target <= 1)) throw new RangeError(`target ${name} must be in (0, 1], got ${target}`);
}

/**
 * The rule-out threshold: the HIGHEST observed score t at which the sensitivity of "p >= t" is still >= the
 * target. Sensitivity only falls as t rises, so at the next observed score above t it is below the target (or t is
 * the highest score). Always exists: at the lowest score the sensitivity is 1.
 */
export function ruleOutThreshold(p: ArrayLike<number>, y: ArrayLike<number>, targetSensitivity: number): number {
  checkTarget('sensitivity', targetSensitivity);
  const groups = tieGroups(splitByLabel(p, y));
  const m = groups.positiveGroup.length;
  let posBelow = 0;
  let best = 0;
  for (let g = 0; g < groups.values.length; g++) {
    if ((m - posBelow) / m < targetSensitivity) break;
    best = g;
    posBelow += groups.positives[g] as number;
  }
  return groups.values[best] as number;
}

/**
 * The rule-in threshold: the LOWEST observed score t at which the specificity of "p >= t" is >= the target.
 * Specificity only rises with t, so at the next observed score below t it is under the target (or t is the lowest
 * score). ThresholdNotFoundError when no observed score reaches it (negatives tied at the top score).
 */
export function ruleInThreshold(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  targetSpecificity: number,
  vessel?: Vessel,
): number {
  checkTarget('specificity', targetSpecificity);
  const groups = tieGroups(splitByLabel(p, y));
  const n = groups.negativeGroup.length;
  let negBelow = 0;
  for (let g = 0; g < groups.values.length; g++) {
    if (negBelow / n >= targetSpecificity) return groups.values[g] as number;
    negBelow += groups.negatives[g] as number;
  }
  throw new ThresholdNotFoundError(
    `no observed score reaches a specificity of ${targetSpecificity}: too many negatives share the highest scores`,
    vessel,
  );
}

/**
 * The study notebook's rule, per vessel (shunxio/AnyECG-CCTA analysis.ipynb): rule-out at a fixed base threshold
 * (0.15, the ESC 15 % PTP boundary; LM 0.01 for its low prevalence) and rule-in ("opportunistic screening") at the
 * first value of a 200-point grid that is >= the base and reaches a specificity of 0.95 (LM 0.87).
 */
export interface StudyRule {
  base: number;
  gridFrom: number;
  gridTo: number;
  gridPoints: number;
  specificity: number;
}

const STUDY_DEFAULT: StudyRule = { base: 0.15, gridFrom: 0.01, gridTo: 0.6, gridPoints: 200, specificity: 0.95 };

export const STUDY_RULES: Readonly<Record<Vessel, StudyRule>> = {
  RCA: STUDY_DEFAULT,
  LM: { base: 0.01, gridFrom: 0.001, gridTo: 0.1, gridPoints: 200, specificity: 0.87 },
  LAD: STUDY_DEFAULT,
  LCx: STUDY_DEFAULT,
};

/**
 * numpy.linspace(start, stop, num) bit for bit: start + i x (stop - start) / (num - 1), the last value exactly
 * stop, so the grid holds the notebook's very numbers.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * The study's thresholds for a vessel: ruleOut = the base; ruleIn = the first grid value >= base whose
 * specificity (of "p >= value") is >= the vessel's target. ThresholdNotFoundError naming the vessel when no grid
 * value reaches it (the notebook returns NaN there).
 */
export function studyThresholds(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  vessel: Vessel,
): { ruleOut: number; ruleIn: number; rule: StudyRule } {
  const rule = STUDY_RULES[vessel];
  const { negatives } = splitByLabel(p, y);
  const n = negatives.length;
  for (const t of linspace(rule.gridFrom, rule.gridTo, rule.gridPoints)) {
    if (t < rule.base) continue;
    if (firstAtOrAbove(negatives, t) / n >= rule.specificity) return { ruleOut: rule.base, ruleIn: t, rule };
  }
  throw new ThresholdNotFoundError(
    `no threshold from ${rule.base} to ${rule.gridTo} on the study grid reaches a specificity of ${rule.specificity}`,
    vessel,
  );
}
