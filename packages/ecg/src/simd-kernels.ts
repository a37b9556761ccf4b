/**
 * WebAssembly SIMD kernels for the hot loops over prepare()'s Float64 rows and the Float32 leads:
 * - the zero-phase filter's three fused symmetric second-order sections (numerator 1, b1, 1), run over many leads
 *   at once, two leads per f64x2 vector and two vectors per loop;
 * - the z-score sums (sum, sum of squares, cross sum of I and II) and the final write to Float32;
 * - the 2:1 half-band decimation, the stored limb leads check, the quality gate's lead statistics and the
 *   finiteness check;
 * - (for the drift monitor's input statistics) each lead's pass, its even and odd halves in two lanes
 *   ({@link SimdKernels.leadPass}), then the bins of its second differences and the copy of the median's bin
 *   ({@link SimdKernels.binnedRank}), without the branch per value that JavaScript's copy mispredicted;
 * - (for the DICOM decoder) the de-interleave and scale of 16-bit samples into Float32 leads, four channels of
 *   four frames per step, where Float32 arithmetic gives exactly the float64 result ({@link deinterleaveInt16});
 * - (for the FHIR writer) the SampledData text of a lead's Int16 data ({@link SimdKernels.formatInt16});
 * - (for the payload codec) a lead's integers under a quantum, with the checks and gaps of its pass
 *   ({@link SimdKernels.quantise}).
 *
 * Why: one filter section's recursion is bound by the latency of its own multiply and subtract; JavaScript cannot
 * run two leads in one loop without spilling registers (measured 0.90x), while a 128-bit vector carries two leads
 * in the same registers and the independent vectors of one loop hide each other's latency. The other kernels are
 * plain streaming loops that V8 does not vectorise. docs/PERFORMANCE.md has the measurements.
 *
 * The kernels are written in WebAssembly text, kernels/simd-kernels.wat (the source), assembled at build time by
 * scripts/build-kernels.mjs (wabt) into dist/kernels/simd-kernels.wasm, read and compiled here once, synchronously,
 * at load. Each kernel computes exactly what its JavaScript counterpart computes (filter.ts's runSymmetric for three
 * sections; prepare.ts's rowSums, crossSum, writeRow, writeDerivedRow; quality.ts's leadStats; input-stats.ts's
 * selectNonNegative; ...), lane by lane in the same order, in float64 without fused multiply-adds: the results are
 * bit-identical, and the tests compare them.
 *
 * The kernels only read and write their own linear memory, so callers keep their rows there:
 * {@link SimdKernels.workspace} hands out a Float64Array over that memory (prepare() uses it as its scratch rows).
 * This class owns the memory's layout (below). Where WebAssembly SIMD is missing, {@link simdKernels} gives
 * undefined and callers use the JavaScript loops.
 */
import { readFileSync } from 'node:fs';

/** The part of the WebAssembly API this module uses (the project's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: object,
  ) => {
    exports: Record<string, unknown>;
  };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Vectors (two leads each) one filter kernel call runs together: 1 .. MAX_VECTORS (biquads1, biquads2). */
const MAX_VECTORS = 2;
/**
 * Byte layout of the linear memory: the filter's lane pointers, coefficients and start states (these three at
 * addresses fixed in kernels/simd-kernels.wat), the other kernels' results, formatInt16's token table, then the
 * rows (the workspace).
 */
const LANES_AT = 0;
const COEF_AT = 64;
const STATES_AT = 256;
/** Values per vector in the start-state block: pz1, pz2, rz1, rz2, tz1, tz2, each for two lanes. */
const STATES_PER_VECTOR = 6;
/** Results of leadPass: sum, squares, the largest second difference, the number of whole windows (Float64). */
const LEAD_PASS_AT = 448;
/** Results of the sum kernels: [s0, s1], [q0, q1], [p0, p1] (even and odd samples). */
const SUMS_AT = 768;
/**
 * Results of the lead statistics kernels: [s0, s1], [s2, s3], [q0, q1], [q2, q3] (Float64), max, min (Float32 x 4),
 * then atMax, atMin (i32 x 4).
 */
const STATS_AT = 832;
/**
 * Results of the quantise kernel: i32x4 miss mask, i32x4 wide mask, f64x2 smallest gaps between samples, f32x4
 * smallest non-zero magnitudes.
 */
const QUANT_AT = 960;
/**
 * The SampledData token table of formatInt16: for v from -999 to 999, 8 bytes at LUT_AT + 8 (v + 999), the bytes of
 * `${v} ` then, in the top byte, their number. Written once, at load.
 */
const LUT_AT = 1024;
const SMALL_TOKEN_MAX = 999;
const DATA_AT = LUT_AT + 16384;
const PAGE = 65536;

/**
 * Below this many values, copying a Float32 lead into the kernels' memory costs more than the kernel saves: the
 * callers (the quality gate, the stored limb leads check, the finiteness check) take their JavaScript loops.
 */
export const SIMD_MIN_VALUES = 256;

/**
 * The assembled kernels. Beside the compiled module (dist/kernels/); run from source (vitest imports src/ through
 * aliases, and its global setup assembles the .wat first), from the package's dist/kernels/.
 */
function kernelBinary(): Uint8Array {
  const candidates = ['./kernels/simd-kernels.wasm', '../dist/kernels/simd-kernels.wasm'];
  for (const path of candidates) {
    try {
      return readFileSync(new URL(path, import.meta.url));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(
    'WebAssembly kernels not built: dist/kernels/simd-kernels.wasm is missing (run `npm run build -w @ecgcad/ecg`)',
  );
}

/** Sum and sum of squares of a row's samples. */
export interface RowSums {
  s: number;
  q: number;
}

/** The module's exports: the functions of kernels/simd-kernels.wat (addresses are byte offsets into `memory`). */
interface KernelExports {
  memory: WasmMemory;
  /** Lane pointers at LANES_AT, coefficients at COEF_AT, start states at STATES_AT (fixed in the .wat). */
  biquads1(pairs: number, odd: number, step: number): void;
  biquads2(pairs: number, odd: number, step: number): void;
  sums(ptr: number, pairs: number, out: number): void;
  cross(a: number, b: number, pairs: number, out: number): void;
  write(src: number, dst: number, pairs: number, mean: number, scale: number): void;
  writeDerived(i: number, ii: number, dst: number, pairs: number, a: number, b: number, m: number, k: number): void;
  halfBand(
    a: number,
    b: number,
    outA: number,
    outB: number,
    n: number,
    h0: number,
    w1: number,
    w3: number,
    w5: number,
  ): void;
  derivation(x: number, i: number, ii: number, quads: number, a: number, b: number, tolerance: number): number;
  binnedRank(a: number, count: number, scale: number, k: number, hist: number, into: number, bins: number): number;
  leadPass(src: number, n: number, second: number, diffs: number, windows: number, out: number): void;
  formatInt16(src: number, count: number, out: number, lut: number): number;
  stats(ptr: number, quads: number, out: number): void;
  extremeCounts(ptr: number, quads: number, max: number, min: number, out: number): void;
  nonFinite(ptr: number, quads: number): number;
  quantise(ptr: number, quads: number, out: number, origin: number, factor: number, res: number): void;
  quantiseScaled(ptr: number, quads: number, out: number, factor: number, inverse: number, res: number): void;
  deint16(
    ptr: number,
    stride: number,
    quads: number,
    oa: number,
    ob: number,
    oc: number,
    od: number,
    sa: number,
    sb: number,
    sc: number,
    sd: number,
  ): void;
}

/** quantiseScaled's "no such datum" (no non-zero gap, no non-zero sample). */
const NO_DATUM = 0x7fffffff;

/** Factors below 2^-100 or above 2^100 are left to quantise (their Float32 inverse could lose bits). */
const SCALED_RANGE = 2 ** 100;

let lastScaled = Number.NaN;
let lastScaledAnswer = false;

/**
 * True for a factor that SimdKernels.quantiseScaled takes: a positive Float32 of at most 9 significant bits (2.5,
 * 5, 1, 0.5, ...: the sensitivities of most ECG carts), so that factor * d is a Float32 exactly for every |d| <=
 * 32767; within 2^-100 .. 2^100.
 */
export function scaledQuantum(factor: number): boolean {
  if (factor === lastScaled) return lastScaledAnswer;
  let answer = false;
  if (factor > 1 / SCALED_RANGE && factor < SCALED_RANGE && Math.fround(factor) === factor) {
    // The odd integer of the factor's significand: doubling and halving are exact.
    let m = factor;
    while (!Number.isInteger(m)) m *= 2;
    while (m % 2 === 0) m /= 2;
    answer = m < 512;
  }
  lastScaled = factor;
  lastScaledAnswer = answer;
  return answer;
}

/** What {@link SimdKernels.quantise} found in a lead that every sample of which came back exactly. */
export interface QuantisePass {
  /** The integers as Int16, in the kernels' memory (valid until the next kernel call); exact when not `wide`. */
  data: Int16Array;
  /**
   * Some datum lies outside -32767 .. 32767 (for quantiseScaled, also a sample too far off to judge in Float32): the
   * caller's exact loop decides such a lead.
   */
  wide: boolean;
  /** Smallest non-zero |v[i] - v[i - 1]| (float64), POSITIVE_INFINITY when none. */
  between: number;
  /** Smallest non-zero |v[i]|, POSITIVE_INFINITY when none. */
  fromZero: number;
}

/** The kernels over their linear memory. Rows must lie in {@link SimdKernels.workspace}'s array. */
export class SimdKernels {
  private readonly memory: WasmMemory;
  private readonly fns: KernelExports;
  private view: Float64Array;
  private f32: Float32Array;
  private i16: Int16Array;
  private lanes: Int32Array;
  private header: Float64Array;
  private header32: Float32Array;
  private headerInt: Int32Array;
  private bytes: Buffer;

  constructor(exports: KernelExports) {
    this.memory = exports.memory;
    this.fns = exports;
    this.view = new Float64Array(0);
    this.f32 = new Float32Array(0);
    this.i16 = new Int16Array(0);
    this.lanes = new Int32Array(0);
    this.header = new Float64Array(0);
    this.header32 = new Float32Array(0);
    this.headerInt = new Int32Array(0);
    this.bytes = Buffer.alloc(0);
    this.refresh();
    const lut = new Uint8Array(this.memory.buffer, LUT_AT, 8 * (2 * SMALL_TOKEN_MAX + 1));
    for (let v = -SMALL_TOKEN_MAX; v <= SMALL_TOKEN_MAX; v++) {
      const token = `${v} `;
      const at = 8 * (v + SMALL_TOKEN_MAX);
      for (let j = 0; j < token.length; j++) lut[at + j] = token.charCodeAt(j);
      lut[at + 7] = token.length;
    }
  }

  /** Views over the current buffer (growing the memory detaches the old ones). */
  private refresh(): void {
    const buffer = this.memory.buffer;
    this.view = new Float64Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 3);
    this.f32 = new Float32Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 2);
    this.i16 = new Int16Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 1);
    this.lanes = new Int32Array(buffer, LANES_AT, 2 * MAX_VECTORS);
    this.header = new Float64Array(buffer, 0, DATA_AT >> 3);
    this.header32 = new Float32Array(buffer, 0, DATA_AT >> 2);
    this.headerInt = new Int32Array(buffer, 0, DATA_AT >> 2);
    this.bytes = Buffer.from(buffer);
  }

  /**
   * A Float64Array over the kernels' memory with at least `length` values. The same array is returned until a
   * larger request grows the memory; earlier arrays are then detached (length 0), so fetch it once per use.
   */
  workspace(length: number): Float64Array {
    if (this.view.length < length || this.view.buffer !== this.memory.buffer) {
      const needed = DATA_AT + 8 * length - this.memory.buffer.byteLength;
      if (needed > 0) this.memory.grow(Math.ceil(needed / PAGE));
      this.refresh();
    }
    return this.view;
  }

  /** A Float32Array over the same memory as the current workspace: Float32 index 2 i is Float64 index i. */
  workspace32(): Float32Array {
    return this.f32;
  }

  /** True when `w` is the current workspace array (so its rows are visible to the kernels). */
  owns(w: Float64Array): boolean {
    return w === this.view && w.buffer === this.memory.buffer;
  }

  /**
   * Runs three fused symmetric sections over `len` values of each row, forward from `firsts[r]` (workspace
   * indices) or (backward) down from it. `coef` is [p1, q1, q2, r1, s1, s2, t1, e1, e2] (each section's b1, a1,
   * a2), `states` holds each row's start states [pz1, pz2, rz1, rz2, tz1, tz2] at 6 r; every y[n-1] starts at 0.
   */
  biquads(
    firsts: ArrayLike<number>,
    rows: number,
    len: number,
    backward: boolean,
    coef: ArrayLike<number>,
    states: ArrayLike<number>,
  ): void {
    const h = this.header;
    for (let k = 0; k < 9; k++) h[(COEF_AT >> 3) + k] = coef[k] as number;
    const step = backward ? -16 : 16;
    for (let r0 = 0; r0 < rows; r0 += 2 * MAX_VECTORS) {
      const vectors = Math.min(MAX_VECTORS, Math.ceil((rows - r0) / 2));
      for (let l = 0; l < 2 * vectors; l++) {
        // An odd row out runs in both lanes of its vector: same values, same addresses, same result.
        const r = Math.min(r0 + l, rows - 1);
        this.lanes[l] = DATA_AT + 8 * (firsts[r] as number);
        for (let j = 0; j < STATES_PER_VECTOR; j++) {
          h[(STATES_AT >> 3) + 2 * (STATES_PER_VECTOR * (l >> 1) + j) + (l & 1)] = states[6 * r + j] as number;
        }
      }
      const run = vectors === 2 ? this.fns.biquads2 : this.fns.biquads1;
      run(len >> 1, len & 1, step);
    }
  }

  /**
   * Outputs [lo, hi) of 2:1 half-band decimation of Float32 leads `a` and `b` (at least 2 hi + 5 samples each)
   * into workspace rows from `outA` and `outB` (indices of output 0), with weights [h0, w1, w3, w5] (see
   * Resampler.halfBand). The leads are copied behind `free` (a workspace index past everything in use), which
   * must leave room for both.
   */
  halfBand(
    a: Float32Array,
    b: Float32Array,
    n: number,
    outA: number,
    outB: number,
    lo: number,
    hi: number,
    weights: readonly [number, number, number, number],
    free: number,
  ): void {
    if (hi <= lo) return;
    const f32 = this.f32;
    const at = 2 * free;
    f32.set(a.subarray(0, n), at);
    f32.set(b.subarray(0, n), at + n);
    const first = 2 * lo - 5;
    const [h0, w1, w3, w5] = weights;
    this.fns.halfBand(
      DATA_AT + 4 * (at + first),
      DATA_AT + 4 * (at + n + first),
      DATA_AT + 8 * (outA + lo),
      DATA_AT + 8 * (outB + lo),
      hi - lo,
      h0,
      w1,
      w3,
      w5,
    );
  }

  /**
   * input-stats.ts's noise median up to its selection, over workspace values [from, to) (the caller wrote them
   * there; non-negative, at most `max`): counts them into 2048 bins of width max / 2047, finds the bin that holds
   * rank k (0-based, of the values from `from` on), and copies that bin's values in order to workspace index `into`
   * on (room for to - from values), with four histograms of 2048 i32 at workspace index `hist` on (4,096 values of
   * room) and each value's bin as an Int16 from workspace index `bins` on (room for (to - from) / 4 values). Returns
   * how many it copied (`m`) and k's rank among them.
   */
  binnedRank(
    from: number,
    to: number,
    k: number,
    max: number,
    into: number,
    hist: number,
    bins: number,
  ): { m: number; rank: number } {
    const packed = this.fns.binnedRank(
      DATA_AT + 8 * from,
      to - from,
      2047 / max,
      k,
      DATA_AT + 8 * hist,
      DATA_AT + 8 * into,
      DATA_AT + 8 * bins,
    );
    const m = packed % 2097152;
    return { m, rank: (packed - m) / 2097152 };
  }

  /**
   * input-stats.ts's pass over one lead, x[0 .. n) in windows of `second` samples: copies the samples into the
   * workspace (as Float32, from workspace index `src` on, with two copies of the first sample before them: room for
   * n / 2 + 2 values), writes the absolute second differences to workspace [0, n) (the first two are throwaways, as
   * in the JavaScript) and each whole window's mean from workspace index `windows` on (room for n / second values).
   * Returns the sum and the sum of squares of the samples, the largest difference and the number of whole windows:
   * the JavaScript's numbers exactly (the same halves and the same order of additions).
   */
  leadPass(
    x: Float32Array,
    n: number,
    second: number,
    src: number,
    windows: number,
  ): { sum: number; squares: number; maxDifference: number; windows: number } {
    const at = 2 * src;
    const first = x[0] as number;
    this.f32[at] = first;
    this.f32[at + 1] = first;
    this.f32.set(n === x.length ? x : x.subarray(0, n), at + 2);
    this.fns.leadPass(DATA_AT + 4 * (at + 2), n, second, DATA_AT, DATA_AT + 8 * windows, LEAD_PASS_AT);
    const h = this.header;
    const r = LEAD_PASS_AT >> 3;
    return {
      sum: h[r] as number,
      squares: h[r + 1] as number,
      maxDifference: h[r + 2] as number,
      windows: h[r + 3] as number,
    };
  }

  /**
   * fhir-writer's SampledData text of Int16 data: each value in decimal, single-space separated (what
   * `Array.from(data).join(' ')` gives). The data are copied into the workspace, the text written after them.
   */
  formatInt16(data: Int16Array): string {
    const n = data.length;
    if (n === 0) return '';
    // Int16 values, then up to 7 bytes per token ("-32768 ") and 8 of room for the last token's 8-byte store.
    const outAt = (2 * n + 7) & ~7;
    this.workspace((outAt + 7 * n + 8 + 7) >> 3);
    this.i16.set(data, 0);
    const bytes = this.fns.formatInt16(DATA_AT, n, DATA_AT + outAt, LUT_AT);
    return this.bytes.toString('latin1', DATA_AT + outAt, DATA_AT + outAt + bytes - 1);
  }

  /**
   * quality.ts's leadStats over the first 4 floor(n / 4) values of `x` (copied to the start of the workspace, which
   * it overwrites): out = [s0, s1, s2, s3, q0, q1, q2, q3, max, atMax, min, atMin], the running sums of the samples
   * at k mod 4 and of their squares, and the extremes with how many samples equal each (a second pass over the
   * copy, cheaper than tracking counts while the extremes still move). The caller adds the last n mod 4 samples.
   */
  leadStats(x: Float32Array, n: number, out: Float64Array): void {
    const quads = n >> 2;
    this.workspace(2 * quads);
    this.f32.set(x.subarray(0, 4 * quads), 0);
    this.fns.stats(DATA_AT, quads, STATS_AT);
    const h = this.header;
    const at = STATS_AT >> 3;
    for (let k = 0; k < 8; k++) out[k] = h[at + k] as number;
    const f = this.header32;
    const lanes = (STATS_AT >> 2) + 16;
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 4; k++) {
      max = Math.max(max, f[lanes + k] as number);
      min = Math.min(min, f[lanes + 4 + k] as number);
    }
    this.fns.extremeCounts(DATA_AT, quads, max, min, STATS_AT + 96);
    const c = this.headerInt;
    const counts = lanes + 8;
    let atMax = 0;
    let atMin = 0;
    for (let k = 0; k < 4; k++) {
      atMax += c[counts + k] as number;
      atMin += c[counts + 4 + k] as number;
    }
    out[8] = max;
    out[9] = atMax;
    out[10] = min;
    out[11] = atMin;
  }

  /**
   * prepare()'s isStoredDerivation for stored leads against one I and II: for each candidate, whether
   * x[t] - (a i[t] + b ii[t]) lies within [-tolerance, tolerance] for every t < n (all arrays at least n long), in
   * the same Float64 arithmetic. I and II are copied into the workspace once (its start is overwritten), each
   * candidate in turn; a candidate stops at its first step outside the tolerance.
   */
  storedDerivations(
    i: Float32Array,
    ii: Float32Array,
    n: number,
    candidates: ReadonlyArray<{ readonly x: Float32Array; readonly a: number; readonly b: number }>,
    tolerance: number,
  ): boolean[] {
    const quads = n >> 2;
    const row = 4 * quads;
    this.workspace(2 * row);
    const f32 = this.f32;
    f32.set(i.subarray(0, row), 0);
    f32.set(ii.subarray(0, row), row);
    const derivation = this.fns.derivation;
    // A loop, not candidates.map(closure): a closure made per call is optimised again after every full collection.
    const out: boolean[] = [];
    for (const { x, a, b } of candidates) {
      f32.set(x.subarray(0, row), 2 * row);
      let within = derivation(DATA_AT + 8 * row, DATA_AT, DATA_AT + 4 * row, quads, a, b, tolerance) === 0;
      for (let t = row; within && t < n; t++) {
        const d = (x[t] as number) - (a * (i[t] as number) + b * (ii[t] as number));
        within = d <= tolerance && d >= -tolerance;
      }
      out.push(within);
    }
    return out;
  }

  /**
   * True when every value of `values` is finite (no NaN, no infinity). The values are copied into the workspace
   * (its start is overwritten) and checked four at a time; when `into` is given and they are all finite, that copy
   * is then written to `into` at `offset`, so the check and the copy read the input once between them.
   */
  allFinite(values: Float32Array, into?: Float32Array, offset = 0): boolean {
    const n = values.length;
    const quads = n >> 2;
    this.workspace((n + 1) >> 1);
    const f32 = this.f32;
    f32.set(values, 0);
    if (this.fns.nonFinite(DATA_AT, quads) !== 0) return false;
    for (let i = 4 * quads; i < n; i++) if (!Number.isFinite(values[i] as number)) return false;
    into?.set(f32.subarray(0, n), offset);
    return true;
  }

  /**
   * The payload codec's pass over one lead (codec.ts's storeData, and with the gaps its hintedPass), bit for bit:
   * each sample's datum Math.round((v - origin) / factor), or undefined when a sample does not come back as
   * Math.fround(origin + factor * datum) (non-finite, out of the 32-bit range, -0). The lead is copied into the
   * kernels' memory after a copy of its first sample (whose gap to itself is 0) and padded to whole quads with its
   * last sample, which changes neither the verdict nor the gaps. For leads of at least one sample.
   */
  quantise(lead: Float32Array, origin: number, factor: number): QuantisePass | undefined {
    const n = lead.length;
    const quads = this.stageQuantise(lead);
    const outAt = 2 * (4 + 4 * quads);
    this.fns.quantise(DATA_AT + 16, quads, DATA_AT + 2 * outAt, origin, factor, QUANT_AT);
    const r = QUANT_AT >> 2;
    if (this.anyLane(r)) return undefined;
    const h = this.header;
    const h32 = this.header32;
    const g = (QUANT_AT + 32) >> 3;
    const z = (QUANT_AT + 48) >> 2;
    return {
      data: this.i16.subarray(outAt, outAt + n),
      wide: this.anyLane(r + 4),
      between: Math.min(h[g] as number, h[g + 1] as number),
      fromZero: Math.min(h32[z] as number, h32[z + 1] as number, h32[z + 2] as number, h32[z + 3] as number),
    };
  }

  /**
   * Lays `lead` out for the quantise kernels and returns its number of quads. Float32 slots: 3 unused, the first
   * sample again, the row (16-byte aligned) padded with its last sample; then the Int16 data, at Int16 index
   * 2 * (4 + 4 * quads).
   */
  private stageQuantise(lead: Float32Array): number {
    const n = lead.length;
    const quads = (n + 3) >> 2;
    this.workspace(2 + 3 * quads);
    const f32 = this.f32;
    f32[3] = lead[0] as number;
    f32.set(lead, 4);
    f32.fill(lead[n - 1] as number, 4 + n, 4 + 4 * quads);
    return quads;
  }

  /** Whether any of the four i32 lanes from headerInt[r] is non-zero (a mask the kernels wrote). */
  private anyLane(r: number): boolean {
    const int = this.headerInt;
    return ((int[r] as number) | (int[r + 1] as number) | (int[r + 2] as number) | (int[r + 3] as number)) !== 0;
  }

  /** The smallest of the four i32 lanes from headerInt[r] (a kernel's lane-by-lane minimum). */
  private minLane(r: number): number {
    const int = this.headerInt;
    return Math.min(int[r] as number, int[r + 1] as number, int[r + 2] as number, int[r + 3] as number);
  }

  /**
   * quantise(lead, 0, factor) for a factor of which {@link scaledQuantum} holds, with the same answer, in Float32
   * four samples a step (the quotient as a product with 1 / factor, the gaps as data; see the kernel's comment):
   * 55 against 131 us per 12 leads of 5,000 samples. For leads of at least one sample.
   */
  quantiseScaled(lead: Float32Array, factor: number): QuantisePass | undefined {
    const n = lead.length;
    const quads = this.stageQuantise(lead);
    const outAt = 2 * (4 + 4 * quads);
    this.fns.quantiseScaled(DATA_AT + 16, quads, DATA_AT + 2 * outAt, factor, Math.fround(1 / factor), QUANT_AT);
    const r = QUANT_AT >> 2;
    if (this.anyLane(r)) return undefined;
    const wide = this.anyLane(r + 4);
    const between = this.minLane(r + 8);
    const fromZero = this.minLane(r + 12);
    return {
      data: this.i16.subarray(outAt, outAt + n),
      wide,
      // factor * datum is the sample exactly (9 bits by 15 at most), and so is factor * a difference of data.
      between: between === NO_DATUM ? Number.POSITIVE_INFINITY : factor * between,
      fromZero: fromZero === NO_DATUM ? Number.POSITIVE_INFINITY : factor * fromZero,
    };
  }

  /**
   * Sum and sum of squares of w[from .. from + n), with the even and the odd samples in accumulators of their
   * own, added at the end (prepare()'s rowSums, bit for bit).
   */
  sums(from: number, n: number): RowSums {
    const pairs = n >> 1;
    this.fns.sums(DATA_AT + 8 * from, pairs, SUMS_AT);
    const h = this.header;
    const at = SUMS_AT >> 3;
    let s0 = h[at] as number;
    let q0 = h[at + 2] as number;
    if (n & 1) {
      const a = this.view[from + n - 1] as number;
      s0 += a;
      q0 += a * a;
    }
    return { s: s0 + (h[at + 1] as number), q: q0 + (h[at + 3] as number) };
  }

  /** Sum of w[a + t] * w[b + t] for t < n, even and odd samples apart (prepare()'s crossSum, bit for bit). */
  cross(a: number, b: number, n: number): number {
    this.fns.cross(DATA_AT + 8 * a, DATA_AT + 8 * b, n >> 1, SUMS_AT + 32);
    const h = this.header;
    const at = (SUMS_AT >> 3) + 4;
    let p0 = h[at] as number;
    if (n & 1) p0 += (this.view[a + n - 1] as number) * (this.view[b + n - 1] as number);
    return p0 + (h[at + 1] as number);
  }

  /** workspace32()[dst + t] = (w[src + t] - mean) * scale for t < n (prepare()'s writeRow). */
  write(src: number, dst: number, n: number, mean: number, scale: number): void {
    this.fns.write(DATA_AT + 8 * src, DATA_AT + 4 * dst, n >> 1, mean, scale);
    if (n & 1) this.f32[dst + n - 1] = ((this.view[src + n - 1] as number) - mean) * scale;
  }

  /** workspace32()[dst + t] = (a * w[i + t] + b * w[ii + t] - mean) * scale for t < n (writeDerivedRow). */
  writeDerived(i: number, ii: number, dst: number, n: number, a: number, b: number, mean: number, scale: number): void {
    this.fns.writeDerived(DATA_AT + 8 * i, DATA_AT + 8 * ii, DATA_AT + 4 * dst, n >> 1, a, b, mean, scale);
    if (n & 1) {
      const t = n - 1;
      this.f32[dst + t] = (a * (this.view[i + t] as number) + b * (this.view[ii + t] as number) - mean) * scale;
    }
  }

  /**
   * Scales the wanted channels of interleaved signed 16-bit samples (`raw`: `channelCount` x `samples`, frame by
   * frame, in host order, which must be little endian) into new arrays from `alloc` (`samples` long, one per
   * channel c with wanted[c]; the result holds each at index c): out[c][s] = raw[s channelCount + c] * scale +
   * offset rounded to Float32, as the DICOM decoder's JavaScript loops compute it in float64. The bytes are copied
   * into the kernels' memory once (aligned, whatever their alignment in the input), four channels of four frames
   * are regrouped per step and scaled as f32x4, and each lead is copied out once. Float32 arithmetic gives the
   * same floats only where the scale is a finite Float32 and the offset 0 (the product of a 16-bit integer and a
   * 24-bit significand is exact in both, and rounding it once to Float32 is what the float64 path does; + 0 turns
   * -0 into +0 in both). For any other wanted channel, or an odd channel count, it returns undefined and allocates
   * nothing, so the caller runs its own loops.
   */
  deinterleaveInt16(
    raw: Int16Array,
    channelCount: number,
    samples: number,
    channels: ReadonlyArray<{ readonly scale: number; readonly offset: number }>,
    wanted: ReadonlyArray<boolean>,
    alloc: (samples: number) => Float32Array,
  ): (Float32Array | undefined)[] | undefined {
    if (channelCount < 2 || channelCount % 2 !== 0 || raw.length < channelCount * samples) return undefined;
    let rows = 0;
    for (let c = 0; c < channelCount; c++) {
      if (!wanted[c]) continue;
      const scale = channels[c]?.scale ?? Number.NaN;
      if (channels[c]?.offset !== 0 || !Number.isFinite(scale) || Math.fround(scale) !== scale) return undefined;
      rows++;
    }
    const outs: (Float32Array | undefined)[] = [];
    for (let c = 0; c < channelCount; c++) outs.push(wanted[c] ? alloc(samples) : undefined);
    const stride = 2 * channelCount;
    const quads = (samples + 3) >> 2;
    // The input, then one row per wanted channel and a scratch row for the lanes of unwanted ones; the last step
    // may read up to three frames and 8 bytes past the data and write up to three values past each row.
    const inBytes = (stride * 4 * quads + 8 + 15) & ~15;
    const rowBytes = 16 * quads;
    this.workspace((inBytes + (rows + 1) * rowBytes) >> 3);
    const bytes = 2 * channelCount * samples;
    new Uint8Array(this.memory.buffer, DATA_AT, bytes).set(new Uint8Array(raw.buffer, raw.byteOffset, bytes));
    const rowAt: number[] = [];
    let next = DATA_AT + inBytes;
    for (let c = 0; c < channelCount; c++) {
      if (!outs[c]) continue;
      rowAt[c] = next;
      next += rowBytes;
    }
    const scratch = next;
    const deint16 = this.fns.deint16;
    for (let g = 0; g < channelCount; g += 4) {
      if (!outs[g] && !outs[g + 1] && !outs[g + 2] && !outs[g + 3]) continue;
      const row = (c: number) => (c < channelCount ? (rowAt[c] ?? scratch) : scratch);
      const scale = (c: number) => (c < channelCount && outs[c] ? (channels[c]?.scale ?? 1) : 1);
      deint16(
        DATA_AT + 2 * g,
        stride,
        quads,
        row(g),
        row(g + 1),
        row(g + 2),
        row(g + 3),
        scale(g),
        scale(g + 1),
        scale(g + 2),
        scale(g + 3),
      );
    }
    const f32 = this.f32;
    for (let c = 0; c < channelCount; c++) {
      const out = outs[c];
      if (!out) continue;
      const at = ((rowAt[c] as number) - DATA_AT) >> 2;
      out.set(f32.subarray(at, at + samples));
    }
    return outs;
  }
}

function instantiate(): SimdKernels | undefined {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return undefined;
  const bytes = kernelBinary();
  // wabt validated the module when it assembled it: a runtime that rejects it lacks WebAssembly SIMD.
  if (!wasm.validate(bytes)) return undefined; // the JavaScript loops do the work
  const instance = new wasm.Instance(new wasm.Module(bytes), {});
  return new SimdKernels(instance.exports as unknown as KernelExports);
}

/** The kernels, compiled once at load; undefined where WebAssembly SIMD is not available. */
const compiled: SimdKernels | undefined = instantiate();
let enabled = true;

/** The kernels to use now: undefined where WebAssembly SIMD is missing or inside {@link withoutSimd}. */
export function simdKernels(): SimdKernels | undefined {
  return enabled ? compiled : undefined;
}

/**
 * The DICOM decoder's 16-bit de-interleave and scale through the kernels ({@link SimdKernels.deinterleaveInt16});
 * undefined, with nothing allocated, where the kernels are missing or switched off or cannot give the same
 * floats, so the caller runs its JavaScript loops.
 */
export function deinterleaveInt16(
  raw: Int16Array,
  channelCount: number,
  samples: number,
  channels: ReadonlyArray<{ readonly scale: number; readonly offset: number }>,
  wanted: ReadonlyArray<boolean>,
  alloc: (samples: number) => Float32Array,
): (Float32Array | undefined)[] | undefined {
  const kernels = simdKernels();
  if (kernels === undefined || !HOST_LITTLE_ENDIAN) return undefined;
  return kernels.deinterleaveInt16(raw, channelCount, samples, channels, wanted, alloc);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Int16 SampledData as text, each value in decimal and single-space separated (`Array.from(data).join(' ')`), by the
 * formatInt16 kernel; undefined where the kernels are missing (or on a big-endian host) or for fewer than
 * SIMD_MIN_VALUES values, where the caller's JavaScript loop costs less than the copy.
 */
export function formatInt16(data: Int16Array): string | undefined {
  if (data.length < SIMD_MIN_VALUES || !HOST_LITTLE_ENDIAN) return undefined;
  return simdKernels()?.formatInt16(data);
}

/**
 * Runs `fn` with the kernels switched off, so every caller takes its JavaScript loops (tests compare the two
 * paths with it). Synchronous only.
 */
export function withoutSimd<T>(fn: () => T): T {
  const before = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = before;
  }
}
