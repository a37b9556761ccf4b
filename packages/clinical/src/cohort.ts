/**
 * A synthetic labelled cohort whose true AUC per vessel is known by construction, so `score`, `calibrate` and
 * `evaluate` can be tried and tested without patient data.
 *
 * Labels: per vessel, disease (1) with the vessel's prevalence; vessels are correlated through one shared
 * "atherosclerotic burden" liability (a Gaussian copula with correlation `labelCorrelation`), as multi-vessel
 * disease is in real cohorts.
 * Latent: per vessel, a binormal score x ~ N(0, 1) without disease and N(d, 1) with it, drawn independently of
 * everything else given the label. The AUC of x for the label is then exactly Phi(d / sqrt 2) in the population
 * (the binormal ROC model, Hanley 1988), so d = sqrt 2 * Phi^-1(AUC). Whatever carries x faithfully (an ECG effect
 * and a model that reads it) has that AUC; a sample of n has it up to sampling error.
 * Clinical columns depend on the number of diseased vessels (the "burden" b): older, more often male, more typical
 * symptoms, more risk factors, higher calcium scores; MACE follow-up has a hazard that grows with b and is censored
 * at a follow-up of one to five years.
 *
 * Pure and deterministic: the same options give the same cohort on every platform.
 */
import { gaussian, mulberry32, type Uniform, VESSELS, type Vessel } from '@ecgcad/ecg';
import { auc } from './roc.js';
import type { ClinicalColumns, Label, SymptomType } from './scores.js';

/** Standard normal quantile (P. J. Acklam's rational approximation; relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('normalQuantile: p must be in (0, 1)');
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** The separation d that gives a binormal AUC: sqrt 2 * Phi^-1(auc). */
export const separationForAuc = (auc: number): number => Math.SQRT2 * normalQuantile(auc);

/** What the cohort plants for one vessel. */
export interface CohortVesselSpec {
  /** Share of the cohort with disease in this vessel. */
  prevalence: number;
  /** The AUC the latent has for the label in the population. */
  auc: number;
}

/** Options of generateCohort(). */
export interface CohortOptions {
  count: number;
  /** PRNG seed (unsigned 32-bit). Default 1. */
  seed?: number;
  /** Per vessel prevalence and planted AUC. Default COHORT_DEFAULTS.vessels. */
  vessels?: Partial<Record<Vessel, CohortVesselSpec>>;
  /** Correlation of the vessels' disease liabilities. Default 0.35. */
  labelCorrelation?: number;
}

/**
 * Defaults: prevalences of the order seen in a CCTA-referred population and planted AUCs like those the study
 * (arXiv 2512.05136) reports per vessel.
 */
export const COHORT_DEFAULTS: { vessels: Record<Vessel, CohortVesselSpec>; labelCorrelation: number } = {
  vessels: {
    RCA: { prevalence: 0.25, auc: 0.72 },
    LM: { prevalence: 0.08, auc: 0.68 },
    LAD: { prevalence: 0.3, auc: 0.74 },
    LCx: { prevalence: 0.2, auc: 0.7 },
  },
  labelCorrelation: 0.35,
};

/** One synthetic subject. */
export interface CohortSubject {
  /** 0-based position in the cohort. */
  index: number;
  /** Per vessel binormal latent (what the ECG carries and the cohort model reads). */
  latents: Record<Vessel, number>;
  /** Labels and the PTP and follow-up columns (every label known). */
  clinical: ClinicalColumns & { labels: Record<Vessel, Label> };
}

/** A generated cohort and what it plants. */
export interface Cohort {
  subjects: CohortSubject[];
  vessels: Record<Vessel, CohortVesselSpec & { separation: number }>;
}

function pick<T>(uniform: Uniform, choices: ReadonlyArray<readonly [T, number]>): T {
  let u = uniform() * choices.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, weight] of choices) {
    u -= weight;
    if (u < 0) return value;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Generates the cohort. RangeError for a prevalence or AUC out of (0, 1) or a count that is not positive. */
export function generateCohort(options: CohortOptions): Cohort {
  const count = options.count;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive whole number');
  const rho = options.labelCorrelation ?? COHORT_DEFAULTS.labelCorrelation;
  if (!(rho >= 0 && rho < 1)) throw new RangeError('labelCorrelation must be in [0, 1)');
  const vessels = {} as Cohort['vessels'];
  for (const v of VESSELS) {
    const spec = options.vessels?.[v] ?? COHORT_DEFAULTS.vessels[v];
    if (!(spec.prevalence > 0 && spec.prevalence < 1)) throw new RangeError(`${v}: prevalence must be in (0, 1)`);
    if (!(spec.auc > 0 && spec.auc < 1)) throw new RangeError(`${v}: auc must be in (0, 1)`);
    vessels[v] = { ...spec, separation: separationForAuc(spec.auc) };
  }
  const uniform = mulberry32(options.seed ?? 1);
  const normal = gaussian(uniform);
  const subjects: CohortSubject[] = [];
  for (let index = 0; index < count; index++) {
    // Labels from correlated liabilities; latents from the binormal model given each label.
    const shared = normal();
    const labels = {} as Record<Vessel, Label>;
    const latents = {} as Record<Vessel, number>;
    for (const v of VESSELS) {
      const { prevalence, separation } = vessels[v];
      const liability = Math.sqrt(rho) * shared + Math.sqrt(1 - rho) * normal();
      labels[v] = liability > normalQuantile(1 - prevalence) ? 1 : 0;
      latents[v] = normal() + (labels[v] === 1 ? separation : 0);
    }
    const burden = VESSELS.reduce((n, v) => n + labels[v], 0);
    const sick = burden > 0;
    const male = uniform() < 0.45 + 0.12 * Math.min(burden, 2);
    // Ages inside the ESC PTP tables' range (30-80), so every row has a PTP.
    const age = Math.round(clamp(57 + 3.5 * burden + (male ? -1 : 2) + 9 * normal(), 35, 80));
    const symptoms = pick<SymptomType>(
      uniform,
      sick
        ? [
            ['typical', 0.4],
            ['atypical', 0.25],
            ['non-anginal', 0.15],
            ['dyspnoea', 0.15],
            ['none', 0.05],
          ]
        : [
            ['typical', 0.15],
            ['atypical', 0.3],
            ['non-anginal', 0.3],
            ['dyspnoea', 0.15],
            ['none', 0.1],
          ],
    );
    const factorChance = Math.min(0.9, 0.25 + 0.08 * burden);
    let riskFactors = 0;
    for (let k = 0; k < 5; k++) if (uniform() < factorChance) riskFactors++;
    const zeroCalcium = uniform() < (sick ? 0.08 : 0.55);
    const cacs = zeroCalcium
      ? 0
      : Math.round(clamp(Math.exp((sick ? 5.3 + 0.3 * burden : 3.5) + (sick ? 1 : 1.2) * normal()), 1, 100_000));
    // MACE: exponential event time (hazard 2 % a year without disease, x2.2 per diseased vessel, x1.6 more for
    // LM), censored at a follow-up of one to five years.
    const hazardPerDay = (0.02 / 365) * Math.exp(0.8 * burden + (labels.LM === 1 ? 0.5 : 0));
    const eventDay = -Math.log(1 - uniform()) / hazardPerDay;
    const followUpDay = 365 + uniform() * 4 * 365;
    const event = eventDay <= followUpDay;
    subjects.push({
      index,
      latents,
      clinical: {
        labels,
        age,
        sex: male ? 'male' : 'female',
        symptoms,
        riskFactors,
        cacs,
        maceDays: Math.max(1, Math.round(event ? eventDay : followUpDay)),
        maceEvent: event ? 1 : 0,
      },
    });
  }
  return { subjects, vessels };
}

/**
 * The AUC each vessel's latent has for its label in this sample (what a faithful reader of the latent scores);
 * null for a vessel whose labels are all one class (a tiny cohort).
 */
export function sampleLatentAucs(cohort: Cohort): Record<Vessel, number | null> {
  const out = {} as Record<Vessel, number | null>;
  for (const v of VESSELS) {
    const labels = cohort.subjects.map((s) => s.clinical.labels[v]);
    const positives = labels.filter((y) => y === 1).length;
    out[v] =
      positives === 0 || positives === labels.length
        ? null
        : auc(
            cohort.subjects.map((s) => s.latents[v]),
            labels,
          );
  }
  return out;
}
