/**
 * The ECG's samples as FHIR R4 SampledData, one Observation.component per stored lead, as FHIR's own ECG example
 * (Observation/ekg) carries them: code = the lead's MDC code, value uV = origin.value + factor * datum.
 *
 * The Ecg record holds Float32 microvolts that were computed from integers by the source (DICOM raw * sensitivity
 * + baseline, aECG origin + scale * digit, MUSE raw * units per bit). The encoder takes that quantum, per lead,
 * from the payload codec where it stored the lead as integers, else finds it (quantiseLead, findLeadQuantum in
 * @ecgcad/ecg; one pass when the DICOM decoder stated the channel's quantum), so
 * the data are the source's integers and decoding gives back exactly the Ecg's Float32 values. When no such
 * quantum exists (a record made of arbitrary floats: resampled, filtered or synthetic), it falls back to a step of
 * FALLBACK_FACTOR_UV (0.1 uV): the error is then at most half a step (0.05 uV), far below any ECG's resolution.
 */
import {
  type Ecg,
  findLeadQuantum,
  formatInt16,
  type LeadName,
  type QuantisedLead,
  quantiseLead,
  STANDARD_LEADS,
} from '@ecgcad/ecg';
import type { Observation, ObservationComponent, SampledData } from '@medplum/fhirtypes';
import { LOINC_12_LEAD_EKG, mdcLeadCoding, SYSTEMS } from './codes.js';

/**
 * What the encoder needs of an Ecg: its id (checked against the prediction's), rate and leads; and, where the
 * payload codec stored a lead as integers, those integers and their quantum (the same findLeadQuantum finds, so
 * the SampledData are the same, without looking for it again). A lead may come as its integers alone, without
 * Float32 samples (the queued writer decodes the payload so: decodeEcgPayloadDetailed's `integersOnly`).
 */
export type EcgWaveform = Pick<Ecg, 'id' | 'sampleRateHz' | 'leads'> & {
  quantised?: Partial<Record<LeadName, QuantisedLead>>;
};

/** The step of the fallback quantisation, uV; its largest error is half of it. */
export const FALLBACK_FACTOR_UV = 0.1;

/** How one lead was encoded. */
export interface LeadEncoding {
  /** uV at datum 0. */
  origin: number;
  /** uV per datum. */
  factor: number;
  /** One token per sample: an integer, or `E` for a sample that is not a finite number. */
  data: string;
  /** True when decoding gives back exactly the Float32 samples; false for the fallback quantisation. */
  exact: boolean;
  /**
   * True when `data` is one token per sample, each written here as `-?\d+` or `E` and single-space separated: what
   * waveformIssues checks, known by construction. False only for values outside 32-bit integers (String() wrote
   * them, and a number that large may come out in exponent form).
   */
  wellFormed: boolean;
}

/** What the validator and the serialiser ask of {@link WrittenData} (a Map<string, number> answers the same). */
export interface WrittenDataView {
  readonly size: number;
  has(data: string): boolean;
  /** The token count of `data` when it equals a string the encoder wrote, else undefined. */
  get(data: string): number | undefined;
}

/**
 * Data strings the encoder wrote, with their token counts, from a Bundle's build to its validation: the validator
 * takes their form from here instead of reading some 250 kB of digits again (see {@link waveformIssues}).
 *
 * Found by equality in a short list, not a Map: a Map hashes each key, and V8 hashes a string over all its
 * characters up to 16,383 of them (a lead's data has 10,000-20,000: about 20 us per lead, a quarter of a millisecond
 * per Bundle in the engine's profile). A Bundle holds one string per lead; the validator asks about every string it
 * meets, and those shorter than the shortest data string are answered at once.
 */
export class WrittenData implements WrittenDataView {
  private readonly strings: string[] = [];
  private readonly counts: number[] = [];
  private shortest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.strings.length;
  }

  /** Notes `data` (non-empty) with its token count. */
  set(data: string, count: number): this {
    const at = this.strings.indexOf(data);
    if (at >= 0) {
      this.counts[at] = count;
      return this;
    }
    this.strings.push(data);
    this.counts.push(count);
    if (data.length < this.shortest) this.shortest = data.length;
    return this;
  }

  has(data: string): boolean {
    return this.get(data) !== undefined;
  }

  get(data: string): number | undefined {
    if (data.length < this.shortest) return undefined;
    const strings = this.strings;
    for (let i = 0; i < strings.length; i++) {
      // `===` on strings: the same object at once, else equal length and characters (what a Map's lookup finds).
      if (strings[i] === data) return this.counts[i];
    }
    return undefined;
  }
}

/**
 * Encodes one lead's samples (uV) as integers with an origin and a factor. `quantised`: the lead's integers as the
 * payload codec stored them (exact by construction), used as they are when they match the samples' length, or
 * when the lead comes without samples (`samples` undefined).
 */
export function encodeLead(samples: Float32Array | undefined, quantised?: QuantisedLead): LeadEncoding {
  // The payload codec's integers, or the same quantum found here: quantiseLead is findLeadQuantum's answer with its
  // integers (a decoder's quantum hint makes it one pass), for every lead whose samples are all finite and not -0.
  const integers =
    samples === undefined || quantised?.data.length === samples.length ? quantised : quantiseLead(samples);
  if (integers !== undefined) {
    const data = formatIntegers(integers.data);
    return { origin: integers.origin, factor: integers.factor, data, exact: true, wellFormed: true };
  }
  if (samples === undefined) throw new Error('encodeLead: a lead needs its samples or its integers');
  const found = findLeadQuantum(samples);
  const origin = found?.origin ?? 0;
  const factor = found?.factor ?? FALLBACK_FACTOR_UV;
  const data = formatSamples(samples, origin, factor);
  return {
    origin,
    factor,
    data: data ?? formatSamplesSlowly(samples, origin, factor),
    exact: found !== undefined,
    wellFormed: data !== undefined,
  };
}

/**
 * The SampledData of one lead: period in ms between samples, dimensions 1. `written`: where to note the data string
 * when the encoder vouches for its form.
 */
export function leadSampledData(
  samples: Float32Array | undefined,
  sampleRateHz: number,
  quantised?: QuantisedLead,
  written?: WrittenData,
): SampledData {
  const { origin, factor, data, wellFormed } = encodeLead(samples, quantised);
  const count = samples?.length ?? quantised?.data.length ?? 0;
  if (wellFormed && written && data !== '') written.set(data, count);
  return {
    origin: { value: origin, unit: 'uV', system: SYSTEMS.ucum, code: 'uV' },
    period: 1000 / sampleRateHz,
    factor,
    dimensions: 1,
    data,
  };
}

/**
 * One component per lead stored in the record (derived limb leads are not invented), in the standard order
 * I, II, III, aVR, aVL, aVF, V1..V6. Leads without samples are left out.
 */
export function waveformComponents(
  ecg: Pick<EcgWaveform, 'sampleRateHz' | 'leads' | 'quantised'>,
  written?: WrittenData,
): ObservationComponent[] {
  const out: ObservationComponent[] = [];
  for (const lead of STANDARD_LEADS) {
    const samples = ecg.leads[lead];
    const length = samples?.length ?? ecg.quantised?.[lead]?.data.length ?? 0;
    if (length === 0) continue;
    out.push({
      code: { coding: [mdcLeadCoding(lead)] },
      valueSampledData: leadSampledData(samples, ecg.sampleRateHz, ecg.quantised?.[lead], written),
    });
  }
  return out;
}

/**
 * The text SampledData.data is built in: ASCII digits written straight into bytes, one latin1 string made at the
 * end (instead of a string per sample and a join: a 12-lead record has 60 000 samples).
 */
let text = new Uint8Array(64 * 1024);
let textView = Buffer.from(text.buffer);
let textWords = new DataView(text.buffer);

/** Makes room for `samples` tokens of at most 12 bytes ("-2147483647 "), and 8 more for words written past the end. */
function reserve(samples: number): Uint8Array {
  if (text.length < samples * 12 + 8) {
    text = new Uint8Array(samples * 12 + 8);
    textView = Buffer.from(text.buffer);
    textWords = new DataView(text.buffer);
  }
  return text;
}

/** The largest |datum| whose token a table holds: most ECG data are under 1,000 steps from the origin. */
const SMALL_TOKEN_MAX = 999;
/**
 * "-999 " to "999 " as two little-endian words each (the first four bytes, then the rest: the space of a
 * five-byte token), and their lengths. Two 32-bit stores per token, with no branch on its sign or its number of
 * digits, write them about twice as fast as digit by digit (the bytes past the length are overwritten by the next
 * token, or left past the end).
 */
const SMALL_TOKEN_FIRST = new Uint32Array(2 * SMALL_TOKEN_MAX + 1);
const SMALL_TOKEN_REST = new Uint32Array(2 * SMALL_TOKEN_MAX + 1);
const SMALL_TOKEN_LENGTHS = new Uint8Array(2 * SMALL_TOKEN_MAX + 1);
for (let v = -SMALL_TOKEN_MAX; v <= SMALL_TOKEN_MAX; v++) {
  const token = `${v} `;
  const words = [0, 0];
  for (let j = 0; j < token.length; j++)
    words[j >> 2] = (words[j >> 2] as number) | (token.charCodeAt(j) << (8 * (j & 3)));
  SMALL_TOKEN_FIRST[v + SMALL_TOKEN_MAX] = (words[0] as number) >>> 0;
  SMALL_TOKEN_REST[v + SMALL_TOKEN_MAX] = (words[1] as number) >>> 0;
  SMALL_TOKEN_LENGTHS[v + SMALL_TOKEN_MAX] = token.length;
}

/** Writes the integer `d` (|d| < 2^31) and a space at `at`; returns the position after them. */
function writeToken(out: Uint8Array, words: DataView, at: number, d: number): number {
  if (d >= -SMALL_TOKEN_MAX && d <= SMALL_TOKEN_MAX) {
    const k = d + SMALL_TOKEN_MAX;
    words.setUint32(at, SMALL_TOKEN_FIRST[k] as number, true);
    words.setUint32(at + 4, SMALL_TOKEN_REST[k] as number, true);
    return at + (SMALL_TOKEN_LENGTHS[k] as number);
  }
  let pos = at;
  let v = d;
  if (v < 0) {
    out[pos++] = 45; // '-'
    v = -v;
  }
  pos = writeInteger(out, pos, v);
  out[pos] = 32;
  return pos + 1;
}

/** Writes the integer `v` (1,000 <= v < 2^31) as decimal ASCII at `pos`; returns the position after it. */
function writeInteger(out: Uint8Array, pos: number, value: number): number {
  let digits = 4;
  for (let t = (value / 10000) | 0; t > 0; t = (t / 10) | 0) digits++;
  const end = pos + digits;
  let v = value;
  for (let p = end - 1; p >= pos; p--) {
    const q = (v / 10) | 0;
    out[p] = 48 + v - q * 10;
    v = q;
  }
  return end;
}

/** Space-separated decimal integers (Int16 data of a lead's length by the WebAssembly kernel, formatInt16). */
function formatIntegers(data: Int16Array | Int32Array): string {
  const n = data.length;
  if (n === 0) return '';
  if (data instanceof Int16Array) {
    const text = formatInt16(data);
    if (text !== undefined) return text;
  }
  const out = reserve(n);
  const words = textWords;
  let pos = 0;
  for (let i = 0; i < n; i++) pos = writeToken(out, words, pos, data[i] as number);
  return textView.toString('latin1', 0, pos - 1);
}

/**
 * Space-separated data of Float32 samples under a quantum (rounded), `E` for a sample that is not finite; undefined
 * when a datum falls outside 32-bit integers (only the fallback of arbitrary floats above 214 V).
 */
function formatSamples(samples: Float32Array, origin: number, factor: number): string | undefined {
  const n = samples.length;
  if (n === 0) return '';
  const out = reserve(n);
  const words = textWords;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i] as number;
    if (Number.isFinite(v)) {
      // -0 writes as 0, as String(-0) does.
      const d = Math.round((v - origin) / factor) + 0;
      if (d <= -2_147_483_648 || d >= 2_147_483_648) return undefined;
      pos = writeToken(out, words, pos, d);
    } else {
      out[pos++] = 69; // 'E'
      out[pos++] = 32;
    }
  }
  return textView.toString('latin1', 0, pos - 1);
}

/** formatSamples for data outside 32-bit integers: String() per sample, as ever. */
function formatSamplesSlowly(samples: Float32Array, origin: number, factor: number): string {
  return Array.from(samples, (v) => (Number.isFinite(v) ? String(Math.round((v - origin) / factor)) : 'E')).join(' ');
}

/** A SampledData back as values (uV): origin + factor * datum; NaN for `E`, `L` and `U` tokens. */
export function decodeSampledData(sd: SampledData): Float64Array {
  const tokens = (sd.data ?? '')
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const origin = sd.origin.value ?? 0;
  const factor = sd.factor ?? 1;
  const out = new Float64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    out[i] = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? origin + factor * Number(t) : Number.NaN;
  }
  return out;
}

/** Lead name of an MDC lead code, for readers of the components. */
export function leadOfMdcCode(code: string | undefined): LeadName | undefined {
  return STANDARD_LEADS.find((lead) => mdcLeadCoding(lead).code === code);
}

/**
 * The project's checks of an ECG Observation's waveform components (R4 validation does not look inside
 * SampledData.data): each an MDC lead code, once; dimensions 1, a positive period and factor, origin in uV; data of
 * integers (or E, L, U) and the same number of samples in every lead. Empty for any other Observation.
 * `written`: data strings the encoder wrote, well formed by construction, with their token counts; any other string
 * (or one changed since: only an equal string is found) is read token by token.
 */
export function waveformIssues(where: string, obs: Observation, written?: WrittenDataView): string[] {
  const isEcg = obs.code.coding?.some(
    (c) => c.system === LOINC_12_LEAD_EKG.system && c.code === LOINC_12_LEAD_EKG.code,
  );
  if (!isEcg || !obs.component) return [];
  const issues: string[] = [];
  const seen = new Set<LeadName>();
  const lengths = new Set<number>();
  for (const [i, c] of obs.component.entries()) {
    const at = `${where} component[${i}]`;
    const coding = c.code.coding?.find((x) => x.system === SYSTEMS.mdc);
    const lead = leadOfMdcCode(coding?.code);
    if (!lead) issues.push(`${at}: code must be an MDC lead code (${SYSTEMS.mdc})`);
    else if (seen.has(lead)) issues.push(`${at}: lead ${lead} appears twice`);
    else seen.add(lead);
    const sd = c.valueSampledData;
    if (!sd) {
      issues.push(`${at}: valueSampledData is missing`);
      continue;
    }
    if (sd.dimensions !== 1) issues.push(`${at}: dimensions must be 1`);
    if (!(sd.period > 0)) issues.push(`${at}: period must be positive`);
    if (sd.factor !== undefined && !(sd.factor > 0)) issues.push(`${at}: factor must be positive`);
    if (sd.origin.code !== 'uV' || sd.origin.system !== SYSTEMS.ucum) issues.push(`${at}: origin must be in uV (UCUM)`);
    const data = sd.data ?? '';
    const count = written?.get(data);
    const tokens = count === undefined ? sampledDataTokens(data) : { count, wellFormed: true };
    if (!tokens.wellFormed) issues.push(`${at}: data must be single-space-separated integers (or E, L, U)`);
    lengths.add(tokens.count);
  }
  if (lengths.size > 1) issues.push(`${where}: the leads differ in their number of samples`);
  return issues;
}

const SPACE = 32;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

/**
 * The tokens of SampledData.data split on single spaces: how many, and whether every one is an integer (`-?\d+`)
 * or one of E, L, U. One pass over the characters, no token strings (the data of a 12-lead record are 60 000).
 */
export function sampledDataTokens(data: string): { count: number; wellFormed: boolean } {
  let count = 1;
  let wellFormed = true;
  // 0: at a token's start; 1: after '-'; 2: in digits; 3: after E, L or U.
  let state = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === SPACE) {
      if (state !== 2 && state !== 3) wellFormed = false;
      count++;
      state = 0;
    } else if (c >= ZERO && c <= NINE) {
      if (state === 3) wellFormed = false;
      state = 2;
    } else if (c === MINUS && state === 0) {
      state = 1;
    } else if ((c === 69 || c === 76 || c === 85) && state === 0) {
      state = 3;
    } else {
      wellFormed = false;
      state = 4;
    }
  }
  if (state !== 2 && state !== 3) wellFormed = false;
  return { count, wellFormed };
}
