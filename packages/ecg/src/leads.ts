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

/** The limb leads that follow from I and II (Einthoven and Goldberger), in standard order. */
export const DERIVED_LIMB_LEADS = ['III', 'aVR', 'aVL', 'aVF'] as const satisfies readonly LeadName[];

/** The leads the limb leads are derived from. */
export const LIMB_LEAD_SOURCES = ['I', 'II'] as const satisfies readonly LeadName[];

/** One of the four limb leads derived from I and II. */
export type DerivedLimbLead = (typeof DERIVED_LIMB_LEADS)[number];

/**
 * Each derived limb lead as a I + b II, [a, b]: III = II - I; aVR = -(I + II)/2; aVL = I - II/2; aVF = II - I/2.
 * The one definition of the derivation: deriveLimbLead computes it sample by sample, and prepare(), where every
 * step is linear, applies the same weights to the processed I and II (and to their sums).
 */
export const LIMB_LEAD_WEIGHTS: Readonly<Record<DerivedLimbLead, readonly [number, number]>> = {
  III: [-1, 1],
  aVR: [-0.5, -0.5],
  aVL: [1, -0.5],
  aVF: [-0.5, 1],
};

/** True for III, aVR, aVL and aVF. */
export function isDerivedLimbLead(lead: LeadName): lead is DerivedLimbLead {
  return Object.hasOwn(LIMB_LEAD_WEIGHTS, lead);
}

/** Writes limb lead `lead` computed from I and II (LIMB_LEAD_WEIGHTS) into `out`, over its length, and returns it. */
export function deriveLimbLead(
  lead: DerivedLimbLead,
  i: ArrayLike<number>,
  ii: ArrayLike<number>,
  out: Float32Array,
): Float32Array {
  const [a, b] = LIMB_LEAD_WEIGHTS[lead];
  for (let k = 0; k < out.length; k++) out[k] = a * (i[k] as number) + b * (ii[k] as number);
  return out;
}

/**
 * Adds III, aVR, aVL and aVF computed from I and II where they are missing (deriveLimbLead). Leads already present
 * are kept as they are. Returns a new map; the input is not modified. Without both I and II nothing is derived.
 */
export function deriveLimbLeads(
  leads: Partial<Record<LeadName, Float32Array>>,
): Partial<Record<LeadName, Float32Array>> {
  const out = { ...leads };
  const i = leads.I;
  const ii = leads.II;
  if (!i || !ii || i.length !== ii.length) return out;
  for (const lead of DERIVED_LIMB_LEADS) out[lead] ??= deriveLimbLead(lead, i, ii, new Float32Array(i.length));
  return out;
}
