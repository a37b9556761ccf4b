/**
 * A WebAssembly SIMD kernel for the zero-phase filter's hot loop: three fused symmetric second-order sections
 * (numerator 1, b1, 1) run over many leads at once, two leads per f64x2 vector and several vectors per loop.
 *
 * Why: one section's recursion is bound by the latency of its own multiply and subtract; JavaScript cannot run
 * two leads in one loop without spilling registers (measured 0.90x), while a 128-bit vector carries two leads in
 * the same registers and the independent vectors of one loop hide each other's latency.
 *
 * The module is a few hundred bytes, encoded below at load time (no toolchain, no binary in the repository) and
 * compiled once, synchronously. It computes exactly what filter.ts's runSymmetric computes for three sections,
 * in the same order, in float64 without fused multiply-adds: the results are bit-identical.
 *
 * The kernel only reads and writes its own linear memory, so callers keep their rows there: {@link workspace}
 * hands out a Float64Array over that memory (prepare() uses it as its scratch rows). Where WebAssembly SIMD is
 * missing, {@link biquadKernel} is undefined and callers use the JavaScript loops.
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
const LOAD64_ZERO = simd(0x5d, 3, 0);
const load64Lane = (lane: number): number[] => simd(0x57, 3, 0, lane);
const store64Lane = (lane: number): number[] => simd(0x5b, 3, 0, lane);
const F64X2_ADD = simd(0xf0);
const F64X2_SUB = simd(0xf1);
const F64X2_MUL = simd(0xf2);

/**
 * Body of `run<vectors>(len, step)`: lane l's samples start at the byte address in i32 slot l of LANES_AT and
 * advance by `step` bytes; coefficients [p1, q1, q2, r1, s1, s2, t1, e1, e2] at COEF_AT; start states per vector
 * at STATES_AT. Per section, as runSymmetric: y = (x + z1) - a1 * y[n-1]; z1 = b1 * x + z2; z2 = x - a2 * y.
 */
function kernelBody(vectors: number): number[] {
  const lanes = 2 * vectors;
  const LEN = 0;
  const STEP = 1;
  const ptr = (l: number) => 2 + l;
  const coef = (k: number) => 2 + lanes + k;
  // Per vector: x, then the three sections' (z1, z2, y) in the order pz1 pz2 py rz1 rz2 ry tz1 tz2 ty.
  const at = (v: number, k: number) => 2 + lanes + 9 + 10 * v + k;
  const X = 0;
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
  code.push(0x02, 0x40, ...get(LEN), ...I32_EQZ, 0x0d, 0); // block; if len == 0 leave
  code.push(0x03, 0x40); // loop
  const inputs: number[] = [];
  for (let v = 0; v < vectors; v++) {
    code.push(...get(ptr(2 * v + 1)), ...get(ptr(2 * v)), ...LOAD64_ZERO, ...load64Lane(1), ...set(at(v, X)));
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
      code.push(...get(input), ...get(z1), ...F64X2_ADD, ...get(a1), ...get(y), ...F64X2_MUL, ...F64X2_SUB, ...set(y));
      // z1 = b1 * x + z2
      code.push(...get(b1), ...get(input), ...F64X2_MUL, ...get(z2), ...F64X2_ADD, ...set(z1));
      // z2 = x - a2 * y
      code.push(...get(input), ...get(a2), ...get(y), ...F64X2_MUL, ...F64X2_SUB, ...set(z2));
      inputs[v] = y;
    }
  }
  for (let v = 0; v < vectors; v++) {
    code.push(...get(ptr(2 * v)), ...get(inputs[v] as number), ...store64Lane(0));
    code.push(...get(ptr(2 * v + 1)), ...get(inputs[v] as number), ...store64Lane(1));
  }
  for (let l = 0; l < lanes; l++) code.push(...get(ptr(l)), ...get(STEP), ...I32_ADD, ...set(ptr(l)));
  code.push(...get(LEN), ...i32Const(1), ...I32_SUB, ...tee(LEN), 0x0d, 0); // br_if loop while len != 0
  code.push(0x0b, 0x0b, 0x0b); // end loop, end block, end function
  const locals = vector([
    [...uleb(lanes), I32],
    [...uleb(9 + 10 * vectors), V128],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module: one memory and run1 .. run<MAX_VECTORS>, each (len: i32, step: i32) -> (). */
function encodeModule(): Uint8Array {
  const counts = Array.from({ length: MAX_VECTORS }, (_, i) => i + 1);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...vector([[I32], [I32]]), ...vector([])]])),
    ...section(3, vector(counts.map(() => [0]))),
    ...section(5, vector([[0x00, 1]])),
    ...section(
      7,
      vector([[...utf8('memory'), 0x02, 0], ...counts.map((k, i) => [...utf8(`run${k}`), 0x00, ...uleb(i)])]),
    ),
    ...section(10, vector(counts.map((k) => kernelBody(k)))),
  ];
  return Uint8Array.from(bytes);
}

/**
 * Three fused symmetric sections over many rows at once, in WebAssembly linear memory. Rows must lie in
 * {@link BiquadKernel.workspace}'s array.
 */
export class BiquadKernel {
  private readonly memory: WasmMemory;
  private readonly runs: Array<(len: number, step: number) => void>;
  private view: Float64Array;
  private lanes: Int32Array;
  private header: Float64Array;

  constructor(exports: Record<string, unknown>) {
    this.memory = exports.memory as WasmMemory;
    this.runs = Array.from(
      { length: MAX_VECTORS },
      (_, i) => exports[`run${i + 1}`] as (len: number, step: number) => void,
    );
    this.view = new Float64Array(0);
    this.lanes = new Int32Array(0);
    this.header = new Float64Array(0);
    this.refresh();
  }

  /** Views over the current buffer (growing the memory detaches the old ones). */
  private refresh(): void {
    const buffer = this.memory.buffer;
    this.view = new Float64Array(buffer, DATA_AT, (buffer.byteLength - DATA_AT) >> 3);
    this.lanes = new Int32Array(buffer, LANES_AT, 2 * MAX_VECTORS);
    this.header = new Float64Array(buffer, 0, DATA_AT >> 3);
  }

  /**
   * A Float64Array over the kernel's memory with at least `length` values. The same array is returned until a
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

  /** True when `w` is the current workspace array (so its rows are visible to the kernel). */
  owns(w: Float64Array): boolean {
    return w === this.view && w.buffer === this.memory.buffer;
  }

  /**
   * Runs the sections over `len` values of each row, forward from `firsts[r]` or (backward) down from it.
   * `coef` is [p1, q1, q2, r1, s1, s2, t1, e1, e2] (a1 of a section is q1, a2 is q2, its b1 is p1), `states`
   * holds each row's start states [pz1, pz2, rz1, rz2, tz1, tz2] at 6 r; every y[n-1] starts at 0.
   */
  run(
    firsts: ArrayLike<number>,
    rows: number,
    len: number,
    backward: boolean,
    coef: ArrayLike<number>,
    states: ArrayLike<number>,
  ): void {
    const h = this.header;
    for (let k = 0; k < 9; k++) h[(COEF_AT >> 3) + k] = coef[k] as number;
    const step = backward ? -8 : 8;
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
      (this.runs[vectors - 1] as (len: number, step: number) => void)(len, step);
    }
  }
}

function instantiate(): BiquadKernel | undefined {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return undefined;
  try {
    const instance = new wasm.Instance(new wasm.Module(encodeModule()), {});
    return new BiquadKernel(instance.exports);
  } catch {
    return undefined; // no WebAssembly SIMD here: the JavaScript loops do the work
  }
}

/** The kernel, compiled once at load; undefined where WebAssembly SIMD is not available. */
export const biquadKernel: BiquadKernel | undefined = instantiate();
