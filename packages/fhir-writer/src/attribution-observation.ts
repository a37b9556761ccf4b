/**
 * The occlusion-sensitivity map of one vessel as an Observation (docs/FHIR.md, "Attribution"): one component per
 * lead, each a SampledData row over the time windows, so a viewer can lay it over the ECG's own waveform
 * components (same MDC lead codes; windows start at the attribution-window-start extension, `period` apart).
 * `focus` is the vessel's stratum Observation the map explains, `derivedFrom` the ECG.
 */
import type { EcgAttribution, LeadName, Vessel } from '@ecgcad/ecg';
import type {
  Annotation,
  Device,
  Identifier,
  Observation,
  ObservationComponent,
  Patient,
  Reference,
} from '@medplum/fhirtypes';
import { AIAST, ATTRIBUTION_WINDOW_START_URL, CONCEPTS, concept, MDC_LEADS, MDC_SYSTEM, SYSTEMS } from './codes.js';

/**
 * Probability change per SampledData unit: the infer stage rounds maps to six decimals, so the integers carry
 * every digit of it. One fixed factor keeps the four vessels' maps comparable at a glance.
 */
export const ATTRIBUTION_FACTOR = 1e-6;

/** What the Observation of one vessel's map needs from the Bundle around it. */
export interface AttributionObservationContext {
  identifier: Identifier;
  subject: Reference<Patient>;
  effective: string | undefined;
  issued: string;
  device: Reference<Device>;
  /** The ECG Observation the map was computed from. */
  ecg: Reference<Observation>;
  /** The vessel's stratum Observation the map explains. */
  focus: Reference<Observation>;
  /** Notes every AI result carries (a demonstration model says so). */
  notes: Annotation[];
}

const CAVEAT =
  'Occlusion sensitivity: each value is the model probability minus the probability with that lead and time window replaced by the lead baseline (positive: the region raised the risk). It shows what this model is sensitive to, not what causes disease.';

/** The Observation of `vessel`'s map; RangeError when the attribution holds no map for it. */
export function buildAttributionObservation(
  attribution: EcgAttribution,
  vessel: Vessel,
  ctx: AttributionObservationContext,
): Observation {
  const map = attribution.vessels[vessel];
  if (!map) throw new RangeError(`the attribution holds no map for ${vessel}`);
  const period = Math.round(attribution.windowS * 1e9) / 1e6;
  const component: ObservationComponent[] = attribution.leads.map((lead, l) => {
    const mdc = MDC_LEADS[lead as LeadName];
    return {
      code: mdc ? { coding: [{ system: MDC_SYSTEM, ...mdc }], text: lead } : { text: lead },
      valueSampledData: {
        origin: { value: 0, unit: '1', system: SYSTEMS.ucum, code: '1' },
        period,
        factor: ATTRIBUTION_FACTOR,
        dimensions: 1,
        data: (map[l] ?? []).map((d) => Math.round(d / ATTRIBUTION_FACTOR)).join(' '),
      },
    };
  });
  const code = CONCEPTS.occlusionSensitivity;
  return {
    resourceType: 'Observation',
    meta: { security: [{ ...AIAST }] },
    extension: [
      {
        url: ATTRIBUTION_WINDOW_START_URL,
        valueQuantity: { value: attribution.startS, unit: 's', system: SYSTEMS.ucum, code: 's' },
      },
    ],
    identifier: [ctx.identifier],
    status: 'final',
    category: [{ coding: [concept(CONCEPTS.category)] }],
    code: { coding: [concept(code)], text: `${code.display} (${vessel})` },
    subject: ctx.subject,
    focus: [ctx.focus],
    ...(ctx.effective ? { effectiveDateTime: ctx.effective } : {}),
    issued: ctx.issued,
    device: ctx.device,
    derivedFrom: [ctx.ecg],
    method: { text: `occlusion, ${round(attribution.windowS, 6)} s windows, lead median as baseline` },
    component,
    note: [{ text: CAVEAT }, ...ctx.notes],
  };
}

/** True for an occlusion-sensitivity Observation. */
export function isAttributionObservation(obs: Observation): boolean {
  return !!obs.code.coding?.some((c) => c.system === SYSTEMS.concept && c.code === CONCEPTS.occlusionSensitivity.code);
}

/**
 * Project checks of an occlusion-sensitivity Observation the R4 validator does not make: its focus and ECG are
 * there, the window start is stated, and each lead is one row of integers of the same length.
 */
export function attributionObservationIssues(where: string, obs: Observation): string[] {
  const issues: string[] = [];
  if (!obs.focus?.length) issues.push(`${where}: focus (the vessel stratum Observation) is missing`);
  if (!obs.derivedFrom?.length) issues.push(`${where}: derivedFrom (the ECG Observation) is missing`);
  const start = obs.extension?.find((e) => e.url === ATTRIBUTION_WINDOW_START_URL)?.valueQuantity;
  if (typeof start?.value !== 'number' || start.code !== 's') {
    issues.push(`${where}: extension ${ATTRIBUTION_WINDOW_START_URL} (valueQuantity in s) is missing`);
  }
  const lengths = new Set<number>();
  (obs.component ?? []).forEach((c, i) => {
    const sd = c.valueSampledData;
    if (!sd || !(sd.period > 0) || sd.dimensions !== 1 || !/^-?\d+( -?\d+)*$/.test(sd.data ?? '')) {
      issues.push(`${where} component[${i}]: valueSampledData must be one row of integers with a period`);
      return;
    }
    lengths.add((sd.data ?? '').split(' ').length);
  });
  if (!obs.component?.length) issues.push(`${where}: has no lead components`);
  if (lengths.size > 1) issues.push(`${where}: lead components have different numbers of windows`);
  return issues;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
