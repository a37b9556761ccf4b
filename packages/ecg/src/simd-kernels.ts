/**
 * WebAssembly SIMD kernels for prepare()'s hot loops over its Float64 rows:
 * - the zero-phase filter's three fused symmetric second-order sections (numerator 1, b1, 1), run over many leads
 *   at once, two leads per f64x2 vector and two vectors per loop;
 * - the z-score sums (sum, sum of squares, cross sum of I and II) and the final write to Float32, two samples per
 *   vector;
 * - (for the DICOM decoder) the de-interleave and scale of 16-bit samples into Float32 leads, four channels of
 *   four frames per step, where Float32 arithmetic gives exactly the float64 result ({@link deinterleaveInt16}).
 *
 * Why: one filter section's recursion is bound by the latency of its own multiply and subtract; JavaScript cannot
 * run two leads in one loop without spilling registers (measured 0.90x), while a 128-bit vector carries two leads
 * in the same registers and the independent vectors of one loop hide each other's latency. The sums and the write
 * are plain streaming loops that V8 does not vectorise.
 *
 * The module is about a kilobyte, encoded below at load time (no toolchain, no binary in the repository) and
 * compiled once, synchronously. Each kernel computes exactly what its JavaScript counterpart computes (filter.ts's
 * runSymmetric for three sections; prepare.ts's rowSums, crossSum, writeRow, writeDerivedRow), lane by lane in the
 * same order, in float64 without fused multiply-adds: the results are bit-identical.
 *
 * The kernels only read and write their own linear memory, so callers keep their rows there:
 * {@link SimdKernels.workspace} hands out a Float64Array over that memory (prepare() uses it as its scratch rows).
 * Where WebAssembly SIMD is missing, {@link simdKernels} gives undefined and callers use the JavaScript loops.
 */

/** The part of the WebAssembly API this module uses (the project's TypeScript libs do not declare it). */
interface WasmApi {
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

/** Vectors (two leads each) one kernel call runs together: 1 .. MAX_VECTORS. */
const MAX_VECTORS = 2;
/** Byte layout of the linear memory: lane pointers, coefficients, start states, then the rows. */
const LANES_AT = 0;
const COEF_AT = 64;
const STATES_AT = 256;
/** Values per vector in the start-state block: pz1, pz2, rz1, rz2, tz1, tz2, each for two lanes. */
const STATES_PER_VECTOR = 6;
/** Results of the sum kernels: [s0, s1], [q0, q1], [p0, p1] (even and odd samples). */
const SUMS_AT = 768;
/**
 * Results of the lead statistics kernels: [s0, s1], [s2, s3], [q0, q1], [q2, q3] (Float64), max, min (Float32 x 4),
 * then atMax, atMin (i32 x 4).
 */
const STATS_AT = 832;
/** Result of the derivation check: quads left unchecked when it stopped (0: every quad within the tolerance). */
const DERIVATION_AT = 960;
/** Result of the finiteness check: 1 when a value is NaN or infinite, else 0. */
const NON_FINITE_AT = 964;
const DATA_AT = 1024;
const PAGE = 65536;

// --- A minimal WebAssembly binary encoder (just what the kernel needs). ---

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const utf8 = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const i32Const = (n: number): number[] => [0x41, ...sleb(n)];
const i32Load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
const I32_ADD = [0x6a];
const I32_SUB = [0x6b];
const I32_EQZ = [0x45];
const simd = (code: number, ...immediates: number[]): number[] => [0xfd, ...uleb(code), ...immediates];
const v128Load = (offset: number): number[] => simd(0x00, 4, ...uleb(offset));
const load64Splat = (offset: number): number[] => simd(0x0a, 3, ...uleb(offset));
const load64Zero = (offset: number): number[] => simd(0x5d, 3, ...uleb(offset));
const load64Lane = (lane: number, offset = 0): number[] => simd(0x57, 3, ...uleb(offset), lane);
const store64Lane = (lane: number, offset = 0): number[] => simd(0x5b, 3, ...uleb(offset), lane);
const F64X2_ADD = simd(0xf0);
const F64X2_SUB = simd(0xf1);
const F64X2_MUL = simd(0xf2);
const F64X2_SPLAT = simd(0x14);
const F32X4_DEMOTE = simd(0x5e);
const v128Store = (offset: number): number[] => simd(0x0b, 4, ...uleb(offset));
const load64 = simd(0x00, 3, 0);
const F64 = 0x7c;
const F64X2_PROMOTE_LOW = simd(0x5f);
const F32X4_EQ = simd(0x41);
const F64X2_LE = simd(0x4b);
const F64X2_ABS = simd(0xec);
const V128_AND = simd(0x4e);
const I64X2_ALL_TRUE = simd(0xc3);
const V128_OR = simd(0x50);
const V128_ANY_TRUE = simd(0x53);
const I32X4_EQ = simd(0x37);
const I32X4_SPLAT = simd(0x11);
const i32Store = (offset: number): number[] => [0x36, 2, ...uleb(offset)];
/** pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a: the first of equal values (and never a NaN b) is kept. */
const F32X4_PMIN = simd(0xea);
const F32X4_PMAX = simd(0xeb);
const I32X4_SUB = simd(0xb1);
const F32X4_SPLAT = simd(0x13);
const f32Const = (x: number): number[] => [0x43, ...new Uint8Array(Float32Array.of(x).buffer)];
/** Lanes 2 and 3 of an f32x4 moved to lanes 0 and 1 (for promote_low). */
const HIGH_HALF = simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
const loadF32x4 = simd(0x00, 2, 0);
const load32Zero = (offset: number): number[] => simd(0x5c, 2, ...uleb(offset));
const load32Lane = (offset: number, lane: number): number[] => simd(0x56, 2, ...uleb(offset), lane);
const F32 = 0x7d;
const I32X4_EXTEND_LOW_I16X8_S = simd(0xa7);
const I32X4_EXTEND_HIGH_I16X8_S = simd(0xa8);
const F32X4_CONVERT_I32X4_S = simd(0xfa);
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
/** Channels a b c d of four frames (two per vector, 16-bit lanes) regrouped as [a0..a3 b0..b3] and [c0..c3 d0..d3]. */
const GATHER_AB = simd(0x0d, 0, 1, 8, 9, 16, 17, 24, 25, 2, 3, 10, 11, 18, 19, 26, 27);
const GATHER_CD = simd(0x0d, 4, 5, 12, 13, 20, 21, 28, 29, 6, 7, 14, 15, 22, 23, 30, 31);

/** One exported function: parameter types, extra locals (count, type) and code (without the final end). */
interface WasmFunction {
  name: string;
  params: number[];
  locals: Array<[number, number]>;
  code: number[];
}

/** `block; loop; body; ptrs += steps; count -= 1; br_if loop; end; end`, skipped when count is 0. */
function countedLoop(count: number, body: number[], steps: Array<[number, number]>): number[] {
  const code = [0x02, 0x40, ...get(count), ...I32_EQZ, 0x0d, 0, 0x03, 0x40, ...body];
  for (const [p, step] of steps) code.push(...get(p), ...i32Const(step), ...I32_ADD, ...set(p));
  code.push(...get(count), ...i32Const(1), ...I32_SUB, ...tee(count), 0x0d, 0, 0x0b, 0x0b);
  return code;
}

/**
 * stats(ptr, quads) over Float32 values, four per step, as quality.ts's leadStats: s_k += the samples at
 * k mod 4 and q_k += their squares (promoted to Float64, in order; four independent chains, so the additions'
 * latency does not bound the loop), and per lane the largest and the smallest value (pmax / pmin keep the first
 * of equal values, as leadStats's `v > max` does). extremeCounts() then counts the samples equal to each.
 */
function statsFunction(): WasmFunction {
  const [PTR, QUADS, S01, S23, Q01, Q23, MX, MN, V, H] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const accumulate = (s: number, q: number): number[] => [
    ...set(H),
    ...get(s),
    ...get(H),
    ...F64X2_ADD,
    ...set(s),
    ...get(q),
    ...get(H),
    ...get(H),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(q),
  ];
  const body = [
    ...get(PTR),
    ...loadF32x4,
    ...tee(V),
    ...F64X2_PROMOTE_LOW,
    ...accumulate(S01, Q01),
    ...get(V),
    ...get(V),
    ...HIGH_HALF,
    ...F64X2_PROMOTE_LOW,
    ...accumulate(S23, Q23),
    ...get(MX),
    ...get(V),
    ...F32X4_PMAX,
    ...set(MX),
    ...get(MN),
    ...get(V),
    ...F32X4_PMIN,
    ...set(MN),
  ];
  return {
    name: 'stats',
    params: [I32, I32],
    locals: [[8, V128]],
    code: [
      ...f32Const(Number.NEGATIVE_INFINITY),
      ...F32X4_SPLAT,
      ...set(MX),
      ...f32Const(Number.POSITIVE_INFINITY),
      ...F32X4_SPLAT,
      ...set(MN),
      ...countedLoop(QUADS, body, [[PTR, 16]]),
      ...[S01, S23, Q01, Q23, MX, MN].flatMap((l, k) => [...i32Const(0), ...get(l), ...v128Store(STATS_AT + 16 * k)]),
    ],
  };
}

/** extremeCounts(ptr, quads, max, min): per lane, how many of the Float32 values equal max and min. */
function extremeCountsFunction(): WasmFunction {
  const [PTR, QUADS, MAX, MIN, MX, MN, CMX, CMN, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const body = [
    ...get(PTR),
    ...loadF32x4,
    ...set(V),
    // An equal lane is all ones (-1): subtracting it counts one.
    ...get(CMX),
    ...get(V),
    ...get(MX),
    ...F32X4_EQ,
    ...I32X4_SUB,
    ...set(CMX),
    ...get(CMN),
    ...get(V),
    ...get(MN),
    ...F32X4_EQ,
    ...I32X4_SUB,
    ...set(CMN),
  ];
  return {
    name: 'extremeCounts',
    params: [I32, I32, F32, F32],
    locals: [[5, V128]],
    code: [
      ...get(MAX),
      ...F32X4_SPLAT,
      ...set(MX),
      ...get(MIN),
      ...F32X4_SPLAT,
      ...set(MN),
      ...countedLoop(QUADS, body, [[PTR, 16]]),
      ...[CMX, CMN].flatMap((l, k) => [...i32Const(0), ...get(l), ...v128Store(STATS_AT + 96 + 16 * k)]),
    ],
  };
}

/**
 * halfBand(a, b, outA, outB, count, h0, w1, w3, w5): 2:1 half-band decimation of two Float32 leads at once (one
 * per lane), as resample.ts's interior loop: `a` and `b` point at input 2 lo - 5, outA and outB at output lo;
 * out = (x[c] h0 + (x[c-1] + x[c+1]) w1) + ((x[c-3] + x[c+3]) w3 + (x[c-5] + x[c+5]) w5), the odd inputs kept
 * from one output to the next.
 */
function halfBandFunction(): WasmFunction {
  const [A, B, OA, OB, COUNT, H0, W1, W3, W5] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [VH0, VW1, VW3, VW5, XM5, XM3, XM1, XP1, XP3, XP5] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  // Input k of both leads, Float32 at byte offset 4 (k - c + 5) from a and b, promoted to Float64.
  const pair = (k: number): number[] => [
    ...get(B),
    ...get(A),
    ...load32Zero(4 * (k + 5)),
    ...load32Lane(4 * (k + 5), 1),
    ...F64X2_PROMOTE_LOW,
  ];
  const body = [
    ...pair(5),
    ...set(XP5),
    ...get(OA),
    ...pair(0),
    ...get(VH0),
    ...F64X2_MUL,
    ...get(XM1),
    ...get(XP1),
    ...F64X2_ADD,
    ...get(VW1),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...get(XM3),
    ...get(XP3),
    ...F64X2_ADD,
    ...get(VW3),
    ...F64X2_MUL,
    ...get(XM5),
    ...get(XP5),
    ...F64X2_ADD,
    ...get(VW5),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...F64X2_ADD,
    ...tee(XM5),
    ...store64Lane(0),
    ...get(OB),
    ...get(XM5),
    ...store64Lane(1),
    // slide the odd inputs: xm5 = xm3, xm3 = xm1, xm1 = xp1, xp1 = xp3, xp3 = xp5
    ...get(XM3),
    ...set(XM5),
    ...get(XM1),
    ...set(XM3),
    ...get(XP1),
    ...set(XM1),
    ...get(XP3),
    ...set(XP1),
    ...get(XP5),
    ...set(XP3),
  ];
  return {
    name: 'halfBand',
    params: [I32, I32, I32, I32, I32, F64, F64, F64, F64],
    locals: [[10, V128]],
    code: [
      ...[H0, W1, W3, W5].flatMap((p, k) => [...get(p), ...F64X2_SPLAT, ...set(VH0 + k)]),
      ...pair(-5),
      ...set(XM5),
      ...pair(-3),
      ...set(XM3),
      ...pair(-1),
      ...set(XM1),
      ...pair(1),
      ...set(XP1),
      ...pair(3),
      ...set(XP3),
      ...countedLoop(COUNT, body, [
        [A, 8],
        [B, 8],
        [OA, 8],
        [OB, 8],
      ]),
    ],
  };
}

/** sums(ptr, pairs): [s0, s1] += x, [q0, q1] += x * x over `pairs` pairs of values, as rowSums. */
function sumsFunction(): WasmFunction {
  const [PTR, PAIRS, S, Q, X] = [0, 1, 2, 3, 4];
  // x = load(ptr); s = x + s; q = x * x + q
  const body = [
    ...get(PTR),
    ...load64,
    ...tee(X),
    ...get(S),
    ...F64X2_ADD,
    ...set(S),
    ...get(X),
    ...get(X),
    ...F64X2_MUL,
    ...get(Q),
    ...F64X2_ADD,
    ...set(Q),
  ];
  return {
    name: 'sums',
    params: [I32, I32],
    locals: [[3, V128]],
    code: [
      ...countedLoop(PAIRS, body, [[PTR, 16]]),
      ...i32Const(0),
      ...get(S),
      ...v128Store(SUMS_AT),
      ...i32Const(0),
      ...get(Q),
      ...v128Store(SUMS_AT + 16),
    ],
  };
}

/** cross(a, b, pairs): [p0, p1] += a * b, as crossSum. */
function crossFunction(): WasmFunction {
  const [A, B, PAIRS, P] = [0, 1, 2, 3];
  const body = [...get(A), ...load64, ...get(B), ...load64, ...F64X2_MUL, ...get(P), ...F64X2_ADD, ...set(P)];
  return {
    name: 'cross',
    params: [I32, I32, I32],
    locals: [[1, V128]],
    code: [
      ...countedLoop(PAIRS, body, [
        [A, 16],
        [B, 16],
      ]),
      ...i32Const(0),
      ...get(P),
      ...v128Store(SUMS_AT + 32),
    ],
  };
}

/** write(src, dst, pairs, mean, scale): Float32 dst = (src - mean) * scale, as writeRow. */
function writeFunction(): WasmFunction {
  const [SRC, DST, PAIRS, MEAN, SCALE, M, K] = [0, 1, 2, 3, 4, 5, 6];
  // store the low two Float32 of demote((load(src) - mean) * scale) at dst
  const body = [
    ...get(DST),
    ...get(SRC),
    ...load64,
    ...get(M),
    ...F64X2_SUB,
    ...get(K),
    ...F64X2_MUL,
    ...F32X4_DEMOTE,
    ...store64Lane(0),
  ];
  return {
    name: 'write',
    params: [I32, I32, I32, F64, F64],
    locals: [[2, V128]],
    code: [
      ...get(MEAN),
      ...F64X2_SPLAT,
      ...set(M),
      ...get(SCALE),
      ...F64X2_SPLAT,
      ...set(K),
      ...countedLoop(PAIRS, body, [
        [SRC, 16],
        [DST, 8],
      ]),
    ],
  };
}

/** writeDerived(i, ii, dst, pairs, a, b, mean, scale): Float32 dst = (a * i + b * ii - mean) * scale. */
function writeDerivedFunction(): WasmFunction {
  const [I, II, DST, PAIRS, A, B, MEAN, SCALE, VA, VB, M, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  // store the low two Float32 of demote((a * load(i) + b * load(ii) - mean) * scale) at dst
  const body = [
    ...get(DST),
    ...get(VA),
    ...get(I),
    ...load64,
    ...F64X2_MUL,
    ...get(VB),
    ...get(II),
    ...load64,
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...get(M),
    ...F64X2_SUB,
    ...get(K),
    ...F64X2_MUL,
    ...F32X4_DEMOTE,
    ...store64Lane(0),
  ];
  return {
    name: 'writeDerived',
    params: [I32, I32, I32, I32, F64, F64, F64, F64],
    locals: [[4, V128]],
    code: [
      ...get(A),
      ...F64X2_SPLAT,
      ...set(VA),
      ...get(B),
      ...F64X2_SPLAT,
      ...set(VB),
      ...get(MEAN),
      ...F64X2_SPLAT,
      ...set(M),
      ...get(SCALE),
      ...F64X2_SPLAT,
      ...set(K),
      ...countedLoop(PAIRS, body, [
        [I, 16],
        [II, 16],
        [DST, 8],
      ]),
    ],
  };
}

/**
 * derivation(x, i, ii, quads, a, b, tol): whether x - (a i + b ii) lies within [-tol, tol] at every sample of
 * three Float32 rows, four samples per step, in Float64 as prepare()'s isStoredDerivation computes it (the
 * absolute value compares as the two bounds do, NaN failing both). Stops at the first step that fails and stores
 * how many steps were left at DERIVATION_AT (0: all within).
 */
function derivationFunction(): WasmFunction {
  const [X, I, II, QUADS, A, B, TOL, VA, VB, VT, VX, VI, VII, OK] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  // Samples 0 and 1 (low) or 2 and 3 (high, shuffled down first) of a row's four, as Float64.
  const promoted = (row: number, high: boolean): number[] => [
    ...get(row),
    ...(high ? [...get(row), ...HIGH_HALF] : []),
    ...F64X2_PROMOTE_LOW,
  ];
  // |x - (a i + b ii)| <= tol for two samples: all ones in each lane where it holds.
  const within = (high: boolean): number[] => [
    ...promoted(VX, high),
    ...get(VA),
    ...promoted(VI, high),
    ...F64X2_MUL,
    ...get(VB),
    ...promoted(VII, high),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...F64X2_SUB,
    ...F64X2_ABS,
    ...get(VT),
    ...F64X2_LE,
  ];
  const body = [
    ...[
      [X, VX],
      [I, VI],
      [II, VII],
    ].flatMap(([ptr, row]) => [...get(ptr as number), ...loadF32x4, ...set(row as number)]),
    ...within(false),
    ...set(OK),
    ...within(true),
    ...get(OK),
    ...V128_AND,
    ...I64X2_ALL_TRUE,
    ...I32_EQZ,
    // A step that fails leaves the counted loop's block (depth 1), its count not yet decremented.
    ...[0x0d, 1],
  ];
  return {
    name: 'derivation',
    params: [I32, I32, I32, I32, F64, F64, F64],
    locals: [[7, V128]],
    code: [
      ...[A, B, TOL].flatMap((p, k) => [...get(p), ...F64X2_SPLAT, ...set(VA + k)]),
      ...countedLoop(QUADS, body, [
        [X, 16],
        [I, 16],
        [II, 16],
      ]),
      ...i32Const(0),
      ...get(QUADS),
      ...i32Store(DERIVATION_AT),
    ],
  };
}

/**
 * nonFinite(ptr, quads): whether any of 4 quads Float32 values is NaN or infinite (its exponent bits all ones),
 * stored at NON_FINITE_AT. One bitwise chain: and, compare, or per four values.
 */
function nonFiniteFunction(): WasmFunction {
  const [PTR, QUADS, EXP, ANY] = [0, 1, 2, 3];
  const body = [
    ...get(ANY),
    ...get(PTR),
    ...loadF32x4,
    ...get(EXP),
    ...V128_AND,
    ...get(EXP),
    ...I32X4_EQ,
    ...V128_OR,
    ...set(ANY),
  ];
  return {
    name: 'nonFinite',
    params: [I32, I32],
    locals: [[2, V128]],
    code: [
      ...i32Const(0x7f800000),
      ...I32X4_SPLAT,
      ...set(EXP),
      ...countedLoop(QUADS, body, [[PTR, 16]]),
      ...i32Const(0),
      ...get(ANY),
      ...V128_ANY_TRUE,
      ...i32Store(NON_FINITE_AT),
    ],
  };
}

/**
 * deint16(ptr, stride, quads, oa, ob, oc, od, sa, sb, sc, sd): four neighbouring channels of little-endian signed
 * 16-bit frames (`stride` bytes apart, the first at `ptr`), four frames per step, out to four Float32 rows:
 * out = f32(raw) * s + 0. Exact only where s is a Float32 and the offset 0 (see SimdKernels.deinterleaveInt16).
 */
function deinterleaveFunction(): WasmFunction {
  const [PTR, STRIDE, QUADS, OA, OB, OC, OD, SA, SB, SC, SD] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [NEXT, V, W, AB, CD, VSA, VSB, VSC, VSD, ZERO] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  // Two frames in one vector: the 8 bytes at ptr (lane 0) and at ptr + stride (lane 1); ptr moves two frames on.
  const twoFrames = (into: number): number[] => [
    ...get(PTR),
    ...get(STRIDE),
    ...I32_ADD,
    ...set(NEXT),
    ...get(NEXT),
    ...get(PTR),
    ...load64Zero(0),
    ...load64Lane(1),
    ...set(into),
    ...get(NEXT),
    ...get(STRIDE),
    ...I32_ADD,
    ...set(PTR),
  ];
  const out = (row: number, half: number[], pair: number, scale: number): number[] => [
    ...get(row),
    ...get(pair),
    ...half,
    ...F32X4_CONVERT_I32X4_S,
    ...get(scale),
    ...F32X4_MUL,
    ...get(ZERO),
    ...F32X4_ADD,
    ...v128Store(0),
  ];
  const body = [
    ...twoFrames(V),
    ...twoFrames(W),
    ...get(V),
    ...get(W),
    ...GATHER_AB,
    ...set(AB),
    ...get(V),
    ...get(W),
    ...GATHER_CD,
    ...set(CD),
    ...out(OA, I32X4_EXTEND_LOW_I16X8_S, AB, VSA),
    ...out(OB, I32X4_EXTEND_HIGH_I16X8_S, AB, VSB),
    ...out(OC, I32X4_EXTEND_LOW_I16X8_S, CD, VSC),
    ...out(OD, I32X4_EXTEND_HIGH_I16X8_S, CD, VSD),
  ];
  return {
    name: 'deint16',
    params: [I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32],
    locals: [
      [1, I32],
      [9, V128],
    ],
    code: [
      ...[SA, SB, SC, SD].flatMap((p, k) => [...get(p), ...F32X4_SPLAT, ...set(VSA + k)]),
      ...countedLoop(QUADS, body, [
        [OA, 16],
        [OB, 16],
        [OC, 16],
        [OD, 16],
      ]),
    ],
  };
}

/**
 * Body of `run<vectors>(len, step)`: lane l's samples start at the byte address in i32 slot l of LANES_AT and
 * advance by `step` bytes; coefficients [p1, q1, q2, r1, s1, s2, t1, e1, e2] at COEF_AT; start states per vector
 * at STATES_AT. Per section, as runSymmetric: y = (x + z1) - a1 * y[n-1]; z1 = b1 * x + z2; z2 = x - a2 * y.
 */
function biquadFunction(vectors: number, backward: boolean): WasmFunction {
  const lanes = 2 * vectors;
  const PAIRS = 0;
  const ODD = 1;
  const STEP = 2;
  const ptr = (l: number) => 3 + l;
  const coef = (k: number) => 3 + lanes + k;
  // Per vector: x, then the three sections' (z1, z2, y) in the order pz1 pz2 py rz1 rz2 ry tz1 tz2 ty.
  const at = (v: number, k: number) => 3 + lanes + 9 + 10 * v + k;
  const X = 0;
  /** One sample of every lane at byte offset `o` from the lane pointers. */
  const sample = (o: number): number[] => {
    const code: number[] = [];
    const inputs: number[] = [];
    for (let v = 0; v < vectors; v++) {
      code.push(...get(ptr(2 * v + 1)), ...get(ptr(2 * v)), ...load64Zero(o), ...load64Lane(1, o), ...set(at(v, X)));
      inputs.push(at(v, X));
    }
    // Section by section across the vectors, so that independent recursions sit next to each other.
    for (let s = 0; s < 3; s++) {
      for (let v = 0; v < vectors; v++) {
        const input = inputs[v] as number;
        const z1 = at(v, 1 + 3 * s);
        const z2 = at(v, 2 + 3 * s);
        const y = at(v, 3 + 3 * s);
        const b1 = coef(3 * s);
        const a1 = coef(3 * s + 1);
        const a2 = coef(3 * s + 2);
        // y = (x + z1) - a1 * y[n-1]   (y's local still holds y[n-1] until it is set)
        code.push(
          ...get(input),
          ...get(z1),
          ...F64X2_ADD,
          ...get(a1),
          ...get(y),
          ...F64X2_MUL,
          ...F64X2_SUB,
          ...set(y),
        );
        // z1 = b1 * x + z2
        code.push(...get(b1), ...get(input), ...F64X2_MUL, ...get(z2), ...F64X2_ADD, ...set(z1));
        // z2 = x - a2 * y
        code.push(...get(input), ...get(a2), ...get(y), ...F64X2_MUL, ...F64X2_SUB, ...set(z2));
        inputs[v] = y;
      }
    }
    for (let v = 0; v < vectors; v++) {
      code.push(...get(ptr(2 * v)), ...get(inputs[v] as number), ...store64Lane(0, o));
      code.push(...get(ptr(2 * v + 1)), ...get(inputs[v] as number), ...store64Lane(1, o));
    }
    return code;
  };
  const code: number[] = [];
  for (let l = 0; l < lanes; l++) code.push(...i32Const(0), ...i32Load(LANES_AT + 4 * l), ...set(ptr(l)));
  for (let k = 0; k < 9; k++) code.push(...i32Const(0), ...load64Splat(COEF_AT + 8 * k), ...set(coef(k)));
  for (let v = 0; v < vectors; v++) {
    for (let s = 0; s < 3; s++) {
      for (let j = 0; j < 2; j++) {
        const offset = STATES_AT + 16 * (STATES_PER_VECTOR * v + 2 * s + j);
        code.push(...i32Const(0), ...v128Load(offset), ...set(at(v, 1 + 3 * s + j)));
      }
    }
  }
  // Two samples per step (memory offsets must not be negative, so a backward pass points one sample lower and
  // takes +8, then +0), then the odd one out.
  const [first, second] = backward ? [8, 0] : [0, 8];
  code.push(...countedLoopBy(PAIRS, [...sample(first), ...sample(second)], lanes, ptr, STEP));
  code.push(...get(ODD), 0x04, 0x40, ...sample(first), 0x0b); // if odd: one more sample
  return {
    name: `run${vectors}${backward ? 'b' : 'f'}`,
    params: [I32, I32, I32],
    locals: [
      [lanes, I32],
      [9 + 10 * vectors, V128],
    ],
    code,
  };
}

/** countedLoop with every lane pointer advanced by the local `step`. */
function countedLoopBy(
  count: number,
  body: number[],
  lanes: number,
  ptr: (l: number) => number,
  step: number,
): number[] {
  const code = [0x02, 0x40, ...get(count), ...I32_EQZ, 0x0d, 0, 0x03, 0x40, ...body];
  for (let l = 0; l < lanes; l++) code.push(...get(ptr(l)), ...get(step), ...I32_ADD, ...set(ptr(l)));
  code.push(...get(count), ...i32Const(1), ...I32_SUB, ...tee(count), 0x0d, 0, 0x0b, 0x0b);
  return code;
}

/** The module: one exported memory and the functions, each with a type of its own. */
function encodeModule(functions: readonly WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), ...vector([])]);
  const bodies = functions.map((f) => {
    const body = [...vector(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, vector([[0x00, 1]])),
    ...section(
      7,
      vector([[...utf8('memory'), 0x02, 0], ...functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)])]),
    ),
    ...section(10, vector(bodies)),
  ];
  return Uint8Array.from(bytes);
}

type Fn = (...args: number[]) => void;

/** The kernels over their linear memory. Rows must lie in {@link SimdKernels.workspace}'s array. */
export class SimdKernels {
  private readonly memory: WasmMemory;
  private readonly fns: Record<string, Fn>;
  private view: Float64Array;
  private f32: Float32Array;
  private lanes: Int32Array;
  private header: Float64Array;
  private header32: Float32Array;
  private headerInt: Int32Array;

  constructor(exports: Record<string, unknown>) {
    this.memory = exports.memory as WasmMemory;
    this.fns = exports as Record<string, Fn>;
    this.view = new Float64Array(0);
    this.f32 = new Float32Array(0);
    this.lanes = new Int32Array(0);
    this.header = new Float64Array(0);
    this.header32 = new Float32Array(0);
    this.headerInt = new Int32Array(0);
    this.refresh();
  }

  /** Views over the current buffer (growing the memory detaches the old ones). */
  private refresh(): void {
    const buffer = this.memory.buffer;
    this.view = new Float64Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 3);
    this.f32 = new Float32Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 2);
    this.lanes = new Int32Array(buffer, LANES_AT, 2 * MAX_VECTORS);
    this.header = new Float64Array(buffer, 0, DATA_AT >> 3);
    this.header32 = new Float32Array(buffer, 0, DATA_AT >> 2);
    this.headerInt = new Int32Array(buffer, 0, DATA_AT >> 2);
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
        // Backward, the pointer sits one sample below the first (see biquadFunction).
        this.lanes[l] = DATA_AT + 8 * (firsts[r] as number) - (backward ? 8 : 0);
        for (let j = 0; j < STATES_PER_VECTOR; j++) {
          h[(STATES_AT >> 3) + 2 * (STATES_PER_VECTOR * (l >> 1) + j) + (l & 1)] = states[6 * r + j] as number;
        }
      }
      (this.fns[`run${vectors}${backward ? 'b' : 'f'}`] as Fn)(len >> 1, len & 1, step);
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
    (this.fns.halfBand as Fn)(
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
   * quality.ts's leadStats over the first 4 floor(n / 4) values of `x` (copied to the start of the workspace, which
   * it overwrites): out = [s0, s1, s2, s3, q0, q1, q2, q3, max, atMax, min, atMin], the running sums of the samples
   * at k mod 4 and of their squares, and the extremes with how many samples equal each (a second pass over the
   * copy, cheaper than tracking counts while the extremes still move). The caller adds the last n mod 4 samples.
   */
  leadStats(x: Float32Array, n: number, out: Float64Array): void {
    const quads = n >> 2;
    this.workspace(2 * quads);
    this.f32.set(x.subarray(0, 4 * quads), 0);
    (this.fns.stats as Fn)(DATA_AT, quads);
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
    (this.fns.extremeCounts as Fn)(DATA_AT, quads, max, min);
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
    const fn = this.fns.derivation as Fn;
    return candidates.map(({ x, a, b }) => {
      f32.set(x.subarray(0, row), 2 * row);
      fn(DATA_AT + 8 * row, DATA_AT, DATA_AT + 4 * row, quads, a, b, tolerance);
      if (this.headerInt[DERIVATION_AT >> 2] !== 0) return false;
      for (let t = row; t < n; t++) {
        const d = (x[t] as number) - (a * (i[t] as number) + b * (ii[t] as number));
        if (!(d <= tolerance && d >= -tolerance)) return false;
      }
      return true;
    });
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
    (this.fns.nonFinite as Fn)(DATA_AT, quads);
    if (this.headerInt[NON_FINITE_AT >> 2] !== 0) return false;
    for (let i = 4 * quads; i < n; i++) if (!Number.isFinite(values[i] as number)) return false;
    into?.set(f32.subarray(0, n), offset);
    return true;
  }

  /**
   * Sum and sum of squares of w[from .. from + n), with the even and the odd samples in accumulators of their
   * own, added at the end (prepare()'s rowSums, bit for bit). Written to `out` as [s, q].
   */
  sums(from: number, n: number, out: Float64Array): void {
    const pairs = n >> 1;
    (this.fns.sums as Fn)(DATA_AT + 8 * from, pairs);
    const h = this.header;
    const at = SUMS_AT >> 3;
    let s0 = h[at] as number;
    let q0 = h[at + 2] as number;
    if (n & 1) {
      const a = this.view[from + n - 1] as number;
      s0 += a;
      q0 += a * a;
    }
    out[0] = s0 + (h[at + 1] as number);
    out[1] = q0 + (h[at + 3] as number);
  }

  /** Sum of w[a + t] * w[b + t] for t < n, even and odd samples apart (prepare()'s crossSum, bit for bit). */
  cross(a: number, b: number, n: number): number {
    (this.fns.cross as Fn)(DATA_AT + 8 * a, DATA_AT + 8 * b, n >> 1);
    const h = this.header;
    const at = (SUMS_AT >> 3) + 4;
    let p0 = h[at] as number;
    if (n & 1) p0 += (this.view[a + n - 1] as number) * (this.view[b + n - 1] as number);
    return p0 + (h[at + 1] as number);
  }

  /** workspace32()[dst + t] = (w[src + t] - mean) * scale for t < n (prepare()'s writeRow). */
  write(src: number, dst: number, n: number, mean: number, scale: number): void {
    (this.fns.write as Fn)(DATA_AT + 8 * src, DATA_AT + 4 * dst, n >> 1, mean, scale);
    if (n & 1) this.f32[dst + n - 1] = ((this.view[src + n - 1] as number) - mean) * scale;
  }

  /** workspace32()[dst + t] = (a * w[i + t] + b * w[ii + t] - mean) * scale for t < n (writeDerivedRow). */
  writeDerived(i: number, ii: number, dst: number, n: number, a: number, b: number, mean: number, scale: number): void {
    (this.fns.writeDerived as Fn)(DATA_AT + 8 * i, DATA_AT + 8 * ii, DATA_AT + 4 * dst, n >> 1, a, b, mean, scale);
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
    const fn = this.fns.deint16 as Fn;
    for (let g = 0; g < channelCount; g += 4) {
      if (!outs[g] && !outs[g + 1] && !outs[g + 2] && !outs[g + 3]) continue;
      const row = (c: number) => (c < channelCount ? (rowAt[c] ?? scratch) : scratch);
      const scale = (c: number) => (c < channelCount && outs[c] ? (channels[c]?.scale ?? 1) : 1);
      fn(
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
  try {
    const functions = [
      ...Array.from({ length: MAX_VECTORS }, (_, i) => [
        biquadFunction(i + 1, false),
        biquadFunction(i + 1, true),
      ]).flat(),
      sumsFunction(),
      crossFunction(),
      statsFunction(),
      extremeCountsFunction(),
      derivationFunction(),
      nonFiniteFunction(),
      halfBandFunction(),
      writeFunction(),
      writeDerivedFunction(),
      deinterleaveFunction(),
    ];
    const instance = new wasm.Instance(new wasm.Module(encodeModule(functions)), {});
    return new SimdKernels(instance.exports);
  } catch {
    return undefined; // no WebAssembly SIMD here: the JavaScript loops do the work
  }
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
