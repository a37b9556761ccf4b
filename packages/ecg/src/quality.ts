/**
 * The quality gate before inference: a record the model cannot analyse gets reasons, never a made-up score.
 * Reasons are short, patient-free sentences with stable wording (they reach the EHR and the logs).
 *
 * The signal checks look at the part of the record the model will see: the first `spec.samples / spec.sampleRateHz`
 * seconds (prepare() crops to the first N seconds), and at the leads it uses: the card's leads as stored, plus I and
 * II where the limb leads III, aVR, aVL, aVF have to be derived from them.
 */
import { durationS, type Ecg, type LeadName, sampleCount } from './ecg.js';
import { isDerivedLimbLead, LIMB_LEAD_SOURCES } from './leads.js';
import type { ModelInputSpec } from './model-input.js';
import { SIMD_MIN_VALUES, simdKernels } from './simd-kernels.js';

/** Thresholds of the quality gate. */
export interface QualityOptions {
  /** Lowest plausible source sample rate in Hz (default 100). */
  minSampleRateHz?: number;
  /** Highest plausible source sample rate in Hz (default 10,000). */
  maxSampleRateHz?: number;
  /**
   * Shortest record accepted, in seconds (default 80 % of the model's duration: 8 s for a 10 s model).
   * Records between this and the model's duration are zero-padded by prepare().
   */
  minDurationS?: number;
  /** A lead whose peak-to-peak range is below this is flat (lead off). Default 10 uV. */
  flatPeakToPeakUv?: number;
  /** A lead whose population SD is below this is flat (a lone spike on a dead line). Default 5 uV. */
  flatSdUv?: number;
  /**
   * A lead with at least this fraction of its samples stuck at its own maximum or minimum is saturated
   * (clipped at the amplifier's rail). Default 0.05.
   */
  saturatedFraction?: number;
  /** A lead that strays further than this from its own mean is implausible (saturation, artefact). Default 10 mV. */
  maxAmplitudeUv?: number;
}

/** The gate's verdict. */
export interface QualityResult {
  analysable: boolean;
  /** Empty when analysable. */
  reasons: string[];
}

export const QUALITY_DEFAULTS: Readonly<Required<Omit<QualityOptions, 'minDurationS'>>> & {
  minDurationFraction: number;
} = {
  minSampleRateHz: 100,
  maxSampleRateHz: 10_000,
  minDurationFraction: 0.8,
  flatPeakToPeakUv: 10,
  flatSdUv: 5,
  saturatedFraction: 0.05,
  maxAmplitudeUv: 10_000,
};

/** Formats a number for a reason: one decimal (two below 1), no trailing zeros. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) < 1 ? String(Math.round(x * 100) / 100) : String(Math.round(x * 10) / 10);
}

/** What one pass over a lead's window tells. */
interface LeadStats {
  min: number;
  max: number;
  /** Samples equal to the maximum and to the minimum. */
  atMax: number;
  atMin: number;
  mean: number;
  sd: number;
}

/** Kernel results, reused: [s0, s1, s2, s3, q0, q1, q2, q3, max, atMax, min, atMin]. */
const part = new Float64Array(12);

/**
 * One pass over x[0 .. n): extremes, how many samples sit on each, mean and population SD; undefined when a
 * sample is NaN or infinite. The samples at each position mod 4 go to sums of their own (a single running sum is
 * bound by the latency of its additions), in the same order whatever the unrolling, and the four are added in one
 * fixed order. Four samples per step: a new or repeated extreme is rare on a real signal, so one combined test per
 * step sends the few steps that hold one to the exact per-sample bookkeeping (NaN fails every comparison and is
 * caught by the sums).
 */
function leadStats(x: Float32Array, n: number): LeadStats | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let atMax = 0;
  let atMin = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let q3 = 0;
  let i = 0;
  const kernel = simdKernels();
  if (kernel && n >= SIMD_MIN_VALUES) {
    // The same sums in the same order and the same extremes, four lanes at a time (WebAssembly SIMD).
    kernel.leadStats(x, n, part);
    s0 = part[0] as number;
    s1 = part[1] as number;
    s2 = part[2] as number;
    s3 = part[3] as number;
    q0 = part[4] as number;
    q1 = part[5] as number;
    q2 = part[6] as number;
    q3 = part[7] as number;
    max = part[8] as number;
    atMax = part[9] as number;
    min = part[10] as number;
    atMin = part[11] as number;
    i = n - (n & 3);
  }
  for (; i + 3 < n; i += 4) {
    const a = x[i] as number;
    const b = x[i + 1] as number;
    const c = x[i + 2] as number;
    const d = x[i + 3] as number;
    if (a >= max || b >= max || c >= max || d >= max || a <= min || b <= min || c <= min || d <= min) {
      for (let j = i; j < i + 4; j++) {
        const v = x[j] as number;
        if (v >= max) {
          if (v > max) {
            max = v;
            atMax = 0;
          }
          atMax++;
        }
        if (v <= min) {
          if (v < min) {
            min = v;
            atMin = 0;
          }
          atMin++;
        }
      }
    }
    s0 += a;
    s1 += b;
    s2 += c;
    s3 += d;
    q0 += a * a;
    q1 += b * b;
    q2 += c * c;
    q3 += d * d;
  }
  // At most three left, at positions 0, 1 and 2 mod 4.
  for (; i < n; i++) {
    const v = x[i] as number;
    if (v >= max) {
      if (v > max) {
        max = v;
        atMax = 0;
      }
      atMax++;
    }
    if (v <= min) {
      if (v < min) {
        min = v;
        atMin = 0;
      }
      atMin++;
    }
    const k = i & 3;
    if (k === 0) {
      s0 += v;
      q0 += v * v;
    } else if (k === 1) {
      s1 += v;
      q1 += v * v;
    } else {
      s2 += v;
      q2 += v * v;
    }
  }
  const sum = s0 + s1 + (s2 + s3);
  const sumSquares = q0 + q1 + (q2 + q3);
  // NaN or infinity anywhere makes the sum non-finite (Float32 values cannot overflow a Float64 sum of squares).
  if (!Number.isFinite(sum) || !Number.isFinite(sumSquares)) return undefined;
  const mean = sum / n;
  return { min, max, atMax, atMin, mean, sd: Math.sqrt(Math.max(0, sumSquares / n - mean * mean)) };
}

/**
 * Assesses whether `ecg` can be analysed by a model with input `spec`. Never throws for any Ecg content.
 * Reasons come in a fixed order: sample rate, lead lengths, missing leads, duration, then the signal checks
 * (NaN/infinity, flat, saturated, amplitude), which run only on a record long enough and with aligned leads.
 */
export function assessQuality(ecg: Ecg, spec: ModelInputSpec, options: QualityOptions = {}): QualityResult {
  const reasons: string[] = [];
  const minRate = options.minSampleRateHz ?? QUALITY_DEFAULTS.minSampleRateHz;
  const maxRate = options.maxSampleRateHz ?? QUALITY_DEFAULTS.maxSampleRateHz;
  const modelDurationS = spec.samples / spec.sampleRateHz;
  const minDuration = options.minDurationS ?? QUALITY_DEFAULTS.minDurationFraction * modelDurationS;
  const flatP2p = options.flatPeakToPeakUv ?? QUALITY_DEFAULTS.flatPeakToPeakUv;
  const flatSd = options.flatSdUv ?? QUALITY_DEFAULTS.flatSdUv;
  const satFraction = options.saturatedFraction ?? QUALITY_DEFAULTS.saturatedFraction;
  const maxAmp = options.maxAmplitudeUv ?? QUALITY_DEFAULTS.maxAmplitudeUv;

  const rate = ecg.sampleRateHz;
  const rateOk = typeof rate === 'number' && Number.isFinite(rate) && rate >= minRate && rate <= maxRate;
  if (!rateOk) reasons.push(`implausible sample rate: ${fmt(Number(rate))} Hz (allowed ${minRate}..${maxRate} Hz)`);

  // Leads: present with samples, all of one length.
  const leads = ecg.leads ?? {};
  const n = sampleCount({ leads });
  const present = new Set<LeadName>();
  let unequal = false;
  for (const [name, data] of Object.entries(leads) as [LeadName, Float32Array | undefined][]) {
    if (!(data instanceof Float32Array)) continue;
    present.add(name);
    if (data.length !== n) unequal = true;
  }
  if (unequal) reasons.push('leads differ in length');
  if (present.size === 0 || n === 0) {
    reasons.push('no waveform samples');
    return { analysable: false, reasons };
  }

  const needed = spec.leads;
  const canDerive = LIMB_LEAD_SOURCES.every((l) => present.has(l));
  const missing = needed.filter((l) => !present.has(l) && !(canDerive && isDerivedLimbLead(l)));
  if (missing.length > 0) reasons.push(`missing leads that cannot be derived: ${missing.join(', ')}`);

  let tooShort = false;
  if (rateOk) {
    const seconds = durationS({ leads, sampleRateHz: rate });
    tooShort = seconds < minDuration;
    if (tooShort) reasons.push(`too short: ${fmt(seconds)} s < ${fmt(minDuration)} s required`);
  }
  // Signal statistics over a few samples, or over leads of unknown alignment, would mislead: stop here.
  if (unequal || tooShort) return { analysable: false, reasons };

  // Signal checks over the window prepare() uses, on the leads it reads.
  const checked: LeadName[] = needed.filter((l) => present.has(l));
  if (needed.some((l) => !present.has(l) && isDerivedLimbLead(l))) {
    for (const l of LIMB_LEAD_SOURCES) if (present.has(l) && !checked.includes(l)) checked.push(l);
  }
  const window = rateOk ? Math.min(n, Math.ceil(modelDurationS * rate)) : n;
  const nonFinite: LeadName[] = [];
  const flat: LeadName[] = [];
  const saturated: LeadName[] = [];
  const extreme: LeadName[] = [];
  for (const name of checked) {
    const x = leads[name] as Float32Array;
    const stats = leadStats(x, window);
    if (stats === undefined) {
      nonFinite.push(name);
      continue;
    }
    const { min, max, atMax, atMin, mean, sd } = stats;
    if (max - min < flatP2p || sd < flatSd) {
      flat.push(name);
      continue;
    }
    // Clipping: many samples sit exactly on the lead's own extreme value (the amplifier's rail).
    if (Math.max(atMax, atMin) >= satFraction * window) saturated.push(name);
    else if (max - mean > maxAmp || mean - min > maxAmp) extreme.push(name);
  }
  if (nonFinite.length > 0) reasons.push(`non-numeric samples (NaN or infinity) in leads: ${nonFinite.join(', ')}`);
  if (flat.length > 0) reasons.push(`flat leads (lead off or no signal): ${flat.join(', ')}`);
  if (saturated.length > 0) reasons.push(`saturated leads (clipped at an extreme value): ${saturated.join(', ')}`);
  if (extreme.length > 0) {
    reasons.push(`implausible amplitude (beyond ${fmt(maxAmp / 1000)} mV) in leads: ${extreme.join(', ')}`);
  }
  return { analysable: reasons.length === 0, reasons };
}
