/**
 * Lead identification by code, never by position, and derivation of the limb leads
 * that 8-lead recordings leave out.
 */
import { type LeadName, STANDARD_LEADS } from './ecg.js';

/** SCP-ECG lead codes (DICOM coding scheme `SCPECG`, e.g. `5.6.3-9-1`), suffix to lead. */
const SCPECG_SUFFIX: Record<string, LeadName> = {
  '1': 'I',
  '2': 'II',
  '3': 'V1',
  '4': 'V2',
  '5': 'V3',
  '6': 'V4',
  '7': 'V5',
  '8': 'V6',
  '61': 'III',
  '62': 'aVR',
  '63': 'aVL',
  '64': 'aVF',
};

/** ISO/IEEE 11073 MDC lead numbers (DICOM scheme `MDC`, code `2:<n>`; term code 131328 + n). */
const MDC_LEAD_NUMBER: Record<number, LeadName> = {
  1: 'I',
  2: 'II',
  3: 'V1',
  4: 'V2',
  5: 'V3',
  6: 'V4',
  7: 'V5',
  8: 'V6',
  61: 'III',
  62: 'aVR',
  63: 'aVL',
  64: 'aVF',
};

const UPPER_NAME: Record<string, LeadName> = Object.fromEntries(
  STANDARD_LEADS.map((name) => [name.toUpperCase(), name]),
) as Record<string, LeadName>;

/**
 * Maps a DICOM channel source code (CodeValue + CodingSchemeDesignator) to a lead.
 * Accepts SCPECG `5.6.3-9-N`, MDC `2:N`, MDC numeric term codes (131329 ...) and MDC reference ids
 * (`MDC_ECG_LEAD_AVR`). Returns undefined for other channels (V7, V3R, -aVR, ...).
 */
export function leadFromDicomCode(codeValue: string, scheme?: string): LeadName | undefined {
  const value = codeValue.trim();
  // Some producers put the MDC reference id (MDC_ECG_LEAD_I) in CodeValue instead of its number.
  if (/^MDC_ECG_LEAD_/i.test(value)) return leadFromLabel(value);
  const scp = /^5\.6\.3-9-(\d+)$/.exec(value);
  if (scp?.[1] !== undefined) return SCPECG_SUFFIX[scp[1]];
  const mdcColon = /^2:(\d+)$/.exec(value);
  if (mdcColon?.[1] !== undefined) return MDC_LEAD_NUMBER[Number(mdcColon[1])];
  if (/^\d+$/.test(value) && (scheme === undefined || scheme.toUpperCase().startsWith('MDC'))) {
    const n = Number(value) - 131328;
    if (n > 0) return MDC_LEAD_NUMBER[n];
  }
  return undefined;
}

/**
 * Maps a lead label to a lead: aECG `MDC_ECG_LEAD_AVR`, plain `aVR` / `AVR`, `Lead II`, `II`, `V1` ...
 * Case-insensitive. Returns undefined for anything that is not one of the twelve standard leads.
 */
export function leadFromLabel(label: string): LeadName | undefined {
  let key = label.trim().toUpperCase();
  if (key.startsWith('MDC_ECG_LEAD_')) key = key.slice('MDC_ECG_LEAD_'.length);
  else if (key.startsWith('LEAD ')) key = key.slice('LEAD '.length);
  // "Lead I (Einthoven)", "Lead aVR (Goldberger)"
  key = key.replace(/\s*\(.*\)$/, '').trim();
  return UPPER_NAME[key];
}

/**
 * Adds III, aVR, aVL and aVF computed from I and II where they are missing (Einthoven and Goldberger):
 * III = II - I; aVR = -(I + II)/2; aVL = I - II/2; aVF = II - I/2. Leads already present are kept as they are.
 * Returns a new map; the input is not modified. Without both I and II nothing is derived.
 */
export function deriveLimbLeads(
  leads: Partial<Record<LeadName, Float32Array>>,
): Partial<Record<LeadName, Float32Array>> {
  const out = { ...leads };
  const i = leads.I;
  const ii = leads.II;
  if (!i || !ii || i.length !== ii.length) return out;
  const n = i.length;
  const make = (f: (a: number, b: number) => number): Float32Array => {
    const arr = new Float32Array(n);
    for (let k = 0; k < n; k++) arr[k] = f(i[k] as number, ii[k] as number);
    return arr;
  };
  out.III ??= make((a, b) => b - a);
  out.aVR ??= make((a, b) => -(a + b) / 2);
  out.aVL ??= make((a, b) => a - b / 2);
  out.aVF ??= make((a, b) => b - a / 2);
  return out;
}
