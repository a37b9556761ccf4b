/**
 * Reads the engine's results back from FHIR (docs/FHIR.md) into one record per ECG and model: the vessel stratum
 * Observations (probability, stratum, PTP x AI combined category), the not-analysable Observation, and the PTP
 * RiskAssessment of the same ECG. Pure: it takes the resources, wherever they came from (prefetch or a FHIR read).
 *
 * The Observations of one ECG are grouped by the ECG Observation they are `derivedFrom` and the model Device that
 * made them. The PTP RiskAssessment names no ECG (its basis is the EHR data it came from); the writer gives it the
 * ECG's acquisition time as `occurrenceDateTime`, which is how it is matched here.
 */
import type { Stratum, Vessel } from '@ecgcad/ecg';
import { SYSTEMS } from '@ecgcad/fhir-writer';
import type { Annotation, Observation, Resource, RiskAssessment } from '@medplum/fhirtypes';

/** The vessels in display order. */
export const VESSEL_ORDER: readonly Vessel[] = ['RCA', 'LM', 'LAD', 'LCx'];

/** The PTP x AI combined category (docs/FHIR.md). */
export type CombinedCategory = 'low' | 'intermediate' | 'high';

/** One vessel of a scored ECG. */
export interface VesselResult {
  vessel: Vessel;
  stratum: Stratum;
  probability?: number;
  /** The combined category, when PTP was computed. */
  combined?: CombinedCategory;
  /** Why there is no combined category (the component's dataAbsentReason text), when PTP is on but was not computed. */
  combinedMissing?: string;
}

/** The pre-test probability written with an ECG. */
export interface PtpResult {
  /** `final` (computed) or `cancelled` (an input was missing). */
  status: string;
  /** The method, e.g. `ESC 2024 risk-factor-weighted clinical likelihood (RF-CL)`. */
  method: string;
  probability?: number;
  /** The category in words, e.g. `ESC 2024 RF-CL: moderate (34 %)`. */
  category?: string;
  /** The CACS-weighted likelihood, when a calcium score was there. */
  cacs?: { probability?: number; category?: string };
  /** Why it was not computed (the first note of a cancelled PTP). */
  reason?: string;
}

/** The results of one ECG by one model. */
export interface EcgResult {
  /** Logical id of the ECG Observation (what the viewer opens). */
  ecgId: string;
  /** When the ECG was taken (the results' effectiveDateTime), as written. */
  acquiredAt?: string;
  /** When the model scored it (`issued`). */
  issued?: string;
  status: 'scored' | 'not-analysable';
  /** Scored: one per vessel found, in VESSEL_ORDER. */
  vessels: VesselResult[];
  /** Not analysable: the reasons. */
  reasons: string[];
  /** The model, as the results name it (`<id> <version>`). */
  model?: string;
  /** The results' note saying the model is not for clinical use, when it says so. */
  notForClinicalUse?: string;
  ptp?: PtpResult;
}

const CONCEPT = SYSTEMS.concept;
const NOT_FOR_CLINICAL_USE = /not for clinical use/i;

function hasCoding(
  concept: { coding?: Array<{ system?: string; code?: string }> } | undefined,
  system: string,
  code?: string,
): boolean {
  return concept?.coding?.some((c) => c.system === system && (code === undefined || c.code === code)) ?? false;
}

function codeIn(
  concept: { coding?: Array<{ system?: string; code?: string }> } | undefined,
  system: string,
): string | undefined {
  return concept?.coding?.find((c) => c.system === system)?.code;
}

/** The logical id of `Observation/<id>` (relative, absolute or versioned reference); undefined for others. */
export function observationId(reference: string | undefined): string | undefined {
  const match = /(?:^|\/)Observation\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference ?? '');
  return match?.[1];
}

function vesselOf(obs: Observation): Vessel | undefined {
  const code = codeIn(obs.code, CONCEPT);
  return VESSEL_ORDER.find((v) => code === `${v}-risk-stratum`);
}

function stratumOf(obs: Observation): Stratum | undefined {
  const code = codeIn(obs.valueCodeableConcept, SYSTEMS.riskStratum);
  return code === 'low' || code === 'intermediate' || code === 'high' ? code : undefined;
}

function noteText(notes: Annotation[] | undefined): string[] {
  return (notes ?? []).map((n) => n.text ?? '').filter((t) => t !== '');
}

function vesselResult(obs: Observation, vessel: Vessel, stratum: Stratum): VesselResult {
  const out: VesselResult = { vessel, stratum };
  for (const component of obs.component ?? []) {
    if (hasCoding(component.code, CONCEPT, 'probability') && typeof component.valueQuantity?.value === 'number') {
      out.probability = component.valueQuantity.value;
    }
    if (hasCoding(component.code, CONCEPT, 'ptp-ai-combined-category')) {
      const code = codeIn(component.valueCodeableConcept, SYSTEMS.ptp);
      const category = code?.startsWith('combined-') ? code.slice('combined-'.length) : undefined;
      if (category === 'low' || category === 'intermediate' || category === 'high') out.combined = category;
      else if (component.dataAbsentReason?.text) out.combinedMissing = component.dataAbsentReason.text;
    }
  }
  return out;
}

function ptpOf(all: RiskAssessment[], acquiredAt: string | undefined): PtpResult | undefined {
  if (!acquiredAt) return undefined;
  const at = Date.parse(acquiredAt);
  const same = all.filter(
    (r) =>
      r.occurrenceDateTime !== undefined && Date.parse(r.occurrenceDateTime) === at && hasCoding(r.method, SYSTEMS.ptp),
  );
  const main = same.find((r) => codeIn(r.method, SYSTEMS.ptp) !== 'esc2024-cacs-cl');
  if (!main) return undefined;
  const prediction = main.prediction?.[0];
  const cacs = same.find((r) => codeIn(r.method, SYSTEMS.ptp) === 'esc2024-cacs-cl')?.prediction?.[0];
  return {
    status: main.status ?? 'unknown',
    method: main.method?.text ?? main.method?.coding?.[0]?.display ?? 'pre-test probability',
    ...(typeof prediction?.probabilityDecimal === 'number' ? { probability: prediction.probabilityDecimal } : {}),
    ...(prediction?.qualitativeRisk?.text ? { category: prediction.qualitativeRisk.text } : {}),
    ...(cacs
      ? {
          cacs: {
            ...(typeof cacs.probabilityDecimal === 'number' ? { probability: cacs.probabilityDecimal } : {}),
            ...(cacs.qualitativeRisk?.text ? { category: cacs.qualitativeRisk.text } : {}),
          },
        }
      : {}),
    ...(main.status === 'cancelled' && noteText(main.note)[0] ? { reason: noteText(main.note)[0] } : {}),
  };
}

/**
 * The ECG results among `resources` (Observations and RiskAssessments of one patient; anything else is ignored).
 * Observations that are not the engine's results, or carry no ECG reference, are left out. Not sorted.
 */
export function ecgResults(resources: readonly Resource[]): EcgResult[] {
  const observations = resources.filter((r): r is Observation => r.resourceType === 'Observation');
  const assessments = resources.filter((r): r is RiskAssessment => r.resourceType === 'RiskAssessment');
  const groups = new Map<string, EcgResult>();
  for (const obs of observations) {
    if (!obs.category?.some((c) => hasCoding(c, CONCEPT, 'ecg-cad-risk'))) continue;
    if (obs.status === 'entered-in-error' || obs.status === 'cancelled') continue;
    const ecgId = observationId(obs.derivedFrom?.[0]?.reference);
    if (!ecgId) continue;
    const model = obs.device?.display;
    const key = `${ecgId}\u0000${obs.device?.reference ?? model ?? ''}`;
    const notAnalysable = hasCoding(obs.code, CONCEPT, 'ecg-cad-assessment') && obs.dataAbsentReason !== undefined;
    const vessel = vesselOf(obs);
    const stratum = stratumOf(obs);
    if (!notAnalysable && !(vessel && stratum)) continue;
    let group = groups.get(key);
    if (!group) {
      group = { ecgId, status: 'scored', vessels: [], reasons: [] };
      groups.set(key, group);
    }
    if (obs.effectiveDateTime && !group.acquiredAt) group.acquiredAt = obs.effectiveDateTime;
    if (obs.issued && !group.issued) group.issued = obs.issued;
    if (model && !group.model) group.model = model;
    const notes = noteText(obs.note);
    const warning = notes.find((t) => NOT_FOR_CLINICAL_USE.test(t));
    if (warning && !group.notForClinicalUse) group.notForClinicalUse = warning;
    if (notAnalysable) {
      group.status = 'not-analysable';
      group.reasons = notes
        .filter((t) => t.startsWith('Not analysable: '))
        .map((t) => t.slice('Not analysable: '.length));
    } else if (vessel && stratum && !group.vessels.some((v) => v.vessel === vessel)) {
      group.vessels.push(vesselResult(obs, vessel, stratum));
    }
  }
  const out: EcgResult[] = [];
  for (const group of groups.values()) {
    if (group.status === 'not-analysable') group.vessels = [];
    group.vessels.sort((a, b) => VESSEL_ORDER.indexOf(a.vessel) - VESSEL_ORDER.indexOf(b.vessel));
    const ptp = group.status === 'scored' ? ptpOf(assessments, group.acquiredAt) : undefined;
    out.push(ptp ? { ...group, ptp } : group);
  }
  return out;
}
