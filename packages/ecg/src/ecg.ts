/** The twelve standard lead names, in the conventional order. */
export const STANDARD_LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const;

/** A standard 12-lead ECG lead name. */
export type LeadName = (typeof STANDARD_LEADS)[number];

/** Source formats the engine recognises. `ge-muse` and `philips-sierra` are recognised vendor XML. */
export type EcgFormat = 'dicom' | 'aecg' | 'ge-muse' | 'philips-sierra';

/** Administrative sex as FHIR R4 spells it. */
export type Sex = 'male' | 'female' | 'other' | 'unknown';

/** Where an ECG came from. */
export interface EcgSource {
  /** The file format the ECG was decoded from. */
  format: EcgFormat;
  /** DICOM SOP Class UID, where the source is DICOM. */
  sopClassUid?: string;
  /** DICOM Study Instance UID, where known. */
  studyInstanceUid?: string;
  /** Hex sha256 of the bytes as received. */
  sha256: string;
  /** Name of the feed that received it (e.g. `cstore`, `stow`, `http`, `folder`, `file`). */
  feed: string;
  /** ISO 8601 instant of receipt. */
  receivedAt: string;
}

/** Patient demographics, as far as the source file tells. All optional: many files are anonymised. */
export interface EcgPatient {
  identifier?: string;
  /** Issuer / assigning authority of the identifier (DICOM IssuerOfPatientID, aECG id@root). */
  identifierSystem?: string;
  name?: string;
  /** ISO date (YYYY-MM-DD). */
  birthDate?: string;
  sex?: Sex;
}

/** The acquiring device, as far as the source file tells. */
export interface EcgDevice {
  manufacturer?: string;
  model?: string;
}

/**
 * One decoded resting ECG: the unit every stage passes along.
 * Leads are in microvolts at the source sample rate; nothing is resampled or filtered here.
 */
export interface Ecg {
  /** Stable source key: DICOM SOP Instance UID; aECG `id@root` (+ `^` + `@extension`); else `sha256:<hex>` of the bytes. */
  id: string;
  source: EcgSource;
  patient: EcgPatient;
  /** ISO 8601 acquisition time, where the file tells. */
  acquiredAt?: string;
  device: EcgDevice;
  /** Samples per second per lead. */
  sampleRateHz: number;
  /** Lead name to samples in microvolts. Every lead has the same length. */
  leads: Partial<Record<LeadName, Float32Array>>;
}

/** Number of samples per lead (0 for a record with no leads). */
export function sampleCount(ecg: Pick<Ecg, 'leads'>): number {
  for (const lead of Object.values(ecg.leads)) {
    if (lead) return lead.length;
  }
  return 0;
}

/** Duration in seconds. */
export function durationS(ecg: Pick<Ecg, 'leads' | 'sampleRateHz'>): number {
  return ecg.sampleRateHz > 0 ? sampleCount(ecg) / ecg.sampleRateHz : 0;
}
