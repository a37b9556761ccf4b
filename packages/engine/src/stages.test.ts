import { examplePrediction, SYSTEMS, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { Resource, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { writerFromConfig } from './stages.js';

const SCT = 'http://snomed.info/sct';

describe('writerFromConfig with ptp.enabled', () => {
  let ehr: TestEhr;
  const post = async (resource: Resource): Promise<string> => {
    const res = await fetch(`${ehr.url}/${resource.resourceType}`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    return `${resource.resourceType}/${((await res.json()) as Resource).id}`;
  };

  beforeAll(async () => {
    ehr = await startTestEhr();
    const patient = await post({
      resourceType: 'Patient',
      identifier: [{ system: SYSTEMS.patientId, value: 'MRN-CFG-1' }],
      gender: 'female',
      birthDate: '1966-02-03',
    });
    await post({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: patient },
      period: { start: '2026-11-26T08:30:00+01:00' },
      reasonCode: [{ coding: [{ system: SCT, code: '267036007' }] }],
    });
  }, 60_000);
  afterAll(async () => {
    await ehr?.close();
  });

  it('reads from the configured EHR with the configured source and rules', async () => {
    const base = {
      fhir: { url: ehr.url, allowInsecureHttp: true },
      ptp: { enabled: true, symptoms: { source: 'encounter' } },
    };
    const strict = writerFromConfig(loadConfigWith(base));
    const prediction = examplePrediction({ ecgId: '1.2.3.5150.1', patientId: 'MRN-CFG-1' });
    // Without a curated problem list, unrecorded risk factors are unknown: no PTP, and the reasons.
    expect((await strict.write(prediction)).ptp).toEqual({
      status: 'not-computed',
      missing: ['family-history', 'smoking', 'dyslipidaemia', 'hypertension', 'diabetes'],
    });
    const curated = writerFromConfig(
      loadConfigWith({
        ...base,
        ptp: { ...base.ptp, problemListAuthoritative: true, familyHistory: { authoritative: true } },
      }),
    );
    // Smoking stays unknown, but with 0 risk factors present the group is 0-1 either way: computed.
    const second = examplePrediction({ ecgId: '1.2.3.5150.2', patientId: 'MRN-CFG-1' });
    expect((await curated.write(second)).ptp).toEqual({
      status: 'computed',
      level: expect.stringMatching(/^(low|intermediate|high)$/),
    });
    const ras = (await (
      await fetch(`${ehr.url}/RiskAssessment?method=${encodeURIComponent(`${SYSTEMS.ptp}|esc2024-rf-cl`)}`)
    ).json()) as {
      entry?: { resource: RiskAssessment }[];
    };
    const final = ras.entry?.map((e) => e.resource).find((r) => r.status === 'final');
    expect(final?.prediction?.[0]?.rationale).toMatch(/age 60, female, symptoms dyspnoea, risk factors 0 of 5/);
  });
});

function loadConfigWith(file: Record<string, unknown>) {
  return loadConfig({ env: {}, overrides: Object.entries(file).map(([k, value]) => ({ path: [k], value })) });
}
