/**
 * Site calibration of the vessel thresholds on a labelled cohort (`ecgcad calibrate`): per vessel the ROC curve,
 * the AUC with DeLong and bootstrap 95 % CIs, and the rule-out and rule-in thresholds with sensitivity,
 * specificity, PPV, NPV and their bootstrap CIs. Pure: rows in, numbers out.
 */
import { VESSELS, type Vessel } from '@ecgcad/ecg';
import { bootstrapRoc, type Interval } from './bootstrap.js';
import { delongAuc } from './delong.js';
import { type RocPoint, rocCurve } from './roc.js';
import { labelled, type ScoreRow } from './scores.js';
import {
  metricsAt,
  ruleInThreshold,
  ruleOutThreshold,
  STUDY_RULES,
  type StudyRule,
  studyThresholds,
  type ThresholdMetrics,
  ThresholdNotFoundError,
} from './thresholds.js';

/**
 * How thresholds are chosen. `sens-spec`: rule-out = the highest observed t with sensitivity >= the target,
 * rule-in = the lowest observed t with specificity >= the target. `study`: the study notebook's rule (fixed base,
 * grid search for the specificity target; see STUDY_RULES).
 */
export type CalibrationRule = 'sens-spec' | 'study';
export const CALIBRATION_RULES: readonly CalibrationRule[] = ['sens-spec', 'study'];

export interface CalibrateOptions {
  rule?: CalibrationRule;
  /** Target sensitivity of the rule-out threshold (sens-spec rule; default 0.9). */
  sensitivity?: number;
  /** Target specificity of the rule-in threshold (sens-spec rule; default 0.9). */
  specificity?: number;
  /** Bootstrap resamples (default 1,000). */
  bootstrap?: number;
  /** Bootstrap seed (default 42). */
  seed?: number;
  /** Vessels to calibrate (default all four). */
  vessels?: readonly Vessel[];
  /** Fewest positives and fewest negatives a vessel needs (default 20). */
  minimumPerClass?: number;
  /** Most ROC points kept per vessel in the result (default 500; evenly thinned beyond, corners kept). */
  rocPoints?: number;
}

/** Bootstrap 95 % percentile intervals of an operating point's rates. */
export interface OperatingPointIntervals {
  sensitivity: Interval;
  specificity: Interval;
  ppv: Interval;
  npv: Interval;
}

/** A chosen threshold with its 2 x 2 table on the cohort and bootstrap CIs. */
export interface OperatingPoint extends ThresholdMetrics {
  ci95: OperatingPointIntervals;
}

export interface VesselCalibration {
  /** Rows with both a probability and a label for the vessel. */
  n: number;
  positives: number;
  negatives: number;
  auc: number;
  /** DeLong standard error of the AUC. */
  aucSe: number;
  aucCi95: { delong: [number, number]; bootstrap: Interval };
  ruleOut: OperatingPoint;
  ruleIn: OperatingPoint;
  /** The empirical ROC curve (threshold +Infinity at (0, 0), which JSON writes as null). */
  roc: RocPoint[];
  /** True when `roc` was thinned to `rocPoints` points. */
  rocThinned: boolean;
  /** Plain-language notes on choices made for this vessel (e.g. rule-in raised to the rule-out threshold). */
  notes: string[];
}

export interface CalibrationResult {
  rule: CalibrationRule;
  /** What the thresholds were chosen for. */
  targets: { sensitivity: number; specificity: number } | { study: Partial<Record<Vessel, StudyRule>> };
  bootstrap: { resamples: number; seed: number; scheme: 'stratified percentile' };
  vessels: Partial<Record<Vessel, VesselCalibration>>;
}

/** A cohort or vessel that cannot be calibrated; `vessel` names it. */
export class CalibrationError extends Error {
  override readonly name = 'CalibrationError';
  constructor(
    message: string,
    readonly vessel?: Vessel,
  ) {
    super(message);
  }
}

/** Calibrates every requested vessel; throws CalibrationError naming the first vessel that cannot be. */
export function calibrateCohort(rows: readonly ScoreRow[], options: CalibrateOptions = {}): CalibrationResult {
  const rule = options.rule ?? 'sens-spec';
  const sensitivity = options.sensitivity ?? 0.9;
  const specificity = options.specificity ?? 0.9;
  const resamples = options.bootstrap ?? 1000;
  const seed = options.seed ?? 42;
  const vessels = options.vessels ?? VESSELS;
  if (!CALIBRATION_RULES.includes(rule)) throw new CalibrationError(`unknown rule "${rule}": sens-spec or study`);
  for (const [name, value] of [
    ['sensitivity', sensitivity],
    ['specificity', specificity],
  ] as const) {
    if (!(value > 0 && value <= 1)) throw new CalibrationError(`target ${name} must be in (0, 1], got ${value}`);
  }
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new CalibrationError(`bootstrap resamples must be a whole number >= 1, got ${resamples}`);
  }
  const result: CalibrationResult = {
    rule,
    targets:
      rule === 'study'
        ? { study: Object.fromEntries(vessels.map((v) => [v, STUDY_RULES[v]])) }
        : { sensitivity, specificity },
    bootstrap: { resamples, seed, scheme: 'stratified percentile' },
    vessels: {},
  };
  for (const vessel of vessels) {
    result.vessels[vessel] = calibrateVessel(rows, vessel, {
      ...options,
      rule,
      sensitivity,
      specificity,
      resamples,
      seed,
    });
  }
  return result;
}

function calibrateVessel(
  rows: readonly ScoreRow[],
  vessel: Vessel,
  o: CalibrateOptions & {
    rule: CalibrationRule;
    sensitivity: number;
    specificity: number;
    resamples: number;
    seed: number;
  },
): VesselCalibration {
  const { p, y } = labelled(rows, vessel);
  const n = p.length;
  let positives = 0;
  for (const label of y) positives += label;
  const negatives = n - positives;
  const minimum = o.minimumPerClass ?? 20;
  if (n === 0) throw new CalibrationError(`${vessel}: no row has both a probability and a label`, vessel);
  if (positives === 0 || negatives === 0) {
    throw new CalibrationError(
      `${vessel}: all ${n} labelled rows are ${positives === 0 ? 'negative (0)' : 'positive (1)'}: both classes are needed`,
      vessel,
    );
  }
  if (positives < minimum || negatives < minimum) {
    throw new CalibrationError(
      `${vessel}: ${positives} positives and ${negatives} negatives; calibration needs at least ${minimum} of each`,
      vessel,
    );
  }
  const notes: string[] = [];
  let ruleOut: number;
  let ruleIn: number;
  try {
    if (o.rule === 'study') {
      ({ ruleOut, ruleIn } = studyThresholds(p, y, vessel));
    } else {
      ruleOut = ruleOutThreshold(p, y, o.sensitivity);
      ruleIn = ruleInThreshold(p, y, o.specificity, vessel);
    }
  } catch (err) {
    if (err instanceof ThresholdNotFoundError) throw new CalibrationError(err.message, vessel);
    throw err;
  }
  if (ruleIn < ruleOut) {
    // Specificity only rises with t, so at the rule-out threshold it still meets its target: both targets hold,
    // and the intermediate stratum is empty, which the model card requires (ruleOut <= ruleIn).
    notes.push(
      `the lowest threshold reaching the specificity target (${ruleIn}) is below the rule-out threshold; rule-in raised to ${ruleOut}, leaving no intermediate stratum`,
    );
    ruleIn = ruleOut;
  }
  const delong = delongAuc(p, y);
  const boot = bootstrapRoc(p, y, { resamples: o.resamples, seed: o.seed, thresholds: [ruleOut, ruleIn] });
  const point = (t: number, k: number): OperatingPoint => {
    const b = boot.thresholds[k]!;
    return {
      ...metricsAt(p, y, t),
      ci95: { sensitivity: b.sensitivity, specificity: b.specificity, ppv: b.ppv, npv: b.npv },
    };
  };
  const fullRoc = rocCurve(p, y);
  const maxPoints = Math.max(2, o.rocPoints ?? 500);
  return {
    n,
    positives,
    negatives,
    auc: delong.auc,
    aucSe: delong.se,
    aucCi95: { delong: delong.ci95, bootstrap: boot.auc },
    ruleOut: point(ruleOut, 0),
    ruleIn: point(ruleIn, 1),
    roc: thin(fullRoc, maxPoints),
    rocThinned: fullRoc.length > maxPoints,
    notes,
  };
}

/** At most `max` points, evenly spaced along the curve's point list, both ends kept. */
function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  return Array.from({ length: max }, (_, k) => points[Math.round((k * (points.length - 1)) / (max - 1))] as T);
}
