/**
 * Every code and system URL the writer puts into FHIR, in one place. The project's own CodeSystems are built from
 * these tables (`projectCodeSystems()`) and published under docs/fhir/, so the published JSON and the codes in the
 * resources cannot drift apart (a test compares them).
 */
import type { LeadName, Stratum, Vessel } from '@ecgcad/ecg';
import type { CodeSystem, Coding } from '@medplum/fhirtypes';

/** Base of every canonical URL the project owns. */
export const ECGCAD_FHIR_BASE = 'https://ecgcad.org/fhir';

/** Canonical URLs of external and project CodeSystems and identifier systems. */
export const SYSTEMS = {
  loinc: 'http://loinc.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  riskProbability: 'http://terminology.hl7.org/CodeSystem/risk-probability',
  flagCategory: 'http://terminology.hl7.org/CodeSystem/flag-category',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  v3ObservationValue: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  provenanceEntityRole: 'http://hl7.org/fhir/provenance-entity-role',
  v3DataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  ucum: 'http://unitsofmeasure.org',
  /** ISO/IEEE 11073-10101 (MDC) nomenclature, as HL7 names it by OID: the ECG lead codes. */
  mdc: 'urn:oid:2.16.840.1.113883.6.24',
  /** Project CodeSystem: the four vessel outcomes the model predicts. */
  vesselOutcome: `${ECGCAD_FHIR_BASE}/CodeSystem/vessel-outcome`,
  /** Project CodeSystem: risk strata and the not-analysable result. */
  riskStratum: `${ECGCAD_FHIR_BASE}/CodeSystem/risk-stratum`,
  /** Project CodeSystem: observation codes, categories, device type and flag code. */
  concept: `${ECGCAD_FHIR_BASE}/CodeSystem/ecgcad`,
  /** Project CodeSystem: pre-test probability methods, their categories and the combined (PTP x AI) categories. */
  ptp: `${ECGCAD_FHIR_BASE}/CodeSystem/ptp`,
  /** Identifier system: the model Device (`<model id>@<version>`). */
  modelId: `${ECGCAD_FHIR_BASE}/sid/model`,
  /** Identifier system: sha256 of model.onnx. */
  modelSha256: `${ECGCAD_FHIR_BASE}/sid/model-sha256`,
  /** Identifier system: results the engine produced (value = deterministic uuid). */
  resultId: `${ECGCAD_FHIR_BASE}/sid/result`,
  /** Identifier system: ECGs whose source has no UID (value = the Ecg id, e.g. `sha256:<hex>`). */
  ecgId: `${ECGCAD_FHIR_BASE}/sid/ecg`,
  /** Identifier system: sha256 of the ECG bytes as received. */
  ecgSha256: `${ECGCAD_FHIR_BASE}/sid/ecg-sha256`,
  /** Default patient identifier system when the ECG names none and the site configured none. */
  patientId: `${ECGCAD_FHIR_BASE}/sid/patient-id`,
  /** Identifier system for the placeholder subject of an ECG with no patient identifier (opt-in). */
  unidentifiedEcgSubject: `${ECGCAD_FHIR_BASE}/sid/unidentified-ecg-subject`,
  /** DICOM UIDs as FHIR spells them (value `urn:oid:<uid>`). */
  dicomUid: 'urn:dicom:uid',
  /** Any URI (used for aECG ids with a root and no extension). */
  uri: 'urn:ietf:rfc:3986',
} as const;

/** The security label that marks AI-asserted content (HL7 AI Transparency). */
export const AIAST: Coding = {
  system: SYSTEMS.v3ObservationValue,
  code: 'AIAST',
  display: 'Artificial Intelligence asserted',
};

/** ISO/IEEE 11073 MDC nomenclature, as HL7 names it for ECG leads. */
export const MDC_SYSTEM = SYSTEMS.mdc;

/** Extension on the occlusion-sensitivity Observation: time of window 0 in the ECG (valueQuantity, s). */
export const ATTRIBUTION_WINDOW_START_URL = `${ECGCAD_FHIR_BASE}/StructureDefinition/attribution-window-start`;

/** LOINC code of the ECG itself. */
export const LOINC_12_LEAD_EKG: Coding = { system: SYSTEMS.loinc, code: '34534-8', display: '12 lead EKG panel' };

/**
 * MDC code of the electric potential of each lead (ISO/IEEE 11073-10101 MDC_ECG_ELEC_POTL_*, partition 2: code =
 * 131072 + term code), as FHIR R4's own ECG example (Observation/ekg) codes its SampledData components. The ECG
 * Observation's waveform components and the attribution maps' lead components carry these.
 */
export const MDC_LEADS: Readonly<Record<LeadName, { code: string; display: string }>> = Object.freeze({
  I: { code: '131329', display: 'MDC_ECG_ELEC_POTL_I' },
  II: { code: '131330', display: 'MDC_ECG_ELEC_POTL_II' },
  III: { code: '131389', display: 'MDC_ECG_ELEC_POTL_III' },
  aVR: { code: '131390', display: 'MDC_ECG_ELEC_POTL_AVR' },
  aVL: { code: '131391', display: 'MDC_ECG_ELEC_POTL_AVL' },
  aVF: { code: '131392', display: 'MDC_ECG_ELEC_POTL_AVF' },
  V1: { code: '131331', display: 'MDC_ECG_ELEC_POTL_V1' },
  V2: { code: '131332', display: 'MDC_ECG_ELEC_POTL_V2' },
  V3: { code: '131333', display: 'MDC_ECG_ELEC_POTL_V3' },
  V4: { code: '131334', display: 'MDC_ECG_ELEC_POTL_V4' },
  V5: { code: '131335', display: 'MDC_ECG_ELEC_POTL_V5' },
  V6: { code: '131336', display: 'MDC_ECG_ELEC_POTL_V6' },
});

/** The Coding of a lead's potential (MDC_LEADS). */
export function mdcLeadCoding(lead: LeadName): Coding {
  return { system: SYSTEMS.mdc, ...MDC_LEADS[lead] };
}

const VESSEL_NAMES: Record<Vessel, string> = {
  RCA: 'right coronary artery',
  LM: 'left main coronary artery',
  LAD: 'left anterior descending artery',
  LCx: 'left circumflex artery',
};

/** Vessel outcome concepts: code = vessel name as the model card spells it. */
export const VESSEL_OUTCOMES: Record<Vessel, { code: Vessel; display: string; definition: string }> = {
  RCA: outcome('RCA'),
  LM: outcome('LM'),
  LAD: outcome('LAD'),
  LCx: outcome('LCx'),
};

function outcome(v: Vessel): { code: Vessel; display: string; definition: string } {
  return {
    code: v,
    display: `${v} severe stenosis or occlusion`,
    definition: `Severe stenosis (>= 70 %) or occlusion of the ${VESSEL_NAMES[v]} on coronary CT angiography.`,
  };
}

/** Stratum concepts plus the not-analysable result. */
export const STRATA = {
  low: { code: 'low', display: 'Low risk', definition: 'Probability below the model card rule-out threshold.' },
  intermediate: {
    code: 'intermediate',
    display: 'Intermediate risk',
    definition: 'Probability at or above the rule-out threshold and below the rule-in threshold.',
  },
  high: {
    code: 'high',
    display: 'High risk',
    definition: 'Probability at or above the model card rule-in threshold.',
  },
} as const satisfies Record<Stratum, { code: string; display: string; definition: string }>;

/** The coded result for an ECG that the quality gate refused. */
export const NOT_ANALYSABLE = {
  code: 'not-analysable',
  display: 'ECG not analysable',
  definition: 'The ECG was received but could not be analysed (quality gate); no risk score exists for it.',
} as const;

/** risk-probability code for each stratum (low -> low, intermediate -> moderate, high -> high). */
export const RISK_PROBABILITY: Record<Stratum, Coding> = {
  low: { system: SYSTEMS.riskProbability, code: 'low', display: 'Low likelihood' },
  intermediate: { system: SYSTEMS.riskProbability, code: 'moderate', display: 'Moderate likelihood' },
  high: { system: SYSTEMS.riskProbability, code: 'high', display: 'High likelihood' },
};

/** Codes of the R4 risk-probability CodeSystem (the required set for qualitativeRisk checks). */
export const RISK_PROBABILITY_CODES: readonly string[] = ['negligible', 'low', 'moderate', 'high', 'certain'];

type Concept = { code: string; display: string; definition: string };

/** Concepts of the PTP CodeSystem: methods, each method's categories, and the combined categories. */
export const PTP_CONCEPTS = {
  esc2019: {
    code: 'esc2019',
    display: 'ESC 2019 pre-test probability',
    definition: 'ESC 2019 chronic coronary syndromes guideline pre-test probability table (age, sex, symptoms).',
  },
  esc2024: {
    code: 'esc2024-rf-cl',
    display: 'ESC 2024 risk-factor-weighted clinical likelihood (RF-CL)',
    definition:
      'ESC 2024 chronic coronary syndromes guideline RF-CL (Winther et al. 2020 logistic model; age, sex, symptoms, risk factors).',
  },
  'cacs-cl': {
    code: 'esc2024-cacs-cl',
    display: 'Coronary calcium score weighted clinical likelihood (CACS-CL)',
    definition: 'RF-CL refined by the Agatston coronary artery calcium score (Winther et al. 2020).',
  },
  'esc2019-low': { code: 'esc2019-low', display: 'ESC 2019 low (<= 5 %)', definition: 'ESC 2019 PTP of 5 % or less.' },
  'esc2019-intermediate': {
    code: 'esc2019-intermediate',
    display: 'ESC 2019 intermediate (6-15 %)',
    definition: 'ESC 2019 PTP of 6 to 15 %.',
  },
  'esc2019-high': { code: 'esc2019-high', display: 'ESC 2019 high (> 15 %)', definition: 'ESC 2019 PTP above 15 %.' },
  'esc2024-very low': {
    code: 'esc2024-very-low',
    display: 'ESC 2024 very low (<= 5 %)',
    definition: 'ESC 2024 clinical likelihood of 5 % or less.',
  },
  'esc2024-low': {
    code: 'esc2024-low',
    display: 'ESC 2024 low (> 5-15 %)',
    definition: 'ESC 2024 clinical likelihood above 5 % and up to 15 %.',
  },
  'esc2024-moderate': {
    code: 'esc2024-moderate',
    display: 'ESC 2024 moderate (> 15 %)',
    definition:
      'ESC 2024 clinical likelihood above 15 % (higher classes need clinical modifiers the engine does not read).',
  },
  'combined-low': {
    code: 'combined-low',
    display: 'Combined low: rule-out',
    definition: 'PTP x ECG-AI combined category low: no further testing for obstructive CAD.',
  },
  'combined-intermediate': {
    code: 'combined-intermediate',
    display: 'Combined intermediate: non-invasive testing',
    definition:
      'PTP x ECG-AI combined category intermediate: grey zone, non-invasive testing (CCTA or functional imaging).',
  },
  'combined-high': {
    code: 'combined-high',
    display: 'Combined high: testing with priority',
    definition: 'PTP x ECG-AI combined category high: testing with priority, or referral.',
  },
} satisfies Record<string, Concept>;

export type PtpConceptKey = keyof typeof PTP_CONCEPTS;

/** Coding of a PTP concept. */
export function ptpCoding(key: PtpConceptKey): Coding {
  const c = PTP_CONCEPTS[key];
  return { system: SYSTEMS.ptp, code: c.code, display: c.display };
}

/** The PTP concept key of a model's category (`esc2019` + `low` -> `esc2019-low`; CACS-CL uses ESC 2024's). */
export function ptpCategoryKey(model: 'esc2019' | 'esc2024' | 'cacs-cl', category: string): PtpConceptKey {
  const key = `${model === 'esc2019' ? 'esc2019' : 'esc2024'}-${category}`;
  if (!(key in PTP_CONCEPTS)) throw new Error(`no PTP concept for ${model} category ${category}`);
  return key as PtpConceptKey;
}

/** Project concepts: result category, assessment code, per-vessel stratum observation codes, device type, flag. */
export const CONCEPTS = {
  category: {
    code: 'ecg-cad-risk',
    display: 'ECG-AI coronary stenosis risk',
    definition: 'Category of every result the engine writes; worklists filter on it.',
  },
  assessment: {
    code: 'ecg-cad-assessment',
    display: 'ECG-AI coronary stenosis risk assessment',
    definition: 'Per-vessel risk of severe coronary stenosis estimated from a resting 12-lead ECG by an AI model.',
  },
  model: {
    code: 'ecg-cad-model',
    display: 'ECG-AI coronary stenosis risk model',
    definition: 'Software model that estimates per-vessel coronary stenosis risk from a resting 12-lead ECG.',
  },
  flag: {
    code: 'ecg-cad-high-risk',
    display: 'High ECG-AI coronary stenosis risk',
    definition: 'At least one vessel is in the high stratum: review the patient.',
  },
  probability: {
    code: 'probability',
    display: 'Model probability',
    definition: 'The model output probability in [0, 1].',
  },
  ptpAssessment: {
    code: 'ptp-assessment',
    display: 'Pre-test probability of obstructive coronary artery disease',
    definition:
      'Guideline (ESC) pre-test probability of obstructive coronary artery disease, computed by the engine from EHR data at the time of the ECG.',
  },
  obstructiveCad: {
    code: 'obstructive-cad',
    display: 'Obstructive coronary artery disease',
    definition: 'Obstructive coronary artery disease, the outcome of the ESC pre-test probability models.',
  },
  occlusionSensitivity: {
    code: 'occlusion-sensitivity',
    display: 'ECG occlusion-sensitivity map',
    definition:
      'Per lead and time window of the ECG, how much the model probability of one vessel fell when that window of that lead was replaced by the lead baseline: the sensitivity of the model, not a causal explanation.',
  },
  combinedCategory: {
    code: 'ptp-ai-combined-category',
    display: 'Pre-test probability and ECG-AI combined category',
    definition:
      'The category of a vessel from the site reclassification matrix: guideline pre-test probability level x ECG-AI stratum.',
  },
  RCA: stratumObservation('RCA'),
  LM: stratumObservation('LM'),
  LAD: stratumObservation('LAD'),
  LCx: stratumObservation('LCx'),
} satisfies Record<string, Concept>;

function stratumObservation(v: Vessel): Concept {
  return {
    code: `${v}-risk-stratum`,
    display: `${v} stenosis risk stratum (ECG-AI)`,
    definition: `Risk stratum (low, intermediate, high) of severe stenosis or occlusion of the ${VESSEL_NAMES[v]}.`,
  };
}

/** A Coding of a project concept. */
export function concept(c: Concept): Coding {
  return { system: SYSTEMS.concept, code: c.code, display: c.display };
}

/** Coding of the stratum in the project CodeSystem. */
export function stratumCoding(s: Stratum): Coding {
  return { system: SYSTEMS.riskStratum, code: STRATA[s].code, display: STRATA[s].display };
}

/** Coding of a vessel outcome. */
export function vesselOutcomeCoding(v: Vessel): Coding {
  return { system: SYSTEMS.vesselOutcome, code: v, display: VESSEL_OUTCOMES[v].display };
}

function codeSystem(id: string, url: string, title: string, description: string, concepts: Concept[]): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id,
    url,
    version: '1.0.0',
    name: title
      .split(/[^A-Za-z0-9]+/)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(''),
    title,
    status: 'active',
    experimental: false,
    publisher: 'ecgcad project',
    description,
    caseSensitive: true,
    content: 'complete',
    count: concepts.length,
    concept: concepts.map((c) => ({ code: c.code, display: c.display, definition: c.definition })),
  };
}

/** The project's CodeSystems as published in docs/fhir/CodeSystem-<id>.json. */
export function projectCodeSystems(): CodeSystem[] {
  return [
    codeSystem(
      'vessel-outcome',
      SYSTEMS.vesselOutcome,
      'ecgcad vessel outcome',
      'Outcomes the ecgcad model predicts: severe stenosis (>= 70 %) or occlusion per coronary vessel on CCTA.',
      Object.values(VESSEL_OUTCOMES),
    ),
    codeSystem(
      'risk-stratum',
      SYSTEMS.riskStratum,
      'ecgcad risk stratum',
      'Per-vessel risk strata from the model card thresholds, and the result for an ECG that cannot be analysed.',
      [...Object.values(STRATA), NOT_ANALYSABLE],
    ),
    codeSystem(
      'ecgcad',
      SYSTEMS.concept,
      'ecgcad concepts',
      'Observation codes, categories, device type and flag code used by the ecgcad FHIR writer.',
      Object.values(CONCEPTS),
    ),
    codeSystem(
      'ptp',
      SYSTEMS.ptp,
      'ecgcad pre-test probability',
      'Pre-test probability methods (ESC 2019, ESC 2024 RF-CL, CACS-CL), their categories, and the categories of the site reclassification matrix (PTP x ECG-AI).',
      Object.values(PTP_CONCEPTS),
    ),
  ];
}
