/**
 * What one worklist row says about an ECG, read from the resources ecgcad wrote (docs/FHIR.md). Pure: the
 * queries are in worklist-data.ts, the DOM in worklist-view.ts. Every field may be missing (an ECG still being
 * scored, a site that writes without PTP, a resource another system wrote): the row says so rather than failing.
 */
import type { CodeableConcept, Coding, Observation, RiskAssessment } from '@medplum/fhirtypes';
import {
  ASSESSMENT,
  COMBINED,
  ECGCAD,
  OCCLUSION,
  PROBABILITY,
  PTP,
  PTP_ASSESSMENT,
  RISK_STRATUM,
  type Stratum,
  stratumCode,
  VESSELS,
  type Vessel,
} from './fhir-codes.js';

/** One vessel's result as the worklist shows it. */
export interface VesselCell {
  vessel: Vessel;
  stratum?: Stratum;
  probability?: number;
  /** PTP x AI combined category display (e.g. "Testing with priority"), when written. */
  combined?: string;
  /** Why there is no combined category, when the writer said. */
  combinedMissing?: string;
}

/** The pre-test probability, when the writer computed (or tried to compute) one. */
export interface PtpSummary {
  status: 'computed' | 'not-computed';
  probability?: number;
  /** The model's category display (e.g. "ESC 2024 moderate"). */
  category?: string;
  /** Why it was not computed (the RiskAssessment's notes). */
  notes: string[];
}

/** One worklist row: an ECG and its results. */
export interface WorklistRow {
  /** ECG Observation id. */
  ecgId: string;
  /** `Patient/<id>`. */
  patientRef?: string;
  acquiredAt?: string;
  cart?: string;
  vessels: VesselCell[];
  anyHigh: boolean;
  /** Set when the quality gate refused the ECG: its reasons. */
  notAnalysable?: { reasons: string[] };
  ptp?: PtpSummary;
  /** No result written yet (or none readable). */
  pending: boolean;
  /** The resources the row came from, handed to the viewer as they are. */
  resources: RowResources;
}

/** The FHIR resources of one ECG's result. */
export interface RowResources {
  ecg: Observation;
  vessels: Observation[];
  attribution: Observation[];
  notAnalysable?: Observation;
  riskAssessment?: RiskAssessment;
  ptp?: RiskAssessment;
}

const has = (cc: CodeableConcept | undefined, system: string, code: string): boolean =>
  !!cc?.coding?.some((c) => c.system === system && c.code === code);

const codeIn = (cc: CodeableConcept | undefined, system: string): Coding | undefined =>
  cc?.coding?.find((c) => c.system === system);

/** `Observation/<id>` references an Observation derives from. */
export function derivedFromIds(obs: Observation): string[] {
  return (obs.derivedFrom ?? [])
    .map((r) => /^(?:.*\/)?Observation\/([^/]+)$/.exec(r.reference ?? '')?.[1])
    .filter((id): id is string => !!id);
}

/** The vessel whose stratum this Observation carries, or undefined. */
export function vesselOf(obs: Observation): Vessel | undefined {
  return VESSELS.find((v) => has(obs.code, ECGCAD, stratumCode(v)));
}

/** Sorts the Observations derived from an ECG into vessel strata, attribution maps and the not-analysable result. */
export function sortRelated(related: Observation[]): Pick<RowResources, 'vessels' | 'attribution' | 'notAnalysable'> {
  const vessels: Observation[] = [];
  const attribution: Observation[] = [];
  let notAnalysable: Observation | undefined;
  for (const obs of related) {
    if (vesselOf(obs)) vessels.push(obs);
    else if (has(obs.code, ECGCAD, OCCLUSION)) attribution.push(obs);
    else if (has(obs.code, ECGCAD, ASSESSMENT)) notAnalysable = obs;
  }
  return { vessels, attribution, ...(notAnalysable ? { notAnalysable } : {}) };
}

/** True for the AI RiskAssessment (vs a PTP one). */
export const isAiAssessment = (ra: RiskAssessment): boolean => has(ra.code, ECGCAD, ASSESSMENT);
/** True for a PTP RiskAssessment. */
export const isPtpAssessment = (ra: RiskAssessment): boolean =>
  has(ra.code, ECGCAD, PTP_ASSESSMENT) || !!codeIn(ra.method, PTP);

function vesselCell(vessel: Vessel, obs: Observation | undefined, ra: RiskAssessment | undefined): VesselCell {
  const cell: VesselCell = { vessel };
  const code = codeIn(obs?.valueCodeableConcept, RISK_STRATUM)?.code;
  if (code === 'low' || code === 'intermediate' || code === 'high') cell.stratum = code;
  const probability = obs?.component?.find((c) => has(c.code, ECGCAD, PROBABILITY))?.valueQuantity?.value;
  if (typeof probability === 'number') cell.probability = probability;
  // The RiskAssessment is the result of record: where both are there, its numbers win.
  const prediction = ra?.prediction?.find((p) => p.outcome?.coding?.some((c) => c.code === vessel));
  if (typeof prediction?.probabilityDecimal === 'number') cell.probability = prediction.probabilityDecimal;
  const risk = prediction?.qualitativeRisk?.coding?.find((c) => c.system?.endsWith('risk-probability'))?.code;
  if (!cell.stratum && risk) cell.stratum = risk === 'moderate' ? 'intermediate' : (risk as Stratum);
  const combined = obs?.component?.find((c) => has(c.code, ECGCAD, COMBINED));
  if (combined?.valueCodeableConcept) {
    const coding = codeIn(combined.valueCodeableConcept, PTP);
    cell.combined = coding?.display ?? combined.valueCodeableConcept.text ?? coding?.code ?? '';
  } else if (combined?.dataAbsentReason) {
    cell.combinedMissing = combined.dataAbsentReason.text ?? 'no combined category';
  }
  return cell;
}

/** The quality gate's reasons: the `Not analysable: <reason>` notes, else the data-absent text. */
export function notAnalysableReasons(obs: Observation): string[] {
  const prefix = 'Not analysable: ';
  const reasons = (obs.note ?? [])
    .map((n) => n.text ?? '')
    .filter((t) => t.startsWith(prefix))
    .map((t) => t.slice(prefix.length));
  return reasons.length ? reasons : [obs.dataAbsentReason?.text ?? 'not analysable'];
}

function ptpSummary(ra: RiskAssessment): PtpSummary {
  const notes = (ra.note ?? []).map((n) => n.text ?? '').filter(Boolean);
  if (ra.status === 'cancelled' || !ra.prediction?.length) return { status: 'not-computed', notes };
  const p = ra.prediction[0];
  const coding = codeIn(p?.qualitativeRisk, PTP);
  return {
    status: 'computed',
    ...(typeof p?.probabilityDecimal === 'number' ? { probability: p.probabilityDecimal } : {}),
    ...(coding ? { category: coding.display ?? coding.code ?? '' } : {}),
    notes,
  };
}

/** The row of one ECG from its resources. */
export function worklistRow(resources: RowResources): WorklistRow {
  const { ecg } = resources;
  const byVessel = new Map(resources.vessels.map((o) => [vesselOf(o), o]));
  const vessels = VESSELS.map((v) => vesselCell(v, byVessel.get(v), resources.riskAssessment));
  const scored = vessels.some((c) => c.stratum !== undefined || c.probability !== undefined);
  const na = resources.notAnalysable;
  return {
    ecgId: ecg.id ?? '',
    ...(ecg.subject?.reference ? { patientRef: ecg.subject.reference } : {}),
    ...(ecg.effectiveDateTime ? { acquiredAt: ecg.effectiveDateTime } : {}),
    ...(ecg.device?.display ? { cart: ecg.device.display } : {}),
    vessels,
    anyHigh: vessels.some((c) => c.stratum === 'high'),
    ...(na ? { notAnalysable: { reasons: notAnalysableReasons(na) } } : {}),
    ...(resources.ptp ? { ptp: ptpSummary(resources.ptp) } : {}),
    pending: !scored && !na,
    resources,
  };
}
