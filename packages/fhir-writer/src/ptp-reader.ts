/**
 * Reads what the pre-test probability needs from the EHR, with the engine's own FHIR client and credentials: the
 * Patient (found by the identifier the writer references it by), then its Conditions, the smoking, calcium and
 * symptom Observations, FamilyMemberHistory, and the ServiceRequests or Encounters that carry the symptom.
 * Faults are the client's: transient ones (5xx, 429, timeouts) retry the write job, a 4xx fails it permanently.
 */
import type { Identifier, Patient, Resource } from '@medplum/fhirtypes';
import type { PtpInputOptions, PtpSources } from './ptp-inputs.js';

/** The part of FhirClient the reader uses. */
export interface FhirSearcher {
  search<T extends Resource = Resource>(resourceType: string, params: Record<string, string>): Promise<T[]>;
}

/** Page size asked of the server. */
const COUNT = '200';

/**
 * `system|code` entries as one comma-separated token search (prefix entries cannot be searched and are left out).
 * Raw text: the client's URLSearchParams encodes it once.
 */
function tokenList(codes: readonly string[]): string {
  return [...new Set(codes.filter((c) => !c.endsWith('*')))].join(',');
}

/**
 * The resources for the patient with this identifier. With no Patient or several matching, `patient` is
 * undefined and nothing else is read (the PTP then reports the patient as missing).
 */
export async function readPtpSources(
  searcher: FhirSearcher,
  patientIdentifier: Identifier,
  options: PtpInputOptions,
): Promise<PtpSources> {
  const empty: PtpSources = {
    conditions: [],
    observations: [],
    familyHistory: [],
    serviceRequests: [],
    encounters: [],
  };
  const patients = await searcher.search<Patient>('Patient', {
    identifier: `${patientIdentifier.system ?? ''}|${patientIdentifier.value ?? ''}`,
  });
  const patient = patients.length === 1 ? patients[0] : undefined;
  if (!patient?.id) return empty;
  const ref = `Patient/${patient.id}`;

  // The Observation codes: smoking and calcium always, symptom codes when the symptom comes from Observations.
  const symptomCodes =
    options.symptoms.source === 'observation'
      ? [...options.symptoms.observationCodes, ...Object.values(options.symptoms.mapping).flat()]
      : [];
  const observationCodes = tokenList([...options.smoking.codes, ...options.calcium.codes, ...symptomCodes]);

  const [conditions, observations, familyHistory, serviceRequests, encounters] = await Promise.all([
    searcher.search('Condition', { patient: ref, _count: COUNT }),
    observationCodes
      ? searcher.search('Observation', { patient: ref, code: observationCodes, _count: COUNT })
      : Promise.resolve([]),
    searcher.search('FamilyMemberHistory', { patient: ref, _count: COUNT }),
    options.symptoms.source === 'service-request'
      ? searcher.search('ServiceRequest', { patient: ref, _count: COUNT })
      : Promise.resolve([]),
    options.symptoms.source === 'encounter'
      ? searcher.search('Encounter', { patient: ref, _count: COUNT })
      : Promise.resolve([]),
  ]);
  return {
    patient,
    conditions: conditions as PtpSources['conditions'],
    observations: observations as PtpSources['observations'],
    familyHistory: familyHistory as PtpSources['familyHistory'],
    serviceRequests: serviceRequests as PtpSources['serviceRequests'],
    encounters: encounters as PtpSources['encounters'],
  };
}

/** The SMART scopes PTP reading needs (added to the write scope when PTP is on and no scope is configured). */
export const PTP_READ_SCOPES = [
  'system/Patient.read',
  'system/Condition.read',
  'system/Observation.read',
  'system/FamilyMemberHistory.read',
  'system/ServiceRequest.read',
  'system/Encounter.read',
] as const;
