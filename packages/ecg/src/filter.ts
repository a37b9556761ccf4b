/**
 * Zero-phase IIR filtering as the model card's `input.filter` names it: Butterworth high-pass and low-pass and a
 * notch, designed here as second-order sections (bilinear transform with frequency pre-warping) and run forward
 * then backward, so the result has no phase shift (a QRS peak stays where it was) and the magnitude response is
 * the single-pass response squared: the named cutoff is the -3 dB point of one pass, -6 dB after both.
 *
 * Edges: the record is extended at both ends by an odd reflection (2 * x0 - x[k]) long enough for the slowest
 * section to settle (two time constants of a high-pass or notch, three cycles of a low-pass cutoff), and each pass
 * starts in steady state: on the local baseline (mean of the extension) when a high-pass leads, else on the edge
 * value. DC offsets and baseline slopes leave no startup transient; a 10 Hz tone is kept within 1 % up to the edges.
 */
import { ConfigError } from './errors.js';
import type { ModelInputSpec } from './model-input.js';
import { simdKernels } from './simd-kernels.js';

/** The card's filter block. */
export type FilterSpec = NonNullable<ModelInputSpec['filter']>;

/** Filter design choices. */
export interface FilterOptions {
  /** Butterworth order of the high-pass (default 2: gentle, no ringing on the baseline). */
  highpassOrder?: number;
  /** Butterworth order of the low-pass (default 4). */
  lowpassOrder?: number;
  /** Quality factor of the notch (default 30: about 1.7 Hz wide at 50 Hz). */
  notchQ?: number;
}

/** One second-order section, normalised so a0 = 1: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

const DEFAULT_HIGHPASS_ORDER = 2;
const DEFAULT_LOWPASS_ORDER = 4;
const DEFAULT_NOTCH_Q = 30;

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 1 || order > 10) {
    throw new ConfigError([`filter order must be an integer 1..10, got ${order}`]);
  }
}

function checkFrequency(what: string, hz: number, sampleRateHz: number): void {
  if (!(hz > 0 && hz < sampleRateHz / 2)) {
    throw new ConfigError([`${what} ${hz} Hz must lie between 0 and the Nyquist frequency ${sampleRateHz / 2} Hz`]);
  }
}

/** First-order section (b2 = a2 = 0) from the bilinear transform of 1 / (s + 1) or s / (s + 1). */
function firstOrder(kind: 'lowpass' | 'highpass', cutoffHz: number, sampleRateHz: number): Biquad {
  const k = Math.tan((Math.PI * cutoffHz) / sampleRateHz);
  const norm = 1 / (1 + k);
  const a1 = (k - 1) * norm;
  return kind === 'lowpass'
    ? { b0: k * norm, b1: k * norm, b2: 0, a1, a2: 0 }
    : { b0: norm, b1: -norm, b2: 0, a1, a2: 0 };
}

function butterworth(kind: 'lowpass' | 'highpass', order: number, cutoffHz: number, sampleRateHz: number): Biquad[] {
  checkOrder(order);
  checkFrequency(kind === 'lowpass' ? 'low-pass cutoff' : 'high-pass cutoff', cutoffHz, sampleRateHz);
  const w0 = (2 * Math.PI * cutoffHz) / sampleRateHz;
  const cosW = Math.cos(w0);
  const sinW = Math.sin(w0);
  const sections: Biquad[] = [];
  // Conjugate pole pairs of the analogue prototype: section quality factors 1 / (2 sin(theta_k)).
  for (let k = 0; k < Math.floor(order / 2); k++) {
    const q = 1 / (2 * Math.sin((Math.PI * (2 * k + 1)) / (2 * order)));
    const alpha = sinW / (2 * q);
    const a0 = 1 + alpha;
    const bEdge = kind === 'lowpass' ? (1 - cosW) / 2 : (1 + cosW) / 2;
    const bMid = kind === 'lowpass' ? 1 - cosW : -(1 + cosW);
    sections.push({ b0: bEdge / a0, b1: bMid / a0, b2: bEdge / a0, a1: (-2 * cosW) / a0, a2: (1 - alpha) / a0 });
  }
  if (order % 2 === 1) sections.push(firstOrder(kind, cutoffHz, sampleRateHz));
  return sections;
}

/** Butterworth low-pass of the given order as second-order sections (one first-order section for odd orders). */
export function butterworthLowpass(order: number, cutoffHz: number, sampleRateHz: number): Biquad[] {
  return butterworth('lowpass', order, cutoffHz, sampleRateHz);
}

/** Butterworth high-pass of the given order as second-order sections. */
export function butterworthHighpass(order: number, cutoffHz: number, sampleRateHz: number): Biquad[] {
  return butterworth('highpass', order, cutoffHz, sampleRateHz);
}

/** Second-order notch (band-stop) at `centreHz` with quality factor `q` (bandwidth centreHz / q). */
export function notchFilter(centreHz: number, sampleRateHz: number, q = DEFAULT_NOTCH_Q): Biquad {
  checkFrequency('notch frequency', centreHz, sampleRateHz);
  if (!(q > 0)) throw new ConfigError([`notch quality factor must be positive, got ${q}`]);
  const w0 = (2 * Math.PI * centreHz) / sampleRateHz;
  const alpha = Math.sin(w0) / (2 * q);
  const a0 = 1 + alpha;
  const c = (-2 * Math.cos(w0)) / a0;
  return { b0: 1 / a0, b1: c, b2: 1 / a0, a1: c, a2: (1 - alpha) / a0 };
}

/** DC gain of a section. */
function dcGain(s: Biquad): number {
  return (s.b0 + s.b1 + s.b2) / (1 + s.a1 + s.a2);
}

/**
 * A cascade of sections applied forward and backward with reflected edges. Build once per
 * (sample rate, filter spec) with {@link designFilter} (cached) and call {@link ZeroPhaseFilter.apply} per lead.
 * Not re-entrant: it reuses one work buffer.
 */
export class ZeroPhaseFilter {
  readonly sections: readonly Biquad[];
  /** Samples added by odd reflection at each end (capped at n - 1 for short records). */
  readonly padLength: number;
  /**
   * Overall gain pulled out of the sections when every numerator is symmetric (b0 = b2, as in even-order
   * Butterworth and notch sections): each section then runs as (1, b1 / b0, 1), two multiplications fewer
   * per sample, and the product of the b0 is applied once at the end. 1 otherwise.
   */
  readonly gain: number;
  /** Per section [b0, b1, b2, a1, a2, dc gain], with b0 = b2 = 1 and b1 = b1 / b0 on the symmetric path. */
  private readonly coef: Float64Array;
  private readonly symmetric: boolean;
  private readonly startsOnBaseline: boolean;
  private work = new Float64Array(0);
  /** Start states of the rows in applyRowsUnscaled, and the kernel's nine coefficients (reused). */
  private states = new Float64Array(0);
  private readonly kernelCoef = new Float64Array(9);

  constructor(sections: Biquad[], padLength: number) {
    this.sections = sections;
    this.padLength = Math.max(0, Math.ceil(padLength));
    this.coef = new Float64Array(sections.length * 6);
    this.startsOnBaseline = sections.length > 0 && Math.abs(dcGain(sections[0] as Biquad)) < 1e-9;
    // (Extremely small gains would push the unscaled values towards the Float64 range: keep those on the plain path.)
    const product = sections.reduce((g, s) => g * Math.abs(s.b0), 1);
    this.symmetric = product > 1e-60 && sections.every((s) => s.b0 !== 0 && s.b0 === s.b2);
    let gain = 1;
    sections.forEach((s, i) => {
      if (this.symmetric) {
        const unit: Biquad = { b0: 1, b1: s.b1 / s.b0, b2: 1, a1: s.a1, a2: s.a2 };
        this.coef.set([1, unit.b1, 1, s.a1, s.a2, dcGain(unit)], i * 6);
        gain *= s.b0;
      } else {
        this.coef.set([s.b0, s.b1, s.b2, s.a1, s.a2, dcGain(s)], i * 6);
      }
    });
    // Forward and backward: each pass applies every section once.
    this.gain = gain * gain;
  }

  /** Filters `x[0 .. n)` in place (n defaults to x.length). */
  apply(x: Float32Array | Float64Array, n: number = x.length): void {
    if (n <= 1 || this.sections.length === 0) return;
    const pad = this.padLength;
    const len = n + 2 * pad;
    if (this.work.length < len) this.work = new Float64Array(Math.max(len, this.work.length * 2));
    const w = this.work;
    for (let i = 0; i < n; i++) w[pad + i] = x[i] as number;
    this.applyPadded(w, pad, n);
    for (let i = 0; i < n; i++) x[i] = w[pad + i] as number;
  }

  /** Filters `w[start .. start + n)` in place; see {@link ZeroPhaseFilter.applyPaddedUnscaled} for the layout. */
  applyPadded(w: Float64Array, start: number, n: number): void {
    this.applyPaddedUnscaled(w, start, n);
    const g = this.gain;
    if (g !== 1 && n > 1) for (let i = start; i < start + n; i++) w[i] = (w[i] as number) * g;
  }

  /**
   * Filters `w[start .. start + n)` in place but leaves the result divided by {@link ZeroPhaseFilter.gain} (a
   * caller that rescales anyway, like prepare(), folds the gain into its own multiplication). The `padLength`
   * values either side, `w[start - padLength .. start)` and `w[start + n .. start + n + padLength)`, are room for
   * the reflected edges and are overwritten. Lets a caller resample straight into a padded row and filter it
   * without copies.
   */
  applyPaddedUnscaled(w: Float64Array, start: number, n: number): void {
    if (n <= 1 || this.sections.length === 0) return;
    const p = this.reflectEdges(w, start, n);
    const pad = start;
    const from = pad - p;
    const len = n + 2 * p;
    const coef = this.coef;
    const count = this.sections.length;
    // A leading high-pass (DC gain 0) starts on the local baseline; otherwise sections start on the edge value.
    const settle = this.startsOnBaseline ? Math.max(1, p) : 1;
    const run = this.symmetric ? runSymmetric : runSections;
    for (let s = 0; s < count; s += 3) run(w, from, len, coef, s, Math.min(3, count - s), false, settle);
    // The backward pass can stop where the record starts: nothing left of it is kept.
    for (let s = 0; s < count; s += 3) run(w, pad, n + p, coef, s, Math.min(3, count - s), true, settle);
  }

  /**
   * {@link ZeroPhaseFilter.applyPaddedUnscaled} on several rows of `w`, each `n` values long from `starts[r]`
   * with its padding either side. Same results, bit for bit; when `w` is the SIMD kernel's workspace
   * ({@link filterWorkspace}) and the sections are symmetric, each group of three runs on all rows at once in
   * WebAssembly, two rows per vector (about 2x faster than row by row).
   */
  applyRowsUnscaled(w: Float64Array, starts: readonly number[], n: number): void {
    const kernel = simdKernels();
    const count = this.sections.length;
    if (!kernel?.owns(w) || !this.symmetric || count < 3 || n <= 1) {
      for (const start of starts) this.applyPaddedUnscaled(w, start, n);
      return;
    }
    const rows = starts.length;
    let p = 0;
    for (const start of starts) p = this.reflectEdges(w, start, n);
    const len = n + 2 * p;
    const settle = this.startsOnBaseline ? Math.max(1, p) : 1;
    const coef = this.coef;
    const firsts = new Array<number>(rows);
    const states = this.states.length >= 6 * rows ? this.states : new Float64Array(6 * rows);
    this.states = states;
    for (const backward of [false, true]) {
      const passLen = backward ? n + p : len;
      for (let s = 0; s < count; s += 3) {
        const group = Math.min(3, count - s);
        for (let r = 0; r < rows; r++) {
          const from = backward ? (starts[r] as number) : (starts[r] as number) - p;
          if (group < 3) runSymmetric(w, from, passLen, coef, s, group, backward, settle);
          else firsts[r] = symmetricStart(w, from, passLen, coef, s, 3, backward, settle, states, 6 * r);
        }
        if (group < 3) continue;
        const c = 6 * s;
        const k = this.kernelCoef;
        k[0] = coef[c + 1] as number;
        k[1] = coef[c + 3] as number;
        k[2] = coef[c + 4] as number;
        k[3] = coef[c + 7] as number;
        k[4] = coef[c + 9] as number;
        k[5] = coef[c + 10] as number;
        k[6] = coef[c + 13] as number;
        k[7] = coef[c + 15] as number;
        k[8] = coef[c + 16] as number;
        kernel.biquads(firsts, rows, passLen, backward, k, states);
      }
    }
  }

  /**
   * Writes the odd reflections either side of w[start .. start + n) and returns their length p (padLength,
   * capped at n - 1). Throws RangeError when the row has too little room for them.
   */
  private reflectEdges(w: Float64Array, start: number, n: number): number {
    const pad = start;
    if (pad < this.padLength || pad + n + this.padLength > w.length) {
      throw new RangeError('filter: row has too little padding');
    }
    const p = Math.min(this.padLength, n - 1);
    const first = w[pad] as number;
    const last = w[pad + n - 1] as number;
    for (let k = 1; k <= p; k++) {
      w[pad - k] = 2 * first - (w[pad + k] as number);
      w[pad + n - 1 + k] = 2 * last - (w[pad + n - 1 - k] as number);
    }
    return p;
  }
}

/**
 * A Float64Array with at least `length` values for rows that {@link ZeroPhaseFilter.applyRowsUnscaled} should
 * filter: the SIMD kernel's memory where it is available, else a plain array. Reused: valid until the next call.
 */
export function filterWorkspace(length: number): Float64Array {
  const kernels = simdKernels();
  if (kernels) return kernels.workspace(length);
  if (plainWorkspace.length < length) plainWorkspace = new Float64Array(length);
  return plainWorkspace;
}
let plainWorkspace = new Float64Array(0);

/**
 * The steady-state start of `count` symmetric sections from coef[6 * first ..) for a pass over w[from .. from +
 * len): each section starts in steady state for the mean of the pass's first `settle` values as it reaches that
 * section. Written to out[o .. o + 2 count) as [pz1, pz2, rz1, rz2, tz1, tz2] (runSymmetric's and the SIMD
 * kernel's start states alike). Returns the index of the pass's first value.
 */
function symmetricStart(
  w: Float64Array,
  from: number,
  len: number,
  coef: Float64Array,
  first: number,
  count: number,
  backward: boolean,
  settle: number,
  out: Float64Array,
  o: number,
): number {
  const step = backward ? -1 : 1;
  const i = backward ? from + len - 1 : from;
  // The mean of the first `settle` values. With a high-pass first that is the local baseline: starting on the first
  // value instead (a pad that begins on a QRS complex, say) would launch a slow transient that is still there when
  // the record starts.
  let u = 0;
  const m = Math.min(settle, len);
  for (let k = 0, j = i; k < m; k++, j += step) u += w[j] as number;
  u /= m;
  // Each section sees the previous one's steady output: its input times the previous section's DC gain.
  for (let k = 0, c = first * 6; k < count; k++, c += 6) {
    const g = coef[c + 5] as number;
    const z2 = (1 - (coef[c + 4] as number) * g) * u;
    out[o + 2 * k] = ((coef[c + 1] as number) - (coef[c + 3] as number) * g) * u + z2;
    out[o + 2 * k + 1] = z2;
    u = g * u;
  }
  return i;
}

/** runSymmetric's start states, reused. */
const startStates = new Float64Array(6);

/**
 * Runs the sections coef[6 * first ..) (at most three) over w[from .. from + len) in one loop, transposed direct form II,
 * forward or backward, each section starting in steady state for the first value it will see.
 * Why fused: an IIR section is bound by the latency of its own recursion; running two or three sections
 * in the same loop lets the CPU overlap their recursions (about 2.5x faster than one section per pass).
 */
function runSections(
  w: Float64Array,
  from: number,
  len: number,
  coef: Float64Array,
  first: number,
  count: number,
  backward: boolean,
  settle: number,
): void {
  const c = first * 6;
  const step = backward ? -1 : 1;
  let i = backward ? from + len - 1 : from;
  // Start in steady state for the mean of the first `settle` values. With a high-pass first that is the local
  // baseline: starting on the first value instead (a pad that begins on a QRS complex, say) would launch a slow
  // transient that is still there when the record starts.
  let u = 0;
  const m = Math.min(settle, len);
  for (let k = 0, j = i; k < m; k++, j += step) u += w[j] as number;
  u /= m;
  // Section 1
  const p0 = coef[c] as number;
  const p1 = coef[c + 1] as number;
  const p2 = coef[c + 2] as number;
  const q1 = coef[c + 3] as number;
  const q2 = coef[c + 4] as number;
  const gp = coef[c + 5] as number;
  let pz2 = (p2 - q2 * gp) * u;
  let pz1 = (p1 - q1 * gp) * u + pz2;
  if (count === 1) {
    for (let k = 0; k < len; k++, i += step) {
      const x = w[i] as number;
      const y = p0 * x + pz1;
      pz1 = p1 * x - q1 * y + pz2;
      pz2 = p2 * x - q2 * y;
      w[i] = y;
    }
    return;
  }
  // Section 2 sees section 1's steady output.
  const u2 = gp * u;
  const r0 = coef[c + 6] as number;
  const r1 = coef[c + 7] as number;
  const r2 = coef[c + 8] as number;
  const s1 = coef[c + 9] as number;
  const s2 = coef[c + 10] as number;
  const gr = coef[c + 11] as number;
  let rz2 = (r2 - s2 * gr) * u2;
  let rz1 = (r1 - s1 * gr) * u2 + rz2;
  if (count === 2) {
    for (let k = 0; k < len; k++, i += step) {
      const x = w[i] as number;
      const y = p0 * x + pz1;
      pz1 = p1 * x - q1 * y + pz2;
      pz2 = p2 * x - q2 * y;
      const v = r0 * y + rz1;
      rz1 = r1 * y - s1 * v + rz2;
      rz2 = r2 * y - s2 * v;
      w[i] = v;
    }
    return;
  }
  const u3 = gr * u2;
  const t0 = coef[c + 12] as number;
  const t1 = coef[c + 13] as number;
  const t2 = coef[c + 14] as number;
  const e1 = coef[c + 15] as number;
  const e2 = coef[c + 16] as number;
  const gt = coef[c + 17] as number;
  let tz2 = (t2 - e2 * gt) * u3;
  let tz1 = (t1 - e1 * gt) * u3 + tz2;
  for (let k = 0; k < len; k++, i += step) {
    const x = w[i] as number;
    const y = p0 * x + pz1;
    pz1 = p1 * x - q1 * y + pz2;
    pz2 = p2 * x - q2 * y;
    const v = r0 * y + rz1;
    rz1 = r1 * y - s1 * v + rz2;
    rz2 = r2 * y - s2 * v;
    const z = t0 * v + tz1;
    tz1 = t1 * v - e1 * z + tz2;
    tz2 = t2 * v - e2 * z;
    w[i] = z;
  }
}

/** runSections for sections with numerator (1, b1, 1): the same recursions, two multiplications fewer each. */
function runSymmetric(
  w: Float64Array,
  from: number,
  len: number,
  coef: Float64Array,
  first: number,
  count: number,
  backward: boolean,
  settle: number,
): void {
  const c = first * 6;
  const step = backward ? -1 : 1;
  let i = symmetricStart(w, from, len, coef, first, count, backward, settle, startStates, 0);
  // Section 1
  const p1 = coef[c + 1] as number;
  const q1 = coef[c + 3] as number;
  const q2 = coef[c + 4] as number;
  let pz1 = startStates[0] as number;
  let pz2 = startStates[1] as number;
  if (count === 1) {
    for (let k = 0; k < len; k++, i += step) {
      const x = w[i] as number;
      const y = x + pz1;
      pz1 = p1 * x - q1 * y + pz2;
      pz2 = x - q2 * y;
      w[i] = y;
    }
    return;
  }
  const r1 = coef[c + 7] as number;
  const s1 = coef[c + 9] as number;
  const s2 = coef[c + 10] as number;
  let rz1 = startStates[2] as number;
  let rz2 = startStates[3] as number;
  if (count === 2) {
    for (let k = 0; k < len; k++, i += step) {
      const x = w[i] as number;
      const y = x + pz1;
      pz1 = p1 * x - q1 * y + pz2;
      pz2 = x - q2 * y;
      const v = y + rz1;
      rz1 = r1 * y - s1 * v + rz2;
      rz2 = y - s2 * v;
      w[i] = v;
    }
    return;
  }
  const t1 = coef[c + 13] as number;
  const e1 = coef[c + 15] as number;
  const e2 = coef[c + 16] as number;
  let tz1 = startStates[4] as number;
  let tz2 = startStates[5] as number;
  // Each section as y[n] = (x[n] + p1 x[n-1] + z2[n-2]) - q1 y[n-1]: the part in brackets is ready a step early,
  // so the recursion through y is one multiplication and one subtraction per sample (a multiplication and two
  // additions in the transposed form above). py = y[n-1] starts at 0 and pz1 holds the bracket less x[n].
  let py = 0;
  let ry = 0;
  let ty = 0;
  for (let k = 0; k < len; k++, i += step) {
    const x = w[i] as number;
    const y = x + pz1 - q1 * py;
    pz1 = p1 * x + pz2;
    pz2 = x - q2 * y;
    py = y;
    const v = y + rz1 - s1 * ry;
    rz1 = r1 * y + rz2;
    rz2 = y - s2 * v;
    ry = v;
    const z = v + tz1 - e1 * ty;
    tz1 = t1 * v + tz2;
    tz2 = v - e2 * z;
    ty = z;
    w[i] = z;
  }
}

const cache = new Map<string, ZeroPhaseFilter | null>();

/**
 * The zero-phase filter for a card's filter block at `sampleRateHz`, or undefined when the block asks for nothing.
 * Throws ConfigError for cutoffs outside (0, Nyquist) or a high-pass at or above the low-pass. Cached.
 */
export function designFilter(
  spec: FilterSpec | undefined,
  sampleRateHz: number,
  options: FilterOptions = {},
): ZeroPhaseFilter | undefined {
  if (!spec) return undefined;
  const { highpassHz, lowpassHz, notchHz } = spec;
  const hpOrder = options.highpassOrder ?? DEFAULT_HIGHPASS_ORDER;
  const lpOrder = options.lowpassOrder ?? DEFAULT_LOWPASS_ORDER;
  const q = options.notchQ ?? DEFAULT_NOTCH_Q;
  const key = `${sampleRateHz}|${highpassHz}|${lowpassHz}|${notchHz}|${hpOrder}|${lpOrder}|${q}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached ?? undefined;

  if (highpassHz !== undefined && lowpassHz !== undefined && !(highpassHz < lowpassHz)) {
    throw new ConfigError([`high-pass ${highpassHz} Hz must lie below low-pass ${lowpassHz} Hz`]);
  }
  const sections: Biquad[] = [];
  // The slowest section decides how much reflected signal each edge needs. Two time constants of the high-pass:
  // longer pads were measured to help the interior little and the edges not at all (they lack the real signal).
  let padS = 0;
  if (highpassHz !== undefined) {
    sections.push(...butterworthHighpass(hpOrder, highpassHz, sampleRateHz));
    padS = Math.max(padS, 2 / (2 * Math.PI * highpassHz));
  }
  if (lowpassHz !== undefined) {
    sections.push(...butterworthLowpass(lpOrder, lowpassHz, sampleRateHz));
    padS = Math.max(padS, 3 / lowpassHz); // its step response rings for a few cycles of the cutoff
  }
  if (notchHz !== undefined) {
    sections.push(notchFilter(notchHz, sampleRateHz, q));
    padS = Math.max(padS, (2 * q) / (Math.PI * notchHz));
  }
  const filter = sections.length > 0 ? new ZeroPhaseFilter(sections, Math.max(padS * sampleRateHz, 12)) : null;
  if (cache.size >= 64) cache.clear();
  cache.set(key, filter);
  return filter ?? undefined;
}

/** Convenience: a filtered copy of `x` (zero-phase, as described above). Returns a copy when the spec is empty. */
export function filtfilt(
  x: Float32Array,
  sampleRateHz: number,
  spec: FilterSpec | undefined,
  options?: FilterOptions,
): Float32Array {
  const out = Float32Array.from(x);
  designFilter(spec, sampleRateHz, options)?.apply(out);
  return out;
}
