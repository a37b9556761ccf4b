/**
 * A compact, versioned binary form of the Ecg record, for the claim check between stages (the payload store).
 *
 * Layout (all integers little-endian):
 *   0   4  magic `ECGP`
 *   4   1  format version (2; version 1 is still read)
 *   5   3  reserved, zero
 *   8   4  header length H in bytes
 *   12  H  header: UTF-8 JSON {id, source, patient, acquiredAt?, device, sampleRateHz, leads: [names], samples,
 *          blocks (version 2): one per lead, {t: 'f32'} or {t: 'i16' | 'i32', o: origin uV, f: factor uV}}
 *   ..     zero padding to a multiple of 4
 *   ..     one block per lead, in header order, each padded to a multiple of 4: `samples` Float32 values
 *          (microvolts; version 1 has only these), or `samples` Int16 / Int32 data with value = origin + factor * datum
 * A lead is stored as integers when every sample is exactly Math.fround(origin + factor * datum) for the lead's
 * quantum (quantumCandidates: the source's own ADC step), no sample is -0 or non-finite, and so decoding gives back
 * the Float32 values bit for bit; any other lead is stored as Float32, as in version 1. A DICOM or aECG lead takes
 * 10 kB instead of 20 kB (10 s at 500 Hz).
 * Every length is checked against the buffer before it is used, so decode refuses garbage with a
 * MalformedInputError instead of a RangeError or a half-filled record.
 */

import { z } from 'zod';
import { type Ecg, type EcgDevice, type EcgPatient, type EcgSource, type LeadName, STANDARD_LEADS } from '../ecg.js';
import { MalformedInputError } from '../errors.js';
import { SIMD_MIN_VALUES, scaledQuantum, simdKernels } from '../simd-kernels.js';
import {
  hintFactors,
  type LeadQuantum,
  leadQuantumHint,
  MAX_QUANTUM_DATUM,
  quantumCandidates,
  quantumCandidatesOf,
  type SampleGaps,
  sampleGaps,
} from './quantum.js';

/** The four bytes every payload starts with. */
export const PAYLOAD_MAGIC = 'ECGP';
/** The format version this code writes by default (it reads this one and version 1). */
export const PAYLOAD_VERSION = 2;
/** The versions this code reads. */
const READABLE_VERSIONS: ReadonlySet<number> = new Set([1, 2]);

const FIXED_HEADER_BYTES = 12;
/** A header larger than this is not one we wrote. */
const MAX_HEADER_BYTES = 1024 * 1024;
const FORMAT = 'ecg-payload';
const MAGIC_BYTES = new TextEncoder().encode(PAYLOAD_MAGIC);

/** True when `bytes` start with the codec's magic: an encoded Ecg, not source bytes kept as received. */
export function isEncodedEcgPayload(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC_BYTES.length) return false;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (bytes[i] !== MAGIC_BYTES[i]) return false;
  return true;
}

/** How one lead's block is stored (version 2). */
export type PayloadBlock = { t: 'f32' } | { t: 'i16' | 'i32'; o: number; f: number };

interface PayloadHeader {
  id: string;
  source: EcgSource;
  patient: EcgPatient;
  acquiredAt?: string;
  device: EcgDevice;
  sampleRateHz: number;
  leads: LeadName[];
  samples: number;
  blocks?: PayloadBlock[];
}

/** A lead stored as integers: value uV = Math.fround(origin + factor * data[i]), exactly. */
export interface QuantisedLead extends LeadQuantum {
  data: Int16Array | Int32Array;
}

/** A decoded payload with, for the leads stored as integers, those integers and their quantum. */
export interface DecodedEcgPayload {
  ecg: Ecg;
  /** Leads that were stored as integers (version 2); the others were stored as Float32. */
  quantised: Partial<Record<LeadName, QuantisedLead>>;
}

/** Options of {@link encodeEcgPayload}. */
export interface EncodeEcgPayloadOptions {
  /** Format version to write. Default PAYLOAD_VERSION (2); 1 for readers that predate version 2. */
  version?: 1 | 2;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** The payload stores little-endian numbers; on such a host (nearly all) blocks move by memcpy. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

const INT16_MAX = 32_767;

/** Scratch for quantiseLead: the data of the candidate being checked. */
let scratch = new Int32Array(0);

/** Where the data of a quantised lead are kept. */
interface DataArrays {
  int16(n: number): Int16Array;
  int32(n: number): Int32Array;
}

/** Arrays of their own (quantiseLead's callers keep the data). */
const OWN_ARRAYS: DataArrays = { int16: (n) => new Int16Array(n), int32: (n) => new Int32Array(n) };

/** The largest buffer ScratchArrays keeps (an ECG of 12 leads x 5,000 samples takes 240 KB at most). */
const SCRATCH_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * The encoder's data arrays: consecutive slices of one buffer kept from call to call, since encodeEcgPayload copies
 * every lead's data into the payload before it returns. Encoding then allocates no array per lead (each one an
 * ArrayBuffer of its own, and pressure on the garbage collector); a slice past the buffer's end gets its own array,
 * and so do the data of a record too long for a buffer worth keeping (SCRATCH_LIMIT_BYTES).
 */
class ScratchArrays implements DataArrays {
  #buffer = new ArrayBuffer(0);
  #used = 0;

  /** Hands out slices from the start again (earlier ones are overwritten), with room for `bytes` in all. */
  reset(bytes: number): this {
    if (this.#buffer.byteLength < bytes && bytes <= SCRATCH_LIMIT_BYTES) this.#buffer = new ArrayBuffer(bytes);
    this.#used = 0;
    return this;
  }

  int16(n: number): Int16Array {
    const at = this.#take(2 * n);
    return at < 0 ? new Int16Array(n) : new Int16Array(this.#buffer, at, n);
  }

  int32(n: number): Int32Array {
    const at = this.#take(4 * n);
    return at < 0 ? new Int32Array(n) : new Int32Array(this.#buffer, at, n);
  }

  /** Offset of `bytes` more (slices start at multiples of 4, as Int32 data need), or -1 when they do not fit. */
  #take(bytes: number): number {
    const at = this.#used;
    if (at + bytes > this.#buffer.byteLength) return -1;
    this.#used = pad4(at + bytes);
    return at;
  }
}

const encoderArrays = new ScratchArrays();

/**
 * The lead as integers under its quantum (findLeadQuantum's, checked and stored in one pass per candidate), or
 * undefined when any sample would not come back bit for bit (no quantum, a non-finite sample, -0). Int16 when every
 * datum fits, else Int32. A quantum the decoder stated for the lead (leadQuantumHint) saves passes, never changes
 * the answer: see quantiseHinted.
 */
export function quantiseLead(lead: Float32Array): QuantisedLead | undefined {
  return quantiseInto(lead, OWN_ARRAYS);
}

/** quantiseLead, with the data kept in arrays from `arrays`. */
function quantiseInto(lead: Float32Array, arrays: DataArrays): QuantisedLead | undefined {
  const n = lead.length;
  if (scratch.length < n) scratch = new Int32Array(n);
  const hint = leadQuantumHint(lead);
  if (hint !== undefined && hint.origin === 0 && n > 0) {
    const q = quantiseHinted(lead, hint.factor, arrays);
    if (q !== NOT_HINTED) return q;
  }
  for (let i = 0; i < n; i++) {
    const v = lead[i] as number;
    // Non-finite samples, and -0 (which decodes as +0), stay Float32.
    if (v - v !== 0 || (v === 0 && 1 / v < 0)) return undefined;
  }
  for (const { origin, factor } of quantumCandidates(lead)) {
    const q = tryQuantum(lead, origin, factor, arrays);
    if (q !== undefined) return q;
  }
  return undefined;
}

/** quantiseHinted's answer when the hint does not reproduce the lead: the search decides alone. */
const NOT_HINTED = Symbol('not hinted');

/** Scratch for quantiseHinted: the data under the hint (apart from `scratch`, which the candidates overwrite). */
let hintScratch = new Int32Array(0);

/**
 * The search's answer, in fewer passes, for a lead whose decoder stated its quantum (origin 0, `factor`): one pass
 * checks every sample against the hint, stores the data, and measures the gaps the search derives its candidates
 * from (where the search makes three: finite samples, gaps, data). The search's candidates are then walked in its
 * order; the hint's own is taken without another pass, any earlier one is checked as the search checks it, so the
 * answer (and the payload, and the FHIR writer's SampledData) is the search's bit for bit. NOT_HINTED when the hint
 * misses a sample (a lead changed after decoding, a non-finite sample, -0).
 */
function quantiseHinted(
  lead: Float32Array,
  hintFactor: number,
  arrays: DataArrays,
): QuantisedLead | undefined | typeof NOT_HINTED {
  const n = lead.length;
  if (hintScratch.length < n) hintScratch = new Int32Array(n);
  for (const factor of hintFactors(hintFactor)) {
    const pass = hintedPass(lead, factor, hintScratch, arrays);
    if (pass === undefined) continue;
    for (const candidate of quantumCandidatesOf(pass.gaps)) {
      if (candidate.origin === 0 && candidate.factor === factor) {
        return { origin: 0, factor, data: pass.data ?? ownData(hintScratch, n, pass.wide, arrays) };
      }
      const q = tryQuantum(lead, candidate.origin, candidate.factor, arrays);
      if (q !== undefined) return q;
    }
    return undefined;
  }
  return NOT_HINTED;
}

/**
 * storeData under (0, factor) and smallestGaps in one pass over a lead: undefined when a sample misses (as storeData,
 * non-finite samples and -0 included), else whether the data need Int32 and the gaps (every sample is then finite).
 * The data are in `out`, or, from the SIMD kernel (leads of Int16 data), in `data`, from `arrays`.
 */
function hintedPass(
  lead: Float32Array,
  factor: number,
  out: Int32Array,
  arrays: DataArrays,
): { wide: boolean; gaps: SampleGaps; data?: Int16Array } | undefined {
  const n = lead.length;
  const fast = kernelPass(lead, 0, factor, arrays);
  if (fast === undefined) return undefined;
  if (fast !== LOOPS) {
    return { wide: false, gaps: sampleGaps(lead[0] as number, fast.between, fast.fromZero), data: fast.data };
  }
  const first = lead[0] as number;
  let previous = first;
  let between = Number.POSITIVE_INFINITY;
  let fromZero = first === 0 ? Number.POSITIVE_INFINITY : Math.abs(first);
  let wide = false;
  for (let i = 0; i < n; i++) {
    const v = lead[i] as number;
    const d = Math.round(v / factor);
    if (d > MAX_QUANTUM_DATUM || d < -MAX_QUANTUM_DATUM || Math.fround(factor * d) !== v) return undefined;
    if (v === 0 && 1 / v < 0) return undefined;
    if (d > INT16_MAX || d < -INT16_MAX) wide = true;
    out[i] = d;
    const gap = Math.abs(v - previous);
    if (gap !== 0 && gap < between) between = gap;
    const a = Math.abs(v);
    if (a !== 0 && a < fromZero) fromZero = a;
    previous = v;
  }
  return { wide, gaps: sampleGaps(first, between, fromZero) };
}

/** The lead's integers under (origin, factor), or undefined when one sample does not come back exactly. */
function tryQuantum(lead: Float32Array, origin: number, factor: number, arrays: DataArrays): QuantisedLead | undefined {
  const fast = kernelPass(lead, origin, factor, arrays);
  if (fast === undefined) return undefined;
  if (fast !== LOOPS) return { origin, factor, data: fast.data };
  const fit = storeData(lead, origin, factor, scratch);
  if (fit === FIT_NONE) return undefined;
  return { origin, factor, data: ownData(scratch, lead.length, fit === FIT_INT32, arrays) };
}

/** kernelPass's answer where the JavaScript loop decides instead. */
const LOOPS = Symbol('loops');

/**
 * storeData's pass, with hintedPass's gaps, through the SIMD kernel, four samples a step (bit for bit:
 * simd-kernels.test.ts, codec.test.ts): undefined when a sample misses, else the Int16 data (in an array from
 * `arrays`) and the gaps. LOOPS where the loops decide: no kernel, a lead shorter than SIMD_MIN_VALUES, or data that
 * need Int32 (rare).
 */
function kernelPass(
  lead: Float32Array,
  origin: number,
  factor: number,
  arrays: DataArrays,
): { data: Int16Array; between: number; fromZero: number } | undefined | typeof LOOPS {
  const kernels = lead.length >= SIMD_MIN_VALUES ? simdKernels() : undefined;
  if (kernels === undefined) return LOOPS;
  const pass =
    origin === 0 && scaledQuantum(factor)
      ? kernels.quantiseScaled(lead, factor)
      : kernels.quantise(lead, origin, factor);
  if (pass === undefined) return undefined;
  if (pass.wide) return LOOPS;
  const data = arrays.int16(lead.length);
  data.set(pass.data);
  return { data, between: pass.between, fromZero: pass.fromZero };
}

/** The first `n` data of a scratch array in an array from `arrays`: Int32 when `wide`, else Int16. */
function ownData(from: Int32Array, n: number, wide: boolean, arrays: DataArrays): Int16Array | Int32Array {
  const data = wide ? arrays.int32(n) : arrays.int16(n);
  data.set(from.subarray(0, n));
  return data;
}

/** What storeData found: a miss, or the integers that hold the data. */
const FIT_NONE = 0;
const FIT_INT16 = 1;
const FIT_INT32 = 2;

/**
 * Writes the lead's data under (origin, factor) into `out`; which integers hold them, or None when one misses. A
 * non-finite sample always misses (NaN never equals itself; an infinite one gives a datum out of range), and so does
 * -0, which would decode as +0.
 */
function storeData(lead: Float32Array, origin: number, factor: number, out: Int32Array): number {
  let wide = false;
  for (let i = 0; i < lead.length; i++) {
    const v = lead[i] as number;
    const d = Math.round((v - origin) / factor);
    if (d > MAX_QUANTUM_DATUM || d < -MAX_QUANTUM_DATUM || Math.fround(origin + factor * d) !== v) return FIT_NONE;
    if (v === 0 && 1 / v < 0) return FIT_NONE;
    if (d > INT16_MAX || d < -INT16_MAX) wide = true;
    out[i] = d;
  }
  return wide ? FIT_INT32 : FIT_INT16;
}

/** Encodes an Ecg. Throws MalformedInputError when the leads differ in length (the record breaks its contract). */
export function encodeEcgPayload(ecg: Ecg, options: EncodeEcgPayloadOptions = {}): Uint8Array {
  const version = options.version ?? PAYLOAD_VERSION;
  const leads = STANDARD_LEADS.filter((name) => ecg.leads[name] !== undefined);
  const samples = leads.length > 0 ? (ecg.leads[leads[0] as LeadName] as Float32Array).length : 0;
  for (const name of leads) {
    if ((ecg.leads[name] as Float32Array).length !== samples) {
      throw new MalformedInputError(FORMAT, 'leads of one ECG must have the same number of samples', `lead ${name}`);
    }
  }
  // Room for every lead's data as Int32 (the most one answer takes), so that the data need no array of their own.
  const arrays = encoderArrays.reset(4 * leads.length * samples);
  const quantised = version === 1 ? [] : leads.map((name) => quantiseInto(ecg.leads[name] as Float32Array, arrays));
  const blocks: PayloadBlock[] | undefined =
    version === 1
      ? undefined
      : quantised.map((q) =>
          q === undefined
            ? { t: 'f32' }
            : { t: q.data instanceof Int16Array ? 'i16' : 'i32', o: q.origin, f: q.factor },
        );
  const header: PayloadHeader = {
    id: ecg.id,
    source: ecg.source,
    patient: ecg.patient,
    ...(ecg.acquiredAt === undefined ? {} : { acquiredAt: ecg.acquiredAt }),
    device: ecg.device,
    sampleRateHz: ecg.sampleRateHz,
    leads,
    samples,
    ...(blocks === undefined ? {} : { blocks }),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataOffset = pad4(FIXED_HEADER_BYTES + json.length);
  let total = dataOffset;
  for (let i = 0; i < leads.length; i++) total += blockBytes(blocks?.[i]?.t ?? 'f32', samples);
  const out = new Uint8Array(total);
  out.set(MAGIC_BYTES, 0);
  const view = new DataView(out.buffer);
  view.setUint8(4, version);
  view.setUint32(8, json.length, true);
  out.set(json, FIXED_HEADER_BYTES);
  let offset = dataOffset;
  leads.forEach((name, i) => {
    const q = quantised[i];
    const source = q === undefined ? (ecg.leads[name] as Float32Array) : q.data;
    if (LITTLE_ENDIAN_HOST) {
      // `out` is freshly allocated and every block starts at a multiple of 4: aligned for any view.
      out.set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength), offset);
    } else if (source instanceof Float32Array) {
      for (let k = 0; k < samples; k++) view.setFloat32(offset + 4 * k, source[k] as number, true);
    } else if (source instanceof Int16Array) {
      for (let k = 0; k < samples; k++) view.setInt16(offset + 2 * k, source[k] as number, true);
    } else {
      for (let k = 0; k < samples; k++) view.setInt32(offset + 4 * k, source[k] as number, true);
    }
    offset += blockBytes(blocks?.[i]?.t ?? 'f32', samples);
  });
  return out;
}

/** Bytes of one lead's block, padded to a multiple of 4. */
function blockBytes(type: PayloadBlock['t'], samples: number): number {
  return pad4(samples * (type === 'i16' ? 2 : 4));
}

function fail(message: string, where?: string): never {
  throw new MalformedInputError(FORMAT, message, where);
}

const BAD_BLOCK = 'a lead block is not f32, or i16/i32 with a finite origin and a positive factor';

/**
 * The header as the decoder needs it. Checked with zod, not by hand: 3-7 us per header measured (Node 20, 2 shared
 * cores), under 2 % of decoding a 12-lead payload. Each field's message is the one the MalformedInputError carries.
 */
const headerSchema = z.object(
  {
    id: z.string('header has no id').min(1, 'header has no id'),
    source: z.object(
      {
        format: z.string('header has no valid source'),
        sha256: z.string('header has no valid source'),
        feed: z.string('header source lacks feed or receivedAt'),
        receivedAt: z.string('header source lacks feed or receivedAt'),
      },
      'header has no valid source',
    ),
    patient: z.looseObject({}, 'header has no patient object'),
    device: z.looseObject({}, 'header has no device object'),
    acquiredAt: z.string('acquiredAt is not a string').optional(),
    sampleRateHz: z.number('sample rate is not a positive number').positive('sample rate is not a positive number'),
    samples: z
      .number('sample count is not a non-negative integer')
      .int('sample count is not a non-negative integer')
      .min(0, 'sample count is not a non-negative integer'),
    leads: z
      .array(z.enum(STANDARD_LEADS, 'leads list names an unknown or repeated lead'), 'leads is not a list')
      .refine((leads) => new Set(leads).size === leads.length, 'leads list names an unknown or repeated lead'),
    blocks: z
      .array(
        z.discriminatedUnion(
          't',
          [
            z.object({ t: z.literal('f32') }),
            z.object({
              t: z.enum(['i16', 'i32']),
              o: z.number(BAD_BLOCK).refine(Number.isFinite, BAD_BLOCK),
              f: z.number(BAD_BLOCK).positive(BAD_BLOCK).refine(Number.isFinite, BAD_BLOCK),
            }),
          ],
          BAD_BLOCK,
        ),
        'blocks is not a list of lead blocks',
      )
      .optional(),
  },
  'header is not an object',
);

function checkHeader(value: unknown): PayloadHeader {
  const result = headerSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path[0];
    fail(issue?.message ?? 'header is malformed', field === undefined ? 'header' : `header.${String(field)}`);
  }
  // The input itself, not zod's copy: a copy would drop the patient and device fields the schema does not list.
  return value as PayloadHeader;
}

/** Decodes a payload written by {@link encodeEcgPayload}. Throws MalformedInputError for anything else. */
export function decodeEcgPayload(bytes: Uint8Array): Ecg {
  return decodeEcgPayloadDetailed(bytes).ecg;
}

/** Options of {@link decodeEcgPayloadDetailed}. */
export interface DecodePayloadOptions {
  /**
   * Leads stored as integers come back in `quantised` only, not also as Float32 in `ecg.leads`: for a reader that
   * needs only the integers (the FHIR writer's SampledData), which then skips a Float32 copy of each lead. Default
   * false.
   */
  integersOnly?: boolean;
}

/**
 * As {@link decodeEcgPayload}, also handing back the integers of the leads stored as integers (the FHIR writer
 * writes them as SampledData data without looking for the quantum again).
 */
export function decodeEcgPayloadDetailed(bytes: Uint8Array, options: DecodePayloadOptions = {}): DecodedEcgPayload {
  if (bytes.length < FIXED_HEADER_BYTES) fail('payload shorter than its fixed header', 'offset 0');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC_BYTES[i]) fail('not an ecgcad payload (bad magic)', 'offset 0');
  const version = view.getUint8(4);
  if (!READABLE_VERSIONS.has(version)) fail(`unsupported payload version ${version}`, 'offset 4');
  const headerBytes = view.getUint32(8, true);
  if (headerBytes > MAX_HEADER_BYTES || FIXED_HEADER_BYTES + headerBytes > bytes.length) {
    fail('header length runs past the end of the payload', 'offset 8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(
        bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + headerBytes),
      ),
    );
  } catch {
    fail('header is not valid UTF-8 JSON', 'header');
  }
  const header = checkHeader(parsed);
  const { samples } = header;
  let blocks: PayloadBlock[];
  if (version === 1) {
    if (header.blocks !== undefined) fail('a version 1 header has no blocks', 'header.blocks');
    blocks = header.leads.map(() => ({ t: 'f32' }));
  } else {
    if (header.blocks?.length !== header.leads.length) fail('blocks do not match the leads', 'header.blocks');
    blocks = header.blocks;
  }
  const dataOffset = pad4(FIXED_HEADER_BYTES + headerBytes);
  let expected = dataOffset;
  for (const block of blocks) expected += blockBytes(block.t, samples);
  if (bytes.length !== expected) {
    fail(`payload is ${bytes.length} bytes, its header describes ${expected}`, 'lead data');
  }
  const leads: Partial<Record<LeadName, Float32Array>> = {};
  const quantised: Partial<Record<LeadName, QuantisedLead>> = {};
  let offset = dataOffset;
  header.leads.forEach((name, i) => {
    const block = blocks[i] as PayloadBlock;
    const size = blockBytes(block.t, samples);
    if (block.t === 'f32') {
      leads[name] = readFloat32Block(bytes, view, offset, samples);
    } else {
      const data = readIntBlock(bytes, view, offset, samples, block.t);
      const { o: origin, f: factor } = block;
      // The encoder checked that Math.fround of exactly this expression gives back each sample.
      if (!options.integersOnly) {
        leads[name] =
          data instanceof Int16Array ? fromInt16(data, origin, factor) : fromInt32(data as Int32Array, origin, factor);
      }
      quantised[name] = { origin, factor, data };
    }
    offset += size;
  });
  const ecg: Ecg = {
    id: header.id,
    source: header.source,
    patient: header.patient,
    ...(header.acquiredAt === undefined ? {} : { acquiredAt: header.acquiredAt }),
    device: header.device,
    sampleRateHz: header.sampleRateHz,
    leads,
  };
  return { ecg, quantised };
}

/** origin + factor * datum per sample, as Float32 (one loop per integer type keeps each monomorphic). */
function fromInt16(data: Int16Array, origin: number, factor: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = origin + factor * (data[k] as number);
  return out;
}

function fromInt32(data: Int32Array, origin: number, factor: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = origin + factor * (data[k] as number);
  return out;
}

/**
 * A Float32 block copied into a buffer of its own (aligned whatever the input's offset, and not pinning the
 * store's read buffer).
 */
function readFloat32Block(bytes: Uint8Array, view: DataView, start: number, samples: number): Float32Array {
  if (LITTLE_ENDIAN_HOST) {
    // Uint8Array's slice (a copy) even when `bytes` is a Node Buffer, whose own slice() is a view.
    return new Float32Array(Uint8Array.prototype.slice.call(bytes, start, start + samples * 4).buffer);
  }
  const lead = new Float32Array(samples);
  for (let k = 0; k < samples; k++) lead[k] = view.getFloat32(start + 4 * k, true);
  return lead;
}

/** An integer block, copied into a buffer of its own (see readFloat32Block). */
function readIntBlock(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  samples: number,
  type: 'i16' | 'i32',
): Int16Array | Int32Array {
  const width = type === 'i16' ? 2 : 4;
  if (LITTLE_ENDIAN_HOST) {
    const copy = Uint8Array.prototype.slice.call(bytes, start, start + samples * width).buffer;
    return type === 'i16' ? new Int16Array(copy) : new Int32Array(copy);
  }
  if (type === 'i16') {
    const out = new Int16Array(samples);
    for (let k = 0; k < samples; k++) out[k] = view.getInt16(start + 2 * k, true);
    return out;
  }
  const out = new Int32Array(samples);
  for (let k = 0; k < samples; k++) out[k] = view.getInt32(start + 4 * k, true);
  return out;
}
