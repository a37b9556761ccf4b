import type { EcgSummary } from './contracts.js';
import { durationS, type Ecg, type LeadName, STANDARD_LEADS } from './ecg.js';

/**
 * What the fhir-writer needs to know about an ECG, without the waveform: source facts, patient as the file tells,
 * device, rate, duration and the leads stored (in the standard order).
 */
export function summarizeEcg(ecg: Ecg): EcgSummary {
  // A loop, not filter(closure): a closure made per ECG is optimised again after every full collection.
  const leads: LeadName[] = [];
  for (const name of STANDARD_LEADS) if ((ecg.leads[name]?.length ?? 0) > 0) leads.push(name);
  const summary: EcgSummary = {
    id: ecg.id,
    format: ecg.source.format,
    sha256: ecg.source.sha256,
    feed: ecg.source.feed,
    receivedAt: ecg.source.receivedAt,
    patient: { ...ecg.patient },
    device: { ...ecg.device },
    sampleRateHz: ecg.sampleRateHz,
    durationS: durationS(ecg),
    leads,
  };
  if (ecg.source.sopClassUid !== undefined) summary.sopClassUid = ecg.source.sopClassUid;
  if (ecg.source.studyInstanceUid !== undefined) summary.studyInstanceUid = ecg.source.studyInstanceUid;
  if (ecg.acquiredAt !== undefined) summary.acquiredAt = ecg.acquiredAt;
  return summary;
}
