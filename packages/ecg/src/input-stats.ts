/**
 * Input statistics for drift monitoring: cheap, patient-free numbers about a record that move when a cart, its
 * filter settings or its export change (sample rate, length, amplitude, noise, baseline wander, derived leads).
 * They are computed on the first `maxSeconds` of the leads present (what the model sees), never stored per ECG.
 */
import { durationS, type Ecg, type LeadName, STANDARD_LEADS, sampleCount } from './ecg.js';

/** The input statistics of one record. */
export interface InputStats {
  sampleRateHz: number;
  durationS: number;
  /** Median over leads of each lead's standard deviation less its broadband noise, in mV (the signal's size). */
  amplitudeMv: number;
  /**
   * Median over leads of the broadband noise level in uV: a robust estimate of white noise from the second
   * difference, median(|x[i+1] - 2x[i] + x[i-1]|) / (0.6745 sqrt 6). It also rises when the sample rate falls
   * (the signal itself then has larger second differences).
   */
  noiseUv: number;
  /** Median over leads of the SD of one-second means, in uV: slow baseline wander (respiration, electrode drift). */
  baselineWanderUv: number;
  /** Share of the twelve standard leads absent from the file (to be derived from I and II, or missing). */
  derivedLeadShare: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The k-th smallest of a[0 .. n) (Hoare's selection, in place; O(n) on average, against O(n log n) for a sort). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

/** Robust second-difference noise of x[0 .. n), in the units of x. */
function secondDifferenceNoise(x: Float32Array, n: number, scratch: Float64Array): number {
  if (n < 3) return 0;
  let m = 0;
  for (let i = 1; i + 1 < n; i++)
    scratch[m++] = Math.abs((x[i + 1] as number) - 2 * (x[i] as number) + (x[i - 1] as number));
  return select(scratch, m, m >> 1) / (0.6745 * Math.sqrt(6));
}

/** Computes the input statistics of `ecg` over at most its first `maxSeconds` (default 10). Never throws. */
export function inputStats(ecg: Ecg, maxSeconds = 10): InputStats {
  const rate = ecg.sampleRateHz;
  const total = sampleCount(ecg);
  const n = rate > 0 ? Math.min(total, Math.ceil(maxSeconds * rate)) : total;
  const second = Math.max(1, Math.round(rate > 0 ? rate : 1));
  const sds: number[] = [];
  const noises: number[] = [];
  const wanders: number[] = [];
  const scratch = new Float64Array(Math.max(0, n));
  let present = 0;
  for (const name of STANDARD_LEADS) {
    const x = ecg.leads[name as LeadName];
    if (!(x instanceof Float32Array) || x.length === 0) continue;
    present++;
    const m = Math.min(n, x.length);
    let sum = 0;
    let squares = 0;
    const windowMeans: number[] = [];
    let windowSum = 0;
    let finite = true;
    for (let i = 0; i < m; i++) {
      const v = x[i] as number;
      if (!Number.isFinite(v)) {
        finite = false;
        break;
      }
      sum += v;
      squares += v * v;
      windowSum += v;
      if ((i + 1) % second === 0) {
        windowMeans.push(windowSum / second);
        windowSum = 0;
      }
    }
    if (!finite || m === 0) continue;
    const mean = sum / m;
    // The broadband noise's variance is taken out of the lead's, so the amplitude tells the signal's size alone.
    const noise = secondDifferenceNoise(x, m, scratch);
    noises.push(noise);
    sds.push(Math.sqrt(Math.max(0, squares / m - mean * mean - noise * noise)));
    if (windowMeans.length >= 2) {
      const wm = windowMeans.reduce((a, b) => a + b, 0) / windowMeans.length;
      wanders.push(Math.sqrt(windowMeans.reduce((a, b) => a + (b - wm) ** 2, 0) / windowMeans.length));
    }
  }
  return {
    sampleRateHz: Number.isFinite(rate) ? rate : 0,
    durationS: durationS(ecg),
    amplitudeMv: median(sds) / 1000,
    noiseUv: median(noises),
    baselineWanderUv: median(wanders),
    derivedLeadShare: (STANDARD_LEADS.length - present) / STANDARD_LEADS.length,
  };
}

/** Stable codes for the quality gate's reasons (bounded metric labels; the reasons themselves hold lead lists). */
export const QUALITY_REASON_CODES = [
  'sample-rate',
  'lead-lengths',
  'no-samples',
  'missing-leads',
  'too-short',
  'non-numeric',
  'flat-leads',
  'saturated',
  'amplitude',
  'other',
] as const;
export type QualityReasonCode = (typeof QUALITY_REASON_CODES)[number];

const REASON_PREFIXES: ReadonlyArray<[string, QualityReasonCode]> = [
  ['implausible sample rate', 'sample-rate'],
  ['leads differ in length', 'lead-lengths'],
  ['no waveform samples', 'no-samples'],
  ['missing leads', 'missing-leads'],
  ['too short', 'too-short'],
  ['non-numeric samples', 'non-numeric'],
  ['flat leads', 'flat-leads'],
  ['saturated leads', 'saturated'],
  ['implausible amplitude', 'amplitude'],
];

/** The code of one quality-gate reason (see assessQuality); `other` for any wording it does not know. */
export function qualityReasonCode(reason: string): QualityReasonCode {
  for (const [prefix, code] of REASON_PREFIXES) if (reason.startsWith(prefix)) return code;
  return 'other';
}
