/**
 * The demo cohort's ECGs and model: each subject's binormal latent per vessel (@ecgcad/clinical generateCohort)
 * is planted into a synthetic 12-lead ECG as an ST-segment shift in that vessel's territory, proportional to the
 * latent, and a tiny generated model reads it back: the mean of each territory's leads over the 10 s record.
 *
 * Why the reading is nearly exact: every record beats at exactly 60 bpm with no heart-rate variability, so the
 * 10 s window holds exactly ten cardiac cycles and a lead's mean is the same wherever the beats fall. The mean is
 * then the cardiac baseline (fixed but for a small morphology jitter and baseline wander) plus the latent times a
 * known gain; the model subtracts the baseline, divides by the gain and turns the latent into the exact posterior
 * log-odds of the binormal model (d x - d^2 / 2 + logit prevalence), so its probabilities are calibrated too.
 * The residual (about 0.1 latent SD) barely moves the AUC (by a factor 1 / sqrt(1 + 0.01) on d).
 *
 * Territories use disjoint independent leads, so the vessels do not leak into each other's reading:
 * RCA inferior (II, so II, III, aVF), LAD anterior (V3, V4), LCx lateral (I, V5, V6: I, aVL, V5, V6) with ST
 * depression; LM as ST elevation in V1-V2 (the demo's stand-in for the aVR / V1 elevation of left-main disease).
 * None of this is physiology: it is a planted signal that makes the AUC known by construction.
 */
import { type Cohort, type CohortSubject, sampleLatentAucs } from '@ecgcad/clinical';
import {
  DEFAULT_INPUT_SPEC,
  DERIVED_LIMB_LEADS,
  deriveLimbLead,
  type Ecg,
  type IndependentLead,
  type LeadName,
  STANDARD_LEADS,
  type SynthOptions,
  synthesize,
  VESSELS,
  type Vessel,
} from '@ecgcad/ecg';
import { exportLeadMeanReadoutOnnx, type ModelCard, sha256Hex } from '@ecgcad/infer';

/** Where each vessel's latent is planted and read. */
export const COHORT_TERRITORIES: Readonly<
  Record<Vessel, { territory: string; leads: readonly IndependentLead[]; direction: 1 | -1 }>
> = {
  RCA: { territory: 'inferior ST depression (II, III, aVF)', leads: ['II'], direction: -1 },
  LM: { territory: 'ST elevation in V1-V2 (stand-in for the aVR / V1 pattern)', leads: ['V1', 'V2'], direction: 1 },
  LAD: { territory: 'anterior ST depression (V3, V4)', leads: ['V3', 'V4'], direction: -1 },
  LCx: { territory: 'lateral ST depression (I, aVL, V5, V6)', leads: ['I', 'V5', 'V6'], direction: -1 },
};

/** ST shift per unit of latent, in microvolts. */
export const ST_UV_PER_LATENT = 50;

/** The synthesis settings every cohort ECG shares (60 bpm without HRV: a whole number of beats in 10 s). */
export const COHORT_SYNTH: Readonly<SynthOptions> = {
  heartRateBpm: 60,
  hrvStdBpm: 0,
  durationS: 10,
  sampleRateHz: 500,
  morphologyJitter: 0.03,
  noise: { baselineWanderUv: 10, mainsUv: 10, muscleUv: 8 },
  fast: true,
};

/** The synthesizer seed of subject `index` of a cohort seeded `seed` (distinct ECG ids within a cohort). */
export const cohortEcgSeed = (seed: number, index: number): number => (Math.imul(seed, 2_654_435_761) + index) >>> 0;

/** The ST window of one beat, in seconds from its R peak (as the synthesizer's own ST option draws it). */
function stWindow(rr: number): [number, number, number, number] {
  const tPeak = 0.29 * Math.sqrt(rr);
  return [0.03, 0.05, tPeak, tPeak + 0.1 * Math.sqrt(rr)];
}

/** Per independent lead, the ST shift (uV) a subject's latents plant. */
export function plantedShifts(latents: Record<Vessel, number>): Partial<Record<IndependentLead, number>> {
  const shifts: Partial<Record<IndependentLead, number>> = {};
  for (const v of VESSELS) {
    const { leads, direction } = COHORT_TERRITORIES[v];
    for (const lead of leads) shifts[lead] = (shifts[lead] ?? 0) + direction * ST_UV_PER_LATENT * latents[v];
  }
  return shifts;
}

/** A synthetic ECG carrying a subject's latents as ST shifts (deterministic in seed and latents). */
export function cohortEcg(latents: Record<Vessel, number>, ecgSeed: number, synth: SynthOptions = COHORT_SYNTH): Ecg {
  const { ecg, beats } = synthesize({ ...synth, seed: ecgSeed });
  const fs = ecg.sampleRateHz;
  const n = (ecg.leads.I as Float32Array).length;
  // The window over the whole record: raised-cosine rise, flat, raised-cosine fall, per beat (beats reaching in
  // from before the record included, so the mean stays a whole number of cycles).
  const window = new Float64Array(n);
  const rr = beats[0]?.rrS ?? 60 / (synth.heartRateBpm ?? 60);
  const first = (beats[0]?.rTimeS ?? 0) - Math.ceil((beats[0]?.rTimeS ?? 0) / rr + 1) * rr;
  for (let tR = first; tR < n / fs + 1; tR += rr) {
    const [a, b, c, d] = stWindow(rr).map((x) => tR + x) as [number, number, number, number];
    for (let k = Math.max(0, Math.ceil(a * fs)); k <= Math.min(n - 1, Math.floor(d * fs)); k++) {
      const t = k / fs;
      const w =
        t < b
          ? 0.5 - 0.5 * Math.cos((Math.PI * (t - a)) / (b - a))
          : t <= c
            ? 1
            : 0.5 + 0.5 * Math.cos((Math.PI * (t - c)) / (d - c));
      window[k] = Math.max(window[k] as number, w);
    }
  }
  const leads = { ...ecg.leads };
  for (const [lead, shift] of Object.entries(plantedShifts(latents)) as Array<[IndependentLead, number]>) {
    const src = leads[lead] as Float32Array;
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = (src[k] as number) + shift * (window[k] as number);
    leads[lead] = out;
  }
  // I and II may carry a planted shift: derive the four limb leads from them again.
  for (const lead of DERIVED_LIMB_LEADS) {
    leads[lead] = deriveLimbLead(lead, leads.I as Float32Array, leads.II as Float32Array, new Float32Array(n));
  }
  return { ...ecg, leads };
}

/** Per vessel, the mean of its territory's leads over the record, in millivolts: what the cohort model reads. */
export function territoryReading(ecg: Ecg): Record<Vessel, number> {
  const out = {} as Record<Vessel, number>;
  for (const v of VESSELS) {
    const { leads } = COHORT_TERRITORIES[v];
    let sum = 0;
    for (const lead of leads) {
      const x = ecg.leads[lead] as Float32Array;
      let s = 0;
      for (let k = 0; k < x.length; k++) s += x[k] as number;
      sum += s / x.length;
    }
    out[v] = sum / leads.length / 1000;
  }
  return out;
}

/** What a cohort model folder holds: the ONNX bytes and the card (with the cohort block it documents). */
export interface CohortModel {
  bytes: Uint8Array;
  card: ModelCard & { cohort: Record<string, unknown> };
}

const ZEROS: Record<Vessel, number> = { RCA: 0, LM: 0, LAD: 0, LCx: 0 };
const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** z for 90 % (the illustrative thresholds' sensitivity and specificity). */
const Z90 = 1.2815515655446004;

/**
 * Builds the cohort model: per vessel, logit = d * (reading - baseline) / gain - d^2 / 2 + logit(prevalence).
 * The baseline is the reading of a record without jitter, noise or shift (their expectation); the gain is the
 * reading of a unit latent. Thresholds on the card are the population's 90 % sensitivity and 90 % specificity
 * points, for illustration: a site derives its own with `ecgcad calibrate`.
 */
export function buildCohortModel(cohort: Cohort): CohortModel {
  const clean: SynthOptions = {
    ...COHORT_SYNTH,
    morphologyJitter: 0,
    noise: { baselineWanderUv: 0, mainsUv: 0, muscleUv: 0 },
  };
  const baseline = territoryReading(cohortEcg(ZEROS, 1, clean));
  const spec = { ...DEFAULT_INPUT_SPEC, leads: [...STANDARD_LEADS], normalize: 'none' as const };
  delete (spec as { filter?: unknown }).filter;
  const leadIndex = (lead: LeadName): number => spec.leads.indexOf(lead);
  const weights = new Float32Array(spec.leads.length * VESSELS.length);
  const bias = new Float32Array(VESSELS.length);
  const thresholds: ModelCard['thresholds'] = {};
  const planted: Record<string, unknown> = {};
  VESSELS.forEach((v, k) => {
    const unit = territoryReading(cohortEcg({ ...ZEROS, [v]: 1 }, 1, clean));
    const gain = (unit[v] as number) - (baseline[v] as number);
    const { separation: d, prevalence } = cohort.vessels[v];
    const { leads } = COHORT_TERRITORIES[v];
    for (const lead of leads) weights[leadIndex(lead) * VESSELS.length + k] = d / gain / leads.length;
    bias[k] = (-d * (baseline[v] as number)) / gain - (d * d) / 2 + logit(prevalence);
    const posterior = (x: number): number => sigmoid(d * x - (d * d) / 2 + logit(prevalence));
    thresholds[v] = {
      ruleOut: posterior(d - Z90),
      ruleIn: posterior(Z90),
      ruleOutSensitivity: 0.9,
      ruleInSpecificity: 0.9,
    };
    planted[v] = {
      plantedAuc: cohort.vessels[v].auc,
      separation: d,
      prevalence,
      territory: COHORT_TERRITORIES[v].territory,
      readsLeads: [...leads],
      stUvPerLatentUnit: COHORT_TERRITORIES[v].direction * ST_UV_PER_LATENT,
    };
  });
  const bytes = exportLeadMeanReadoutOnnx({
    leads: spec.leads.length,
    samples: spec.samples,
    weights,
    bias,
    docString: 'ecgcad demo cohort model: reads an ST shift planted in synthetic ECGs. No clinical meaning.',
  });
  const card = {
    id: 'ecgcad-cohort',
    version: '1.0.0',
    clinicalUse: false,
    intendedUse:
      'Demo cohort only: the weights read an ST-segment shift that `ecgcad cohort` planted in its synthetic ECGs ' +
      '(a mean of territory leads at a fixed 60 bpm). They read a synthetic planted effect only and carry no ' +
      'clinical meaning; never use them on patient ECGs.',
    outcome: 'Severe stenosis (>= 70 %) or occlusion on coronary CT angiography (synthetic labels)',
    input: spec,
    outputs: { name: 'prob', vessels: [...VESSELS] },
    thresholds,
    sha256: sha256Hex(bytes),
    cohort: { stUvPerLatentUnit: ST_UV_PER_LATENT, heartRateBpm: COHORT_SYNTH.heartRateBpm, vessels: planted },
  };
  return { bytes, card: card as CohortModel['card'] };
}

/** The `cohort.json` a cohort folder carries: what was planted, and the AUC the latents have in this sample. */
export function cohortDescription(cohort: Cohort, seed: number): Record<string, unknown> {
  const sample = sampleLatentAucs(cohort);
  const vessels: Record<string, unknown> = {};
  for (const v of VESSELS) {
    const { prevalence, auc, separation } = cohort.vessels[v];
    const positives = cohort.subjects.filter((s: CohortSubject) => s.clinical.labels[v] === 1).length;
    vessels[v] = {
      plantedAuc: auc,
      separation,
      prevalence,
      positives,
      negatives: cohort.subjects.length - positives,
      sampleLatentAuc: sample[v],
      territory: COHORT_TERRITORIES[v].territory,
      stUvPerLatentUnit: COHORT_TERRITORIES[v].direction * ST_UV_PER_LATENT,
    };
  }
  return {
    generator: 'ecgcad cohort',
    version: 1,
    seed,
    count: cohort.subjects.length,
    synthetic: true,
    note:
      'Synthetic cohort with a known truth: per vessel a binormal latent (N(0,1) without disease, N(d,1) with it; ' +
      'planted AUC = Phi(d / sqrt 2)) planted as an ST shift; model/ reads it. No patient data, no clinical meaning.',
    heartRateBpm: COHORT_SYNTH.heartRateBpm,
    vessels,
    manifest: 'manifest.csv',
    model: 'model',
  };
}

/** The manifest line cells of a subject (path relative to the cohort folder). */
export function subjectFile(subject: CohortSubject): { path: string; format: 'dicom' | 'aecg' } {
  const format = subject.index % 2 === 0 ? 'dicom' : 'aecg';
  const name = `c${String(subject.index + 1).padStart(6, '0')}.${format === 'dicom' ? 'dcm' : 'xml'}`;
  return { path: `ecgs/${name}`, format };
}
