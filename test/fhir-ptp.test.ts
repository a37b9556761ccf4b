/**
 * Pre-test probability in live operation, against the test EHR over real HTTP (every write validated by the
 * server): the writer reads each patient's PTP inputs, and the Bundles carry the PTP and the combined category
 * per vessel that @ecgcad/clinical computes from the seeded inputs; a patient with a missing input gets no PTP
 * and the reason; a resend writes nothing twice; EHR read faults are transient, a 4xx on a search is permanent.
 */
import { combinedCategory, DEFAULT_RECLASSIFICATION, type PtpResult, pretestProbability } from '@ecgcad/clinical';
import { PermanentError, type Prediction, TransientError } from '@ecgcad/ecg';
import {
  DEFAULT_PTP_INPUT_OPTIONS,
  examplePrediction,
  FhirClient,
  FhirWriter,
  SYSTEMS,
  startTestEhr,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import type { Bundle, Observation, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCT = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const cc = (system: string, code: string) => ({ coding: [{ system, code }] });
const ACTIVE = cc('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active');
const REFUTED = cc('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'refuted');
// examplePrediction's ECG was acquired 2026-11-26T08:59:40+01:00.
const PTP_CODE = `${SYSTEMS.concept}|ptp-assessment`;

/** A site whose problem list and family history are curated (absent = absent). */
const INPUTS = {
  ...DEFAULT_PTP_INPUT_OPTIONS,
  problemListAuthoritative: true,
  familyHistory: { ...DEFAULT_PTP_INPUT_OPTIONS.familyHistory, authoritative: true },
};

describe('PTP in live operation', () => {
  let ehr: TestEhr;
  const ids: Record<string, string> = {};

  async function create(resource: Resource, key: string): Promise<string> {
    const res = await fetch(`${ehr.url}/${resource.resourceType}`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    expect(res.status, `${key}: ${await res.clone().text()}`).toBe(201);
    const id = ((await res.json()) as Resource).id as string;
    ids[key] = `${resource.resourceType}/${id}`;
    return ids[key];
  }

  async function search<T extends Resource>(query: string): Promise<T[]> {
    const res = await fetch(`${ehr.url}/${query}`);
    return (((await res.json()) as Bundle).entry ?? []).map((e) => e.resource as T);
  }

  const patient = (mrn: string, gender: string, birthDate: string): Resource =>
    ({
      resourceType: 'Patient',
      identifier: [{ system: SYSTEMS.patientId, value: mrn }],
      gender,
      birthDate,
    }) as Resource;

  beforeAll(async () => {
    ehr = await startTestEhr();
    // P1: man, 64 at the ECG; typical angina; hypertension, diabetes (ICD-10), former smoker, father with MI at 50;
    // dyslipidaemia refuted; calcium score 150. Four risk factors.
    const p1 = await create(patient('MRN-PTP-1', 'male', '1962-07-01'), 'p1');
    const subject1 = { reference: p1 };
    await create(
      { resourceType: 'Condition', subject: subject1, clinicalStatus: ACTIVE, code: cc(SCT, '38341003') },
      'p1-htn',
    );
    await create(
      {
        resourceType: 'Condition',
        subject: subject1,
        clinicalStatus: ACTIVE,
        code: cc(ICD10, 'E11.9'),
        onsetDateTime: '2020-02-01',
      },
      'p1-dm',
    );
    await create(
      { resourceType: 'Condition', subject: subject1, verificationStatus: REFUTED, code: cc(SCT, '55822004') },
      'p1-lipid-refuted',
    );
    // A diagnosis made after the ECG does not count.
    await create(
      {
        resourceType: 'Condition',
        subject: subject1,
        clinicalStatus: ACTIVE,
        code: cc(SCT, '13644009'),
        onsetDateTime: '2026-12-15',
      },
      'p1-lipid-later',
    );
    await create(
      {
        resourceType: 'Observation',
        status: 'final',
        subject: subject1,
        code: cc('http://loinc.org', '72166-2'),
        effectiveDateTime: '2024-05-01',
        valueCodeableConcept: cc(SCT, '8517006'),
      },
      'p1-smoking',
    );
    await create(
      {
        resourceType: 'FamilyMemberHistory',
        status: 'completed',
        patient: subject1,
        relationship: cc('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'FTH'),
        condition: [
          {
            code: cc(SCT, '22298006'),
            onsetAge: { value: 50, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' },
          },
        ],
      },
      'p1-father',
    );
    await create(
      {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: subject1,
        code: cc(SCT, '40701008'),
        authoredOn: '2026-11-20T10:00:00+01:00',
        reasonCode: [cc(SCT, '429559004')],
      },
      'p1-request',
    );
    await create(
      {
        resourceType: 'Observation',
        status: 'final',
        subject: subject1,
        code: cc(SCT, '450360000'),
        effectiveDateTime: '2025-06-01',
        valueQuantity: { value: 150 },
      },
      'p1-cacs',
    );

    // P2: woman, 54 at the ECG (55 the next day); atypical chest pain; never smoked; no risk factors.
    const p2 = await create(patient('MRN-PTP-2', 'female', '1971-11-27'), 'p2');
    await create(
      {
        resourceType: 'Observation',
        status: 'final',
        subject: { reference: p2 },
        code: cc('http://loinc.org', '72166-2'),
        effectiveDateTime: '2026-01-10',
        valueCodeableConcept: cc(SCT, '266919005'),
      },
      'p2-smoking',
    );
    await create(
      {
        resourceType: 'ServiceRequest',
        status: 'completed',
        intent: 'order',
        subject: { reference: p2 },
        authoredOn: '2026-11-26T08:00:00+01:00',
        reasonCode: [cc(SCT, '371807002')],
      },
      'p2-request',
    );

    // P3: hypertension only, no smoking status (1 or 2 risk factors: the group is unknown), and a request whose
    // reason does not say the chest-pain type.
    const p3 = await create(patient('MRN-PTP-3', 'male', '1958-01-01'), 'p3');
    await create(
      { resourceType: 'Condition', subject: { reference: p3 }, clinicalStatus: ACTIVE, code: cc(SCT, '59621000') },
      'p3-htn',
    );
    await create(
      {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: p3 },
        authoredOn: '2026-11-25',
        reasonCode: [cc(SCT, '29857009')],
      },
      'p3-request',
    );
  });

  afterAll(async () => {
    await ehr?.close();
  });

  const writer = (): FhirWriter => {
    const client = new FhirClient({ baseUrl: ehr.url });
    return new FhirWriter({ sink: client, ptp: { searcher: client, inputs: INPUTS } });
  };
  // RCA low, LM low, LAD high, LCx intermediate (demo card thresholds 0.12 / 0.41).
  const predict = (n: number, mrn: string): Prediction =>
    examplePrediction({ ecgId: `1.2.3.4242.${n}`, patientId: mrn, probabilities: [0.05, 0.05, 0.52, 0.2] });

  async function ptpOf(patientRef: string): Promise<RiskAssessment[]> {
    // R4 defines no `code` search on RiskAssessment (`method` exists): take the patient's and keep the PTP ones.
    const all = await search<RiskAssessment>(`RiskAssessment?subject=${patientRef}`);
    return all.filter((r) => r.code?.coding?.some((c) => `${c.system}|${c.code}` === PTP_CODE));
  }

  async function combinedOf(patientRef: string): Promise<Record<string, Observation['component']>> {
    const out: Record<string, Observation['component']> = {};
    for (const v of ['RCA', 'LM', 'LAD', 'LCx']) {
      const [obs] = await search<Observation>(
        `Observation?code=${encodeURIComponent(`${SYSTEMS.concept}|${v}-risk-stratum`)}&subject=${patientRef}`,
      );
      out[v] = obs?.component?.filter((c) => c.code.coding?.some((x) => x.code === 'ptp-ai-combined-category'));
    }
    return out;
  }

  function expectCombined(components: Record<string, Observation['component']>, expected: PtpResult): void {
    const strata = { RCA: 'low', LM: 'low', LAD: 'high', LCx: 'intermediate' } as const;
    for (const [vessel, stratum] of Object.entries(strata)) {
      const category = combinedCategory(DEFAULT_RECLASSIFICATION, expected, stratum);
      expect(components[vessel]?.[0]?.valueCodeableConcept?.coding?.[0], vessel).toMatchObject({
        system: SYSTEMS.ptp,
        code: `combined-${category}`,
      });
    }
  }

  it('writes the ESC 2024 PTP, CACS-CL and the combined categories computed from the seeded inputs', async () => {
    const result = await writer().write(predict(1, 'MRN-PTP-1'));
    expect(result.ptp).toEqual({ status: 'computed', level: expect.stringMatching(/^(low|intermediate|high)$/) });
    const expected = pretestProbability({ age: 64, sex: 'male', symptoms: 'typical', riskFactors: 4, cacs: 150 });

    const ras = await ptpOf(ids.p1 as string);
    const rfcl = ras.find((r) => r.method?.coding?.[0]?.code === 'esc2024-rf-cl');
    const cacs = ras.find((r) => r.method?.coding?.[0]?.code === 'esc2024-cacs-cl');
    expect(ras).toHaveLength(2);
    expect(rfcl?.status).toBe('final');
    expect(rfcl?.prediction?.[0]?.probabilityDecimal).toBeCloseTo(expected.esc2024.percent / 100, 6);
    expect(rfcl?.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code).toBe(
      `esc2024-${expected.esc2024.category.replace(' ', '-')}`,
    );
    expect(cacs?.prediction?.[0]?.probabilityDecimal).toBeCloseTo((expected.cacsCl?.percent as number) / 100, 6);
    // The basis: the patient, the symptom request, the four risk factors' resources and the refuted condition that
    // makes dyslipidaemia absent; not the diagnosis made after the ECG.
    expect(new Set(rfcl?.basis?.map((b) => b.reference))).toEqual(
      new Set([
        ids.p1,
        ids['p1-request'],
        ids['p1-htn'],
        ids['p1-dm'],
        ids['p1-smoking'],
        ids['p1-father'],
        ids['p1-lipid-refuted'],
      ]),
    );
    expect(cacs?.basis?.map((b) => b.reference)).toContain(ids['p1-cacs']);
    expectCombined(await combinedOf(ids.p1 as string), expected);
  });

  it('counts age across a birthday and absent risk factors on a curated problem list', async () => {
    await writer().write(predict(2, 'MRN-PTP-2'));
    const expected = pretestProbability({ age: 54, sex: 'female', symptoms: 'atypical', riskFactors: 0 });
    const [ra] = await ptpOf(ids.p2 as string);
    expect(ra?.prediction?.[0]?.probabilityDecimal).toBeCloseTo(expected.esc2024.percent / 100, 6);
    expect(ra?.prediction?.[0]?.rationale).toMatch(/age 54, female, symptoms atypical, risk factors 0 of 5/);
    expectCombined(await combinedOf(ids.p2 as string), expected);
  });

  it('writes no PTP for a patient with missing inputs, and says which', async () => {
    const result = await writer().write(predict(3, 'MRN-PTP-3'));
    expect(result.ptp).toEqual({ status: 'not-computed', missing: ['symptoms', 'smoking'] });
    const [ra] = await ptpOf(ids.p3 as string);
    expect(ra?.status).toBe('cancelled');
    expect(ra?.prediction).toBeUndefined();
    expect(ra?.note?.[0]?.text).toBe('Pre-test probability not computed: missing symptom type, smoking status.');
    const combined = await combinedOf(ids.p3 as string);
    for (const v of ['RCA', 'LM', 'LAD', 'LCx']) {
      expect(combined[v]?.[0]?.valueCodeableConcept).toBeUndefined();
      expect(combined[v]?.[0]?.dataAbsentReason?.text).toMatch(/missing symptom type, smoking status/);
    }
  });

  it('answers the documented queries: PTP by method, rule-out worklist by combined category', async () => {
    const method = encodeURIComponent(`${SYSTEMS.ptp}|esc2024-rf-cl`);
    const byMethod = await search<RiskAssessment>(`RiskAssessment?method=${method}&subject=${ids.p1}`);
    expect(byMethod).toHaveLength(1);
    // combined-* codes occur only in the combined-category component, so a plain token search finds rule-outs.
    const ruleOut = encodeURIComponent(`${SYSTEMS.ptp}|combined-low`);
    const worklist = await search<Observation>(`Observation?component-value-concept=${ruleOut}`);
    const expected = [ids.p1, ids.p2]
      .map((p) => p as string)
      .flatMap((p) => {
        const inputs =
          p === ids.p1
            ? pretestProbability({ age: 64, sex: 'male', symptoms: 'typical', riskFactors: 4, cacs: 150 })
            : pretestProbability({ age: 54, sex: 'female', symptoms: 'atypical', riskFactors: 0 });
        const strata = { RCA: 'low', LM: 'low', LAD: 'high', LCx: 'intermediate' } as const;
        return Object.entries(strata)
          .filter(([, s]) => combinedCategory(DEFAULT_RECLASSIFICATION, inputs, s) === 'low')
          .map(([v]) => `${p} ${v}`);
      });
    const found = worklist.map(
      (o) => `${o.subject?.reference} ${o.code.coding?.[0]?.code?.replace('-risk-stratum', '')}`,
    );
    expect(found.sort()).toEqual(expected.sort());
  });

  it('writes nothing twice on a resend', async () => {
    const again = await writer().write(predict(1, 'MRN-PTP-1'));
    expect(again.created).toBe(0);
    expect(await ptpOf(ids.p1 as string)).toHaveLength(2);
  });

  it('treats an EHR outage during the reads as transient and a 4xx on a search as permanent', async () => {
    ehr.faults.failNext(1, { status: 503 });
    await expect(writer().write(predict(4, 'MRN-PTP-2'))).rejects.toBeInstanceOf(TransientError);
    const retried = await writer().write(predict(4, 'MRN-PTP-2'));
    expect(retried.ptp).toEqual({ status: 'computed', level: expect.stringMatching(/^(low|intermediate|high)$/) });

    const wrong = new FhirClient({ baseUrl: `${ehr.url}/no-such-base` });
    const refused = new FhirWriter({ sink: wrong, ptp: { searcher: wrong, inputs: INPUTS } });
    const err = await refused.write(predict(5, 'MRN-PTP-2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/answered 4\d\d to a Patient search/);
    expect((err as Error).message).not.toMatch(/MRN-PTP/);
  });
});
