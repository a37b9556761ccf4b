/**
 * What the DICOM and aECG writers share: which leads to store, quantisation to 16-bit integers, timestamps.
 */
import { deriveLimbLeads, type Ecg, type LeadName, MalformedInputError, STANDARD_LEADS } from '@ecgcad/ecg';

/** How many leads a writer stores: all twelve, or the eight independent ones (I, II, V1-V6) as many carts do. */
export type StoredLeads = 8 | 12;

/** The eight independent leads; a reader derives III, aVR, aVL and aVF from I and II. */
export const EIGHT_LEAD_SET: readonly LeadName[] = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

/** The leads to write, in standard order, with their samples. */
export interface LeadsToWrite {
  names: LeadName[];
  samples: Float32Array[];
  /** Samples per lead. */
  length: number;
}

/**
 * Picks the stored leads: the requested set, limb leads derived from I and II where the record lacks them, and
 * leads the record cannot supply left out. Throws MalformedInputError when nothing is left or lengths differ.
 */
export function leadsToWrite(ecg: Ecg, stored: StoredLeads, format: string): LeadsToWrite {
  const available = stored === 12 ? deriveLimbLeads(ecg.leads) : ecg.leads;
  const wanted = stored === 12 ? STANDARD_LEADS : EIGHT_LEAD_SET;
  const names: LeadName[] = [];
  const samples: Float32Array[] = [];
  for (const name of wanted) {
    const lead = available[name];
    if (!lead) continue;
    names.push(name);
    samples.push(lead);
  }
  const first = samples[0];
  if (!first || first.length === 0)
    throw new MalformedInputError(format, 'the record has no samples in the leads to write');
  if (samples.some((s) => s.length !== first.length)) {
    throw new MalformedInputError(format, 'the leads of the record differ in length');
  }
  if (!(ecg.sampleRateHz > 0) || !Number.isFinite(ecg.sampleRateHz)) {
    throw new MalformedInputError(format, 'the record has no valid sample rate');
  }
  return { names, samples, length: first.length };
}

/** Largest magnitude written; -32768 is left free because many readers treat it as padding. */
export const INT16_LIMIT = 32767;

/** Rounds uV / resolution to the nearest integer, saturating at +-32767 (NaN becomes 0). */
export function quantize(value: number, resolutionUv: number): number {
  const q = Math.round(value / resolutionUv);
  if (q > INT16_LIMIT) return INT16_LIMIT;
  if (q < -INT16_LIMIT) return -INT16_LIMIT;
  return Number.isNaN(q) ? 0 : q;
}

/** UTC calendar parts of an instant, for DICOM DA/TM/DT and HL7 TS. */
export interface UtcParts {
  /** YYYYMMDD */
  date: string;
  /** HHMMSS */
  time: string;
  /** fff (milliseconds) */
  millis: string;
}

/** Splits an ISO 8601 instant into UTC parts (the current time when absent or unparsable). */
export function utcParts(iso: string | undefined): UtcParts {
  const parsed = iso === undefined ? Number.NaN : Date.parse(iso);
  const d = new Date(Number.isNaN(parsed) ? Date.now() : parsed);
  const p = (v: number, w = 2): string => String(v).padStart(w, '0');
  return {
    date: `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`,
    time: `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`,
    millis: p(d.getUTCMilliseconds(), 3),
  };
}

/** `YYYY-MM-DD` to `YYYYMMDD`, or undefined for anything else. */
export function compactDate(isoDate: string | undefined): string | undefined {
  if (!isoDate) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  return m ? `${m[1]}${m[2]}${m[3]}` : undefined;
}
