/**
 * The source's own quantum of a lead. The Ecg record holds Float32 microvolts that the source computed from
 * integers (DICOM raw * sensitivity + baseline, aECG origin + scale * digit, MUSE raw * units per bit), so most leads
 * are exactly `origin + factor * integer` to Float32 precision. Finding that quantum lets the payload codec store
 * the integers (half the bytes) and the FHIR writer write them as SampledData data, both exactly.
 */

/** A lead's quantum: value uV = Math.fround(origin + factor * datum) for an integer datum. */
export interface LeadQuantum {
  /** uV at datum 0. */
  origin: number;
  /** uV per datum. */
  factor: number;
}

/** A quantum finer than this is no source's ADC step: the samples are arbitrary floats. */
const MIN_EXACT_FACTOR_UV = 0.01;
/** Divisors of the smallest gap between two sample values tried as the quantum. */
const MAX_DIVISOR = 64;
/** Divisors tried when the lead also needs a non-zero origin (rare: a DICOM channel baseline). */
const MAX_DIVISOR_WITH_ORIGIN = 8;
/** Significant digits tried for a factor or origin read off the floats (DICOM DS values have at most 16 chars). */
const MAX_DIGITS = 9;
/** Data stay within 32-bit integers, so a reader can hold them in an Int32Array. */
export const MAX_QUANTUM_DATUM = 2 ** 31 - 1;

/**
 * Quanta that a decoder stated for the lead arrays it made (DICOM: sensitivity and baseline of the channel), keyed by
 * the array itself: a lead replaced by another array (derived, filtered) has no hint, and the record's shape does
 * not change. A hint only: the payload codec still checks every sample against it and searches when it misses.
 */
const hints = new WeakMap<Float32Array, LeadQuantum>();

/**
 * Records that the decoder computed every sample of `lead` as Math.fround(origin + factor * integer), so the payload
 * codec can check that quantum first instead of searching for it (one pass per lead, not a search).
 */
export function hintLeadQuantum(lead: Float32Array, quantum: LeadQuantum): void {
  if (Number.isFinite(quantum.origin) && Number.isFinite(quantum.factor) && quantum.factor > 0) {
    hints.set(lead, { origin: quantum.origin, factor: quantum.factor });
  }
}

/** The quantum a decoder stated for this lead array ({@link hintLeadQuantum}), if any. */
export function leadQuantumHint(lead: Float32Array): LeadQuantum | undefined {
  return hints.get(lead);
}

/** How far a decimal reading of a hint may lie from it: binary rounding of a product of decimals, nothing more. */
const HINT_READING_TOLERANCE = 1e-9;

/**
 * The factors a hinted factor stands for: its reading to the fewest significant digits that stays within binary
 * rounding of it (a source's 0.0049 mV * 1000 is 4.8999999999999995 in binary; the search reads the floats as
 * 4.9), then the factor exactly as given.
 */
export function hintFactors(factor: number): readonly number[] {
  return remembered(hintFactorsCache, factor, () => {
    for (let p = 1; p <= MAX_DIGITS; p++) {
      const r = Number(factor.toPrecision(p));
      if (Math.abs(r - factor) <= Math.abs(factor) * HINT_READING_TOLERANCE) {
        return r === factor ? [factor] : [r, factor];
      }
    }
    return [factor];
  });
}

/**
 * Decimal readings already made: every lead of a source has the same few gaps and factors, and each reading costs
 * up to nine toPrecision calls (28 % of the payload encoder's instructions, callgrind, 12 x 5,000 samples). Bounded: a
 * full cache starts again.
 */
const READINGS_CACHED = 4096;
const hintFactorsCache = new Map<number, readonly number[]>();
const readingsCache = new Map<number, readonly number[]>();

function remembered(cache: Map<number, readonly number[]>, x: number, read: () => number[]): readonly number[] {
  let readings = cache.get(x);
  if (readings === undefined) {
    if (cache.size >= READINGS_CACHED) cache.clear();
    readings = Object.freeze(read());
    cache.set(x, readings);
  }
  return readings;
}

/** True when every finite sample is origin + factor * an integer, to Float32 precision. */
function reproduces(samples: Float32Array, origin: number, factor: number): boolean {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    if (!Number.isFinite(v)) continue;
    const d = Math.round((v - origin) / factor);
    if (Math.abs(d) > MAX_QUANTUM_DATUM || Math.fround(origin + factor * d) !== v) return false;
  }
  return true;
}

/**
 * The quantum of the lead's values: the coarsest decimal factor (and origin, 0 when it fits) that gives back every
 * finite sample exactly, or undefined. Candidates are the smallest step between successive samples (or from 0,
 * when the origin is 0) divided by 1, 2, 3, ... and read to 1..9 significant digits, so the source's decimal step
 * (2.5, 4.88, 1.22...) is recovered rather than the Float32 rounding of it. A lead of zeros, or with no finite
 * sample, gets {origin 0, factor 1}. Non-finite samples are skipped (the caller decides what to do with them).
 */
export function findLeadQuantum(samples: Float32Array): LeadQuantum | undefined {
  for (const candidate of quantumCandidates(samples)) {
    if (reproduces(samples, candidate.origin, candidate.factor)) return candidate;
  }
  return undefined;
}

/**
 * The candidates {@link findLeadQuantum} tries, in its order; the first that reproduces every finite sample is the
 * lead's quantum. For callers that check a candidate in a pass of their own (the payload codec stores the integers
 * while it checks them).
 */
export function quantumCandidates(samples: Float32Array): Generator<LeadQuantum> {
  return quantumCandidatesOf(smallestGaps(samples));
}

/** What {@link quantumCandidates} derives its candidates from (see smallestGaps). */
export interface SampleGaps {
  between: number | undefined;
  withZero: number | undefined;
  first: number;
}

/**
 * The gaps of samples that are all finite, from the first sample and the smallest non-zero successive difference
 * and absolute value (POSITIVE_INFINITY when none), as smallestGaps gives them: for a caller that measured them
 * in a pass of its own.
 */
export function sampleGaps(first: number, between: number, fromZero: number): SampleGaps {
  return { between: positive(between), withZero: positive(Math.min(between, fromZero)), first };
}

const positive = (x: number): number | undefined => (Number.isFinite(x) && x > 0 ? x : undefined);

/** {@link quantumCandidates} from the samples' gaps (undefined: no finite sample). */
export function* quantumCandidatesOf(gaps: SampleGaps | undefined): Generator<LeadQuantum> {
  // No finite sample, or zeros only.
  if (gaps === undefined || gaps.withZero === undefined) {
    yield { origin: 0, factor: 1 };
    return;
  }
  for (const factor of factorCandidates(gaps.withZero, MAX_DIVISOR)) yield { origin: 0, factor };
  if (gaps.between === undefined) {
    // One value throughout (not 0): it is the origin.
    yield { origin: gaps.first, factor: 1 };
    return;
  }
  for (const factor of factorCandidates(gaps.between, MAX_DIVISOR_WITH_ORIGIN)) {
    const residual = gaps.first - factor * Math.round(gaps.first / factor);
    for (const origin of decimalReadings(residual)) yield { origin, factor };
  }
}

/**
 * The smallest non-zero difference between successive finite samples (`between`; every difference is a multiple
 * of the quantum), the same counting each sample's distance from 0 (`withZero`: the quantum when the origin is 0),
 * and the first finite sample. Undefined when no sample is finite. One pass, no sorting.
 */
function smallestGaps(samples: Float32Array): SampleGaps | undefined {
  const n = samples.length;
  let i = 0;
  // `v - v !== 0`: v is NaN or infinite. (Written so, with Math.abs, the loop runs about 5x faster than with
  // Number.isFinite and branches on the sign: this pass runs on every lead of every ECG.)
  while (i < n && (samples[i] as number) - (samples[i] as number) !== 0) i++;
  if (i === n) return undefined;
  const first = samples[i] as number;
  let previous = first;
  let between = Number.POSITIVE_INFINITY;
  let fromZero = first === 0 ? Number.POSITIVE_INFINITY : Math.abs(first);
  for (i++; i < n; i++) {
    const v = samples[i] as number;
    if (v - v !== 0) continue;
    const gap = Math.abs(v - previous);
    if (gap !== 0 && gap < between) between = gap;
    const a = Math.abs(v);
    if (a !== 0 && a < fromZero) fromZero = a;
    previous = v;
  }
  return sampleGaps(first, between, fromZero);
}

function* factorCandidates(gap: number, maxDivisor: number): Generator<number> {
  for (let k = 1; k <= maxDivisor; k++) {
    const q = gap / k;
    if (q < MIN_EXACT_FACTOR_UV) return;
    for (const factor of decimalReadings(q)) if (factor > 0) yield factor;
  }
}

/** `x` read to 1..MAX_DIGITS significant digits, shortest first, without repeats; 0 first when x is near 0. */
function decimalReadings(x: number): readonly number[] {
  return remembered(readingsCache, x, () => {
    const out: number[] = [];
    if (Math.abs(x) < 1e-9) out.push(0);
    for (let p = 1; p <= MAX_DIGITS; p++) {
      const r = Number(x.toPrecision(p));
      if (!out.includes(r)) out.push(r);
    }
    return out;
  });
}
