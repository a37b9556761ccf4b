/**
 * The ECG's samples as FHIR R4 SampledData, one Observation.component per stored lead, as FHIR's own ECG example
 * (Observation/ekg) carries them: code = the lead's MDC code, value uV = origin.value + factor * datum.
 *
 * The Ecg record holds Float32 microvolts that were computed from integers by the source (DICOM raw * sensitivity
 * + baseline, aECG origin + scale * digit, MUSE raw * units per bit). The encoder looks for that quantum, per lead,
 * so the data are the source's integers and decoding gives back exactly the Ecg's Float32 values. When no such
 * quantum exists (a record made of arbitrary floats: resampled, filtered or synthetic), it falls back to a step of
 * FALLBACK_FACTOR_UV (0.1 uV): the error is then at most half a step (0.05 uV), far below any ECG's resolution.
 */
import { type Ecg, type LeadName, STANDARD_LEADS } from '@ecgcad/ecg';
import type { Observation, ObservationComponent, SampledData } from '@medplum/fhirtypes';
import { LOINC_12_LEAD_EKG, mdcLeadCoding, SYSTEMS } from './codes.js';

/** What the encoder needs of an Ecg: its id (checked against the prediction's), rate and leads. */
export type EcgWaveform = Pick<Ecg, 'id' | 'sampleRateHz' | 'leads'>;

/** The step of the fallback quantisation, uV; its largest error is half of it. */
export const FALLBACK_FACTOR_UV = 0.1;

/** A quantum finer than this is no source's ADC step: the samples are arbitrary floats, use the fallback. */
const MIN_EXACT_FACTOR_UV = 0.01;
/** Divisors of the smallest gap between two sample values tried as the quantum. */
const MAX_DIVISOR = 64;
/** Divisors tried when the lead also needs a non-zero origin (rare: a DICOM channel baseline). */
const MAX_DIVISOR_WITH_ORIGIN = 8;
/** Significant digits tried for a factor or origin read off the floats (DICOM DS values have at most 16 chars). */
const MAX_DIGITS = 9;
/** Data stay within 32-bit integers, so a reader can hold them in an Int32Array. */
const MAX_DATUM = 2 ** 31 - 1;

/** How one lead was encoded. */
export interface LeadEncoding {
  /** uV at datum 0. */
  origin: number;
  /** uV per datum. */
  factor: number;
  /** One token per sample: an integer, or `E` for a sample that is not a finite number. */
  data: string;
  /** True when decoding gives back exactly the Float32 samples; false for the fallback quantisation. */
  exact: boolean;
}

/** Encodes one lead's samples (uV) as integers with an origin and a factor. */
export function encodeLead(samples: Float32Array): LeadEncoding {
  const found = findQuantum(samples);
  const origin = found?.origin ?? 0;
  const factor = found?.factor ?? FALLBACK_FACTOR_UV;
  const tokens = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    tokens[i] = Number.isFinite(v) ? String(datumOf(v, origin, factor)) : 'E';
  }
  return { origin, factor, data: tokens.join(' '), exact: found !== undefined };
}

/** The SampledData of one lead: period in ms between samples, dimensions 1. */
export function leadSampledData(samples: Float32Array, sampleRateHz: number): SampledData {
  const { origin, factor, data } = encodeLead(samples);
  return {
    origin: { value: origin, unit: 'uV', system: SYSTEMS.ucum, code: 'uV' },
    period: 1000 / sampleRateHz,
    factor,
    dimensions: 1,
    data,
  };
}

/**
 * One component per lead stored in the record (derived limb leads are not invented), in the standard order
 * I, II, III, aVR, aVL, aVF, V1..V6. Leads without samples are left out.
 */
export function waveformComponents(ecg: Pick<EcgWaveform, 'sampleRateHz' | 'leads'>): ObservationComponent[] {
  const out: ObservationComponent[] = [];
  for (const lead of STANDARD_LEADS) {
    const samples = ecg.leads[lead];
    if (!samples || samples.length === 0) continue;
    out.push({ code: { coding: [mdcLeadCoding(lead)] }, valueSampledData: leadSampledData(samples, ecg.sampleRateHz) });
  }
  return out;
}

/** A SampledData back as values (uV): origin + factor * datum; NaN for `E`, `L` and `U` tokens. */
export function decodeSampledData(sd: SampledData): Float64Array {
  const tokens = (sd.data ?? '')
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const origin = sd.origin.value ?? 0;
  const factor = sd.factor ?? 1;
  const out = new Float64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    out[i] = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? origin + factor * Number(t) : Number.NaN;
  }
  return out;
}

function datumOf(v: number, origin: number, factor: number): number {
  return Math.round((v - origin) / factor);
}

/** True when every finite sample is origin + factor * an integer, to Float32 precision. */
function reproduces(samples: Float32Array, origin: number, factor: number): boolean {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    if (!Number.isFinite(v)) continue;
    const d = datumOf(v, origin, factor);
    if (Math.abs(d) > MAX_DATUM || Math.fround(origin + factor * d) !== v) return false;
  }
  return true;
}

/**
 * The quantum of the lead's values: the coarsest decimal factor (and origin, 0 when it fits) that gives back every
 * sample exactly, or undefined. Candidates are the smallest step between successive samples (or from 0, when the
 * origin is 0) divided by 1, 2, 3, ... and read to 1..9 significant digits, so the source's decimal step (2.5,
 * 4.88, 1.22...) is recovered rather than the Float32 rounding of it.
 */
function findQuantum(samples: Float32Array): { origin: number; factor: number } | undefined {
  const gaps = smallestGaps(samples);
  if (gaps === undefined) return { origin: 0, factor: 1 };
  // A lead of zeros only.
  if (gaps.withZero === undefined) return { origin: 0, factor: 1 };
  for (const factor of factorCandidates(gaps.withZero, MAX_DIVISOR)) {
    if (reproduces(samples, 0, factor)) return { origin: 0, factor };
  }
  if (gaps.between === undefined) {
    // One value throughout (not 0): it is the origin.
    return reproduces(samples, gaps.first, 1) ? { origin: gaps.first, factor: 1 } : undefined;
  }
  for (const factor of factorCandidates(gaps.between, MAX_DIVISOR_WITH_ORIGIN)) {
    const residual = gaps.first - factor * Math.round(gaps.first / factor);
    for (const origin of decimalReadings(residual)) {
      if (reproduces(samples, origin, factor)) return { origin, factor };
    }
  }
  return undefined;
}

/**
 * The smallest non-zero difference between successive finite samples (`between`; every difference is a multiple
 * of the quantum), the same counting each sample's distance from 0 (`withZero`: the quantum when the origin is 0),
 * and the first finite sample. Undefined when no sample is finite. One pass, no sorting.
 */
function smallestGaps(
  samples: Float32Array,
): { between: number | undefined; withZero: number | undefined; first: number } | undefined {
  let between = Number.POSITIVE_INFINITY;
  let fromZero = Number.POSITIVE_INFINITY;
  let first: number | undefined;
  let previous: number | undefined;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    if (!Number.isFinite(v)) continue;
    if (first === undefined) first = v;
    if (v !== 0) fromZero = Math.min(fromZero, Math.abs(v));
    if (previous !== undefined && v !== previous) between = Math.min(between, Math.abs(v - previous));
    previous = v;
  }
  if (first === undefined) return undefined;
  const positive = (x: number): number | undefined => (Number.isFinite(x) && x > 0 ? x : undefined);
  return { between: positive(between), withZero: positive(Math.min(between, fromZero)), first };
}

function* factorCandidates(gap: number, maxDivisor: number): Generator<number> {
  for (let k = 1; k <= maxDivisor; k++) {
    const q = gap / k;
    if (q < MIN_EXACT_FACTOR_UV) return;
    for (const factor of decimalReadings(q)) if (factor > 0) yield factor;
  }
}

/** `x` read to 1..MAX_DIGITS significant digits, shortest first, without repeats; 0 first when x is near 0. */
function decimalReadings(x: number): number[] {
  const out: number[] = [];
  if (Math.abs(x) < 1e-9) out.push(0);
  for (let p = 1; p <= MAX_DIGITS; p++) {
    const r = Number(x.toPrecision(p));
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** Lead name of an MDC lead code, for readers of the components. */
export function leadOfMdcCode(code: string | undefined): LeadName | undefined {
  return STANDARD_LEADS.find((lead) => mdcLeadCoding(lead).code === code);
}

/**
 * The project's checks of an ECG Observation's waveform components (R4 validation does not look inside
 * SampledData.data): each an MDC lead code, once; dimensions 1, a positive period and factor, origin in uV; data of
 * integers (or E, L, U) and the same number of samples in every lead. Empty for any other Observation.
 */
export function waveformIssues(where: string, obs: Observation): string[] {
  const isEcg = obs.code.coding?.some(
    (c) => c.system === LOINC_12_LEAD_EKG.system && c.code === LOINC_12_LEAD_EKG.code,
  );
  if (!isEcg || !obs.component) return [];
  const issues: string[] = [];
  const seen = new Set<LeadName>();
  const lengths = new Set<number>();
  for (const [i, c] of obs.component.entries()) {
    const at = `${where} component[${i}]`;
    const coding = c.code.coding?.find((x) => x.system === SYSTEMS.mdc);
    const lead = leadOfMdcCode(coding?.code);
    if (!lead) issues.push(`${at}: code must be an MDC lead code (${SYSTEMS.mdc})`);
    else if (seen.has(lead)) issues.push(`${at}: lead ${lead} appears twice`);
    else seen.add(lead);
    const sd = c.valueSampledData;
    if (!sd) {
      issues.push(`${at}: valueSampledData is missing`);
      continue;
    }
    if (sd.dimensions !== 1) issues.push(`${at}: dimensions must be 1`);
    if (!(sd.period > 0)) issues.push(`${at}: period must be positive`);
    if (sd.factor !== undefined && !(sd.factor > 0)) issues.push(`${at}: factor must be positive`);
    if (sd.origin.code !== 'uV' || sd.origin.system !== SYSTEMS.ucum) issues.push(`${at}: origin must be in uV (UCUM)`);
    const tokens = (sd.data ?? '').split(' ');
    if (!tokens.every((t) => /^(-?\d+|[ELU])$/.test(t))) {
      issues.push(`${at}: data must be single-space-separated integers (or E, L, U)`);
    }
    lengths.add(tokens.length);
  }
  if (lengths.size > 1) issues.push(`${where}: the leads differ in their number of samples`);
  return issues;
}
