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

/** Calendar parts of a timestamp, for DICOM DA/TM/DT and HL7 TS. */
export interface TimestampParts {
  /** YYYYMMDD */
  date: string;
  /** HHMMSS */
  time: string;
  /** fff (milliseconds) */
  millis: string;
  /** `+0000` when the parts are UTC; undefined for a local time whose zone the source did not say. */
  zone: '+0000' | undefined;
}

const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/;

/**
 * Splits an ISO 8601 timestamp into calendar parts, `offsetMs` later. A timestamp with a zone (Z or +hh:mm) is
 * converted to UTC; a zone-less one (as many ECG files carry) keeps its wall-clock time and gets no zone, so
 * re-writing a decoded file does not shift it by the host's time zone. Absent or unparsable: the current UTC time.
 */
export function timestampParts(iso: string | undefined, offsetMs = 0): TimestampParts {
  const p = (v: number, w = 2): string => String(v).padStart(w, '0');
  const format = (ms: number, zone: TimestampParts['zone']): TimestampParts => {
    const d = new Date(ms);
    return {
      date: `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`,
      time: `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`,
      millis: p(d.getUTCMilliseconds(), 3),
      zone,
    };
  };
  const local = iso === undefined ? null : ZONELESS.exec(iso.trim());
  if (local) {
    const [, y, mo, d, h, mi, s, frac] = local;
    const ms = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      Math.round(Number(`0.${frac ?? '0'}`) * 1000),
    );
    if (!Number.isNaN(ms)) return format(ms + offsetMs, undefined);
  }
  const parsed = iso === undefined ? Number.NaN : Date.parse(iso);
  return format((Number.isNaN(parsed) ? Date.now() : parsed) + offsetMs, '+0000');
}

/** `YYYY-MM-DD` to `YYYYMMDD`, or undefined for anything else. */
export function compactDate(isoDate: string | undefined): string | undefined {
  if (!isoDate) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  return m ? `${m[1]}${m[2]}${m[3]}` : undefined;
}
