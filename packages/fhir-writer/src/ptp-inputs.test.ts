import type { Condition, FamilyMemberHistory, Observation, Patient, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  ageAtDate,
  calciumScore,
  codingMatches,
  conditionAssertion,
  conditionRiskFactor,
  DEFAULT_PTP_INPUT_OPTIONS as D,
  derivePtpInputs,
  determinedRiskFactorCount,
  ecgLocalDate,
  familyHistoryRiskFactor,
  mapSymptom,
  type PtpSources,
  type RiskFactorState,
  smokingRiskFactor,
  symptomType,
} from './ptp-inputs.js';

const SCT = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const ECG = '2026-03-10T09:30:00+01:00';
const ECG_MS = Date.parse(ECG);
const cc = (system: string, code: string) => ({ coding: [{ system, code }] });

const condition = (code: string, extra: Partial<Condition> = {}, system = SCT): Condition => ({
  resourceType: 'Condition',
  id: `c-${code}`,
  subject: { reference: 'Patient/p1' },
  code: cc(system, code),
  clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active'),
  verificationStatus: cc('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'confirmed'),
  ...extra,
});

const smoking = (answer: string, when: string, id = `s-${answer}-${when}`): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: cc('http://loinc.org', '72166-2'),
  effectiveDateTime: when,
  valueCodeableConcept: cc(SCT, answer),
});

const relative = (role: string, onsetAge?: number, extra: Partial<FamilyMemberHistory> = {}): FamilyMemberHistory => ({
  resourceType: 'FamilyMemberHistory',
  id: `f-${role}-${onsetAge}`,
  status: 'completed',
  patient: { reference: 'Patient/p1' },
  relationship: cc('http://terminology.hl7.org/CodeSystem/v3-RoleCode', role),
  condition: [
    { code: cc(SCT, '22298006'), ...(onsetAge !== undefined ? { onsetAge: { value: onsetAge, code: 'a' } } : {}) },
  ],
  ...extra,
});

describe('age at the ECG', () => {
  it('counts completed years across a birthday', () => {
    expect(ageAtDate('1960-03-10', '2026-03-10')).toBe(66); // the birthday itself
    expect(ageAtDate('1960-03-11', '2026-03-10')).toBe(65); // the day before
    expect(ageAtDate('1960-03-09', '2026-03-10')).toBe(66);
    expect(ageAtDate('1960-12-31', '2026-01-01')).toBe(65);
  });
  it('reaches a 29 February birthday on 1 March in common years', () => {
    expect(ageAtDate('1964-02-29', '2026-02-28')).toBe(61);
    expect(ageAtDate('1964-02-29', '2026-03-01')).toBe(62);
    expect(ageAtDate('1964-02-29', '2028-02-29')).toBe(64);
  });
  it('refuses partial birth dates and births after the date', () => {
    expect(ageAtDate('1960', '2026-03-10')).toBeUndefined();
    expect(ageAtDate('1960-03', '2026-03-10')).toBeUndefined();
    expect(ageAtDate(undefined, '2026-03-10')).toBeUndefined();
    expect(ageAtDate('2027-01-01', '2026-03-10')).toBeUndefined();
  });
  it('uses the ECG’s local date, not the UTC one', () => {
    // 00:30 local on the birthday is still 23:30 UTC the day before: the local date decides.
    expect(ecgLocalDate('2026-03-10T00:30:00+01:00')).toBe('2026-03-10');
    expect(ageAtDate('1960-03-10', ecgLocalDate('2026-03-10T00:30:00+01:00') as string)).toBe(66);
    expect(ecgLocalDate(undefined)).toBeUndefined();
  });
});

describe('code matching', () => {
  it('matches system and code exactly, and ICD-10 families by prefix ignoring dots', () => {
    expect(codingMatches({ system: SCT, code: '38341003' }, D.conditions.hypertension)).toBe(true);
    expect(codingMatches({ system: 'http://other', code: '38341003' }, D.conditions.hypertension)).toBe(false);
    expect(codingMatches({ system: ICD10, code: 'I10' }, D.conditions.hypertension)).toBe(true);
    expect(codingMatches({ system: ICD10, code: 'E11.9' }, D.conditions.diabetes)).toBe(true);
    expect(codingMatches({ system: ICD10, code: 'E119' }, D.conditions.diabetes)).toBe(true);
    expect(codingMatches({ system: ICD10, code: 'E16.2' }, D.conditions.diabetes)).toBe(false);
    expect(codingMatches({ system: ICD10, code: 'E780' }, D.conditions.dyslipidaemia)).toBe(true);
    expect(codingMatches({ system: ICD10, code: 'E78.6' }, D.conditions.dyslipidaemia)).toBe(false);
    expect(codingMatches({ system: SCT, code: '3834100' }, D.conditions.hypertension)).toBe(false);
  });
});

describe('conditions', () => {
  it('respects clinical and verification status, onset and abatement', () => {
    expect(conditionAssertion(condition('38341003'), ECG_MS)).toBe('present');
    const status = (code: string) => ({
      clinicalStatus: cc('http://terminology.hl7.org/CodeSystem/condition-clinical', code),
    });
    const verification = (code: string) => ({
      verificationStatus: cc('http://terminology.hl7.org/CodeSystem/condition-ver-status', code),
    });
    expect(conditionAssertion(condition('38341003', status('resolved')), ECG_MS)).toBe('ignored');
    expect(conditionAssertion(condition('38341003', status('recurrence')), ECG_MS)).toBe('present');
    expect(conditionAssertion(condition('38341003', verification('provisional')), ECG_MS)).toBe('ignored');
    expect(conditionAssertion(condition('38341003', verification('entered-in-error')), ECG_MS)).toBe('ignored');
    expect(conditionAssertion(condition('38341003', verification('refuted')), ECG_MS)).toBe('refuted');
    expect(conditionAssertion(condition('38341003', { onsetDateTime: '2026-03-11' }), ECG_MS)).toBe('ignored');
    expect(conditionAssertion(condition('38341003', { onsetDateTime: '2019-05' }), ECG_MS)).toBe('present');
    expect(conditionAssertion(condition('38341003', { recordedDate: '2026-04-01' }), ECG_MS)).toBe('ignored');
    expect(conditionAssertion(condition('38341003', { abatementDateTime: '2025-01-01' }), ECG_MS)).toBe('ignored');
    const { clinicalStatus: _c, ...noStatus } = condition('38341003');
    expect(conditionAssertion(noStatus as Condition, ECG_MS)).toBe('present');
  });

  it('is absent only when refuted or the problem list is authoritative', () => {
    const none: Condition[] = [condition('73211009')];
    expect(conditionRiskFactor(none, D.conditions.hypertension, ECG_MS, false).state).toBe('unknown');
    expect(conditionRiskFactor(none, D.conditions.hypertension, ECG_MS, true)).toEqual({ state: 'absent', basis: [] });
    const refuted = [
      condition('38341003', {
        verificationStatus: cc('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'refuted'),
      }),
    ];
    expect(conditionRiskFactor(refuted, D.conditions.hypertension, ECG_MS, false)).toEqual({
      state: 'absent',
      basis: ['Condition/c-38341003'],
    });
    expect(conditionRiskFactor([condition('I11.9', {}, ICD10)], D.conditions.hypertension, ECG_MS, false)).toEqual({
      state: 'present',
      basis: ['Condition/c-I11.9'],
    });
  });
});

describe('smoking', () => {
  it('counts current or past smoking before the ECG; never = absent; nothing or unknown codes = unknown', () => {
    expect(smokingRiskFactor([smoking('449868002', '2025-01-01')], D.smoking, ECG_MS).state).toBe('present');
    expect(smokingRiskFactor([smoking('8517006', '2025-01-01')], D.smoking, ECG_MS).state).toBe('present');
    expect(smokingRiskFactor([smoking('266919005', '2025-01-01')], D.smoking, ECG_MS).state).toBe('absent');
    // A former smoker stays one even when a later record says never.
    const both = [smoking('8517006', '2020-01-01'), smoking('266919005', '2025-01-01')];
    expect(smokingRiskFactor(both, D.smoking, ECG_MS).state).toBe('present');
    // Records after the ECG do not count.
    expect(smokingRiskFactor([smoking('449868002', '2026-03-11')], D.smoking, ECG_MS).state).toBe('unknown');
    const unknown = smokingRiskFactor([smoking('266927001', '2025-01-01')], D.smoking, ECG_MS);
    expect(unknown.state).toBe('unknown');
    expect(unknown.reason).toMatch(/not current, former or never/);
    expect(smokingRiskFactor([], D.smoking, ECG_MS).reason).toMatch(/no smoking status/);
    const prelim = { ...smoking('449868002', '2025-01-01'), status: 'preliminary' as const };
    expect(smokingRiskFactor([prelim], D.smoking, ECG_MS).state).toBe('unknown');
  });
});

describe('family history of premature CAD', () => {
  const fh = { ...D.familyHistory };
  it('counts a first-degree relative below 55 (male) or 65 (female)', () => {
    expect(familyHistoryRiskFactor([relative('FTH', 50)], fh).state).toBe('present');
    expect(familyHistoryRiskFactor([relative('FTH', 55)], fh).state).toBe('unknown');
    expect(familyHistoryRiskFactor([relative('FTH', 55)], { ...fh, authoritative: true }).state).toBe('absent');
    expect(familyHistoryRiskFactor([relative('MTH', 60)], fh).state).toBe('present');
    expect(familyHistoryRiskFactor([relative('SIS', 64)], fh).state).toBe('present');
    expect(familyHistoryRiskFactor([relative('MTH', 65)], { ...fh, authoritative: true }).state).toBe('absent');
    // The recorded sex wins over the relationship code.
    const parent = relative('PRN', 60, { sex: cc('http://hl7.org/fhir/administrative-gender', 'female') });
    expect(familyHistoryRiskFactor([parent], fh).state).toBe('present');
  });
  it('ignores second-degree relatives, other conditions and entered-in-error records', () => {
    const auth = { ...fh, authoritative: true };
    expect(familyHistoryRiskFactor([relative('GRFTH', 40)], auth).state).toBe('absent');
    expect(familyHistoryRiskFactor([relative('FTH', 40, { status: 'entered-in-error' })], auth).state).toBe('absent');
    const other = relative('FTH', 40);
    other.condition = [{ code: cc(SCT, '73211009'), onsetAge: { value: 40, code: 'a' } }];
    expect(familyHistoryRiskFactor([other], auth).state).toBe('absent');
  });
  it('follows unknownOnset when the onset age, or the sex between the limits, is not recorded', () => {
    expect(familyHistoryRiskFactor([relative('BRO')], fh).state).toBe('unknown');
    expect(familyHistoryRiskFactor([relative('BRO')], { ...fh, unknownOnset: 'count' }).state).toBe('present');
    expect(
      familyHistoryRiskFactor([relative('BRO')], { ...fh, unknownOnset: 'ignore', authoritative: true }).state,
    ).toBe('absent');
    // A sibling of unknown sex: 50 is premature either way, 60 depends on the sex, 70 is not premature.
    expect(familyHistoryRiskFactor([relative('SIB', 50)], fh).state).toBe('present');
    expect(familyHistoryRiskFactor([relative('SIB', 60)], fh).state).toBe('unknown');
    expect(familyHistoryRiskFactor([relative('SIB', 70)], { ...fh, authoritative: true }).state).toBe('absent');
    // An onset range entirely below the limit is premature.
    const range = relative('FTH');
    range.condition = [{ code: cc(SCT, '22298006'), onsetRange: { low: { value: 40 }, high: { value: 49 } } }];
    expect(familyHistoryRiskFactor([range], fh).state).toBe('present');
  });
});

describe('calcium score', () => {
  const cacs = (value: number, when: string, id: string): Observation => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: cc(SCT, '450360000'),
    effectiveDateTime: when,
    valueQuantity: { value },
  });
  it('takes the latest score within the look-back before the ECG', () => {
    const obs = [cacs(10, '2024-01-01', 'a'), cacs(120, '2025-06-01', 'b'), cacs(400, '2026-04-01', 'c')];
    expect(calciumScore(obs, D.calcium, ECG_MS)).toEqual({ cacs: 120, ref: 'Observation/b' });
    expect(calciumScore([cacs(10, '2015-01-01', 'old')], D.calcium, ECG_MS)).toBeUndefined();
    expect(calciumScore([], D.calcium, ECG_MS)).toBeUndefined();
  });
});

describe('symptom type', () => {
  const request = (codes: string[], authoredOn: string, id: string, status: ServiceRequest['status'] = 'active') =>
    ({
      resourceType: 'ServiceRequest',
      id,
      status,
      intent: 'order',
      subject: { reference: 'Patient/p1' },
      authoredOn,
      reasonCode: codes.map((c) => cc(SCT, c)),
    }) as ServiceRequest;
  const sources = (serviceRequests: ServiceRequest[]): PtpSources => ({
    conditions: [],
    observations: [],
    familyHistory: [],
    serviceRequests,
    encounters: [],
  });

  it('maps codes with chest-pain type before dyspnoea', () => {
    const m = D.symptoms.mapping;
    expect(mapSymptom([cc(SCT, '429559004')], m)).toBe('typical');
    expect(mapSymptom([cc(SCT, '233819005')], m)).toBe('typical');
    expect(mapSymptom([cc(SCT, '267036007'), cc(SCT, '274668005')], m)).toBe('non-anginal');
    expect(mapSymptom([cc(SCT, '267036007')], m)).toBe('dyspnoea');
    expect(mapSymptom([cc(SCT, '84387000')], m)).toBe('none');
    expect(mapSymptom([cc(SCT, '29857009')], m)).toBeUndefined(); // chest pain, type not said: not guessed
  });

  it('reports dyspnoea beside a chest-pain type', () => {
    const both = sources([request(['274668005', '267036007'], '2026-03-09T10:00:00Z', 'both')]);
    expect(symptomType(both, D.symptoms, ECG_MS)).toEqual({
      symptoms: 'non-anginal',
      dyspnoea: true,
      ref: 'ServiceRequest/both',
    });
    const alone = sources([request(['267036007'], '2026-03-09T10:00:00Z', 'alone')]);
    expect(symptomType(alone, D.symptoms, ECG_MS)).toEqual({
      symptoms: 'dyspnoea',
      dyspnoea: false,
      ref: 'ServiceRequest/alone',
    });
  });

  it('takes the latest mapped ServiceRequest within the window', () => {
    const s = sources([
      request(['371807002'], '2026-03-01T10:00:00Z', 'older'),
      request(['429559004'], '2026-03-09T10:00:00Z', 'newer'),
      request(['267036007'], '2026-03-20T10:00:00Z', 'after-window'),
      request(['274668005'], '2026-03-09T12:00:00Z', 'revoked', 'revoked'),
      request(['29857009'], '2026-03-10T08:00:00Z', 'unmapped'),
    ]);
    expect(symptomType(s, D.symptoms, ECG_MS)).toEqual({
      symptoms: 'typical',
      dyspnoea: false,
      ref: 'ServiceRequest/newer',
    });
    expect(symptomType(sources([request(['371807002'], '2025-12-01', 'old')]), D.symptoms, ECG_MS)).toBeUndefined();
  });

  it('reads Encounter reasons and Observations when configured', () => {
    const enc: PtpSources = {
      ...sources([]),
      encounters: [
        {
          resourceType: 'Encounter',
          id: 'e1',
          status: 'finished',
          class: { code: 'AMB' },
          period: { start: '2026-03-10T08:00:00+01:00' },
          reasonCode: [cc(SCT, '371807002')],
        },
      ],
    };
    expect(symptomType(enc, { ...D.symptoms, source: 'encounter' }, ECG_MS)).toEqual({
      symptoms: 'atypical',
      dyspnoea: false,
      ref: 'Encounter/e1',
    });
    const obs: PtpSources = {
      ...sources([]),
      observations: [
        {
          resourceType: 'Observation',
          id: 'o1',
          status: 'final',
          code: cc('http://example.org/local', 'chest-pain-type'),
          effectiveDateTime: '2026-03-10T09:00:00+01:00',
          valueCodeableConcept: cc(SCT, '274668005'),
        },
      ],
    };
    const options = {
      ...D.symptoms,
      source: 'observation' as const,
      observationCodes: ['http://example.org/local|chest-pain-type'],
    };
    expect(symptomType(obs, options, ECG_MS)).toEqual({
      symptoms: 'non-anginal',
      dyspnoea: false,
      ref: 'Observation/o1',
    });
  });
});

describe('derivePtpInputs', () => {
  const patient: Patient = { resourceType: 'Patient', id: 'p1', gender: 'male', birthDate: '1962-07-01' };
  const full: PtpSources = {
    patient,
    conditions: [condition('38341003')],
    observations: [smoking('266919005', '2025-01-01')],
    familyHistory: [],
    serviceRequests: [
      {
        resourceType: 'ServiceRequest',
        id: 'sr1',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/p1' },
        authoredOn: '2026-03-09',
        reasonCode: [cc(SCT, '429559004')],
      },
    ],
    encounters: [],
  };
  const options = { ...D, problemListAuthoritative: true, familyHistory: { ...D.familyHistory, authoritative: true } };

  it('derives every input and the resources it rests on', () => {
    const d = derivePtpInputs(full, ECG, options);
    expect(d.missing).toEqual([]);
    expect(d).toMatchObject({ age: 63, sex: 'male', symptoms: 'typical', patientRef: 'Patient/p1' });
    expect(d.symptomRef).toBe('ServiceRequest/sr1');
    expect(d.riskFactors.hypertension.state).toBe('present');
    expect(d.riskFactors.smoking.state).toBe('absent');
    expect(determinedRiskFactorCount(d.riskFactors)).toBe(1);
  });

  it('names each missing input, with no patient values in the reasons', () => {
    const d = derivePtpInputs(
      {
        ...full,
        patient: { resourceType: 'Patient', id: 'p1', gender: 'unknown', birthDate: '1962' },
        serviceRequests: [],
      },
      ECG,
      D,
    );
    expect(d.missing.map((m) => m.input)).toEqual(['age', 'sex', 'symptoms']);
    expect(d.missing[0]?.reason).toBe('the birth date is incomplete (year or month only)');
    expect(JSON.stringify(d.missing)).not.toMatch(/1962|p1/);
    expect(d.riskFactors.diabetes.state).toBe('unknown');
    expect(derivePtpInputs({ ...full, patient: undefined }, ECG, D).missing.map((m) => m.input)).toEqual(['patient']);
    expect(derivePtpInputs(full, undefined, D).missing.map((m) => m.input)).toEqual(['ecg-time']);
  });
});

describe('determinedRiskFactorCount', () => {
  const states = (present: number, unknown: number): Record<string, RiskFactorState> => {
    const names = ['family-history', 'smoking', 'dyslipidaemia', 'hypertension', 'diabetes'];
    return Object.fromEntries(
      names.map((n, i) => [
        n,
        { state: i < present ? 'present' : i < present + unknown ? 'unknown' : 'absent', basis: [] },
      ]),
    );
  };
  it('is the present count only when the unknown ones cannot change the group', () => {
    expect(determinedRiskFactorCount(states(0, 0) as never)).toBe(0);
    expect(determinedRiskFactorCount(states(2, 1) as never)).toBe(2); // 2-3 either way
    expect(determinedRiskFactorCount(states(4, 1) as never)).toBe(4); // 4-5 either way
    expect(determinedRiskFactorCount(states(1, 1) as never)).toBeUndefined(); // 0-1 or 2-3
    expect(determinedRiskFactorCount(states(3, 1) as never)).toBeUndefined(); // 2-3 or 4-5
    expect(determinedRiskFactorCount(states(0, 1) as never)).toBe(0); // 0-1 either way
  });
});
