/**
 * Anti-aliased sample-rate conversion: a polyphase windowed-sinc (Kaiser) FIR resampler.
 *
 * Design (defaults): with `Fl` the lower of the two rates and `nyq = Fl / 2`,
 * - passband 0 .. min(0.8 * nyq, 150 Hz), ripple below +-0.02 dB (0.2 %). 150 Hz is the diagnostic ECG bandwidth
 *   (AHA 2007: 150 Hz for adolescents and adults); capping there keeps the kernel short when decimating
 *   (1000 -> 500 Hz: 39 taps instead of 75) and loses nothing a diagnostic ECG carries;
 * - transition from the passband edge to nyq, the -6 dB point half-way;
 * - stopband from nyq upwards, attenuated by at least 60 dB, so nothing above the target Nyquist folds back
 *   (downsampling) and no spectral image survives (upsampling).
 * E.g. 1000 -> 500 Hz: flat to 150 Hz, -6 dB at 200 Hz, <= -60 dB from 250 Hz; 100 -> 500 Hz: flat to 40 Hz,
 * -60 dB from 50 Hz.
 * The kernel is centred on each output instant, so there is no group delay: output sample n sits at time
 * n / toHz, exactly where input sample k sits at k / fromHz (a feature at time t stays at t).
 * Beyond the record's ends the input is mirrored (even reflection about the first and last sample), so a DC
 * offset or a slow baseline passes without edge droop.
 *
 * Protected band (option `protectBandHz`, set by prepare() from the card's low-pass): when the caller low-passes
 * the output at P Hz anyway, the resampler only has to be flat up to P and keep out whatever would fold INTO
 * 0 .. P. With `Fl` the lower rate that is: passband 0 .. P, stopband from Fl - P (the first frequency that
 * aliases to P when decimating, the image of P when interpolating), still >= 60 dB. Content that folds to between
 * P and the lower Nyquist is only partly attenuated: the caller's low-pass must remove it. The transition band is
 * far wider, so the kernel is far shorter: 1000 -> 500 Hz with P = 50 Hz is flat to 50 Hz, <= -60 dB from 450 Hz,
 * and (its cut-off at 250 Hz is a quarter of the input rate: a half-band kernel) 13 taps of which 7 are not zero,
 * 4 multiplications per output with the symmetric pairs folded, against 39 taps (16 multiplications) for the
 * full design. Kaiser's length formula falls short for such short kernels (-55.8 dB measured for a 60 dB design),
 * so protected-band kernels are designed 6 dB beyond the requirement, then checked (the response of every phase
 * over the passband and the folding stopband) and lengthened until they meet it.
 * The full design applies when P is not below its own passband edge.
 *
 * Integer rates use the exact rational ratio L/M (one precomputed kernel per phase, only the kept outputs are
 * computed); other rates, and integer ratios with very many phases, use 512 kernel phases per input sample
 * with linear interpolation between adjacent phases (error below -90 dB for in-band content).
 */
import { LimitExceededError, NotAnalysableError } from './errors.js';

/** Filter design of the resampler. */
export interface ResamplerOptions {
  /** Passband edge as a fraction of the lower Nyquist frequency (default 0.8). The stopband starts at that Nyquist. */
  passbandFraction?: number;
  /** Upper limit of the passband edge in Hz (default 150, the diagnostic ECG bandwidth). */
  maxPassbandHz?: number;
  /** Minimum stopband attenuation in dB (default 60). */
  stopbandAttenuationDb?: number;
  /**
   * Band the caller keeps, in Hz, when it low-passes the output there itself (see the module comment). Unset
   * (the default): full anti-aliasing up to the lower Nyquist. Values at or above the default passband edge are
   * ignored (the full design is used).
   */
  protectBandHz?: number;
}

const DEFAULT_PASSBAND_FRACTION = 0.8;
const DEFAULT_MAX_PASSBAND_HZ = 150;
const DEFAULT_STOPBAND_DB = 60;
/** Extra design attenuation of the short protected-band kernels (Kaiser's formula falls short for them); the
 * design is then checked and lengthened further where that is still not enough. */
const PROTECTED_MARGIN_DB = 6;
/** Kernel phases per input sample on the interpolated (fractional-ratio) path. */
const INTERPOLATED_PHASES = 512;
/** Most phases kept for an exact rational ratio before switching to the interpolated path. */
const MAX_EXACT_PHASES = 2048;
/** Most taps per output sample: guards against absurd rate pairs. */
const MAX_TAPS = 1 << 15;
/** Most output samples one call may produce (about 17 minutes at 1 kHz). */
const MAX_OUTPUT_SAMPLES = 1 << 20;

/**
 * Rates that are integers to within float noise are taken as integers, so `1 / 0.002` (aECG increment) is 500 Hz.
 */
export function snapRate(hz: number): number {
  const r = Math.round(hz);
  return Math.abs(hz - r) <= 1e-9 * Math.max(1, hz) ? r : hz;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for the betas used). */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser beta for a stopband attenuation (Kaiser's empirical formula). */
function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/**
 * A resampler for one (fromHz, toHz) pair. Build once with {@link getResampler} (cached) and call
 * {@link Resampler.process} for each lead.
 */
export class Resampler {
  readonly fromHz: number;
  readonly toHz: number;
  /** Passband edge in Hz (response flat to within the ripple below it). */
  readonly passbandHz: number;
  /** Stopband edge in Hz (attenuation at least `stopbandAttenuationDb` above it). */
  readonly stopbandHz: number;
  readonly stopbandAttenuationDb: number;
  /** True when the design is the narrower protected-band one (option `protectBandHz` took effect). */
  readonly protectedBand: boolean;
  /**
   * M when the ratio is an integer decimation (output i sits on input i * M), else 0. process() reads the input
   * at only a few taps per output there, so callers pass the Float32 leads as they are (no Float64 copy).
   */
  readonly decimationFactor: number;
  /** True when the rates are equal and process() is a copy. */
  readonly identity: boolean;
  /** Taps per output sample (2 * radius + 1). */
  readonly taps: number;
  /** Kernel reach either side of the output instant, in input samples. */
  private readonly radius: number;
  /** Exact rational path: L (phases) and M, with out n at input position n * M / L. 0 on the interpolated path. */
  private readonly up: number;
  private readonly down: number;
  /** Phase-major kernel table: `phases` rows of `taps` weights (plus one extra row on the interpolated path). */
  private readonly table: Float64Array;
  /**
   * Integer decimation only (L = 1): the symmetric kernel folded to its non-zero weights, as offsets from the
   * centre tap and weights of each pair (x[c - o] + x[c + o]); a half-band kernel has every other weight zero.
   * Empty on the other paths.
   */
  private readonly pairOffsets: Int32Array;
  private readonly pairWeights: Float64Array;
  private readonly centreWeight: number;

  constructor(fromHz: number, toHz: number, options: ResamplerOptions = {}) {
    if (!(fromHz > 0 && toHz > 0 && Number.isFinite(fromHz) && Number.isFinite(toHz))) {
      throw new NotAnalysableError([`implausible sample rate: cannot resample ${fromHz} Hz to ${toHz} Hz`]);
    }
    fromHz = snapRate(fromHz);
    toHz = snapRate(toHz);
    this.fromHz = fromHz;
    this.toHz = toHz;
    const passbandFraction = options.passbandFraction ?? DEFAULT_PASSBAND_FRACTION;
    const attenuation = options.stopbandAttenuationDb ?? DEFAULT_STOPBAND_DB;
    const maxPassbandHz = options.maxPassbandHz ?? DEFAULT_MAX_PASSBAND_HZ;
    const protectBandHz = options.protectBandHz;
    if (
      !(passbandFraction > 0 && passbandFraction < 1) ||
      !(attenuation >= 20 && attenuation <= 200) ||
      !(maxPassbandHz > 0) ||
      (protectBandHz !== undefined && !(protectBandHz > 0))
    ) {
      throw new RangeError(
        'resampler options out of range: passbandFraction in (0, 1), stopbandAttenuationDb 20..200, maxPassbandHz > 0, protectBandHz > 0',
      );
    }
    const lower = Math.min(fromHz, toHz);
    const nyquist = lower / 2;
    const fullPassbandHz = Math.min(passbandFraction * nyquist, maxPassbandHz);
    this.protectedBand = protectBandHz !== undefined && protectBandHz < fullPassbandHz;
    // Protected band P: flat to P, stopband from the first frequency that folds onto P (always above nyquist here).
    this.passbandHz = this.protectedBand ? (protectBandHz as number) : fullPassbandHz;
    this.stopbandHz = this.protectedBand ? lower - (protectBandHz as number) : nyquist;
    this.stopbandAttenuationDb = attenuation;
    this.identity = fromHz === toHz;
    this.pairOffsets = new Int32Array(0);
    this.pairWeights = new Float64Array(0);
    this.centreWeight = 1;
    if (this.identity) {
      this.taps = 1;
      this.radius = 0;
      this.up = 1;
      this.down = 1;
      this.decimationFactor = 0;
      this.table = new Float64Array([1]);
      return;
    }

    let up = 0;
    let down = 0;
    if (Number.isInteger(fromHz) && Number.isInteger(toHz)) {
      const g = gcd(fromHz, toHz);
      if (toHz / g <= MAX_EXACT_PHASES) {
        up = toHz / g;
        down = fromHz / g;
      }
    }
    this.up = up;
    this.down = down;
    this.decimationFactor = up === 1 ? down : 0;
    // Exact path: phase p is the fractional position p / L. Interpolated path: P + 1 rows at p / P.
    const phases = up > 0 ? up : INTERPOLATED_PHASES + 1;
    const step = up > 0 ? 1 / up : 1 / INTERPOLATED_PHASES;

    // Kaiser's length formula is optimistic for very short kernels (the protected-band ones: 1000 -> 500 Hz
    // measured -55.8 dB for a 60 dB design), so those are designed with a margin and then checked: the response
    // of every phase is computed, and the design is lengthened until it meets the specification.
    let designDb = this.protectedBand ? attenuation + PROTECTED_MARGIN_DB : attenuation;
    let kernel = designKernel(fromHz, this.passbandHz, this.stopbandHz, designDb, phases, step);
    while (
      this.protectedBand &&
      designDb < attenuation + 40 &&
      kernel.taps <= MAX_TAPS &&
      worstError(kernel, phases, step, fromHz, this.passbandHz, this.stopbandHz) > 10 ** (-attenuation / 20)
    ) {
      designDb += 2;
      kernel = designKernel(fromHz, this.passbandHz, this.stopbandHz, designDb, phases, step);
    }
    const { radius, taps, table } = kernel;
    if (taps > MAX_TAPS) {
      throw new LimitExceededError(`resampling ${fromHz} Hz to ${toHz} Hz needs ${taps} taps (limit ${MAX_TAPS})`);
    }
    this.radius = radius;
    this.taps = taps;
    this.table = table;
    if (up === 1) {
      // Fold phase 0 (symmetric) into pairs and drop the weights that are zero but for rounding (sinc zeros:
      // a half-band kernel's even offsets), renormalising to unit DC gain.
      const centre = table[radius] as number;
      const offsets: number[] = [];
      const weights: number[] = [];
      for (let o = 1; o <= radius; o++) {
        const h = table[radius + o] as number;
        if (Math.abs(h) > 1e-12 * Math.abs(centre)) {
          offsets.push(o);
          weights.push(h);
        }
      }
      const dc = centre + 2 * weights.reduce((a, b) => a + b, 0);
      this.pairOffsets = Int32Array.from(offsets);
      this.pairWeights = Float64Array.from(weights, (h) => h / dc);
      this.centreWeight = centre / dc;
    }
  }

  /** Multiplications per output sample on the interior of a record (symmetric pairs share one). */
  get multipliesPerOutput(): number {
    if (this.identity) return 0;
    return this.up === 1 ? this.pairOffsets.length + 1 : this.up > 0 ? this.taps : 2 * this.taps;
  }

  /**
   * The weights [h0, w1, w3, w5] of the 2:1 half-band kernel (output i = h0 x[2i] + w1 (x[2i - 1] + x[2i + 1]) +
   * (w3 (x[2i - 3] + x[2i + 3]) + w5 (x[2i - 5] + x[2i + 5])), in that order of operations) when this resampler
   * decimates by 2 with one, else undefined. With {@link Resampler.processEdges} a caller (a SIMD kernel) can
   * compute the interior itself.
   */
  get halfBand(): readonly [number, number, number, number] | undefined {
    const o = this.pairOffsets;
    const w = this.pairWeights;
    if (this.up !== 1 || this.down !== 2 || o.length !== 3 || o[0] !== 1 || o[1] !== 3 || o[2] !== 5) return undefined;
    return [this.centreWeight, w[0] as number, w[1] as number, w[2] as number];
  }

  /**
   * For a decimating resampler: computes only the outputs of process(x, n, out, count, offset) whose kernel
   * reaches past either end of the record, and returns [lo, hi], the interior outputs it left out.
   */
  processEdges(
    x: Float32Array | Float64Array,
    n: number,
    out: Float64Array,
    count: number,
    offset: number,
  ): [number, number] {
    if (this.up !== 1 || offset < 0 || offset + count > out.length || n > x.length) {
      throw new RangeError('resampler: edges need a decimating resampler and room for the outputs');
    }
    const { radius, down } = this;
    const lo = Math.min(count, Math.ceil(radius / down));
    const hi = Math.max(lo, Math.min(count, Math.floor((n - 1 - radius) / down) + 1));
    this.processRational(x, n, out, offset, lo, 0);
    this.processRational(x, n, out, offset, count, hi);
    return [lo, hi];
  }

  /** Number of output samples for `n` input samples: the output instants n / toHz that fall in [0, n / fromHz). */
  outputLength(n: number): number {
    if (n <= 0) return 0;
    if (this.identity) return n;
    return Math.max(1, Math.ceil((n * this.toHz) / this.fromHz - 1e-9));
  }

  /**
   * Resamples the first `n` samples of `x` into `out[offset .. offset + count)`; `count` defaults to
   * outputLength(n) and may be smaller (only the kept outputs are computed). Pass `x` as a Float64Array for
   * speed: the inner loops then stay monomorphic (a Float32Array works, more slowly).
   */
  process(x: Float32Array | Float64Array, n: number, out: Float64Array, count?: number, offset = 0): void {
    const total = count ?? this.outputLength(n);
    if (offset < 0 || offset + total > out.length || n > x.length) throw new RangeError('resampler buffers too small');
    if (total > MAX_OUTPUT_SAMPLES) throw new LimitExceededError(`resampled record too long: ${total} samples`);
    if (n <= 0 || total <= 0) return;
    if (this.identity) {
      const m = Math.min(total, n);
      // TypedArray.set widens Float32 to Float64 natively: about 6x faster than a loop that sees both array types.
      out.set(x.subarray(0, m), offset);
      if (total > m) out.fill(x[n - 1] as number, offset + m, offset + total);
      return;
    }
    if (this.up === 1) this.processDecimate(x, n, out, offset, total);
    else if (this.up > 0) this.processByPhase(x, n, out, offset, total);
    else this.processInterpolated(x, n, out, offset, total);
  }

  /**
   * The exact rational path with L > 1, its interior run phase by phase: outputs i, i + L, i + 2L ... use one
   * kernel row and start M inputs apart, so each pass keeps its row and steps its start without the per-output
   * phase bookkeeping (same dot products, so the same values as processRational). Outputs whose kernel reaches
   * past either end of the record take processRational's reflected path.
   */
  private processByPhase(x: Float32Array | Float64Array, n: number, out: Float64Array, offset: number, total: number) {
    const { table, taps, radius, up, down } = this;
    // Interior: floor(i M / L) - radius >= 0 and floor(i M / L) - radius + taps <= n (k0 grows with i).
    const k0Of = (i: number): number => (i * down - ((i * down) % up)) / up;
    let lo = 0;
    while (lo < total && k0Of(lo) < radius) lo++;
    let hi = total;
    while (hi > lo && k0Of(hi - 1) - radius + taps > n) hi--;
    this.processRational(x, n, out, offset, lo, 0);
    for (let q = 0; q < up && lo + q < hi; q++) {
      const first = lo + q;
      const row = ((first * down) % up) * taps;
      const start = k0Of(first) - radius;
      if (taps === 9) phasePass9(x, start, down, table, row, out, offset + first, offset + hi, up);
      else for (let i = first, k = start; i < hi; i += up, k += down) out[offset + i] = dot(x, k, table, row, taps);
    }
    this.processRational(x, n, out, offset, total, hi);
  }

  /** Outputs from..total of the exact rational path, one at a time. */
  private processRational(
    x: Float32Array | Float64Array,
    n: number,
    out: Float64Array,
    offset: number,
    total: number,
    from = 0,
  ) {
    const { table, taps, radius, up, down } = this;
    const whole = Math.floor(down / up);
    const rest = down - whole * up;
    let phase = (from * down) % up; // (i * M) mod L
    let k0 = (from * down - phase) / up; // floor(i * M / L)
    for (let i = from; i < total; i++) {
      const start = k0 - radius;
      const row = phase * taps;
      let acc = 0;
      if (start >= 0 && start + taps <= n) {
        // Integer decimation (L = 1) only ever uses phase 0, whose kernel is symmetric: folded pairs.
        acc =
          up === 1
            ? dotPairs(x, k0, this.pairOffsets, this.pairWeights, this.centreWeight)
            : dot(x, start, table, row, taps);
      } else {
        for (let j = 0; j < taps; j++) acc += (x[reflect(start + j, n)] as number) * (table[row + j] as number);
      }
      out[offset + i] = acc;
      k0 += whole;
      phase += rest;
      if (phase >= up) {
        phase -= up;
        k0 += 1;
      }
    }
  }

  /**
   * Integer decimation (L = 1): output i is centred on input i * M. Interior outputs use the folded pairs in a
   * loop of their own (the half-band kernels of 2:1 decimation have two or three pairs: unrolled); outputs whose
   * kernel reaches past either end of the record take the reflected path.
   */
  private processDecimate(x: Float32Array | Float64Array, n: number, out: Float64Array, offset: number, total: number) {
    const { radius, down } = this;
    const offs = this.pairOffsets;
    const ws = this.pairWeights;
    const h0 = this.centreWeight;
    const m = offs.length;
    // Interior: i * down - radius >= 0 and i * down + radius <= n - 1.
    const lo = Math.min(total, Math.ceil(radius / down));
    const hi = Math.max(lo, Math.min(total, Math.floor((n - 1 - radius) / down) + 1));
    this.processRational(x, n, out, offset, lo, 0);
    if (m === 3) {
      const o0 = offs[0] as number;
      const o1 = offs[1] as number;
      const o2 = offs[2] as number;
      const w0 = ws[0] as number;
      const w1 = ws[1] as number;
      const w2 = ws[2] as number;
      if (down === 2 && o0 === 1 && o1 === 3 && o2 === 5 && lo < hi) {
        // The half-band kernel (2:1): output i + 1 reads the odd inputs of output i shifted by one pair, so they
        // stay in locals and each output loads two new inputs instead of seven (same arithmetic, same order).
        let c = lo * 2;
        let xm5 = x[c - 5] as number;
        let xm3 = x[c - 3] as number;
        let xm1 = x[c - 1] as number;
        let xp1 = x[c + 1] as number;
        let xp3 = x[c + 3] as number;
        for (let i = lo; i < hi; i++, c += 2) {
          const xp5 = x[c + 5] as number;
          out[offset + i] = (x[c] as number) * h0 + (xm1 + xp1) * w0 + ((xm3 + xp3) * w1 + (xm5 + xp5) * w2);
          xm5 = xm3;
          xm3 = xm1;
          xm1 = xp1;
          xp1 = xp3;
          xp3 = xp5;
        }
      } else {
        for (let i = lo, c = lo * down; i < hi; i++, c += down) {
          out[offset + i] =
            (x[c] as number) * h0 +
            ((x[c - o0] as number) + (x[c + o0] as number)) * w0 +
            (((x[c - o1] as number) + (x[c + o1] as number)) * w1 +
              ((x[c - o2] as number) + (x[c + o2] as number)) * w2);
        }
      }
    } else {
      for (let i = lo, c = lo * down; i < hi; i++, c += down) out[offset + i] = dotPairs(x, c, offs, ws, h0);
    }
    this.processRational(x, n, out, offset, total, hi);
  }

  private processInterpolated(
    x: Float32Array | Float64Array,
    n: number,
    out: Float64Array,
    offset: number,
    total: number,
  ): void {
    const { table, taps, radius } = this;
    const ratio = this.fromHz / this.toHz;
    for (let i = 0; i < total; i++) {
      const pos = i * ratio;
      const k0 = Math.floor(pos);
      const sub = (pos - k0) * INTERPOLATED_PHASES;
      const p = Math.min(Math.floor(sub), INTERPOLATED_PHASES - 1);
      const t = sub - p;
      const rowA = p * taps;
      const rowB = rowA + taps;
      const start = k0 - radius;
      let accA = 0;
      let accB = 0;
      if (start >= 0 && start + taps <= n) {
        accA = dot(x, start, table, rowA, taps);
        accB = dot(x, start, table, rowB, taps);
      } else {
        for (let j = 0; j < taps; j++) {
          const v = x[reflect(start + j, n)] as number;
          accA += v * (table[rowA + j] as number);
          accB += v * (table[rowB + j] as number);
        }
      }
      out[offset + i] = accA + t * (accB - accA);
    }
  }
}

/** A phase-major kernel table and its reach. */
interface Kernel {
  radius: number;
  taps: number;
  table: Float64Array;
}

/**
 * Kaiser-windowed sinc kernels for `phases` fractional positions p * step: cut-off half-way through the
 * transition, window length from Kaiser's formula for `designDb` (as a duration, so it holds for either direction).
 */
function designKernel(
  fromHz: number,
  passbandHz: number,
  stopbandHz: number,
  designDb: number,
  phases: number,
  step: number,
): Kernel {
  const transitionHz = stopbandHz - passbandHz;
  const cutoffHz = (stopbandHz + passbandHz) / 2;
  const durationS = (designDb - 7.95) / (2.285 * 2 * Math.PI * transitionHz);
  const halfWidthIn = (durationS / 2) * fromHz; // in input samples
  const radius = Math.ceil(halfWidthIn);
  const taps = 2 * radius + 1;
  if (taps > MAX_TAPS) return { radius, taps, table: new Float64Array(0) };
  const beta = kaiserBeta(designDb);
  const i0Beta = besselI0(beta);
  const fc = cutoffHz / fromHz; // cycles per input sample
  const table = new Float64Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p * step;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      // Weight of input sample k0 + (j - radius) for an output at k0 + frac.
      const u = j - radius - frac;
      const r = u / halfWidthIn;
      if (r < -1 || r > 1) continue;
      const sincArg = 2 * fc * u;
      const sinc = sincArg === 0 ? 1 : Math.sin(Math.PI * sincArg) / (Math.PI * sincArg);
      const w = besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
      const h = 2 * fc * sinc * w;
      table[p * taps + j] = h;
      sum += h;
    }
    // Unit DC gain for every phase: a constant stays exactly constant (no phase-dependent ripple).
    for (let j = 0; j < taps; j++) table[p * taps + j] = (table[p * taps + j] as number) / sum;
  }
  return { radius, taps, table };
}

/**
 * Largest error of a kernel table as a resampler: for input tones in the passband, |H_p(f) - 1| (ripple, delay
 * error and, across phases, the images of an interpolator), and for input tones in the stopband below the input
 * Nyquist (what a decimator would fold back), |H_p(f)|; H_p is the response of phase p about its output instant.
 * Checks every phase up to 64, else 64 spread over the range; frequencies on a grid of 24 + 64 points.
 */
function worstError(
  kernel: Kernel,
  phases: number,
  step: number,
  fromHz: number,
  passbandHz: number,
  stopbandHz: number,
): number {
  const { radius, taps, table } = kernel;
  const freqs: Array<[number, number]> = []; // [Hz, target gain]
  for (let k = 0; k <= 24; k++) freqs.push([(passbandHz * k) / 24, 1]);
  if (stopbandHz < fromHz / 2)
    for (let k = 0; k <= 64; k++) freqs.push([stopbandHz + ((fromHz / 2 - stopbandHz) * k) / 64, 0]);
  const checked = Math.min(phases, 64);
  let worst = 0;
  for (let c = 0; c < checked; c++) {
    const p = checked === phases ? c : Math.round((c * (phases - 1)) / (checked - 1));
    const frac = p * step;
    for (const [f, target] of freqs) {
      const w = (2 * Math.PI * f) / fromHz;
      // Sum of h[j] e^{-i w u_j}, u_j = j - radius - frac: a rotation by e^{-i w} per tap.
      let cr = Math.cos(w * (radius + frac));
      let ci = Math.sin(w * (radius + frac));
      const sr = Math.cos(w);
      const si = -Math.sin(w);
      let re = 0;
      let im = 0;
      for (let j = 0; j < taps; j++) {
        const h = table[p * taps + j] as number;
        re += h * cr;
        im += h * ci;
        const nr = cr * sr - ci * si;
        ci = cr * si + ci * sr;
        cr = nr;
      }
      worst = Math.max(worst, Math.hypot(re - target, im));
    }
  }
  return worst;
}

/**
 * sum of x[xs + j] * h[hs + j] for j < taps. Four accumulators: a single one would be bound by the latency of
 * each addition; four let the additions overlap (about 3x faster).
 */
function dot(x: Float32Array | Float64Array, xs: number, h: Float64Array, hs: number, taps: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let j = 0;
  for (; j + 3 < taps; j += 4) {
    a0 += (x[xs + j] as number) * (h[hs + j] as number);
    a1 += (x[xs + j + 1] as number) * (h[hs + j + 1] as number);
    a2 += (x[xs + j + 2] as number) * (h[hs + j + 2] as number);
    a3 += (x[xs + j + 3] as number) * (h[hs + j + 3] as number);
  }
  for (; j < taps; j++) a0 += (x[xs + j] as number) * (h[hs + j] as number);
  return a0 + a1 + (a2 + a3);
}

/**
 * One phase pass of a 9-tap kernel (prepare()'s protected-band kernels for 240, 250, 300, 360 and 600 Hz sources):
 * out[o], out[o + step] ... until `end`, from inputs `start`, `start + stride` ..., with the row's weights held in
 * locals. The sums are dot()'s, term for term and in its order (four running sums, the ninth term in the first),
 * so the values are identical.
 */
function phasePass9(
  x: Float32Array | Float64Array,
  start: number,
  stride: number,
  h: Float64Array,
  row: number,
  out: Float64Array,
  first: number,
  end: number,
  step: number,
): void {
  const h0 = h[row] as number;
  const h1 = h[row + 1] as number;
  const h2 = h[row + 2] as number;
  const h3 = h[row + 3] as number;
  const h4 = h[row + 4] as number;
  const h5 = h[row + 5] as number;
  const h6 = h[row + 6] as number;
  const h7 = h[row + 7] as number;
  const h8 = h[row + 8] as number;
  for (let o = first, k = start; o < end; o += step, k += stride) {
    const a0 = 0 + (x[k] as number) * h0 + (x[k + 4] as number) * h4 + (x[k + 8] as number) * h8;
    const a1 = 0 + (x[k + 1] as number) * h1 + (x[k + 5] as number) * h5;
    const a2 = 0 + (x[k + 2] as number) * h2 + (x[k + 6] as number) * h6;
    const a3 = 0 + (x[k + 3] as number) * h3 + (x[k + 7] as number) * h7;
    out[o] = a0 + a1 + (a2 + a3);
  }
}

/**
 * A symmetric kernel folded to pairs around the centre sample c: x[c] * h0 + sum of (x[c - o] + x[c + o]) * w,
 * one multiplication per pair, zero weights (half-band kernels) skipped.
 */
function dotPairs(x: Float32Array | Float64Array, c: number, offsets: Int32Array, w: Float64Array, h0: number): number {
  let a0 = (x[c] as number) * h0;
  let a1 = 0;
  const m = offsets.length;
  let j = 0;
  for (; j + 1 < m; j += 2) {
    const o = offsets[j] as number;
    const p = offsets[j + 1] as number;
    a0 += ((x[c - o] as number) + (x[c + o] as number)) * (w[j] as number);
    a1 += ((x[c - p] as number) + (x[c + p] as number)) * (w[j + 1] as number);
  }
  if (j < m) {
    const o = offsets[j] as number;
    a0 += ((x[c - o] as number) + (x[c + o] as number)) * (w[j] as number);
  }
  return a0 + a1;
}

/** Even reflection about the first and last sample: ... x2 x1 | x0 x1 ... x(n-1) | x(n-2) ... */
function reflect(k: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = k % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

const cache = new Map<string, Resampler>();

/** A cached resampler for the rate pair (kernels are built once per pair and options). */
export function getResampler(fromHz: number, toHz: number, options: ResamplerOptions = {}): Resampler {
  const key = `${snapRate(fromHz)}>${snapRate(toHz)}:${options.passbandFraction}:${options.maxPassbandHz}:${options.stopbandAttenuationDb}:${options.protectBandHz}`;
  let r = cache.get(key);
  if (!r) {
    r = new Resampler(fromHz, toHz, options);
    if (cache.size >= 64) cache.clear();
    cache.set(key, r);
  }
  return r;
}

/**
 * Resamples a signal from `fromHz` to `toHz` with the anti-aliased polyphase resampler described above.
 * Equal rates give a copy. The output has outputLength(x.length) samples: output n sits at time n / toHz.
 */
export function resample(x: Float32Array, fromHz: number, toHz: number, options?: ResamplerOptions): Float32Array {
  const r = getResampler(fromHz, toHz, options);
  const out = new Float64Array(r.outputLength(x.length));
  // Integer decimation reads the Float32 input as it is (as prepare() passes it); the other paths get Float64,
  // which keeps their loops monomorphic (prepare() feeds them Float64 too).
  r.process(r.identity || r.decimationFactor > 0 ? x : Float64Array.from(x), x.length, out);
  return Float32Array.from(out);
}
