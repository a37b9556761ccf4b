/**
 * Pure mapping from the EHR's resources to the inputs of the ESC pre-test probability (PTP) models: age at the
 * ECG, sex, symptom type, the five ESC 2024 risk factors and an optional coronary calcium score. No I/O: the
 * reader (ptp-reader.ts) fetches the resources, this module decides what they say.
 *
 * The rule throughout: an input the EHR does not establish is MISSING, never guessed. A missing input means no
 * PTP, and the outcome names each missing input with the reason (never a patient value).
 */
import type { SymptomType } from '@ecgcad/clinical';
import type {
  CodeableConcept,
  Coding,
  Condition,
  Encounter,
  FamilyMemberHistory,
  Observation,
  Patient,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';

/** The five ESC 2024 risk factors. */
export const RISK_FACTORS = ['family-history', 'smoking', 'dyslipidaemia', 'hypertension', 'diabetes'] as const;
export type RiskFactor = (typeof RISK_FACTORS)[number];

/** Where the symptom type comes from. */
export type SymptomSource = 'service-request' | 'encounter' | 'observation';

/**
 * Codes are written `system|code`. A code ending in `*` matches every code that starts with it (for ICD-10
 * families: `http://hl7.org/fhir/sid/icd-10|E11*` matches E11, E11.9, E119); dots are ignored when comparing,
 * so `E78.0*` matches `E780` too. SNOMED CT descendants are not expanded (no terminology server): list them.
 */
export type CodeList = readonly string[];

/** What the PTP input reader looks for, and how it decides. Every field has a default (DEFAULT_PTP_INPUT_OPTIONS). */
export interface PtpInputOptions {
  /** Condition codes of three risk factors. */
  conditions: { hypertension: CodeList; diabetes: CodeList; dyslipidaemia: CodeList };
  /**
   * When true, the problem list is authoritative: a risk-factor condition that is not recorded is ABSENT. When
   * false (default), it is absent only when a Condition with that code is `refuted`, else unknown (missing).
   */
  problemListAuthoritative: boolean;
  smoking: {
    /** Observation codes of smoking status. Default LOINC 72166-2 (Tobacco smoking status). */
    codes: CodeList;
    /** Answer codes (valueCodeableConcept) meaning a current smoker. */
    current: CodeList;
    /** Answer codes meaning a former smoker. */
    past: CodeList;
    /** Answer codes meaning never smoked. */
    never: CodeList;
  };
  familyHistory: {
    /** FamilyMemberHistory.condition codes that count as CAD (CAD, MI, ischaemic heart disease). */
    conditions: CodeList;
    /** Onset age (years) below which a male relative's CAD is premature. Default 55. */
    maleOnsetBelow: number;
    /** Onset age (years) below which a female relative's CAD is premature. Default 65. */
    femaleOnsetBelow: number;
    /**
     * A first-degree relative with CAD whose onset age (or sex, where it matters) is not recorded: `missing`
     * (default: the risk factor is unknown), `count` (counted as premature), `ignore` (not counted).
     */
    unknownOnset: 'missing' | 'count' | 'ignore';
    /** When true, no recorded premature CAD in a first-degree relative means ABSENT; default false (unknown). */
    authoritative: boolean;
  };
  calcium: {
    /** Observation codes of an Agatston coronary artery calcium score. */
    codes: CodeList;
    /** Only scores measured at most this many days before the ECG count. Default 1825 (5 years). */
    lookbackDays: number;
  };
  symptoms: {
    source: SymptomSource;
    /** Code -> symptom type. Applied to reasonCode (ServiceRequest, Encounter) or to Observation code / value. */
    mapping: Readonly<Record<SymptomType, CodeList>>;
    /** With `observation`: codes of Observations whose valueCodeableConcept holds the symptom (besides mapped codes). */
    observationCodes: CodeList;
    /** With `service-request`: only requests with one of these codes (empty: any request). */
    serviceRequestCodes: CodeList;
    /** The symptom record must lie within this many days before the ECG. Default 30. */
    lookbackDays: number;
    /** ...or at most this many hours after it (documented during the same visit). Default 24. */
    afterEcgHours: number;
  };
}

const SCT = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const LOINC = 'http://loinc.org';
const both = (codes: string[]): string[] => codes.flatMap((c) => [`${ICD10}|${c}`, `${ICD10CM}|${c}`]);

/**
 * Defaults. SNOMED CT and ICD-10 (WHO and CM) codes; chest-pain codes from DICOM CID 3202 "Chest Pain"
 * (429559004 typical angina, 233819005 stable angina, 371807002 atypical angina, 274668005 non-cardiac chest
 * pain, 161971004 chest pain not present); smoking answers from the LOINC 72166-2 answer list used by US Core;
 * calcium score SNOMED CT 450360000 "Coronary artery calcium score" (DICOM CID 6142) and 450734004 (HL7 Lithuania
 * CVD IG). No LOINC code for the Agatston score could be verified for this release: sites add theirs.
 */
export const DEFAULT_PTP_INPUT_OPTIONS: PtpInputOptions = {
  conditions: {
    hypertension: [`${SCT}|38341003`, `${SCT}|59621000`, ...both(['I10*', 'I11*', 'I12*', 'I13*', 'I15*'])],
    diabetes: [`${SCT}|73211009`, `${SCT}|44054006`, `${SCT}|46635009`, ...both(['E10*', 'E11*', 'E13*', 'E14*'])],
    dyslipidaemia: [
      `${SCT}|370992007`,
      `${SCT}|55822004`,
      `${SCT}|13644009`,
      ...both(['E78.0*', 'E78.1*', 'E78.2*', 'E78.3*', 'E78.4*', 'E78.5*']),
    ],
  },
  problemListAuthoritative: false,
  smoking: {
    codes: [`${LOINC}|72166-2`],
    current: [
      `${SCT}|449868002`,
      `${SCT}|428041000124106`,
      `${SCT}|77176002`,
      `${SCT}|428071000124103`,
      `${SCT}|428061000124105`,
    ],
    past: [`${SCT}|8517006`],
    never: [`${SCT}|266919005`],
  },
  familyHistory: {
    conditions: [`${SCT}|53741008`, `${SCT}|22298006`, `${SCT}|414545008`, ...both(['I20*', 'I21*', 'I22*', 'I25*'])],
    maleOnsetBelow: 55,
    femaleOnsetBelow: 65,
    unknownOnset: 'missing',
    authoritative: false,
  },
  calcium: { codes: [`${SCT}|450360000`, `${SCT}|450734004`], lookbackDays: 1825 },
  symptoms: {
    source: 'service-request',
    mapping: {
      typical: [`${SCT}|429559004`, `${SCT}|233819005`],
      atypical: [`${SCT}|371807002`],
      'non-anginal': [`${SCT}|274668005`],
      dyspnoea: [`${SCT}|267036007`],
      none: [`${SCT}|161971004`, `${SCT}|84387000`],
    },
    observationCodes: [],
    serviceRequestCodes: [],
    lookbackDays: 30,
    afterEcgHours: 24,
  },
};

/** The resources the reader found for one patient (all of them, unfiltered). */
export interface PtpSources {
  patient?: Patient;
  conditions: Condition[];
  /** Observations of the smoking, calcium and (source `observation`) symptom codes. */
  observations: Observation[];
  familyHistory: FamilyMemberHistory[];
  serviceRequests: ServiceRequest[];
  encounters: Encounter[];
}

/** An input the EHR did not establish, and why (no patient values). */
export interface MissingInput {
  /** `risk-factors` and `cacs` appear only when the model refuses the value (it never happens with read data). */
  input: 'patient' | 'ecg-time' | 'age' | 'sex' | 'symptoms' | RiskFactor | 'risk-factors' | 'cacs';
  reason: string;
}

/** The state of one risk factor, with the resources that established it. */
export interface RiskFactorState {
  state: 'present' | 'absent' | 'unknown';
  /** `Type/id` of the resources it rests on. */
  basis: string[];
  /** Why it is unknown. */
  reason?: string;
}

/** What the EHR says, input by input. */
export interface DerivedPtpInputs {
  /** Completed years at the ECG's local date. */
  age?: number;
  sex?: 'male' | 'female';
  symptoms?: SymptomType;
  /** Dyspnoea recorded beside the chest-pain type in `symptoms`. */
  dyspnoea?: boolean;
  riskFactors: Record<RiskFactor, RiskFactorState>;
  /** Agatston score, when a recent one exists. */
  cacs?: number;
  /** `Type/id` of the Patient, the symptom record and the calcium Observation. */
  patientRef?: string;
  symptomRef?: string;
  cacsRef?: string;
  missing: MissingInput[];
}

/** The local calendar date of an ECG acquisition time (`YYYY-MM-DD`), as written (its own zone or none). */
export function ecgLocalDate(acquiredAt: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(acquiredAt ?? '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/**
 * Completed years between a FHIR birthDate and a local date `YYYY-MM-DD`, or undefined when the birth date is
 * partial (year or year-month only: the age could be either of two values) or after the date. A 29 February
 * birthday is reached on 1 March in common years.
 */
export function ageAtDate(birthDate: string | undefined, onDate: string): number | undefined {
  const b = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate ?? '');
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(onDate);
  if (!b || !d) return undefined;
  const [by, bm, bd] = [Number(b[1]), Number(b[2]), Number(b[3])];
  const [dy, dm, dd] = [Number(d[1]), Number(d[2]), Number(d[3])];
  let age = dy - by;
  if (dm < bm || (dm === bm && dd < bd)) age--;
  return age >= 0 ? age : undefined;
}

const normaliseCode = (code: string): string => code.replace(/\./g, '').toUpperCase();

/** True when the coding matches an entry of the list (`system|code`, `system|prefix*`). */
export function codingMatches(coding: Coding, list: CodeList): boolean {
  if (!coding.system || !coding.code) return false;
  const code = normaliseCode(coding.code);
  return list.some((entry) => {
    const bar = entry.lastIndexOf('|');
    if (bar < 0 || entry.slice(0, bar) !== coding.system) return false;
    const want = entry.slice(bar + 1);
    return want.endsWith('*') ? code.startsWith(normaliseCode(want.slice(0, -1))) : code === normaliseCode(want);
  });
}

/** True when any coding of the concept matches the list. */
export function conceptMatches(concept: CodeableConcept | undefined, list: CodeList): boolean {
  return !!concept?.coding?.some((c) => codingMatches(c, list));
}

/** `Type/id` of a resource read from the EHR. */
export function refOf(resource: Resource): string | undefined {
  return resource.id ? `${resource.resourceType}/${resource.id}` : undefined;
}

const codeOf = (cc: CodeableConcept | undefined, system: string): string | undefined =>
  cc?.coding?.find((c) => c.system === system)?.code;

const CLINICAL_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const VERIFICATION_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';

/** Milliseconds of a FHIR date or dateTime (a date alone is its start, UTC), or undefined. */
export function instantOf(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const full = /^\d{4}$/.test(value) ? `${value}-01-01` : /^\d{4}-\d{2}$/.test(value) ? `${value}-01` : value;
  const ms = Date.parse(full);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Whether a Condition asserts the risk factor at the ECG time:
 * - `refuted`: an explicit statement that the patient does not have it;
 * - `present`: clinicalStatus active / recurrence / relapse (or none recorded: an encounter diagnosis), verification
 *   confirmed or none, onset (onsetDateTime, onsetPeriod.start, else recordedDate) not after the ECG, not abated
 *   on or before the ECG;
 * - `ignored`: anything else (inactive, resolved, in remission, provisional, differential, unconfirmed,
 *   entered-in-error, onset after the ECG).
 */
export function conditionAssertion(condition: Condition, ecgMs: number): 'present' | 'refuted' | 'ignored' {
  const verification = codeOf(condition.verificationStatus, VERIFICATION_STATUS);
  if (verification === 'refuted') return 'refuted';
  if (verification !== undefined && verification !== 'confirmed') return 'ignored';
  const clinical = codeOf(condition.clinicalStatus, CLINICAL_STATUS);
  if (clinical !== undefined && !['active', 'recurrence', 'relapse'].includes(clinical)) return 'ignored';
  const onset =
    instantOf(condition.onsetDateTime) ?? instantOf(condition.onsetPeriod?.start) ?? instantOf(condition.recordedDate);
  if (onset !== undefined && onset > ecgMs) return 'ignored';
  const abated = instantOf(condition.abatementDateTime) ?? instantOf(condition.abatementPeriod?.start);
  if (abated !== undefined && abated <= ecgMs) return 'ignored';
  return 'present';
}

/** A condition-based risk factor from the patient's Conditions. */
export function conditionRiskFactor(
  conditions: Condition[],
  codes: CodeList,
  ecgMs: number,
  authoritative: boolean,
): RiskFactorState {
  const matching = conditions.filter((c) => conceptMatches(c.code, codes));
  const present = matching.filter((c) => conditionAssertion(c, ecgMs) === 'present');
  if (present.length > 0) return { state: 'present', basis: refs(present) };
  const refuted = matching.filter((c) => conditionAssertion(c, ecgMs) === 'refuted');
  if (refuted.length > 0) return { state: 'absent', basis: refs(refuted) };
  if (authoritative) return { state: 'absent', basis: [] };
  return {
    state: 'unknown',
    basis: [],
    reason: 'no Condition records it as present or refuted, and the problem list is not configured as authoritative',
  };
}

const FINAL_OBSERVATION = new Set(['final', 'amended', 'corrected']);

/** Observations usable at the ECG time: final / amended / corrected, effective not after `latestMs`. */
function usableObservations(observations: Observation[], codes: CodeList, latestMs: number): Observation[] {
  return observations.filter(
    (o) => FINAL_OBSERVATION.has(o.status) && conceptMatches(o.code, codes) && (effectiveMs(o) ?? Infinity) <= latestMs,
  );
}

function effectiveMs(o: Observation): number | undefined {
  return instantOf(o.effectiveDateTime) ?? instantOf(o.effectivePeriod?.start) ?? instantOf(o.issued);
}

/**
 * Smoking (current or past counts) from smoking-status Observations on or before the ECG: present when any says
 * current or former smoker (a former smoker stays one), absent when the latest coded answer says never and none
 * says otherwise, unknown when there is none or every answer is uncoded / unknown.
 */
export function smokingRiskFactor(
  observations: Observation[],
  options: PtpInputOptions['smoking'],
  ecgMs: number,
): RiskFactorState {
  const usable = usableObservations(observations, options.codes, ecgMs).sort(
    (a, b) => (effectiveMs(b) ?? 0) - (effectiveMs(a) ?? 0),
  );
  const ever = usable.filter(
    (o) =>
      conceptMatches(o.valueCodeableConcept, options.current) || conceptMatches(o.valueCodeableConcept, options.past),
  );
  if (ever.length > 0) return { state: 'present', basis: refs(ever) };
  const never = usable.find((o) => conceptMatches(o.valueCodeableConcept, options.never));
  if (never) return { state: 'absent', basis: refs([never]) };
  return {
    state: 'unknown',
    basis: [],
    reason:
      usable.length === 0
        ? 'no smoking status Observation on or before the ECG'
        : 'smoking status recorded only with codes that are not current, former or never smoker',
  };
}

const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const MALE_FIRST_DEGREE = new Set(['FTH', 'NFTH', 'BRO', 'NBRO', 'TWINBRO', 'FTWINBRO', 'ITWINBRO', 'SON', 'SONC']);
const FEMALE_FIRST_DEGREE = new Set(['MTH', 'NMTH', 'SIS', 'NSIS', 'TWINSIS', 'FTWINSIS', 'ITWINSIS', 'DAU', 'DAUC']);
const ANY_FIRST_DEGREE = new Set(['PRN', 'NPRN', 'SIB', 'NSIB', 'TWIN', 'FTWIN', 'ITWIN', 'CHILD', 'NCHILD']);

/** Onset age in years of a FamilyMemberHistory condition, as a [low, high] interval; undefined when unrecorded. */
function onsetYears(onset: {
  onsetAge?: { value?: number; code?: string; unit?: string };
  onsetRange?: { low?: { value?: number }; high?: { value?: number } };
}): [number, number] | undefined {
  const age = onset.onsetAge;
  if (age?.value !== undefined) {
    const unit = age.code ?? age.unit ?? 'a';
    const factor = unit === 'mo' ? 1 / 12 : unit === 'wk' ? 1 / 52 : unit === 'd' ? 1 / 365 : 1;
    return [age.value * factor, age.value * factor];
  }
  const low = onset.onsetRange?.low?.value;
  const high = onset.onsetRange?.high?.value;
  if (low !== undefined || high !== undefined) return [low ?? 0, high ?? Infinity];
  return undefined;
}

/**
 * Family history of premature CAD: a FIRST-DEGREE relative (parent, sibling, child: v3-RoleCode) with a CAD
 * condition whose onset age is below 55 (male relative) or 65 (female relative). Relatives' sex comes from
 * FamilyMemberHistory.sex, else from the relationship code. Records with status entered-in-error or
 * health-unknown are skipped. An onset age that is not recorded (or a relative of unknown sex with an onset
 * between the two limits) follows `unknownOnset`.
 */
export function familyHistoryRiskFactor(
  histories: FamilyMemberHistory[],
  options: PtpInputOptions['familyHistory'],
): RiskFactorState {
  const premature: FamilyMemberHistory[] = [];
  const undecided: FamilyMemberHistory[] = [];
  for (const h of histories) {
    if (h.status === 'entered-in-error' || h.status === 'health-unknown') continue;
    const role = h.relationship?.coding?.find((c) => c.system === ROLE_CODE)?.code ?? '';
    if (!MALE_FIRST_DEGREE.has(role) && !FEMALE_FIRST_DEGREE.has(role) && !ANY_FIRST_DEGREE.has(role)) continue;
    const sexCode = codeOf(h.sex, 'http://hl7.org/fhir/administrative-gender');
    const sex =
      sexCode === 'male' || sexCode === 'female'
        ? sexCode
        : MALE_FIRST_DEGREE.has(role)
          ? 'male'
          : FEMALE_FIRST_DEGREE.has(role)
            ? 'female'
            : undefined;
    for (const condition of h.condition ?? []) {
      if (!conceptMatches(condition.code, options.conditions)) continue;
      const onset = onsetYears(condition);
      const limitLow = sex === 'female' ? options.femaleOnsetBelow : options.maleOnsetBelow;
      const limitHigh = sex === 'male' ? options.maleOnsetBelow : options.femaleOnsetBelow;
      // With the sex unknown, premature only when below both limits; not premature only when at or above both.
      const lo = Math.min(limitLow, limitHigh);
      const hi = Math.max(limitLow, limitHigh);
      if (onset === undefined) undecided.push(h);
      else if (onset[1] < lo) premature.push(h);
      else if (onset[0] >= hi) continue;
      else undecided.push(h);
    }
  }
  if (premature.length > 0) return { state: 'present', basis: refs(unique(premature)) };
  if (undecided.length > 0) {
    if (options.unknownOnset === 'count') return { state: 'present', basis: refs(unique(undecided)) };
    if (options.unknownOnset === 'missing') {
      return {
        state: 'unknown',
        basis: refs(unique(undecided)),
        reason: 'a first-degree relative has CAD but the onset age (or the relative’s sex) is not recorded',
      };
    }
  }
  if (options.authoritative) return { state: 'absent', basis: [] };
  return {
    state: 'unknown',
    basis: [],
    reason:
      'no premature CAD recorded in a first-degree relative, and family history is not configured as authoritative',
  };
}

/** The most recent Agatston score measured within the look-back before the ECG, or undefined. */
export function calciumScore(
  observations: Observation[],
  options: PtpInputOptions['calcium'],
  ecgMs: number,
): { cacs: number; ref?: string } | undefined {
  const earliest = ecgMs - options.lookbackDays * 86_400_000;
  const usable = usableObservations(observations, options.codes, ecgMs)
    .filter((o) => (effectiveMs(o) ?? -Infinity) >= earliest)
    .filter((o) => typeof o.valueQuantity?.value === 'number' && o.valueQuantity.value >= 0)
    .sort((a, b) => (effectiveMs(b) ?? 0) - (effectiveMs(a) ?? 0));
  const latest = usable[0];
  if (!latest) return undefined;
  const ref = refOf(latest);
  return { cacs: latest.valueQuantity?.value as number, ...(ref ? { ref } : {}) };
}

/**
 * Precedence when one record carries several symptom codes: chest-pain type before dyspnoea, as the ESC tables
 * (dyspnoea beside chest pain is reported separately, see symptomType).
 */
const SYMPTOM_PRECEDENCE: readonly SymptomType[] = ['typical', 'atypical', 'non-anginal', 'dyspnoea', 'none'];

/** The symptom type a set of concepts maps to (highest precedence), or undefined. */
export function mapSymptom(
  concepts: (CodeableConcept | undefined)[],
  mapping: PtpInputOptions['symptoms']['mapping'],
): SymptomType | undefined {
  return SYMPTOM_PRECEDENCE.find((s) => concepts.some((c) => conceptMatches(c, mapping[s] ?? [])));
}

/**
 * The symptom type from the configured source: the most recent record within [ECG - lookbackDays,
 * ECG + afterEcgHours] whose codes map to a symptom type, and whether it also records dyspnoea beside a
 * chest-pain type.
 * - `service-request`: ServiceRequest.reasonCode (status active or completed; authoredOn in the window);
 * - `encounter`: Encounter.reasonCode (not cancelled / entered-in-error; period.start in the window);
 * - `observation`: an Observation whose code maps, or whose code is one of `observationCodes` and whose
 *   valueCodeableConcept maps (final / amended / corrected; effective in the window).
 */
export function symptomType(
  sources: PtpSources,
  options: PtpInputOptions['symptoms'],
  ecgMs: number,
): { symptoms: SymptomType; dyspnoea: boolean; ref?: string } | undefined {
  const from = ecgMs - options.lookbackDays * 86_400_000;
  const to = ecgMs + options.afterEcgHours * 3_600_000;
  const inWindow = (ms: number | undefined): boolean => ms !== undefined && ms >= from && ms <= to;
  const candidates: { ms: number; symptoms: SymptomType; dyspnoea: boolean; resource: Resource }[] = [];
  const consider = (resource: Resource, ms: number | undefined, concepts: (CodeableConcept | undefined)[]): void => {
    if (!inWindow(ms)) return;
    const symptoms = mapSymptom(concepts, options.mapping);
    // Dyspnoea beside a chest-pain type: ESC 2024 scores it (the higher of the two scores).
    const dyspnoea =
      symptoms !== undefined &&
      symptoms !== 'dyspnoea' &&
      concepts.some((c) => conceptMatches(c, options.mapping.dyspnoea ?? []));
    if (symptoms) candidates.push({ ms: ms as number, symptoms, dyspnoea, resource });
  };
  if (options.source === 'service-request') {
    for (const r of sources.serviceRequests) {
      if (r.status !== 'active' && r.status !== 'completed') continue;
      if (options.serviceRequestCodes.length > 0 && !conceptMatches(r.code, options.serviceRequestCodes)) continue;
      consider(r, instantOf(r.authoredOn), r.reasonCode ?? []);
    }
  } else if (options.source === 'encounter') {
    for (const e of sources.encounters) {
      if (e.status === 'cancelled' || e.status === 'entered-in-error') continue;
      consider(e, instantOf(e.period?.start), e.reasonCode ?? []);
    }
  } else {
    for (const o of sources.observations) {
      if (!FINAL_OBSERVATION.has(o.status)) continue;
      const byValue = conceptMatches(o.code, options.observationCodes);
      consider(o, effectiveMs(o), byValue ? [o.valueCodeableConcept] : [o.code]);
    }
  }
  candidates.sort((a, b) => b.ms - a.ms);
  const best = candidates[0];
  if (!best) return undefined;
  const ref = refOf(best.resource);
  return { symptoms: best.symptoms, dyspnoea: best.dyspnoea, ...(ref ? { ref } : {}) };
}

const SOURCE_NAMES: Record<SymptomSource, string> = {
  'service-request': 'ServiceRequest reasonCode',
  encounter: 'Encounter reasonCode',
  observation: 'symptom Observation',
};

/**
 * Every PTP input the resources establish, and each missing one with its reason. `acquiredAt` is the ECG's
 * acquisition time as a FHIR dateTime (with its zone).
 */
export function derivePtpInputs(
  sources: PtpSources,
  acquiredAt: string | undefined,
  options: PtpInputOptions,
): DerivedPtpInputs {
  const missing: MissingInput[] = [];
  const unknownAll = (reason: string): Record<RiskFactor, RiskFactorState> => {
    const out = {} as Record<RiskFactor, RiskFactorState>;
    for (const r of RISK_FACTORS) out[r] = { state: 'unknown', basis: [], reason };
    return out;
  };
  const patient = sources.patient;
  const ecgMs = instantOf(acquiredAt);
  const ecgDate = ecgLocalDate(acquiredAt);
  if (!patient) {
    missing.push({ input: 'patient', reason: 'no single Patient in the EHR matches the ECG’s patient identifier' });
    return { riskFactors: unknownAll('no patient'), missing };
  }
  const patientRef = refOf(patient);
  if (ecgMs === undefined || !ecgDate) {
    missing.push({
      input: 'ecg-time',
      reason: 'the ECG carries no acquisition time, so age and history cannot be dated',
    });
    return { riskFactors: unknownAll('no ECG time'), missing, ...(patientRef ? { patientRef } : {}) };
  }

  const out: DerivedPtpInputs = { riskFactors: unknownAll(''), missing, ...(patientRef ? { patientRef } : {}) };
  const age = ageAtDate(patient.birthDate, ecgDate);
  if (age === undefined) {
    missing.push({
      input: 'age',
      reason: patient.birthDate ? 'the birth date is incomplete (year or month only)' : 'the Patient has no birth date',
    });
  } else out.age = age;
  if (patient.gender === 'male' || patient.gender === 'female') out.sex = patient.gender;
  else missing.push({ input: 'sex', reason: 'Patient.gender is not male or female (the ESC models are sex-specific)' });

  const symptom = symptomType(sources, options.symptoms, ecgMs);
  if (symptom) {
    out.symptoms = symptom.symptoms;
    if (symptom.dyspnoea) out.dyspnoea = true;
    if (symptom.ref) out.symptomRef = symptom.ref;
  } else {
    missing.push({
      input: 'symptoms',
      reason: `no ${SOURCE_NAMES[options.symptoms.source]} with a mapped symptom code within ${options.symptoms.lookbackDays} days before the ECG`,
    });
  }

  const { conditions } = options;
  out.riskFactors = {
    'family-history': familyHistoryRiskFactor(sources.familyHistory, options.familyHistory),
    smoking: smokingRiskFactor(sources.observations, options.smoking, ecgMs),
    dyslipidaemia: conditionRiskFactor(
      sources.conditions,
      conditions.dyslipidaemia,
      ecgMs,
      options.problemListAuthoritative,
    ),
    hypertension: conditionRiskFactor(
      sources.conditions,
      conditions.hypertension,
      ecgMs,
      options.problemListAuthoritative,
    ),
    diabetes: conditionRiskFactor(sources.conditions, conditions.diabetes, ecgMs, options.problemListAuthoritative),
  };
  const calcium = calciumScore(sources.observations, options.calcium, ecgMs);
  if (calcium) {
    out.cacs = calcium.cacs;
    if (calcium.ref) out.cacsRef = calcium.ref;
  }
  return out;
}

/** The ESC 2024 risk-factor groups (0-1, 2-3, 4-5). */
export function riskFactorGroupOf(count: number): '0-1' | '2-3' | '4-5' {
  return count <= 1 ? '0-1' : count <= 3 ? '2-3' : '4-5';
}

/**
 * The risk-factor count to use, when the unknown ones cannot change the ESC 2024 group: every count from
 * `present` to `present + unknown` falls in one group. Returns the count of present factors then, else undefined.
 * (ESC 2024 RF-CL depends on the count only through its group, so this is exact, not a guess.)
 */
export function determinedRiskFactorCount(riskFactors: Record<RiskFactor, RiskFactorState>): number | undefined {
  const states = Object.values(riskFactors);
  const present = states.filter((s) => s.state === 'present').length;
  const unknown = states.filter((s) => s.state === 'unknown').length;
  return riskFactorGroupOf(present) === riskFactorGroupOf(present + unknown) ? present : undefined;
}

function refs(resources: Resource[]): string[] {
  return resources.map(refOf).filter((r): r is string => r !== undefined);
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
