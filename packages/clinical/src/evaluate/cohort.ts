/**
 * The whole evaluation of a labelled cohort, as the study did it, in one JSON-ready object: per vessel ROC and AUC
 * (DeLong and bootstrap CIs), the card's thresholds as operating points, calibration, decision curve, strata table,
 * PTP alone vs PTP combined with the AI stratum (where the scores carry PTP inputs) and Kaplan-Meier curves of MACE
 * by AI risk group (where they carry follow-up). Pure: the caller reads the files and writes the results.
 */
import { type Stratum, VESSELS, type Vessel } from '@ecgcad/ecg';
import { type BootstrapResult, bootstrapRoc, type Interval } from '../bootstrap.js';
import { delongAuc } from '../delong.js';
import { type RocPoint, rocCurve } from '../roc.js';
import { labelled, type ScoreRow } from '../scores.js';
import { type CalibrationSummary, calibrationSummary } from './calibration.js';
import { DEFAULT_DECISION_THRESHOLDS, type DecisionPoint, decisionCurve } from './decision-curve.js';
import { type Proportion, proportion } from './proportion.js';
import { type ReclassificationSummary, reclassification } from './reclassification.js';
import { type StratumRow, type StratumThresholds, strataTable, stratumOf } from './strata.js';
import { type KaplanMeierCurve, kaplanMeier, type LogRankTest, logRankTest } from './survival.js';

/** The version of the evaluation.json shape. */
export const EVALUATION_SCHEMA = 'ecgcad-evaluation/1';

/** Fewest cases of each class for a vessel to be evaluated (DeLong's variance needs two of each). */
export const MIN_CASES_PER_CLASS = 2;

/** At most this many ROC points are kept (evenly by rank, corners included); the AUC uses every case. */
export const MAX_ROC_POINTS = 400;

/** How PTP and the combination with the AI stratum are computed, supplied by the caller. */
export interface PtpComparison {
  /** The PTP model's name, as the report shows it (e.g. "ESC 2024 RF-CL"). */
  model: string;
  /** The publication that defines the PTP model. */
  reference?: string;
  /** Where the reclassification matrix came from (e.g. "default" or a file name). */
  matrixSource: string;
  /** PTP level x AI stratum -> combined level. */
  matrix: Record<Stratum, Record<Stratum, Stratum>>;
  /** Cells where the matrix departs from the default's rules (moves two levels, or against the AI result). */
  matrixWarnings?: string[];
  /** The PTP level of a row, or why it has none (a missing or out-of-range input: the column name, no values). */
  level(row: ScoreRow): { level: Stratum } | { missing: string };
}

export interface EvaluationOptions {
  model: { id: string; version: string; clinicalUse: boolean; intendedUse: string; outcome?: string };
  /** Per vessel thresholds (the model card's). Vessels without thresholds are not evaluated. */
  thresholds: Partial<Record<Vessel, StratumThresholds>>;
  /** Vessels to evaluate, in order. Default: those with thresholds, in VESSELS order. */
  vessels?: readonly Vessel[];
  /** Percentile bootstrap of the AUC: resamples (default 1,000) and seed (default 42, the study's). */
  bootstrap?: { resamples?: number; seed?: number };
  decisionThresholds?: readonly number[];
  calibrationGroups?: number;
  ptp?: PtpComparison;
  /** The scores file, for the record: name and sha256. */
  source?: { file: string; sha256: string };
  /** ISO time stamp of the evaluation (the caller's clock, so this stays pure). */
  generatedAt: string;
  /** Engine version, for the record. */
  engineVersion?: string;
}

/** One of the card's thresholds as an operating point (positive when p >= threshold). */
export interface EvaluatedOperatingPoint {
  name: 'ruleOut' | 'ruleIn';
  threshold: number;
  sensitivity: Proportion;
  specificity: Proportion;
  ppv: Proportion;
  npv: Proportion;
  /** Stratified percentile bootstrap intervals (same resamples as the AUC). */
  bootstrap: { sensitivity: Interval; specificity: Interval; ppv: Interval; npv: Interval };
}

/** Kaplan-Meier of MACE by AI risk group and the log-rank test. */
export interface SurvivalComparison {
  /** "High" is p >= ruleOut (not low), as the study did; "Low" is p < ruleOut. */
  grouping: string;
  threshold: number;
  low: KaplanMeierCurve;
  high: KaplanMeierCurve;
  logRank: LogRankTest;
}

export interface VesselEvaluation {
  vessel: Vessel;
  /** Rows with a probability and a label for this vessel. */
  n: number;
  positives: number;
  negatives: number;
  evaluable: boolean;
  /** Why the vessel could not be evaluated (e.g. all one class). */
  reason?: string;
  thresholds: StratumThresholds;
  prevalence?: Proportion;
  auc?: {
    value: number;
    delong: { se: number; ci95: [number, number] };
    bootstrap: { ci95: Interval; resamples: number; seed: number };
  };
  /**
   * The empirical ROC curve, thinned to at most MAX_ROC_POINTS points. The first point's threshold is null: the
   * corner (0, 0) where nothing is called positive (+Infinity, which JSON cannot hold).
   */
  roc?: JsonRocPoint[];
  operatingPoints?: EvaluatedOperatingPoint[];
  calibration?: CalibrationSummary;
  decisionCurve?: DecisionPoint[];
  strata?: StratumRow[];
  ptpComparison?: PtpVesselComparison;
  /** MACE by AI risk group; present where rows have follow-up, even when the labels are all one class. */
  survival?: SurvivalComparison;
  /** Why there is no survival comparison, where there is none. */
  survivalReason?: string;
}

/** A ROC point as stored in JSON: threshold null for +Infinity. */
export interface JsonRocPoint {
  threshold: number | null;
  sensitivity: number;
  specificity: number;
}

export interface PtpVesselComparison extends ReclassificationSummary {
  model: string;
  /** Labelled rows of the vessel without a PTP, by reason. */
  missing: Record<string, number>;
}

export interface Evaluation {
  schema: typeof EVALUATION_SCHEMA;
  generatedAt: string;
  engineVersion?: string;
  model: EvaluationOptions['model'];
  source?: { file: string; sha256: string };
  rows: { total: number; scored: number; notScored: number };
  settings: {
    bootstrap: { resamples: number; seed: number };
    decisionThresholds: number[];
    calibrationGroups: number;
    positiveRule: string;
    ptp?: {
      model: string;
      reference?: string;
      matrixSource: string;
      matrix: Record<Stratum, Record<Stratum, Stratum>>;
      matrixWarnings: string[];
    };
  };
  vessels: VesselEvaluation[];
}

/** Evaluates every vessel of a cohort. Vessels that cannot be evaluated say why instead of throwing. */
export function evaluateCohort(rows: readonly ScoreRow[], options: EvaluationOptions): Evaluation {
  const resamples = options.bootstrap?.resamples ?? 1000;
  const seed = options.bootstrap?.seed ?? 42;
  const decisionThresholds = [...(options.decisionThresholds ?? DEFAULT_DECISION_THRESHOLDS)];
  const calibrationGroups = options.calibrationGroups ?? 10;
  const vessels = options.vessels ?? VESSELS.filter((v) => options.thresholds[v] !== undefined);
  const scored = rows.filter((r) => Object.keys(r.probabilities).length > 0).length;
  const evaluation: Evaluation = {
    schema: EVALUATION_SCHEMA,
    generatedAt: options.generatedAt,
    model: options.model,
    rows: { total: rows.length, scored, notScored: rows.length - scored },
    settings: {
      bootstrap: { resamples, seed },
      decisionThresholds,
      calibrationGroups,
      positiveRule: 'a case is called positive when p >= threshold',
    },
    vessels: vessels.map((vessel) => {
      const thresholds = options.thresholds[vessel];
      if (!thresholds) throw new RangeError(`no thresholds for ${vessel}`);
      return evaluateVessel(
        rows,
        vessel,
        thresholds,
        { resamples, seed, decisionThresholds, calibrationGroups },
        options.ptp,
      );
    }),
  };
  if (options.engineVersion) evaluation.engineVersion = options.engineVersion;
  if (options.source) evaluation.source = options.source;
  if (options.ptp) {
    const { model, reference, matrixSource, matrix, matrixWarnings = [] } = options.ptp;
    evaluation.settings.ptp = { model, matrixSource, matrix, matrixWarnings, ...(reference ? { reference } : {}) };
  }
  return evaluation;
}

function evaluateVessel(
  rows: readonly ScoreRow[],
  vessel: Vessel,
  thresholds: StratumThresholds,
  settings: { resamples: number; seed: number; decisionThresholds: number[]; calibrationGroups: number },
  ptp: PtpComparison | undefined,
): VesselEvaluation {
  const { p, y, rows: kept } = labelled(rows, vessel);
  let positives = 0;
  for (const v of y) positives += v;
  const negatives = y.length - positives;
  const result: VesselEvaluation = { vessel, n: y.length, positives, negatives, evaluable: false, thresholds };
  Object.assign(result, survivalOf(rows, vessel, thresholds));
  if (positives < MIN_CASES_PER_CLASS || negatives < MIN_CASES_PER_CLASS) {
    result.reason =
      y.length === 0
        ? 'no row has both a probability and a label for this vessel'
        : `${positives} positive and ${negatives} negative labelled cases: ROC, calibration and decision curves need ` +
          `at least ${MIN_CASES_PER_CLASS} of each class`;
    return result;
  }
  result.evaluable = true;
  result.prevalence = proportion(positives, y.length);
  const delong = delongAuc(p, y);
  const boot = bootstrapRoc(p, y, {
    resamples: settings.resamples,
    seed: settings.seed,
    thresholds: [thresholds.ruleOut, thresholds.ruleIn],
  });
  result.auc = {
    value: delong.auc,
    delong: { se: delong.se, ci95: delong.ci95 },
    bootstrap: { ci95: boot.auc, resamples: boot.resamples, seed: boot.seed },
  };
  result.roc = thinRoc(rocCurve(p, y)).map((pt) => ({
    ...pt,
    threshold: Number.isFinite(pt.threshold) ? pt.threshold : null,
  }));
  result.operatingPoints = [
    operatingPoint('ruleOut', thresholds.ruleOut, p, y, boot, 0),
    operatingPoint('ruleIn', thresholds.ruleIn, p, y, boot, 1),
  ];
  result.calibration = calibrationSummary(p, y, settings.calibrationGroups);
  result.decisionCurve = decisionCurve(p, y, settings.decisionThresholds);
  result.strata = strataTable(p, y, thresholds);
  const comparison = ptp ? comparePtp(ptp, kept, p, y, thresholds) : undefined;
  if (comparison) result.ptpComparison = comparison;
  return result;
}

function operatingPoint(
  name: EvaluatedOperatingPoint['name'],
  threshold: number,
  p: Float64Array,
  y: Uint8Array,
  boot: BootstrapResult,
  index: number,
): EvaluatedOperatingPoint {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < p.length; i++) {
    const positive = (p[i] as number) >= threshold;
    if (y[i] === 1) positive ? tp++ : fn++;
    else positive ? fp++ : tn++;
  }
  const b = boot.thresholds[index];
  return {
    name,
    threshold,
    sensitivity: proportion(tp, tp + fn),
    specificity: proportion(tn, tn + fp),
    ppv: proportion(tp, tp + fp),
    npv: proportion(tn, tn + fn),
    bootstrap: {
      sensitivity: b?.sensitivity ?? null,
      specificity: b?.specificity ?? null,
      ppv: b?.ppv ?? null,
      npv: b?.npv ?? null,
    },
  };
}

/** Keeps at most MAX_ROC_POINTS points, evenly spaced by index, always with both ends. */
export function thinRoc(points: RocPoint[], max = MAX_ROC_POINTS): RocPoint[] {
  if (points.length <= max) return points;
  const out: RocPoint[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * step)] as RocPoint);
  return out;
}

function comparePtp(
  ptp: PtpComparison,
  rows: readonly ScoreRow[],
  p: Float64Array,
  y: Uint8Array,
  thresholds: StratumThresholds,
): PtpVesselComparison | undefined {
  const ptpLevels: Stratum[] = [];
  const combined: Stratum[] = [];
  const outcomes: number[] = [];
  const missing: Record<string, number> = {};
  rows.forEach((row, i) => {
    const got = ptp.level(row);
    if ('missing' in got) {
      missing[got.missing] = (missing[got.missing] ?? 0) + 1;
      return;
    }
    ptpLevels.push(got.level);
    combined.push(ptp.matrix[got.level][stratumOf(p[i] as number, thresholds)]);
    outcomes.push(y[i] as number);
  });
  if (ptpLevels.length === 0) return undefined;
  return { model: ptp.model, missing, ...reclassification(ptpLevels, combined, outcomes) };
}

function survivalOf(
  rows: readonly ScoreRow[],
  vessel: Vessel,
  thresholds: StratumThresholds,
): Pick<VesselEvaluation, 'survival' | 'survivalReason'> {
  const time: number[] = [];
  const event: number[] = [];
  const group: number[] = [];
  for (const row of rows) {
    const p = row.probabilities[vessel];
    if (p === undefined || row.maceDays === undefined || row.maceEvent === undefined) continue;
    time.push(row.maceDays);
    event.push(row.maceEvent);
    group.push(p >= thresholds.ruleOut ? 1 : 0);
  }
  if (time.length === 0) return { survivalReason: 'no row has follow-up (mace_days, mace_event)' };
  const pick = (g: number) => {
    const t: number[] = [];
    const e: number[] = [];
    group.forEach((v, i) => {
      if (v === g) {
        t.push(time[i] as number);
        e.push(event[i] as number);
      }
    });
    return kaplanMeier(t, e);
  };
  const low = pick(0);
  const high = pick(1);
  if (low.n === 0 || high.n === 0) {
    return { survivalReason: `every case with follow-up is in the ${low.n === 0 ? 'high' : 'low'} risk group` };
  }
  return {
    survival: {
      grouping: `High: p >= ruleOut (${thresholds.ruleOut}); Low: p < ruleOut`,
      threshold: thresholds.ruleOut,
      low,
      high,
      logRank: logRankTest(time, event, group),
    },
  };
}
