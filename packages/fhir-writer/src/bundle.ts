/**
 * Pure builders: one Prediction -> one FHIR R4 transaction Bundle (all or nothing on the EHR).
 *
 * Entries, in order: Device (the model), Observation (the ECG, LOINC 34534-8), then either RiskAssessment + one
 * stratum Observation per vessel (+ Flag when any vessel is high) for a scored ECG, or one not-analysable
 * Observation, and last a Provenance that targets all of them.
 * Every entry is a conditional create (`ifNoneExist` on its identifier) and every identifier and fullUrl is
 * derived from the ECG id and model version, so a resend is recognised and leaves exactly one of each resource.
 */
import {
  checkPrediction,
  type EcgSummary,
  type ModelRef,
  PermanentError,
  type Prediction,
  type Stratum,
  type VesselPrediction,
} from '@ecgcad/ecg';
import type {
  Annotation,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Device,
  Flag,
  Identifier,
  Meta,
  Observation,
  ObservationComponent,
  ObservationReferenceRange,
  Patient,
  Provenance,
  Reference,
  Resource,
  RiskAssessment,
} from '@medplum/fhirtypes';
import { buildAttributionObservation } from './attribution-observation.js';
import {
  AIAST,
  CONCEPTS,
  concept,
  LOINC_12_LEAD_EKG,
  NOT_ANALYSABLE,
  PTP_CONCEPTS,
  ptpCategoryKey,
  ptpCoding,
  RISK_PROBABILITY,
  STRATA,
  SYSTEMS,
  stratumCoding,
  VESSEL_OUTCOMES,
  vesselOutcomeCoding,
} from './codes.js';
import { ecgSourceIdentifier, identifierQuery, isOid, tokenQuery, uuidV5 } from './ids.js';
import { PTP_INPUT_NAMES, type PtpAssessment, type PtpValueView } from './ptp.js';
import { RISK_FACTORS } from './ptp-inputs.js';
import { type EcgWaveform, WrittenData, type WrittenDataView, waveformComponents } from './waveform.js';

/** How the writer refers to the patient. */
export interface PatientReferenceOptions {
  /**
   * Identifier system used when the ECG names no issuer, or an issuer that is neither a URI, an OID nor in
   * `issuerSystems`. Sites set this to their MRN system. Default `https://ecgcad.org/fhir/sid/patient-id`.
   */
  system?: string;
  /** Issuer (DICOM IssuerOfPatientID, aECG id root) -> identifier system URI. Checked first. Default `{}`. */
  issuerSystems?: Record<string, string>;
  /**
   * `conditional` (default): `Patient?identifier=system|value`, which the EHR resolves to its Patient (and rejects
   * when none matches). `logical`: `{ type: 'Patient', identifier }`, for EHRs that match logical references.
   */
  reference?: 'conditional' | 'logical';
  /**
   * When the ECG has no patient identifier. `refuse` (default): PermanentError, nothing is written.
   * `placeholder`: a logical reference to an identifier derived from the ECG id (system
   * `https://ecgcad.org/fhir/sid/unidentified-ecg-subject`, display "Unidentified patient"), so the result is kept
   * and can be matched by hand. Use it for demos and file sinks, not for a production EHR.
   */
  whenMissing?: 'refuse' | 'placeholder';
}

/** Options of the Bundle builder. */
export interface WriterOptions {
  patient?: PatientReferenceOptions;
  /**
   * IANA time zone of acquisition times that carry no zone (DICOM without TimezoneOffsetFromUTC, most aECG).
   * Default: the process's zone. Set it to the site's zone when the engine runs elsewhere (e.g. UTC containers).
   */
  timeZone?: string;
  /**
   * Put the ECG's samples into the ECG Observation (one SampledData component per lead) when they are given.
   * Default true; false for EHRs that refuse large resources (the Observation is then as before, without them).
   */
  waveform?: boolean;
}

/**
 * The samples for the ECG Observation, or why they could not be had (the result is still written, without them,
 * and the Observation says so in a note).
 */
export type WaveformInput = EcgWaveform | { unavailable: string };

/** The resources of one built Bundle by role, for callers and tests that want them without searching entries. */
export interface BundleParts {
  device: Device;
  ecg: Observation;
  riskAssessment?: RiskAssessment;
  /** The pre-test probability (or why it was not computed), when PTP is on. */
  ptp?: RiskAssessment;
  /** CACS-CL, when a calcium score refined the PTP. */
  ptpCacsCl?: RiskAssessment;
  vessels: Observation[];
  /** One occlusion-sensitivity map per vessel, when the prediction carries an attribution. */
  attribution?: Observation[];
  flag?: Flag;
  notAnalysable?: Observation;
  provenance: Provenance;
}

const VESSEL_ORDER = ['RCA', 'LM', 'LAD', 'LCx'];
const URI_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
const FHIR_DATE_TIME =
  /^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;

/**
 * Builds the transaction Bundle for one prediction. Throws PermanentError when no patient can be referenced.
 * With `ptp` (a scored prediction, PTP on), the Bundle also carries the pre-test probability and the combined
 * category per vessel. With `waveform` (and `options.waveform` not false), the ECG Observation carries the leads.
 */
export function buildBundle(
  prediction: Prediction,
  options: WriterOptions = {},
  ptp?: PtpAssessment,
  waveform?: WaveformInput,
): Bundle {
  return buildBundleParts(prediction, options, ptp, waveform).bundle;
}

/**
 * The waveform data strings the builder wrote into each Bundle it handed out, with their token counts: their form is
 * known by construction (digits, '-', 'E', single spaces), so the validator need not read them again nor JSON
 * escape them when serialising. Held by the Bundle itself under this symbol (non-enumerable: JSON, Object.keys,
 * for-in, spread and structuredClone leave it out), so it goes when the Bundle goes.
 *
 * Not a WeakMap keyed by the Bundle: with one, V8's young-generation collections kept part of every Bundle they
 * met (the old generation grew 9-11 MB per 400 Bundles built and dropped; bundle.test.ts), and in a loop of builds
 * each took 16 ms instead of 1.5: build + validate + serialise of a 12-lead Bundle 1.40 -> 0.65 ms with the data
 * held here (docs/PERFORMANCE.md, session 16).
 */
const WRITTEN_DATA: unique symbol = Symbol('ecgcad.writtenData');

/** The waveform data strings buildBundle wrote into this Bundle (empty for any other Bundle). */
export function writtenDataOf(bundle: Bundle): WrittenDataView {
  const written = (bundle as { [WRITTEN_DATA]?: unknown })[WRITTEN_DATA];
  return written instanceof WrittenData ? written : NOTHING_WRITTEN;
}

const NOTHING_WRITTEN: WrittenDataView = new WrittenData();

/** As buildBundle, also returning the resources by role. */
export function buildBundleParts(
  prediction: Prediction,
  options: WriterOptions = {},
  ptp?: PtpAssessment,
  waveform?: WaveformInput,
): { bundle: Bundle; parts: BundleParts } {
  checkPrediction(prediction);
  const { ecg, model } = prediction;
  const subject = patientReference(ecg, options.patient ?? {});
  const ecgIdentifier = ecgSourceIdentifier(ecg);
  const resultKey = `${ecg.id}\u0000${model.id}\u0000${model.version}`;
  // Module-level helpers (add, aiMeta, resultIdOf, fresh), not closures made per Bundle: V8 compiles those again
  // after every full collection. Each result id is computed once (a SHA-1 each).
  const entries: BundleEntry[] = [];

  // Device: the model, shared by every result of this model version.
  const modelIdentifier: Identifier = { system: SYSTEMS.modelId, value: `${model.id}@${model.version}` };
  const device = buildDevice(model, modelIdentifier);
  const deviceRef = add(entries, device, uuidV5(`device\u0000${model.id}\u0000${model.version}`));
  const deviceReference: Reference<Device> = { reference: deviceRef, display: `${model.id} ${model.version}` };

  // The ECG itself: not AI-produced, shared by every model that scores it.
  const written = new WrittenData();
  const ecgObservation = buildEcgObservation(
    ecg,
    ecgIdentifier,
    fresh(subject),
    fhirDateTime(ecg.acquiredAt, options.timeZone),
    options.waveform === false ? undefined : waveform,
    written,
  );
  const ecgRef = add(entries, ecgObservation, uuidV5(`ecg\u0000${ecgIdentifier.system}\u0000${ecgIdentifier.value}`));
  const ecgReference: Reference<Observation> = { reference: ecgRef, display: '12 lead ECG' };

  const notes = modelNotes(model);
  const effective = fhirDateTime(ecg.acquiredAt, options.timeZone);
  const parts: Omit<BundleParts, 'provenance'> = { device, ecg: ecgObservation, vessels: [] };

  if (prediction.status === 'scored') {
    const raId = resultIdOf(resultKey, 'risk-assessment');
    const ra: RiskAssessment = {
      resourceType: 'RiskAssessment',
      meta: aiMeta(),
      identifier: [{ system: SYSTEMS.resultId, value: raId }],
      status: 'final',
      code: { coding: [concept(CONCEPTS.assessment)], text: CONCEPTS.assessment.display },
      subject: fresh(subject),
      occurrenceDateTime: prediction.predictedAt,
      performer: fresh(deviceReference),
      basis: [fresh(ecgReference)],
      prediction: orderedVessels(prediction.vessels).map((v) => ({
        outcome: { coding: [vesselOutcomeCoding(v.vessel)], text: VESSEL_OUTCOMES[v.vessel].definition },
        probabilityDecimal: v.probability,
        qualitativeRisk: { coding: [{ ...RISK_PROBABILITY[v.stratum] }], text: STRATA[v.stratum].display },
      })),
      ...(notes.length > 0 ? { note: fresh(notes) } : {}),
    };
    parts.riskAssessment = ra;
    add(entries, ra, raId);

    if (ptp) {
      const built = buildPtpRiskAssessments(ptp, {
        subject: fresh(subject),
        occurrence: effective ?? prediction.predictedAt,
        identifier: (role) => ({ system: SYSTEMS.resultId, value: resultIdOf(resultKey, role) }),
      });
      parts.ptp = built.ptp;
      const ptpRef = add(entries, built.ptp, resultIdOf(resultKey, 'ptp'));
      if (built.cacsCl) {
        built.cacsCl.parent = { reference: ptpRef, display: 'ESC 2024 RF-CL' };
        parts.ptpCacsCl = built.cacsCl;
        add(entries, built.cacsCl, resultIdOf(resultKey, 'ptp-cacs-cl'));
      }
    }

    const vesselRefs = new Map<string, string>();
    for (const v of orderedVessels(prediction.vessels)) {
      const id = resultIdOf(resultKey, `vessel-${v.vessel}`);
      const obs = buildVesselObservation(v, {
        identifier: { system: SYSTEMS.resultId, value: id },
        meta: aiMeta(),
        subject: fresh(subject),
        effective,
        issued: prediction.predictedAt,
        device: fresh(deviceReference),
        ecg: fresh(ecgReference),
        notes: fresh(notes),
        ...(ptp ? { combined: combinedComponent(ptp, v.vessel) } : {}),
      });
      parts.vessels.push(obs);
      vesselRefs.set(v.vessel, add(entries, obs, id));
    }

    // The occlusion-sensitivity map of each vessel, pointing at the stratum Observation it explains.
    const { attribution } = prediction;
    for (const v of attribution ? orderedVessels(prediction.vessels) : []) {
      const focus = vesselRefs.get(v.vessel);
      if (!attribution?.vessels[v.vessel] || !focus) continue;
      const id = resultIdOf(resultKey, `attribution-${v.vessel}`);
      const obs = buildAttributionObservation(attribution, v.vessel, {
        identifier: { system: SYSTEMS.resultId, value: id },
        subject: fresh(subject),
        effective,
        issued: prediction.predictedAt,
        device: fresh(deviceReference),
        ecg: fresh(ecgReference),
        focus: { reference: focus, display: `${v.vessel} stenosis risk stratum` },
        notes: fresh(notes),
      });
      parts.attribution = [...(parts.attribution ?? []), obs];
      add(entries, obs, id);
    }

    const high = prediction.vessels.filter((v) => v.stratum === 'high').map((v) => v.vessel);
    if (high.length > 0) {
      const flagId = resultIdOf(resultKey, 'flag');
      const flag: Flag = {
        resourceType: 'Flag',
        meta: aiMeta(),
        identifier: [{ system: SYSTEMS.resultId, value: flagId }],
        status: 'active',
        category: [
          { coding: [{ system: SYSTEMS.flagCategory, code: 'clinical', display: 'Clinical' }], text: 'Clinical' },
        ],
        code: {
          coding: [concept(CONCEPTS.flag)],
          text: `High ECG-AI coronary stenosis risk: ${high.join(', ')}`,
        },
        subject: fresh(subject),
        period: { start: prediction.predictedAt },
        author: fresh(deviceReference),
      };
      parts.flag = flag;
      add(entries, flag, flagId);
    }
  } else {
    const reasons = prediction.reasons.length > 0 ? prediction.reasons : ['no reason given'];
    const id = resultIdOf(resultKey, 'not-analysable');
    const obs: Observation = {
      resourceType: 'Observation',
      meta: aiMeta(),
      identifier: [{ system: SYSTEMS.resultId, value: id }],
      status: 'final',
      category: [{ coding: [concept(CONCEPTS.category)] }],
      code: { coding: [concept(CONCEPTS.assessment)], text: CONCEPTS.assessment.display },
      subject: fresh(subject),
      ...(effective ? { effectiveDateTime: effective } : {}),
      issued: prediction.predictedAt,
      dataAbsentReason: {
        coding: [
          { system: SYSTEMS.dataAbsentReason, code: 'error', display: 'Error' },
          { system: SYSTEMS.riskStratum, code: NOT_ANALYSABLE.code, display: NOT_ANALYSABLE.display },
        ],
        text: `${NOT_ANALYSABLE.display}: ${reasons.join('; ')}`,
      },
      note: [...reasons.map((r) => ({ text: `Not analysable: ${r}` })), ...fresh(notes)],
      device: fresh(deviceReference),
      derivedFrom: [fresh(ecgReference)],
    };
    parts.notAnalysable = obs;
    add(entries, obs, id);
  }

  // R4 Provenance has no identifier: its deterministic id travels as a meta.tag, and the conditional create
  // searches on _tag.
  const provenanceId = resultIdOf(resultKey, 'provenance');
  const provenance: Provenance = {
    resourceType: 'Provenance',
    meta: { tag: [{ system: SYSTEMS.resultId, code: provenanceId }] },
    target: entries.map((e) => ({ reference: e.fullUrl })),
    recorded: prediction.predictedAt,
    activity: { coding: [{ system: SYSTEMS.v3DataOperation, code: 'CREATE', display: 'create' }] },
    agent: [
      {
        type: { coding: [{ system: SYSTEMS.provenanceParticipantType, code: 'author', display: 'Author' }] },
        who: fresh(deviceReference),
      },
    ],
    entity: [
      {
        role: 'source',
        what: { identifier: fresh(ecgIdentifier), display: `source ECG instance (${ecg.format}, feed ${ecg.feed})` },
      },
      // The EHR resources the pre-test probability was computed from.
      ...(prediction.status === 'scored' && ptp ? ptpSources(ptp) : []).map((reference) => ({
        role: 'source' as const,
        what: { reference },
      })),
    ],
  };
  add(entries, provenance, provenanceId);

  const bundle: Bundle = {
    resourceType: 'Bundle',
    identifier: { system: SYSTEMS.resultId, value: uuidV5(`bundle\u0000${resultKey}`) },
    type: 'transaction',
    entry: entries,
  };
  // Handed out as built: every value that goes to several places went as a copy of its own (fresh), so no two
  // resources share an object, without a copy of the whole Bundle's some 300 objects (about 3 % of the engine's
  // main thread per ECG, docs/PERFORMANCE.md, session 22).
  if (written.size > 0) Object.defineProperty(bundle, WRITTEN_DATA, { value: written });
  return { bundle, parts: { ...parts, provenance } };
}

/** The deterministic id of one result of a Bundle (`resultKey`: ECG id, model id and version). */
function resultIdOf(resultKey: string, role: string): string {
  return uuidV5(`result\u0000${resultKey}\u0000${role}`);
}

/** Adds a conditional-create entry for `resource` under `urn:uuid:<uuid>`; returns that full URL. */
function add(entries: BundleEntry[], resource: Resource, uuid: string): string {
  const fullUrl = `urn:uuid:${uuid}`;
  entries.push({
    fullUrl,
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: conditionalCreateQuery(resource) },
  });
  return fullUrl;
}

/** The meta of an AI-produced resource (its AIAST security label). */
function aiMeta(): Meta {
  return { security: [{ ...AIAST }] };
}

/**
 * A copy of a small value the builders put in several resources (a reference, an identifier, the model's notes),
 * for each place it goes: no two resources of a Bundle share an object, so a caller that edits one cannot silently
 * change another (bundle.test.ts walks every Bundle for that).
 */
function fresh<T>(value: T): T {
  return jsonCopy(value) as T;
}

// hasOwnProperty.call, not Object.hasOwn (used elsewhere): V8 (Node 20) keeps a for-in with it on its fast path
// (18 against 20-23 us per copy of a whole Bundle, each in a process of its own).
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A copy of a JSON value as `JSON.parse(JSON.stringify(value))` makes it (no shared objects; undefined properties
 * and functions left out, undefined and functions in arrays and non-finite numbers as null, toJSON honoured), but
 * strings are shared rather than copied: they are immutable, and the waveform's data are most of a Bundle's bytes.
 */
export function jsonCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    // JSON writes -0 as 0 and non-finite numbers as null.
    if (typeof value === 'number') return Number.isFinite(value) ? value + 0 : null;
    return value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.parse(JSON.stringify(value));
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      out[i] = item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : jsonCopy(item);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  // for-in over own keys (JSON's own enumerable ones), not Object.keys: no array of keys per object (a Bundle has
  // some 300 objects; 20 -> 16 us per Bundle, and 20 kB less garbage per ECG).
  for (const key in value) {
    if (!hasOwn.call(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    // An own `__proto__` key, as JSON.parse makes it (an assignment would set the prototype instead).
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: jsonCopy(item), enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = jsonCopy(item);
    }
  }
  return out;
}

/**
 * The `ifNoneExist` query of a resource: its first identifier, or for resources without an identifier element
 * (Provenance) the project result tag.
 */
export function conditionalCreateQuery(resource: Resource): string {
  const ids = (resource as { identifier?: Identifier[] | Identifier }).identifier;
  const first = Array.isArray(ids) ? ids[0] : ids;
  if (first) return identifierQuery(first);
  const tag = resource.meta?.tag?.find((t) => t.system === SYSTEMS.resultId);
  if (tag?.code) return `_tag=${tokenQuery({ system: tag.system, value: tag.code })}`;
  throw new Error(`builder bug: ${resource.resourceType} has neither identifier nor result tag`);
}

function buildDevice(model: ModelRef, identifier: Identifier): Device {
  const note: Annotation[] = [{ text: `Intended use: ${model.intendedUse}` }, { text: `Outcome: ${model.outcome}` }];
  if (!model.clinicalUse) {
    note.unshift({
      text: 'Demonstration only: this model is not for clinical use; its outputs carry no clinical meaning.',
    });
  }
  return {
    resourceType: 'Device',
    identifier: [identifier, { system: SYSTEMS.modelSha256, value: model.sha256 }],
    status: 'active',
    deviceName: [{ name: model.id, type: 'model-name' }],
    type: { coding: [concept(CONCEPTS.model)], text: CONCEPTS.model.display },
    version: [{ value: model.version }],
    note,
  };
}

function buildEcgObservation(
  ecg: EcgSummary,
  identifier: Identifier,
  subject: Reference<Patient>,
  effective: string | undefined,
  waveform: WaveformInput | undefined,
  written: WrittenData,
): Observation {
  const deviceName = [ecg.device.manufacturer, ecg.device.model].filter((s) => s && s.trim() !== '').join(' ');
  if (waveform && 'id' in waveform && waveform.id !== ecg.id) {
    throw new Error('builder bug: the waveform given belongs to another ECG than the prediction');
  }
  const component = waveform && 'leads' in waveform ? waveformComponents(waveform, written) : [];
  const missing =
    waveform && 'unavailable' in waveform ? [{ text: `Waveform not included: ${waveform.unavailable}` }] : [];
  return {
    resourceType: 'Observation',
    identifier: [identifier, { system: SYSTEMS.ecgSha256, value: ecg.sha256 }],
    status: 'final',
    category: [
      {
        coding: [{ system: SYSTEMS.observationCategory, code: 'procedure', display: 'Procedure' }],
      },
    ],
    code: { coding: [{ ...LOINC_12_LEAD_EKG }], text: '12 lead ECG' },
    subject,
    ...(effective ? { effectiveDateTime: effective } : {}),
    ...(deviceName ? { device: { display: deviceName } } : {}),
    note: [
      {
        text: `${ecg.leads.length} leads, ${round(ecg.durationS, 2)} s at ${round(ecg.sampleRateHz, 3)} Hz, format ${ecg.format}`,
      },
      ...missing,
    ],
    ...(component.length > 0 ? { component } : {}),
  };
}

interface VesselContext {
  identifier: Identifier;
  meta: Meta;
  subject: Reference<Patient>;
  effective: string | undefined;
  issued: string;
  device: Reference<Device>;
  ecg: Reference<Observation>;
  notes: Annotation[];
  /** The PTP x AI combined category component, when PTP is on. */
  combined?: ObservationComponent;
}

function buildVesselObservation(v: VesselPrediction, ctx: VesselContext): Observation {
  const code = CONCEPTS[v.vessel];
  const value: CodeableConcept = {
    coding: [stratumCoding(v.stratum), { ...RISK_PROBABILITY[v.stratum] }],
    text: STRATA[v.stratum].display,
  };
  return {
    resourceType: 'Observation',
    meta: ctx.meta,
    identifier: [ctx.identifier],
    status: 'final',
    category: [{ coding: [concept(CONCEPTS.category)] }],
    code: { coding: [concept(code)], text: code.display },
    subject: ctx.subject,
    ...(ctx.effective ? { effectiveDateTime: ctx.effective } : {}),
    issued: ctx.issued,
    valueCodeableConcept: value,
    component: [
      {
        code: { coding: [concept(CONCEPTS.probability)] },
        valueQuantity: { value: v.probability, unit: '1', system: SYSTEMS.ucum, code: '1' },
        ...(v.thresholds ? { referenceRange: strataRanges(v.thresholds) } : {}),
      },
      ...(ctx.combined ? [ctx.combined] : []),
    ],
    device: ctx.device,
    derivedFrom: [ctx.ecg],
    ...(ctx.notes.length > 0 ? { note: ctx.notes } : {}),
  };
}

/**
 * The model card's thresholds as one reference range per stratum on the probability component, typed by the
 * stratum code, so a viewer can draw the scale: low below ruleOut, intermediate from ruleOut to below ruleIn, high
 * from ruleIn. The text states the bound's side, which `low`/`high` alone (inclusive in FHIR) cannot.
 */
export function strataRanges(t: { ruleOut: number; ruleIn: number }): ObservationReferenceRange[] {
  const q = (value: number) => ({ value, unit: '1', system: SYSTEMS.ucum, code: '1' });
  const type = (s: Stratum) => ({ coding: [stratumCoding(s)], text: STRATA[s].display });
  return [
    { high: q(t.ruleOut), type: type('low'), text: `low: probability below ${t.ruleOut}` },
    {
      low: q(t.ruleOut),
      high: q(t.ruleIn),
      type: type('intermediate'),
      text: `intermediate: probability from ${t.ruleOut} to below ${t.ruleIn}`,
    },
    { low: q(t.ruleIn), type: type('high'), text: `high: probability ${t.ruleIn} or above` },
  ];
}

const MODEL_NAMES: Record<'esc2019' | 'esc2024' | 'cacs-cl', string> = {
  esc2019: 'ESC 2019',
  esc2024: 'ESC 2024 RF-CL',
  'cacs-cl': 'CACS-CL',
};

/** The PTP RiskAssessment (final with one prediction, or cancelled with the missing inputs) and CACS-CL. */
function buildPtpRiskAssessments(
  ptp: PtpAssessment,
  ctx: { subject: Reference<Patient>; occurrence: string; identifier: (role: string) => Identifier },
): { ptp: RiskAssessment; cacsCl?: RiskAssessment } {
  const base = (role: string, method: 'esc2019' | 'esc2024' | 'cacs-cl'): RiskAssessment => ({
    resourceType: 'RiskAssessment',
    identifier: [ctx.identifier(role)],
    status: 'final',
    method: { coding: [ptpCoding(method)], text: PTP_CONCEPTS[method].display },
    code: { coding: [concept(CONCEPTS.ptpAssessment)], text: CONCEPTS.ptpAssessment.display },
    subject: ctx.subject,
    occurrenceDateTime: ctx.occurrence,
  });
  if (ptp.status === 'not-computed') {
    const names = ptp.missing.map((m) => PTP_INPUT_NAMES[m.input]);
    return {
      ptp: {
        ...base('ptp', ptp.model),
        // R4 RiskAssessment has no data-absent reason: `cancelled` (not completed) with a note per missing input.
        status: 'cancelled',
        ...(ptp.basis.length > 0 ? { basis: ptp.basis.map((reference) => ({ reference })) } : {}),
        note: [
          { text: `Pre-test probability not computed: missing ${names.join(', ')}.` },
          ...ptp.missing.map((m) => ({ text: `Missing input: ${PTP_INPUT_NAMES[m.input]}: ${m.reason}` })),
        ],
      },
    };
  }
  const prediction = (v: PtpValueView, rationale: string): NonNullable<RiskAssessment['prediction']>[number] => ({
    outcome: { coding: [concept(CONCEPTS.obstructiveCad)], text: CONCEPTS.obstructiveCad.display },
    probabilityDecimal: round(v.percent / 100, 6),
    qualitativeRisk: {
      coding: [ptpCoding(ptpCategoryKey(v.model, v.category)), { ...RISK_PROBABILITY[v.level] }],
      text: `${MODEL_NAMES[v.model]}: ${v.category} (${round(v.percent, 1)} %)`,
    },
    rationale,
  });
  const rationale = ptpRationale(ptp);
  const main: RiskAssessment = {
    ...base('ptp', ptp.model),
    basis: ptp.basis.map((reference) => ({ reference })),
    prediction: [prediction(ptp.value, rationale)],
    ...(ptp.notes.length > 0 ? { note: ptp.notes.map((text) => ({ text })) } : {}),
  };
  if (!ptp.cacsCl) return { ptp: main };
  const cacsBasis = [...ptp.basis, ...(ptp.cacsRef ? [ptp.cacsRef] : [])];
  return {
    ptp: main,
    cacsCl: {
      ...base('ptp-cacs-cl', 'cacs-cl'),
      basis: cacsBasis.map((reference) => ({ reference })),
      prediction: [prediction(ptp.cacsCl, `${rationale}; Agatston calcium score ${ptp.inputs.cacs}`)],
    },
  };
}

/** The inputs in words, for the clinician reading the PTP. */
function ptpRationale(ptp: Extract<PtpAssessment, { status: 'computed' }>): string {
  const { inputs } = ptp;
  const present = RISK_FACTORS.filter((r) => inputs.riskFactors[r].state === 'present').map((r) => PTP_INPUT_NAMES[r]);
  const unknown = RISK_FACTORS.filter((r) => inputs.riskFactors[r].state === 'unknown').map((r) => PTP_INPUT_NAMES[r]);
  const rf =
    inputs.riskFactorCount !== undefined
      ? `risk factors ${present.length} of 5${present.length ? ` (${present.join(', ')})` : ''}${unknown.length ? `, not recorded: ${unknown.join(', ')} (cannot change the risk-factor group)` : ''}`
      : 'risk factors not used (ESC 2019)';
  return `Inputs at the ECG: age ${inputs.age}, ${inputs.sex}, symptoms ${inputs.symptoms}${inputs.dyspnoea ? ' with dyspnoea' : ''}, ${rf}`;
}

/** The combined-category component of a vessel Observation. */
function combinedComponent(ptp: PtpAssessment, vessel: VesselPrediction['vessel']): ObservationComponent {
  const code = { coding: [concept(CONCEPTS.combinedCategory)], text: CONCEPTS.combinedCategory.display };
  const category = ptp.status === 'computed' ? ptp.combined[vessel] : undefined;
  if (ptp.status === 'computed' && category) {
    return {
      code,
      valueCodeableConcept: {
        coding: [ptpCoding(`combined-${category}`), { ...RISK_PROBABILITY[category] }],
        text: `${MODEL_NAMES[ptp.matrixModel]} x ECG-AI: ${PTP_CONCEPTS[`combined-${category}`].display}`,
      },
    };
  }
  const why =
    ptp.status === 'computed'
      ? (ptp.combinedMissing ?? 'no combined category')
      : `pre-test probability not computed (missing ${ptp.missing.map((m) => PTP_INPUT_NAMES[m.input]).join(', ')})`;
  return {
    code,
    dataAbsentReason: {
      coding: [{ system: SYSTEMS.dataAbsentReason, code: 'unknown', display: 'Unknown' }],
      text: `No combined category: ${why}`,
    },
  };
}

/** The EHR resources (`Type/id`) a PTP rests on. */
function ptpSources(ptp: PtpAssessment): string[] {
  const refs = ptp.status === 'computed' ? [...ptp.basis, ...(ptp.cacsRef ? [ptp.cacsRef] : [])] : ptp.basis;
  return [...new Set(refs)];
}

function modelNotes(model: ModelRef): Annotation[] {
  if (model.clinicalUse) return [];
  return [
    {
      text: `Produced by a demonstration model (${model.id} ${model.version}) that is not for clinical use: the result carries no clinical meaning.`,
    },
  ];
}

function orderedVessels(vessels: VesselPrediction[]): VesselPrediction[] {
  return [...vessels].sort((a, b) => VESSEL_ORDER.indexOf(a.vessel) - VESSEL_ORDER.indexOf(b.vessel));
}

/** The patient reference the options ask for, or PermanentError when the ECG names no patient. */
export function patientReference(ecg: EcgSummary, options: PatientReferenceOptions): Reference<Patient> {
  const identifier = patientIdentifier(ecg, options);
  if (!identifier) {
    if (options.whenMissing === 'placeholder') {
      return {
        type: 'Patient',
        identifier: { system: SYSTEMS.unidentifiedEcgSubject, value: uuidV5(`subject\u0000${ecg.id}`) },
        display: 'Unidentified patient',
      };
    }
    throw new PermanentError(
      'the ECG carries no patient identifier: refusing to write results without a subject (set patient.whenMissing to "placeholder" to keep them)',
    );
  }
  if (options.reference === 'logical') return { type: 'Patient', identifier };
  return { reference: `Patient?identifier=${tokenQuery(identifier)}` };
}

/** The identifier (system + value) the writer references the ECG's patient by, or undefined when it has none. */
export function patientIdentifier(ecg: EcgSummary, options: PatientReferenceOptions): Identifier | undefined {
  const value = ecg.patient.identifier?.trim();
  if (!value) return undefined;
  return { system: patientSystem(ecg.patient.identifierSystem, options), value };
}

function patientSystem(issuer: string | undefined, options: PatientReferenceOptions): string {
  const fallback = options.system ?? SYSTEMS.patientId;
  const trimmed = issuer?.trim();
  if (!trimmed) return fallback;
  const mapped = options.issuerSystems?.[trimmed];
  if (mapped) return mapped;
  if (isOid(trimmed)) return `urn:oid:${trimmed}`;
  if (URI_LIKE.test(trimmed)) return trimmed;
  return fallback;
}

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/;

/**
 * A FHIR dateTime for the value, or undefined when it is missing or unreadable. A time without a zone (DICOM and
 * aECG often give local wall-clock time) gets the UTC offset that `timeZone` (IANA name; default the process's
 * zone) had at that moment, because FHIR requires a zone on every dateTime with a time.
 */
export function fhirDateTime(value: string | undefined, timeZone?: string): string | undefined {
  if (!value) return undefined;
  if (FHIR_DATE_TIME.test(value)) return value;
  const local = LOCAL_DATE_TIME.exec(value);
  if (local) {
    const wall = `${local[1]}T${local[2]}${local[3] ?? ':00'}`;
    const offset = utcOffset(wall, timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
    if (offset !== undefined) return `${wall}${offset}`;
  }
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** `+hh:mm` offset of an IANA zone at a wall-clock time, or undefined for an unknown zone. */
function utcOffset(wall: string, timeZone: string): string | undefined {
  const asUtc = Date.parse(`${wall}Z`);
  if (!Number.isFinite(asUtc)) return undefined;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  } catch {
    return undefined;
  }
  const minutesAt = (ms: number): number => {
    const name = format.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  };
  // The offset at the instant the wall time denotes; a second pass settles DST edges.
  let minutes = minutesAt(asUtc);
  minutes = minutesAt(asUtc - minutes * 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
