/**
 * Synthetic 12-lead ECGs: the ECGSYN dynamical model (McSharry, Clifford, Tarassenko and Smith, IEEE TBME 2003)
 * extended from one lead to a vectorcardiogram and projected to twelve consistent leads.
 *
 * ECGSYN moves a point around a limit cycle in (x, y) with angular velocity w = 2 pi / RR, and drives z with
 * Gaussian events (P, Q, R, S, T) placed at fixed angles theta_i with widths b_i:
 *   dz/dt = -sum_i a_i dtheta_i exp(-dtheta_i^2 / (2 b_i^2)) - (z - z0).
 * With w constant over a beat, d/dt exp(-dtheta^2 / 2b^2) = -(dtheta w / b^2) exp(...), so the driving term
 * integrates in closed form to z = sum_i (a_i b_i^2 / w) exp(-dtheta_i^2 / (2 b_i^2)): a sum of Gaussians in phase.
 * The damping towards z0 only carries the respiratory baseline, which is added here as baseline wander.
 * So instead of an ODE solver, each beat renders its events directly, with the phase advancing at the beat's own
 * RR interval (taken from the RR tachogram at the beat's R time). An angle theta_i and width b_i at RR are a time
 * offset RR * theta_i / (2 pi) and a width RR * b_i / (2 pi); the table below states them in seconds at RR = 1 s
 * and scales the T wave with sqrt(RR) (QT adapts to rate, as ECGSYN's hrfact does), the QRS not at all.
 *
 * The RR tachogram is ECGSYN's: a bimodal spectrum with Mayer waves (LF, 0.1 Hz) and respiratory sinus
 * arrhythmia (HF, 0.25 Hz), random phases, scaled to the requested heart-rate standard deviation.
 *
 * Three components X, Y, Z (Frank axes) each carry their own amplitude per event, so the P, QRS and T loops have
 * plausible directions (septal forces rightward and anterior, the main QRS force leftward and inferior, terminal
 * forces posterior). The Dower matrix projects them to I, II and V1-V6; III, aVR, aVL and aVF are computed from I
 * and II, so Einthoven's and Goldberger's laws hold exactly (to float32 rounding).
 */
import { createHash } from 'node:crypto';
import { type Ecg, type LeadName, STANDARD_LEADS } from '../ecg.js';
import { ConfigError } from '../errors.js';
import { DERIVED_LIMB_LEADS, deriveLimbLead } from '../leads.js';
import { DOWER_MATRIX, INDEPENDENT_LEADS, type IndependentLead } from './dower.js';
import { gaussian, mulberry32, type Uniform, uniformIn } from './prng.js';

/** Lead groups an ST shift can be applied to (the usual territories). */
export type StLeadGroup = 'inferior' | 'anterior' | 'lateral' | 'septal';

/** The leads of each ST group. */
export const ST_GROUP_LEADS: Readonly<Record<StLeadGroup, readonly LeadName[]>> = {
  inferior: ['II', 'III', 'aVF'],
  anterior: ['V3', 'V4'],
  lateral: ['I', 'aVL', 'V5', 'V6'],
  septal: ['V1', 'V2'],
};

/** Noise added to the eight independent leads (and so, consistently, to the derived four). */
export interface SynthNoiseOptions {
  /** Peak amplitude of baseline wander (respiration at 0.25 Hz plus a slow drift), in uV. Default 30. */
  baselineWanderUv?: number;
  /** Peak amplitude of mains interference, in uV. Default 10. */
  mainsUv?: number;
  /** Mains frequency. Default 50. */
  mainsHz?: 50 | 60;
  /** Standard deviation of broadband muscle (EMG) noise, in uV. Default 8. */
  muscleUv?: number;
}

/** Options of {@link synthesize}. Every field is optional; the defaults make a clean normal sinus rhythm. */
export interface SynthOptions {
  /** PRNG seed (an unsigned 32-bit integer): the same seed and options give identical samples. Default 1. */
  seed?: number;
  /** Samples per second. Default 500. */
  sampleRateHz?: number;
  /** Record length in seconds. Default 10. */
  durationS?: number;
  /** Mean heart rate. Default 70 bpm. */
  heartRateBpm?: number;
  /** Standard deviation of the instantaneous heart rate (HRV). Default 1 bpm. */
  hrvStdBpm?: number;
  /** LF/HF power ratio of the RR tachogram. Default 0.5 (ECGSYN's default). */
  lfHfRatio?: number;
  /** Noise levels; each field defaults separately. Pass zeros for a noise-free record. */
  noise?: SynthNoiseOptions;
  /**
   * ST-segment shift (from the J point to the end of the T wave) in one lead group; negative = depression.
   * It is applied to the independent leads of the group (I or II for limb groups, the chest leads directly), so
   * every named lead shifts by exactly `shiftUv` and the limb leads outside the group show the reciprocal change
   * that Einthoven's law implies. Default: none.
   */
  st?: { leads: StLeadGroup; shiftUv: number };
  /** Leads whose electrode is off: the channel is constant 0. Default none. */
  flatLeads?: readonly LeadName[];
  /** Scales the cardiac signal (not the noise). Default 1. */
  amplitudeScale?: number;
  /** Random relative variation of each event's amplitude per seed, e.g. 0.1 = +-10 %. Default 0.1. */
  morphologyJitter?: number;
  /** Acquisition time written to the record. Default `2026-01-01T08:00:00.000Z`. */
  acquiredAt?: string;
  /**
   * Benchmark mode: muscle noise is read from a precomputed table of Gaussian deviates (at a seeded offset and
   * stride) instead of one Box-Muller draw per sample. Same noise level, still deterministic; generation is about 3x faster.
   * Default false.
   */
  fast?: boolean;
}

/** The defaults of {@link SynthOptions}, resolved. */
export const SYNTH_DEFAULTS = {
  seed: 1,
  sampleRateHz: 500,
  durationS: 10,
  heartRateBpm: 70,
  hrvStdBpm: 1,
  lfHfRatio: 0.5,
  noise: { baselineWanderUv: 30, mainsUv: 10, mainsHz: 50 as 50 | 60, muscleUv: 8 },
  amplitudeScale: 1,
  morphologyJitter: 0.1,
  acquiredAt: '2026-01-01T08:00:00.000Z',
  fast: false,
} as const;

/** One beat of the ground truth: when its R wave peaks and the RR interval its phase advanced with. */
export interface SynthBeat {
  rTimeS: number;
  rrS: number;
}

/** What {@link synthesize} returns: the record plus the ground truth a test or a plot may want. */
export interface SynthResult {
  ecg: Ecg;
  /** Beats whose R peak lies inside the record, in time order. */
  beats: SynthBeat[];
}

/** The system of synthetic patient identifiers. */
export const SYNTHETIC_PATIENT_SYSTEM = 'urn:ecgcad:synthetic';

/**
 * One Gaussian event of the vectorcardiogram. Times in seconds relative to the R peak at RR = 1 s; amplitudes in
 * uV along the Frank axes (X left, Y feet, Z back).
 */
interface VcgEvent {
  name: 'P' | 'Q' | 'R' | 'S' | 'T';
  offsetS: number;
  widthS: number;
  /** Whether offset and width scale with sqrt(RR) (ventricular repolarisation) or stay fixed. */
  scalesWithRr: boolean;
  xyz: readonly [number, number, number];
}

/**
 * Normal adult VCG. Projected through the Dower matrix this gives (before jitter) R about 1.2 mV in II,
 * 1.25 mV in V5, -0.8 mV in aVR, an rS complex in V1, R-wave progression V1-V4, upright T in I, II, V2-V6.
 */
const NORMAL_VCG: readonly VcgEvent[] = [
  { name: 'P', offsetS: -0.16, widthS: 0.022, scalesWithRr: false, xyz: [90, 110, -20] },
  { name: 'Q', offsetS: -0.032, widthS: 0.009, scalesWithRr: false, xyz: [-120, -20, -180] },
  { name: 'R', offsetS: 0, widthS: 0.011, scalesWithRr: false, xyz: [1000, 850, -100] },
  { name: 'S', offsetS: 0.028, widthS: 0.011, scalesWithRr: false, xyz: [-250, -150, 750] },
  { name: 'T', offsetS: 0.29, widthS: 0.05, scalesWithRr: true, xyz: [260, 200, -160] },
];

/** Gaussian events are rendered over +-GAUSS_SPAN widths (exp(-8) = 3e-4 of the peak beyond). */
const GAUSS_SPAN = 4;
/** Table entries per unit width. */
const GAUSS_STEPS = 256;
/** exp(-u^2 / 2) for u in [0, GAUSS_SPAN], GAUSS_STEPS per unit, plus one guard entry for interpolation. */
const GAUSS_TABLE: Float64Array = (() => {
  const table = new Float64Array(GAUSS_SPAN * GAUSS_STEPS + 2);
  for (let i = 0; i < table.length; i++) {
    const u = i / GAUSS_STEPS;
    table[i] = Math.exp(-(u * u) / 2);
  }
  return table;
})();

/** Size of the fast-mode Gaussian noise table (a power of two, so any odd stride visits every entry). */
const NOISE_TABLE_SIZE = 1 << 16;
let noiseTable: Float32Array | undefined;
function sharedNoiseTable(): Float32Array {
  if (!noiseTable) {
    const normal = gaussian(mulberry32(0x9e3779b9));
    noiseTable = new Float32Array(NOISE_TABLE_SIZE);
    for (let i = 0; i < NOISE_TABLE_SIZE; i++) noiseTable[i] = normal();
  }
  return noiseTable;
}

interface Resolved {
  seed: number;
  sampleRateHz: number;
  durationS: number;
  heartRateBpm: number;
  hrvStdBpm: number;
  lfHfRatio: number;
  noise: Required<SynthNoiseOptions>;
  st: { leads: StLeadGroup; shiftUv: number } | undefined;
  flatLeads: LeadName[];
  amplitudeScale: number;
  morphologyJitter: number;
  acquiredAt: string;
  fast: boolean;
}

function resolve(options: SynthOptions): Resolved {
  const d = SYNTH_DEFAULTS;
  const r: Resolved = {
    seed: options.seed ?? d.seed,
    sampleRateHz: options.sampleRateHz ?? d.sampleRateHz,
    durationS: options.durationS ?? d.durationS,
    heartRateBpm: options.heartRateBpm ?? d.heartRateBpm,
    hrvStdBpm: options.hrvStdBpm ?? d.hrvStdBpm,
    lfHfRatio: options.lfHfRatio ?? d.lfHfRatio,
    noise: { ...d.noise, ...options.noise },
    st: options.st,
    flatLeads: [...(options.flatLeads ?? [])],
    amplitudeScale: options.amplitudeScale ?? d.amplitudeScale,
    morphologyJitter: options.morphologyJitter ?? d.morphologyJitter,
    acquiredAt: options.acquiredAt ?? d.acquiredAt,
    fast: options.fast ?? d.fast,
  };
  const issues: string[] = [];
  const finite = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isFinite(v) || v < min || v > max) issues.push(`${name} must be a number in [${min}, ${max}]`);
  };
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > 0xffffffff) {
    issues.push('seed must be an integer in [0, 4294967295]');
  }
  finite('sampleRateHz', r.sampleRateHz, 50, 20_000);
  finite('durationS', r.durationS, 0.5, 3600);
  finite('heartRateBpm', r.heartRateBpm, 20, 250);
  finite('hrvStdBpm', r.hrvStdBpm, 0, 30);
  finite('lfHfRatio', r.lfHfRatio, 0.01, 100);
  finite('noise.baselineWanderUv', r.noise.baselineWanderUv, 0, 1e5);
  finite('noise.mainsUv', r.noise.mainsUv, 0, 1e5);
  finite('noise.muscleUv', r.noise.muscleUv, 0, 1e5);
  if (r.noise.mainsHz !== 50 && r.noise.mainsHz !== 60) issues.push('noise.mainsHz must be 50 or 60');
  finite('amplitudeScale', r.amplitudeScale, 0, 100);
  finite('morphologyJitter', r.morphologyJitter, 0, 0.5);
  if (r.st) {
    if (!(r.st.leads in ST_GROUP_LEADS))
      issues.push(`st.leads must be one of ${Object.keys(ST_GROUP_LEADS).join(', ')}`);
    finite('st.shiftUv', r.st.shiftUv, -10_000, 10_000);
  }
  for (const lead of r.flatLeads) {
    if (!(STANDARD_LEADS as readonly string[]).includes(lead)) issues.push(`flatLeads: unknown lead ${String(lead)}`);
  }
  if (Number.isNaN(Date.parse(r.acquiredAt))) issues.push('acquiredAt must be an ISO 8601 date-time');
  if (issues.length > 0) throw new ConfigError(issues);
  return r;
}

/** Spectral RR tachogram (ECGSYN): LF peak 0.1 Hz and HF peak 0.25 Hz, each with 0.01 Hz spread. */
class RrTachogram {
  private readonly freqs: Float64Array;
  private readonly amps: Float64Array;
  private readonly phases: Float64Array;
  private readonly rrMeanS: number;
  private readonly rrStdS: number;

  constructor(uniform: Uniform, heartRateBpm: number, hrvStdBpm: number, lfHfRatio: number) {
    const components = 64;
    const df = 1 / 128;
    this.freqs = new Float64Array(components);
    this.amps = new Float64Array(components);
    this.phases = new Float64Array(components);
    const spread = 0.01;
    const lfPower = lfHfRatio / (1 + lfHfRatio);
    const hfPower = 1 / (1 + lfHfRatio);
    const peak = (f: number, centre: number): number =>
      Math.exp(-((f - centre) ** 2) / (2 * spread * spread)) / Math.sqrt(2 * Math.PI * spread * spread);
    let variance = 0;
    for (let k = 0; k < components; k++) {
      const f = (k + 1) * df;
      const power = lfPower * peak(f, 0.1) + hfPower * peak(f, 0.25);
      this.freqs[k] = 2 * Math.PI * f;
      this.amps[k] = Math.sqrt(power);
      this.phases[k] = 2 * Math.PI * uniform();
      variance += power / 2;
    }
    // Normalise to unit variance so rrStdS is the tachogram's standard deviation.
    const norm = variance > 0 ? 1 / Math.sqrt(variance) : 0;
    for (let k = 0; k < components; k++) this.amps[k] = (this.amps[k] as number) * norm;
    this.rrMeanS = 60 / heartRateBpm;
    // ECGSYN: rrstd = 60 * hrstd / hrmean^2 (first-order change of 60/HR).
    this.rrStdS = (60 * hrvStdBpm) / (heartRateBpm * heartRateBpm);
  }

  /** RR interval in seconds at time t. */
  at(tS: number): number {
    let x = 0;
    for (let k = 0; k < this.freqs.length; k++) {
      x += (this.amps[k] as number) * Math.cos((this.freqs[k] as number) * tS + (this.phases[k] as number));
    }
    return Math.max(0.2, this.rrMeanS + this.rrStdS * x);
  }
}

/** sin and cos of 2 pi f t at every sample, by rotation (no trig call per sample). */
function quadrature(n: number, sampleRateHz: number, freqHz: number, phase: number): [Float64Array, Float64Array] {
  const sin = new Float64Array(n);
  const cos = new Float64Array(n);
  const step = (2 * Math.PI * freqHz) / sampleRateHz;
  const cs = Math.cos(step);
  const sn = Math.sin(step);
  let s = Math.sin(phase);
  let c = Math.cos(phase);
  for (let k = 0; k < n; k++) {
    sin[k] = s;
    cos[k] = c;
    const s2 = s * cs + c * sn;
    c = c * cs - s * sn;
    s = s2;
  }
  return [sin, cos];
}

/** Adds amp * g((t - centre) / width) for t over the event's support, g the unit Gaussian from the table. */
function renderGaussian(out: Float64Array, amp: number, centreS: number, widthS: number, sampleRateHz: number): void {
  if (amp === 0) return;
  const n = out.length;
  const lo = Math.max(0, Math.ceil((centreS - GAUSS_SPAN * widthS) * sampleRateHz));
  const hi = Math.min(n - 1, Math.floor((centreS + GAUSS_SPAN * widthS) * sampleRateHz));
  const scale = GAUSS_STEPS / (widthS * sampleRateHz);
  const centreSamples = centreS * sampleRateHz;
  for (let k = lo; k <= hi; k++) {
    const pos = Math.abs(k - centreSamples) * scale;
    const i = pos | 0;
    const frac = pos - i;
    const a = GAUSS_TABLE[i] as number;
    const b = GAUSS_TABLE[i + 1] as number;
    out[k] = (out[k] as number) + amp * (a + (b - a) * frac);
  }
}

/** Smooth 0-1-0 window: raised-cosine rise over [a, b], 1 over [b, c], raised-cosine fall over [c, d]. */
function renderWindow(out: Float64Array, a: number, b: number, c: number, d: number, sampleRateHz: number): void {
  const n = out.length;
  const lo = Math.max(0, Math.ceil(a * sampleRateHz));
  const hi = Math.min(n - 1, Math.floor(d * sampleRateHz));
  for (let k = lo; k <= hi; k++) {
    const t = k / sampleRateHz;
    let w: number;
    if (t < b) w = 0.5 - 0.5 * Math.cos((Math.PI * (t - a)) / (b - a));
    else if (t <= c) w = 1;
    else w = 0.5 + 0.5 * Math.cos((Math.PI * (t - c)) / (d - c));
    out[k] = Math.max(out[k] as number, w);
  }
}

/** Per independent lead, what an ST shift of 1 uV in the group adds (limb groups act through I or II). */
function stGains(group: StLeadGroup): Partial<Record<IndependentLead, number>> {
  switch (group) {
    case 'inferior':
      // II up, I unchanged: III = II - I and aVF = II - I/2 rise by the same amount; aVL = I - II/2 shows the reciprocal.
      return { II: 1 };
    case 'lateral':
      // I up, II unchanged: aVL = I - II/2 rises with it, III = II - I shows the reciprocal.
      return { I: 1, V5: 1, V6: 1 };
    case 'anterior':
      return { V3: 1, V4: 1 };
    case 'septal':
      return { V1: 1, V2: 1 };
  }
}

/** Maps the ST window times for one beat (seconds from the R peak at this RR). */
function stWindowTimes(rr: number): [number, number, number, number] {
  const tPeak = 0.29 * Math.sqrt(rr);
  // J point about 40 ms after R; the shift fades out through the end of the T wave.
  return [0.03, 0.05, tPeak, tPeak + 0.1 * Math.sqrt(rr)];
}

/**
 * Generates one synthetic 12-lead ECG and its beat ground truth. Deterministic: the same options give the same
 * samples. Throws ConfigError for options out of range.
 */
export function synthesize(options: SynthOptions = {}): SynthResult {
  const o = resolve(options);
  const fs = o.sampleRateHz;
  const n = Math.round(o.durationS * fs);
  const uniform = mulberry32(o.seed);

  // Morphology: per-seed amplitude jitter of each event on each axis.
  const events = NORMAL_VCG.map((event) => ({
    ...event,
    xyz: event.xyz.map((a) => a * o.amplitudeScale * (1 + o.morphologyJitter * (2 * uniform() - 1))) as [
      number,
      number,
      number,
    ],
  }));

  // Beats: R times advance by the tachogram's RR; start early enough that the previous beat's T wave and the
  // next beat's P wave reach into the record.
  const tachogram = new RrTachogram(uniform, o.heartRateBpm, o.hrvStdBpm, o.lfHfRatio);
  const allBeats: SynthBeat[] = [];
  let tR = -(60 / o.heartRateBpm) * (0.6 + 0.8 * uniform());
  while (tR < o.durationS + 1) {
    const rr = tachogram.at(tR);
    allBeats.push({ rTimeS: tR, rrS: rr });
    tR += rr;
  }

  // Vectorcardiogram.
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  const stWindow = o.st && o.st.shiftUv !== 0 ? new Float64Array(n) : undefined;
  for (const beat of allBeats) {
    const qtScale = Math.sqrt(beat.rrS);
    for (const e of events) {
      const s = e.scalesWithRr ? qtScale : 1;
      const centre = beat.rTimeS + e.offsetS * s;
      const width = e.widthS * s;
      renderGaussian(x, e.xyz[0], centre, width, fs);
      renderGaussian(y, e.xyz[1], centre, width, fs);
      renderGaussian(z, e.xyz[2], centre, width, fs);
    }
    if (stWindow) {
      const [a, b, c, d] = stWindowTimes(beat.rrS);
      renderWindow(stWindow, beat.rTimeS + a, beat.rTimeS + b, beat.rTimeS + c, beat.rTimeS + d, fs);
    }
  }

  // Shared noise waveforms; each lead mixes them with its own gains and phases.
  const { baselineWanderUv, mainsUv, mainsHz, muscleUv } = o.noise;
  const [respSin, respCos] = quadrature(n, fs, 0.25, 0);
  const [driftSin, driftCos] = quadrature(n, fs, uniformIn(uniform, 0.03, 0.08), 0);
  const [mainsSin, mainsCos] = quadrature(n, fs, mainsHz, 0);
  const normal = gaussian(uniform);
  const table = o.fast ? sharedNoiseTable() : undefined;
  const gains = o.st ? stGains(o.st.leads) : {};

  const leads: Partial<Record<LeadName, Float32Array>> = {};
  for (const lead of INDEPENDENT_LEADS) {
    const [cx, cy, cz] = DOWER_MATRIX[lead];
    const out = new Float32Array(n);
    const phase = (): [number, number] => {
      const p = 2 * Math.PI * uniform();
      return [Math.sin(p), Math.cos(p)];
    };
    const [rs, rc] = phase();
    const [ds, dc] = phase();
    const [ms, mc] = phase();
    const wander = baselineWanderUv * uniformIn(uniform, 0.5, 1);
    const respA = 0.7 * wander * rc;
    const respB = 0.7 * wander * rs;
    const driftA = 0.3 * wander * dc;
    const driftB = 0.3 * wander * ds;
    const mains = mainsUv * uniformIn(uniform, 0.5, 1);
    const mainsA = mains * mc;
    const mainsB = mains * ms;
    const st = stWindow && o.st ? (gains[lead] ?? 0) * o.st.shiftUv : 0;
    // Fast mode: read the shared table from a seeded offset with a seeded odd stride.
    let tableIndex = Math.floor(uniform() * NOISE_TABLE_SIZE);
    const tableStride = 2 * Math.floor(uniform() * 4096) + 1;
    for (let k = 0; k < n; k++) {
      let v =
        cx * (x[k] as number) +
        cy * (y[k] as number) +
        cz * (z[k] as number) +
        // sin(a + p) = sin a cos p + cos a sin p
        respA * (respSin[k] as number) +
        respB * (respCos[k] as number) +
        driftA * (driftSin[k] as number) +
        driftB * (driftCos[k] as number) +
        mainsA * (mainsSin[k] as number) +
        mainsB * (mainsCos[k] as number);
      if (muscleUv > 0) {
        if (table) {
          v += muscleUv * (table[tableIndex] as number);
          tableIndex = (tableIndex + tableStride) & (NOISE_TABLE_SIZE - 1);
        } else {
          v += muscleUv * normal();
        }
      }
      if (st !== 0) v += st * (stWindow?.[k] as number);
      out[k] = v;
    }
    leads[lead] = out;
  }
  for (const lead of DERIVED_LIMB_LEADS) {
    leads[lead] = deriveLimbLead(lead, leads.I as Float32Array, leads.II as Float32Array, new Float32Array(n));
  }
  for (const lead of o.flatLeads) leads[lead] = new Float32Array(n);

  // Standard lead order in the record.
  const ordered: Partial<Record<LeadName, Float32Array>> = {};
  for (const lead of STANDARD_LEADS) ordered[lead] = leads[lead];

  const acquiredAt = new Date(o.acquiredAt).toISOString();
  const ecg: Ecg = {
    id: `synthetic:${o.seed}`,
    source: {
      // The record has no source file; 'dicom' is the format it is usually written as. The hash identifies the
      // generator input, which determines the samples.
      format: 'dicom',
      sha256: createHash('sha256')
        .update(JSON.stringify(['ecgcad-synth-1', o]))
        .digest('hex'),
      feed: 'synth',
      receivedAt: acquiredAt,
    },
    patient: {
      identifier: `SYN-${o.seed}`,
      identifierSystem: SYNTHETIC_PATIENT_SYSTEM,
      name: `SYNTHETIC^ECG-${o.seed}`,
      birthDate: `${1940 + (o.seed % 50)}-01-01`,
      sex: o.seed % 2 === 0 ? 'female' : 'male',
    },
    acquiredAt,
    device: { manufacturer: 'ecgcad', model: 'synth' },
    sampleRateHz: fs,
    leads: ordered,
  };
  const beats = allBeats.filter((b) => b.rTimeS >= 0 && b.rTimeS < o.durationS);
  return { ecg, beats };
}

/** Generates one synthetic 12-lead ECG (see {@link synthesize}). */
export function synthesizeEcg(options: SynthOptions = {}): Ecg {
  return synthesize(options).ecg;
}
