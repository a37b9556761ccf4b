/**
 * The CDS Services this engine offers (what GET /cds-services lists), their prefetch templates, and which draft
 * orders make the order hooks answer. Pure: no I/O.
 *
 * The templates ask for exactly what the cards are built from (docs/FHIR.md): the result Observations of the
 * patient (category ecgcad#ecg-cad-risk: one stratum Observation per vessel, or the not-analysable one; each names
 * its model and carries the model's "not for clinical use" note), and the pre-test probability RiskAssessments (searched by `method`, since R4 has no
 * `code` search on RiskAssessment). Only CDS Hooks 2.0 tokens are used (`{{context.patientId}}`), so any 2.0 client
 * can fill them.
 */
import { SYSTEMS } from '@ecgcad/fhir-writer';
import type { CdsService, Discovery } from './spec.js';

/** The hooks served. */
export type CdsHook = 'patient-view' | 'order-select' | 'order-sign';

/** Prefetch keys. */
export const PREFETCH_KEYS = { results: 'ecgcadResults', ptp: 'ecgcadPtp' } as const;

/** The PTP methods the writer uses (docs/FHIR.md, Pre-test probability). */
export const PTP_METHODS = ['esc2024-rf-cl', 'esc2019', 'esc2024-cacs-cl'] as const;

/** Most result Observations asked for in one page (4 per scored ECG: 50 ECGs). */
export const RESULTS_PAGE = 200;

/** The FHIR search parameters of the results query (also used by the FHIR read fallback). */
export function resultsQuery(patientId: string): Record<string, string> {
  return {
    patient: `Patient/${patientId}`,
    category: `${SYSTEMS.concept}|ecg-cad-risk`,
    _sort: '-date',
    _count: String(RESULTS_PAGE),
  };
}

/** The FHIR search parameters of the PTP query. */
export function ptpQuery(patientId: string): Record<string, string> {
  return {
    patient: `Patient/${patientId}`,
    method: PTP_METHODS.map((m) => `${SYSTEMS.ptp}|${m}`).join(','),
    _sort: '-date',
    _count: String(RESULTS_PAGE),
  };
}

/** A query as a prefetch template: the values written raw (as FHIR's own examples do), the patient as a token. */
function template(resourceType: string, params: Record<string, string>): string {
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${resourceType}?${query}`;
}

/** The prefetch templates every service asks for. */
export function prefetchTemplates(): Record<string, string> {
  const token = '{{context.patientId}}';
  return {
    [PREFETCH_KEYS.results]: template('Observation', resultsQuery(token)),
    [PREFETCH_KEYS.ptp]: template('RiskAssessment', ptpQuery(token)),
  };
}

/** One served CDS Service. */
export interface ServedService {
  id: string;
  hook: CdsHook;
  definition: CdsService;
}

const USAGE =
  'Needs the results the ecgcad engine wrote to this FHIR server. Without prefetch the service reads them itself: ' +
  'give fhirServer with fhirAuthorization (patient/Observation.read, patient/RiskAssessment.read), ' +
  'or register the FHIR server the engine writes to.';

/** The services, in discovery order. */
export function servedServices(): ServedService[] {
  const prefetch = prefetchTemplates();
  const make = (id: string, hook: CdsHook, title: string, description: string): ServedService => ({
    id,
    hook,
    definition: { hook, title, description, id, prefetch, usageRequirements: USAGE },
  });
  return [
    make(
      'ecgcad-ecg-cad-risk',
      'patient-view',
      'ECG-AI coronary stenosis risk',
      'Shows the recent ECG-AI coronary stenosis results of the patient (per vessel RCA, LM, LAD, LCx), with the ' +
        'pre-test probability and the combined category, and a link to the ECG viewer.',
    ),
    make(
      'ecgcad-ecg-cad-risk-order-select',
      'order-select',
      'ECG-AI coronary stenosis risk for a coronary test order',
      'When a coronary CT angiography or a stress test is selected, shows the recent ECG-AI coronary stenosis ' +
        'results of the patient, with the pre-test probability and the combined category.',
    ),
    make(
      'ecgcad-ecg-cad-risk-order-sign',
      'order-sign',
      'ECG-AI coronary stenosis risk before signing a coronary test order',
      'Before a coronary CT angiography or a stress test order is signed, shows the recent ECG-AI coronary ' +
        'stenosis results of the patient, with the pre-test probability and the combined category.',
    ),
  ];
}

/** The discovery answer. */
export function discovery(services: ServedService[] = servedServices()): Discovery {
  return { services: services.map((s) => s.definition) };
}

const CPT = 'http://www.ama-assn.org/go/cpt';
const SCT = 'http://snomed.info/sct';

/**
 * Order codes that make the order hooks answer, as `system|code`. Each was checked against a published source:
 * - LOINC 79073-3 CTA Heart and Coronary arteries W contrast IV; 18752-6 Exercise stress test study;
 *   18107-3 Cardiac echo study Procedure stress method; 49569-7 Heart SPECT perfusion and wall motion at rest and
 *   W stress (Tl-201 / Tc-99m sestamibi) (ACC CathPCI value sets "CardiacCTA" and "StressTest").
 * - SNOMED CT 419545005 Computed tomography angiography of coronary artery with contrast; 76746007 Cardiovascular
 *   stress testing.
 * - CPT 75574 CT angiography, heart, coronary arteries and bypass grafts with contrast; 93015-93018 cardiovascular
 *   stress test; 93350 / 93351 stress echocardiography; 78451 / 78452 myocardial perfusion SPECT; 78491 / 78492
 *   myocardial perfusion PET.
 * Sites replace the list with `cds.orderCodes` (their own order catalogue codes included).
 */
export const DEFAULT_ORDER_CODES: readonly string[] = [
  `${SYSTEMS.loinc}|79073-3`,
  `${SYSTEMS.loinc}|18752-6`,
  `${SYSTEMS.loinc}|18107-3`,
  `${SYSTEMS.loinc}|49569-7`,
  `${SCT}|419545005`,
  `${SCT}|76746007`,
  ...['75574', '93015', '93016', '93017', '93018', '93350', '93351', '78451', '78452', '78491', '78492'].map(
    (c) => `${CPT}|${c}`,
  ),
];

interface CodeableConceptLike {
  coding?: Array<{ system?: string; code?: string }>;
}
interface OrderLike {
  resourceType?: string;
  id?: string;
  code?: CodeableConceptLike;
}

/**
 * True when a draft order of the order-select / order-sign context is a coronary CTA or stress test: a
 * ServiceRequest whose code has a coding in `codes`. For order-select only the orders named in `selections` count
 * (the ones just chosen); without `selections` (order-sign) every draft order does.
 */
export function hasCoronaryTestOrder(context: Record<string, unknown>, codes: readonly string[]): boolean {
  const wanted = new Set(codes);
  const bundle = context.draftOrders as { entry?: Array<{ resource?: OrderLike }> } | undefined;
  const selections = Array.isArray(context.selections)
    ? new Set(context.selections.filter((s): s is string => typeof s === 'string'))
    : undefined;
  for (const entry of bundle?.entry ?? []) {
    const order = entry.resource;
    if (order?.resourceType !== 'ServiceRequest') continue;
    if (selections && !selections.has(`ServiceRequest/${order.id ?? ''}`)) continue;
    if (order.code?.coding?.some((c) => wanted.has(`${c.system ?? ''}|${c.code ?? ''}`))) return true;
  }
  return false;
}
