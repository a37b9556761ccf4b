/**
 * Input statistics for drift monitoring: cheap, patient-free numbers about a record that move when a cart, its
 * filter settings or its export change (sample rate, length, amplitude, noise, baseline wander, derived leads).
 * They are computed on the first `maxSeconds` of the leads present (what the model sees), never stored per ECG.
 * The drift monitor computes them for every ECG, so each lead is read in one pass (its sums split in halves that
 * the CPU adds in parallel) and the noise median is an exact selection that touches few values; where WebAssembly
 * SIMD is there, kernels do the pass (SimdKernels.leadPass, the two halves in two lanes) and the selection's binning
 * (SimdKernels.binnedRank), with the same numbers as the JavaScript.
 */
import { durationS, type Ecg, type LeadName, STANDARD_LEADS, sampleCount } from './ecg.js';
import { SIMD_MIN_VALUES, type SimdKernels, simdKernels } from './simd-kernels.js';

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

/**
 * Numeric order for sort. One function for every call: a comparator made per call is a new closure each time, and
 * V8 optimises it again after each full collection (sort calls it from a builtin, where it is never inlined).
 */
function ascending(a: number, b: number): number {
  return a - b;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort(ascending);
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

const BINS = 2048;
/** Four histograms side by side, filled in turn: runs of equal differences (common) then do not wait on one counter. */
const binCounts = new Uint32Array(4 * BINS);
/** Reused between calls (inputStats runs on every ECG; JS is single-threaded, so no call sees another's). */
let differences = new Float64Array(0);
let gathered = new Float64Array(0);

/**
 * The exact k-th smallest of the non-negative a[from .. to), whose largest value is at most `max`. One counting
 * pass into equal-width bins finds the bin that holds rank k, and Hoare's selection runs on that bin's few values
 * only: about three times faster than selecting over all of them (the second differences of an ECG have many ties
 * and a long tail, which Hoare's partitioning handles slowly), with the same result.
 */
function selectNonNegative(a: Float64Array, from: number, to: number, k: number, max: number): number {
  if (!(max > 0)) return 0;
  const scale = (BINS - 1) / max;
  binCounts.fill(0);
  let i = from;
  for (; i + 3 < to; i += 4) {
    const b0 = ((a[i] as number) * scale) | 0;
    const b1 = (((a[i + 1] as number) * scale) | 0) + BINS;
    const b2 = (((a[i + 2] as number) * scale) | 0) + 2 * BINS;
    const b3 = (((a[i + 3] as number) * scale) | 0) + 3 * BINS;
    binCounts[b0] = (binCounts[b0] as number) + 1;
    binCounts[b1] = (binCounts[b1] as number) + 1;
    binCounts[b2] = (binCounts[b2] as number) + 1;
    binCounts[b3] = (binCounts[b3] as number) + 1;
  }
  for (; i < to; i++) {
    const b = ((a[i] as number) * scale) | 0;
    binCounts[b] = (binCounts[b] as number) + 1;
  }
  const count = (b: number): number =>
    (binCounts[b] as number) +
    (binCounts[b + BINS] as number) +
    (binCounts[b + 2 * BINS] as number) +
    (binCounts[b + 3 * BINS] as number);
  let bin = 0;
  let below = 0;
  while (below + count(bin) <= k) below += count(bin++);
  let m = 0;
  for (let j = from; j < to; j++) {
    const v = a[j] as number;
    if (((v * scale) | 0) === bin) gathered[m++] = v;
  }
  return select(gathered, m, k - below);
}

/**
 * selectNonNegative over w[2 .. n) of the kernels' workspace, its binning and the copy of the median's bin done by
 * the WebAssembly kernel (SimdKernels.binnedRank: the same bins, the same values in the same order), the selection
 * here: the same result.
 */
function selectBinned(
  kernel: SimdKernels,
  w: Float64Array,
  n: number,
  k: number,
  max: number,
  layout: { binsAt: number },
): number {
  if (!(max > 0)) return 0;
  const { m, rank } = kernel.binnedRank(2, n, k, max, n, 2 * n, layout.binsAt);
  return select(w.subarray(n, n + m), m, rank);
}

/**
 * Where the WebAssembly pass keeps a lead in the kernels' workspace, beyond the differences ([0, n)), the median
 * bin's copy ([n, 2 n)) and the histograms (4,096 values): the samples (Float32, two to a value, behind two copies
 * of the first), the whole windows' means, then the differences' bins (Int16, four to a value). For records of up
 * to `n` samples. Exported for the kernel's test.
 */
export function kernelLayout(
  n: number,
  second: number,
): { samplesAt: number; windowsAt: number; binsAt: number; size: number } {
  const samplesAt = 2 * n + 4096;
  const windowsAt = samplesAt + ((n + 3) >> 1);
  const binsAt = windowsAt + Math.ceil(n / second) + 1;
  return { samplesAt, windowsAt, binsAt, size: binsAt + (n >> 2) + 2 };
}

/** The sums, largest second difference and window means of one lead's pass (see leadStats). */
export interface LeadPass {
  sum: number;
  squares: number;
  maxDifference: number;
  windowMeans: number[];
}

/**
 * leadStats's pass in JavaScript: sums for the mean and SD, sums of whole one-second windows, and the absolute
 * second differences (diffs[i] for i >= 2; the first two slots hold throwaway values, which only widen the bins'
 * range). Two samples per step, each sum in two halves (even and odd samples): an add then waits on its own half's
 * chain only, not on every add before it (the one-chain loop was bound by that latency). SimdKernels.leadPass does
 * the same, two lanes for the two halves. Exported for the kernel's test.
 */
export function leadPassJs(x: Float32Array, n: number, second: number, diffs: Float64Array): LeadPass {
  let sum = 0;
  let squares = 0;
  const windowMeans: number[] = [];
  let maxDifference = 0;
  let before = x[0] as number;
  let previous = before;
  let i = 0;
  for (let end = second; i < n; end += second) {
    const stop = Math.min(end, n);
    let windowEven = 0;
    let windowOdd = 0;
    let squaresEven = 0;
    let squaresOdd = 0;
    for (; i + 1 < stop; i += 2) {
      const v0 = x[i] as number;
      const v1 = x[i + 1] as number;
      windowEven += v0;
      windowOdd += v1;
      squaresEven += v0 * v0;
      squaresOdd += v1 * v1;
      const d0 = Math.abs(v0 - 2 * previous + before);
      const d1 = Math.abs(v1 - 2 * v0 + previous);
      diffs[i] = d0;
      diffs[i + 1] = d1;
      if (d0 > maxDifference) maxDifference = d0;
      if (d1 > maxDifference) maxDifference = d1;
      before = v0;
      previous = v1;
    }
    if (i < stop) {
      const v = x[i] as number;
      windowEven += v;
      squaresEven += v * v;
      const d = Math.abs(v - 2 * previous + before);
      diffs[i] = d;
      if (d > maxDifference) maxDifference = d;
      before = previous;
      previous = v;
      i++;
    }
    const windowSum = windowEven + windowOdd;
    sum += windowSum;
    squares += squaresEven + squaresOdd;
    if (stop === end) windowMeans.push(windowSum / second);
  }
  return { sum, squares, maxDifference, windowMeans };
}

/** The size, noise and wander of one lead over x[0 .. n), or undefined when a sample is not a finite number. */
function leadStats(
  x: Float32Array,
  n: number,
  second: number,
  diffs: Float64Array,
  kernel: SimdKernels | undefined,
  layout: { samplesAt: number; windowsAt: number; binsAt: number },
): { sd: number; noise: number; wander?: number } | undefined {
  let pass: LeadPass;
  if (kernel) {
    const found = kernel.leadPass(x, n, second, layout.samplesAt, layout.windowsAt);
    const windowMeans: number[] = [];
    for (let k = 0; k < found.windows; k++) windowMeans.push(diffs[layout.windowsAt + k] as number);
    pass = { sum: found.sum, squares: found.squares, maxDifference: found.maxDifference, windowMeans };
  } else {
    pass = leadPassJs(x, n, second, diffs);
  }
  const { sum, squares, maxDifference, windowMeans } = pass;
  // A NaN or an infinity anywhere leaves a sum that is not finite (the per-sample check cost as much as the rest).
  if (!Number.isFinite(sum) || !Number.isFinite(squares) || n === 0) return undefined;
  const mean = sum / n;
  // Robust second-difference noise; the broadband noise's variance is taken out of the lead's, so the amplitude
  // tells the signal's size alone.
  const count = n - 2;
  const median =
    count <= 0
      ? 0
      : kernel
        ? selectBinned(kernel, diffs, n, count >> 1, maxDifference, layout)
        : selectNonNegative(diffs, 2, n, count >> 1, maxDifference);
  const noise = median / (0.6745 * Math.sqrt(6));
  const sd = Math.sqrt(Math.max(0, squares / n - mean * mean - noise * noise));
  if (windowMeans.length < 2) return { sd, noise };
  const wm = windowMeans.reduce((a, b) => a + b, 0) / windowMeans.length;
  return { sd, noise, wander: Math.sqrt(windowMeans.reduce((a, b) => a + (b - wm) ** 2, 0) / windowMeans.length) };
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
  // With the WebAssembly kernels, each lead's pass writes straight into their memory: [0, n) the differences,
  // [n, 2 n) the median bin's copy, the histograms, then the lead's samples and its windows' means (kernelLayout;
  // the workspace is scratch for one call at a time).
  const kernel = n >= SIMD_MIN_VALUES ? simdKernels() : undefined;
  if (!kernel && differences.length < n) {
    differences = new Float64Array(n);
    gathered = new Float64Array(n);
  }
  const layout = kernelLayout(n, second);
  const diffs = kernel ? kernel.workspace(layout.size) : differences;
  let present = 0;
  for (const name of STANDARD_LEADS) {
    const x = ecg.leads[name as LeadName];
    if (!(x instanceof Float32Array) || x.length === 0) continue;
    present++;
    const lead = leadStats(x, Math.min(n, x.length), second, diffs, kernel, layout);
    if (!lead) continue;
    noises.push(lead.noise);
    sds.push(lead.sd);
    if (lead.wander !== undefined) wanders.push(lead.wander);
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
