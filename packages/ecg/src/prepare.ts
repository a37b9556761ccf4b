/**
 * prepare(): the model input tensor for one Ecg, exactly as the model card's `input` block says.
 *
 * Steps, per lead the card lists:
 * 1. quality gate (assessQuality); a record that fails throws NotAnalysableError with the reasons;
 * 2. resample from the source rate to `spec.sampleRateHz` (anti-aliased polyphase FIR, no delay); when the card
 *    low-passes at fc, the resampler protects 0 .. 1.25 fc only (flat there, >= 60 dB against anything folding
 *    into it) and leaves what folds above it to the low-pass: a far shorter kernel (1000 -> 500 Hz: 4
 *    multiplications per output instead of 16) and, after the low-pass, the same >= 60 dB against aliasing;
 * 3. filter (zero-phase Butterworth high-/low-pass, notch) at the model rate;
 * 4. crop to the FIRST `spec.samples` samples, or zero-pad at the end when the record is shorter;
 * 5. convert microvolts to `spec.units` and normalise (`none`, `zscore-record`, `zscore-per-lead`);
 * 6. write in `spec.layout`: NCL = [lead][sample], NLC = [sample][lead].
 * Missing limb leads (III, aVR, aVL, aVF) are derived from I and II. Every step above is linear, so they are
 * derived from the processed I and II (identical to deriving first, and four resample/filter passes cheaper),
 * and only in the final write: their normalisation sums follow from the sums of I and II and their cross sum.
 *
 * Cropping: only the input that the kept window needs, plus up to one second of real signal after it (so the
 * backward filter pass starts on real data, not on the crop edge), is resampled and filtered.
 * Padding: normalisation statistics come from the real samples only, and the padded tail is 0 in the output:
 * the record's mean level for the z-score modes, 0 in `spec.units` for `none`.
 *
 * In the code, prepare() runs named steps in this order: cropWindow (what is read), assignRows (which leads become
 * rows, which are derived), layOutWorkspace, resampleRows, the filter over all rows, leadSums and computeMaps,
 * then writeStaged or writeRows. Where the workspace is the WebAssembly SIMD kernels' memory, a step runs its
 * kernel, else its JavaScript loops; the two give the same bits (prepare.test.ts compares them, withoutSimd).
 *
 * Kernels and filter designs are cached per (rate, spec); a spec object is validated once and then treated as
 * immutable (cards are loaded once). Scratch buffers are reused across calls (prepare() is synchronous).
 */
import { type Ecg, type LeadName, sampleCount } from './ecg.js';
import { ConfigError, NotAnalysableError } from './errors.js';
import { designFilter, filterWorkspace, type ZeroPhaseFilter } from './filter.js';
import { type DerivedLimbLead, isDerivedLimbLead, LIMB_LEAD_SOURCES, LIMB_LEAD_WEIGHTS } from './leads.js';
import type { ModelInputSpec } from './model-input.js';
import { type ZScore, zscoreFromSums } from './normalize.js';
import { assessQuality, type QualityOptions } from './quality.js';
import { getResampler, type Resampler, snapRate } from './resample.js';
import { type RowSums, SIMD_MIN_VALUES, type SimdKernels, simdKernels } from './simd-kernels.js';

/** Options for prepare(). */
export interface PrepareOptions {
  /** Thresholds of the quality gate (see QualityOptions for defaults). */
  quality?: QualityOptions;
  /**
   * Set when the caller has just run assessQuality(ecg, spec, same quality options) and it said analysable:
   * prepare() then skips its own run of the gate (about 10 % of its time at 500 Hz). Default false.
   */
  qualityChecked?: boolean;
  /**
   * Stored III, aVR, aVL and aVF that equal their Einthoven/Goldberger derivation from I and II to within this
   * many microvolts at every sample used (carts store them computed from I and II, rounded to their resolution)
   * are derived from the processed I and II instead of being resampled and filtered themselves: a third less
   * work on a typical 12-lead record. The input then differs from processing the stored leads by about this
   * much at most (the rounding the cart added). Default 1.5 uV (half a step of 2.5 uV resolution); a negative
   * value turns it off.
   */
  derivedLeadToleranceUv?: number;
}

const DEFAULT_DERIVED_LEAD_TOLERANCE_UV = 1.5;

/**
 * Band the resampler keeps flat and free of aliases, as a multiple of the card's low-pass cutoff: above 1.25 fc
 * the zero-phase 4th-order Butterworth (applied twice) is already down by more than 16 dB and falling by 48 dB
 * per octave, so aliases folding there are the low-pass's to remove.
 */
const PROTECT_BAND_FACTOR = 1.25;

/** Real signal kept after the crop window so the filter's backward pass starts on data, in seconds. */
const CROP_MARGIN_S = 1;

/** Validated, precomputed facts about one spec. */
interface Plan {
  leads: readonly LeadName[];
  samples: number;
  rateHz: number;
  unitScale: number;
  filter: ZeroPhaseFilter | undefined;
  /** Resampler option: the band the low-pass keeps, or undefined (full anti-aliasing) without a low-pass. */
  protectBandHz: number | undefined;
}

const plans = new WeakMap<ModelInputSpec, Plan>();

function planFor(spec: ModelInputSpec): Plan {
  const cached = plans.get(spec);
  if (cached) return cached;
  const issues: string[] = [];
  if (!Array.isArray(spec.leads) || spec.leads.length === 0) issues.push('input.leads must list at least one lead');
  if (!Number.isInteger(spec.samples) || spec.samples < 1) issues.push('input.samples must be a positive integer');
  if (!(spec.sampleRateHz > 0 && Number.isFinite(spec.sampleRateHz))) issues.push('input.sampleRateHz must be > 0');
  if (spec.units !== 'uV' && spec.units !== 'mV') issues.push('input.units must be uV or mV');
  if (spec.layout !== 'NCL' && spec.layout !== 'NLC') issues.push('input.layout must be NCL or NLC');
  if (!['none', 'zscore-record', 'zscore-per-lead'].includes(spec.normalize)) {
    issues.push('input.normalize must be none, zscore-record or zscore-per-lead');
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const rateHz = snapRate(spec.sampleRateHz);
  const plan: Plan = {
    leads: spec.leads,
    samples: spec.samples,
    rateHz,
    unitScale: spec.units === 'mV' ? 1e-3 : 1,
    filter: designFilter(spec.filter, rateHz),
    protectBandHz: spec.filter?.lowpassHz !== undefined ? PROTECT_BAND_FACTOR * spec.filter.lowpassHz : undefined,
  };
  plans.set(spec, plan);
  return plan;
}

/** Number of values prepare() writes for one ECG: leads x samples. */
export function preparedLength(spec: ModelInputSpec): number {
  return spec.leads.length * spec.samples;
}

/** Where the model input of one ECG lies in its source record (see preparedSpan). */
export interface PreparedSpan {
  /** Time in the source record of the input's first sample, s. */
  startS: number;
  /** Samples of real signal at the start of each input row; the rest, up to `spec.samples`, is zero padding. */
  keptSamples: number;
}

/**
 * Where prepare() takes `ecg`'s model input from: it keeps the FIRST `spec.samples` samples (so the input starts
 * at 0 s of the source) and pads a shorter record at the end. Lets a reader of the input (attribution maps) map
 * input samples back to source time and skip the padding.
 */
export function preparedSpan(ecg: Pick<Ecg, 'leads' | 'sampleRateHz'>, spec: ModelInputSpec): PreparedSpan {
  const plan = planFor(spec);
  return { startS: 0, keptSamples: cropWindow(ecg as Ecg, plan).kept };
}

/**
 * Builds the model input for `ecg`. Writes `leads x samples` values into `out` at `offset` (a batch tensor, say)
 * or into a new Float32Array, and returns the array written. Throws NotAnalysableError when the quality gate
 * refuses the record and ConfigError for an invalid spec.
 */
export function prepare(
  ecg: Ecg,
  spec: ModelInputSpec,
  out?: Float32Array,
  offset = 0,
  options: PrepareOptions = {},
): Float32Array {
  const plan = planFor(spec);
  const total = plan.leads.length * plan.samples;
  const target = out ?? new Float32Array(total);
  if (!Number.isInteger(offset) || offset < 0 || offset + total > target.length) {
    throw new RangeError(`prepare: output needs ${total} values at offset ${offset}, has ${target.length}`);
  }
  if (!options.qualityChecked) {
    const verdict = assessQuality(ecg, spec, options.quality);
    if (!verdict.analysable) throw new NotAnalysableError(verdict.reasons);
  }
  const window = cropWindow(ecg, plan);
  const tolerance = options.derivedLeadToleranceUv ?? DEFAULT_DERIVED_LEAD_TOLERANCE_UV;
  const rows = assignRows(ecg.leads, plan.leads, window.inputNeeded, tolerance);
  const work = layOutWorkspace(rows, window, plan.filter?.padLength ?? 0, total);
  resampleRows(ecg.leads, rows, window, work);
  // All rows at once (two per SIMD vector where WebAssembly has SIMD). Unscaled: the filter's overall gain is
  // folded into the final affine map below (one multiplication saved).
  plan.filter?.applyRowsUnscaled(work.buf, work.starts, window.rowLength);
  const sums = spec.normalize === 'none' ? new Map<LeadName, RowSums>() : leadSums(rows, work, window.kept);
  // Normalisation maps per card lead, over the kept real samples (microvolts / filter gain).
  const leadSumsInOrder: RowSums[] = [];
  for (const l of plan.leads) leadSumsInOrder.push(sums.get(l) ?? { s: 0, q: 0 });
  const maps = computeMaps(leadSumsInOrder, window.kept, spec.normalize, plan.unitScale * (plan.filter?.gain ?? 1));
  if (work.kernel && spec.layout === 'NCL')
    writeStaged(work.kernel, target, offset, plan, rows, work, maps, window.kept);
  else writeRows(target, offset, spec.layout, plan, rows, work, maps, window.kept);
  return target;
}

// --- Step 1: the window of the record that is read. ---

/** The part of the record prepare() reads, and the rows it becomes. */
interface CropWindow {
  resampler: Resampler;
  /** Source samples read: those the kept window needs, plus a margin of real signal after it. */
  inputNeeded: number;
  /** Samples per row once resampled. */
  rowLength: number;
  /** Real samples kept in the output (the rest, up to `samples`, is padding). */
  kept: number;
}

function cropWindow(ecg: Ecg, plan: Plan): CropWindow {
  const resampler = getResampler(ecg.sampleRateHz, plan.rateHz, { protectBandHz: plan.protectBandHz });
  const fromHz = resampler.fromHz;
  const inputNeeded = Math.min(
    sampleCount(ecg),
    Math.ceil(((plan.samples + 1) * fromHz) / plan.rateHz + CROP_MARGIN_S * fromHz),
  );
  const rowLength = resampler.outputLength(inputNeeded);
  return { resampler, inputNeeded, rowLength, kept: Math.min(rowLength, plan.samples) };
}

// --- Step 2: which leads are processed as rows, and which are derived from I and II. ---

/** The leads behind the rows. */
interface Rows {
  /** One row each: the card leads stored in the record, then I and II where they are needed only to derive. */
  stored: LeadName[];
  /** Card leads formed from rows I and II in the final write, in the card's order. */
  derived: ReadonlySet<DerivedLimbLead>;
  /** Row index of each stored lead. */
  rowOf: ReadonlyMap<LeadName, number>;
}

function assignRows(leads: Ecg['leads'], specLeads: readonly LeadName[], n: number, tolerance: number): Rows {
  const derivedSet = derivedLeads(leads, specLeads, n, tolerance);
  // The gate has refused records missing anything else; this guards against a caller's custom gate options.
  const underivable = [...derivedSet].filter((l) => !isDerivedLimbLead(l));
  if (underivable.length > 0) {
    throw new NotAnalysableError([`missing leads that cannot be derived: ${underivable.join(', ')}`]);
  }
  const derived = derivedSet as ReadonlySet<DerivedLimbLead>;
  const rowOf = new Map<LeadName, number>();
  const stored: LeadName[] = [];
  const addRow = (l: LeadName) => {
    if (rowOf.has(l)) return;
    rowOf.set(l, stored.length);
    stored.push(l);
  };
  for (const l of specLeads) if (!derived.has(l as DerivedLimbLead)) addRow(l);
  if (derived.size > 0) for (const l of LIMB_LEAD_SOURCES) addRow(l);
  return { stored, derived, rowOf };
}

/** True when stored lead `name` is a * I + b * II to within `tolerance` over the first `n` samples. */
function isStoredDerivation(leads: Ecg['leads'], name: DerivedLimbLead, n: number, tolerance: number): boolean {
  const x = leads[name];
  const i = leads.I;
  const ii = leads.II;
  if (!x || !i || !ii || x.length < n || i.length < n || ii.length < n) return false;
  const [a, b] = LIMB_LEAD_WEIGHTS[name];
  for (let t = 0; t < n; t++) {
    const d = (x[t] as number) - (a * (i[t] as number) + b * (ii[t] as number));
    if (!(d <= tolerance && d >= -tolerance)) return false; // NaN fails too
  }
  return true;
}

/**
 * Card leads prepare() derives from I and II: those the record lacks, and stored limb leads that equal their
 * derivation to within `tolerance` over the first `n` samples (isStoredDerivation; through the SIMD kernel, same
 * verdicts, where WebAssembly has it). A negative tolerance derives only the missing ones.
 */
function derivedLeads(
  leads: Ecg['leads'],
  specLeads: readonly LeadName[],
  n: number,
  tolerance: number,
): Set<LeadName> {
  // Loops, not filter / map / forEach with closures: prepare runs per ECG, and a closure made per call is optimised
  // again after every full collection.
  const candidates: DerivedLimbLead[] = [];
  if (tolerance >= 0) for (const l of specLeads) if (leads[l] !== undefined && isDerivedLimbLead(l)) candidates.push(l);
  const equal = new Set<LeadName>();
  const i = leads.I;
  const ii = leads.II;
  const kernel = n >= SIMD_MIN_VALUES ? simdKernels() : undefined;
  if (kernel && i && ii && i.length >= n && ii.length >= n) {
    const checked: DerivedLimbLead[] = [];
    const rows: { x: Float32Array; a: number; b: number }[] = [];
    for (const l of candidates) {
      const x = leads[l] as Float32Array;
      if (x.length < n) continue;
      const [a, b] = LIMB_LEAD_WEIGHTS[l];
      checked.push(l);
      rows.push({ x, a, b });
    }
    const within = kernel.storedDerivations(i, ii, n, rows, tolerance);
    for (let k = 0; k < checked.length; k++) if (within[k]) equal.add(checked[k] as LeadName);
  } else {
    for (const l of candidates) if (isStoredDerivation(leads, l, n, tolerance)) equal.add(l);
  }
  // In the card's order.
  const derived = new Set<LeadName>();
  for (const l of specLeads) if (!leads[l] || equal.has(l)) derived.add(l);
  return derived;
}

// --- Step 3: the workspace the rows live in. ---

/** Where the rows lie. */
interface Workspace {
  /** Float64 rows: each [pad | rowLength resampled samples | pad], the pads room for the filter's reflected edges. */
  buf: Float64Array;
  /** The SIMD kernels when `buf` is their memory (every kernel step below then runs), else undefined. */
  kernel: SimdKernels | undefined;
  /** Index of each row's first sample, by row. */
  starts: number[];
  /** Float32 index of the output's staging area behind the rows (the SIMD write; one copy to the target). */
  stage: number;
  /** Float64 index past the staging area: room for two source leads as Float32 (the SIMD half-band decimation). */
  free: number;
}

function layOutWorkspace(rows: Rows, window: CropWindow, pad: number, total: number): Workspace {
  const stride = window.rowLength + 2 * pad;
  const stage = rows.stored.length * stride;
  const free = stage + Math.ceil(total / 2);
  // filterWorkspace() is the SIMD kernels' memory where they run, reused across calls (prepare() is synchronous).
  const buf = filterWorkspace(free + window.inputNeeded);
  const kernels = simdKernels();
  const starts: number[] = [];
  for (let r = 0; r < rows.stored.length; r++) starts.push(r * stride + pad);
  return { buf, kernel: kernels?.owns(buf) ? kernels : undefined, starts, stage: 2 * stage, free };
}

// --- Step 4: resample each stored lead into its row. ---

/** Float64 copy of a source lead for the resampler's many-tap paths, reused across calls. */
let wide = new Float64Array(0);

function resampleRows(source: Ecg['leads'], rows: Rows, window: CropWindow, work: Workspace): void {
  const { resampler, inputNeeded, rowLength } = window;
  const { stored } = rows;
  const { buf, kernel, starts } = work;
  const halfBand = resampler.halfBand;
  if (kernel && halfBand) {
    // 2:1 half-band decimation in the SIMD kernel, two leads per vector; an odd one out runs in both lanes (same
    // values to the same places). The resampler writes the reflected edges, the kernel the interior.
    for (let r = 0; r < stored.length; r += 2) {
      const r2 = Math.min(r + 1, stored.length - 1);
      const a = source[stored[r] as LeadName] as Float32Array;
      const b = source[stored[r2] as LeadName] as Float32Array;
      const [lo, hi] = resampler.processEdges(a, inputNeeded, buf, rowLength, starts[r] as number);
      if (r2 !== r) resampler.processEdges(b, inputNeeded, buf, rowLength, starts[r2] as number);
      kernel.halfBand(a, b, inputNeeded, starts[r] as number, starts[r2] as number, lo, hi, halfBand, work.free);
    }
    return;
  }
  for (let r = 0; r < stored.length; r++) {
    const src = source[stored[r] as LeadName] as Float32Array;
    if (resampler.identity || resampler.decimationFactor > 0) {
      // A copy, or a few taps per output: the Float32 lead is read as it is.
      resampler.process(src, inputNeeded, buf, rowLength, starts[r] as number);
    } else {
      // The kernel reads each input sample for many outputs: widen it to Float64 once. This also keeps the
      // resampler's inner loops monomorphic (measured 1.2-1.6x faster when upsampling).
      if (wide.length < inputNeeded) wide = new Float64Array(inputNeeded);
      wide.set(src.subarray(0, inputNeeded));
      resampler.process(wide, inputNeeded, buf, rowLength, starts[r] as number);
    }
  }
}

// --- Step 5 (after the filter): sums for the z-score. ---

/** Row start of a stored lead. */
function startOf(rows: Rows, work: Workspace, l: LeadName): number {
  return work.starts[rows.rowOf.get(l) as number] as number;
}

/**
 * Sum and sum of squares of each card lead's kept samples. Derived limb leads (a * I + b * II) are never written
 * out as rows: their sums follow from those of I and II and their cross sum.
 */
function leadSums(rows: Rows, work: Workspace, kept: number): Map<LeadName, RowSums> {
  const { buf, kernel } = work;
  const sums = new Map<LeadName, RowSums>();
  for (const l of rows.stored) {
    const start = startOf(rows, work, l);
    sums.set(l, kernel ? kernel.sums(start, kept) : rowSums(buf, start, kept));
  }
  if (rows.derived.size > 0) {
    const si = sums.get('I') as RowSums;
    const sii = sums.get('II') as RowSums;
    const rowI = startOf(rows, work, 'I');
    const rowII = startOf(rows, work, 'II');
    const cross = kernel ? kernel.cross(rowI, rowII, kept) : crossSum(buf, rowI, rowII, kept);
    for (const l of rows.derived) {
      const [a, b] = LIMB_LEAD_WEIGHTS[l];
      sums.set(l, { s: a * si.s + b * sii.s, q: a * a * si.q + 2 * a * b * cross + b * b * sii.q });
    }
  }
  return sums;
}

function rowSums(buf: Float64Array, base: number, kept: number): RowSums {
  // Two interleaved accumulators each: one running sum is bound by the latency of its additions.
  let s0 = 0;
  let s1 = 0;
  let q0 = 0;
  let q1 = 0;
  const end = base + kept;
  let t = base;
  for (; t + 1 < end; t += 2) {
    const a = buf[t] as number;
    const b = buf[t + 1] as number;
    s0 += a;
    s1 += b;
    q0 += a * a;
    q1 += b * b;
  }
  if (t < end) {
    const a = buf[t] as number;
    s0 += a;
    q0 += a * a;
  }
  return { s: s0 + s1, q: q0 + q1 };
}

/** Sum of products of two rows' kept samples (I and II: the cross term of a derived lead's sum of squares). */
function crossSum(buf: Float64Array, i: number, ii: number, kept: number): number {
  let p0 = 0;
  let p1 = 0;
  let t = 0;
  for (; t + 1 < kept; t += 2) {
    p0 += (buf[i + t] as number) * (buf[ii + t] as number);
    p1 += (buf[i + t + 1] as number) * (buf[ii + t + 1] as number);
  }
  if (t < kept) p0 += (buf[i + t] as number) * (buf[ii + t] as number);
  return p0 + p1;
}

/** Affine maps (microvolts in, card values out) per card lead, from each lead's sums over `kept` samples. */
function computeMaps(sums: RowSums[], kept: number, mode: ModelInputSpec['normalize'], unitScale: number): ZScore[] {
  if (mode === 'none') return sums.map(() => ({ mean: 0, scale: unitScale }));
  if (mode === 'zscore-per-lead') return sums.map(({ s, q }) => zscoreFromSums(s, q, kept));
  let s = 0;
  let q = 0;
  for (const p of sums) {
    s += p.s;
    q += p.q;
  }
  const z = zscoreFromSums(s, q, kept * sums.length);
  return sums.map(() => z);
}

// --- Step 6: the final write in the card's layout; derived leads are formed on the fly from rows I and II. ---

/**
 * The NCL write through the SIMD kernels: every card lead into Float32 staging behind the rows, then one copy into
 * `target`. The same values as writeRows.
 */
function writeStaged(
  kernel: SimdKernels,
  target: Float32Array,
  offset: number,
  plan: Plan,
  rows: Rows,
  work: Workspace,
  maps: readonly ZScore[],
  kept: number,
): void {
  const { leads, samples } = plan;
  const f32 = kernel.workspace32();
  for (let c = 0; c < leads.length; c++) {
    const l = leads[c] as LeadName;
    const { mean, scale } = maps[c] as ZScore;
    const o = work.stage + c * samples;
    if (rows.derived.has(l as DerivedLimbLead)) {
      const [a, b] = LIMB_LEAD_WEIGHTS[l as DerivedLimbLead];
      kernel.writeDerived(startOf(rows, work, 'I'), startOf(rows, work, 'II'), o, kept, a, b, mean, scale);
    } else kernel.write(startOf(rows, work, l), o, kept, mean, scale);
    if (kept < samples) f32.fill(0, o + kept, o + samples);
  }
  target.set(f32.subarray(work.stage, work.stage + leads.length * samples), offset);
}

/** The JavaScript write, NCL ([lead][sample]) or NLC ([sample][lead]): target = (row - mean) * scale, then zeros. */
function writeRows(
  target: Float32Array,
  offset: number,
  layout: ModelInputSpec['layout'],
  plan: Plan,
  rows: Rows,
  work: Workspace,
  maps: readonly ZScore[],
  kept: number,
): void {
  const { leads, samples } = plan;
  const buf = work.buf;
  const nlc = layout === 'NLC';
  const step = nlc ? leads.length : 1;
  for (let c = 0; c < leads.length; c++) {
    const l = leads[c] as LeadName;
    const { mean, scale } = maps[c] as ZScore;
    const o = offset + (nlc ? c : c * samples);
    if (rows.derived.has(l as DerivedLimbLead)) {
      const [a, b] = LIMB_LEAD_WEIGHTS[l as DerivedLimbLead];
      const i = startOf(rows, work, 'I');
      const ii = startOf(rows, work, 'II');
      if (step === 1) writeDerivedRow(target, o, buf, i, ii, a, b, kept, mean, scale);
      else
        for (let t = 0; t < kept; t++)
          target[o + t * step] = (a * (buf[i + t] as number) + b * (buf[ii + t] as number) - mean) * scale;
    } else {
      const base = startOf(rows, work, l);
      if (step === 1) writeRow(target, o, buf, base, kept, mean, scale);
      else for (let t = 0; t < kept; t++) target[o + t * step] = ((buf[base + t] as number) - mean) * scale;
    }
    for (let t = kept; t < samples; t++) target[o + t * step] = 0;
  }
}

/** target[o + t] = (buf[base + t] - mean) * scale for t < kept (NCL: one contiguous row). */
function writeRow(
  target: Float32Array,
  o: number,
  buf: Float64Array,
  base: number,
  kept: number,
  mean: number,
  scale: number,
): void {
  for (let t = 0; t < kept; t++) target[o + t] = ((buf[base + t] as number) - mean) * scale;
}

/** writeRow for a derived lead a * I + b * II, formed on the fly from rows I and II. */
function writeDerivedRow(
  target: Float32Array,
  o: number,
  buf: Float64Array,
  i: number,
  ii: number,
  a: number,
  b: number,
  kept: number,
  mean: number,
  scale: number,
): void {
  for (let t = 0; t < kept; t++)
    target[o + t] = (a * (buf[i + t] as number) + b * (buf[ii + t] as number) - mean) * scale;
}
