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
export function* quantumCandidates(samples: Float32Array): Generator<LeadQuantum> {
  const gaps = smallestGaps(samples);
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
function smallestGaps(
  samples: Float32Array,
): { between: number | undefined; withZero: number | undefined; first: number } | undefined {
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
