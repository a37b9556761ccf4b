/**
 * Bundles from decoded files' facts: decode each file with @ecgcad/ingest, summarise it as the infer stage would,
 * and check that the writer's Bundle validates (R4 + project checks + an independent JSON schema) and that the test
 * EHR accepts it. Once on files the project writes itself (synthetic ECGs through the DICOM and aECG writers:
 * always runs), once on the real shared samples (skipped with the reason when absent).
 */
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { type EcgSummary, type Prediction, summarizeEcg, synthesizeEcg } from '@ecgcad/ecg';
import {
  buildBundleParts,
  bundleIssues,
  EXAMPLE_MODEL,
  FhirClient,
  patientReference,
  startTestEhr,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import { decodeEcg, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const DECODABLE = [
  'dicom_mortara_el250_12lead.dcm',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
  'aecg_hl7_2003_example.xml',
  'aecg_liryc_100hz_example.xml',
  'aecg_fda_minimum_1lead.xml',
  'ge_muse_restingecg_example1.xml',
];

const predictionsFor = (ecg: EcgSummary): Prediction[] => [
  {
    status: 'scored',
    ecg,
    model: EXAMPLE_MODEL,
    predictedAt: '2026-11-26T09:00:01.5Z',
    vessels: [
      { vessel: 'RCA', probability: 0.031, stratum: 'low' },
      { vessel: 'LM', probability: 0.2, stratum: 'intermediate' },
      { vessel: 'LAD', probability: 0.74, stratum: 'high' },
      { vessel: 'LCx', probability: 0.4099, stratum: 'intermediate' },
    ],
  },
  {
    status: 'not-analysable',
    ecg,
    model: { ...EXAMPLE_MODEL, version: '1.0.1' },
    predictedAt: '2026-11-26T09:00:01.5Z',
    reasons: ['record is shorter than the 10 s the model needs'],
  },
];

/** Both predictions' Bundles for `ecg` validate (R4, project checks, JSON schema) and the test EHR takes them. */
async function expectBundlesAccepted(ecg: EcgSummary, ehr: TestEhr, schema: JSONSchemaValidator): Promise<void> {
  for (const prediction of predictionsFor(ecg)) {
    const { bundle, parts } = buildBundleParts(prediction, {
      patient: { whenMissing: 'placeholder', reference: ecg.patient.identifier ? 'conditional' : 'logical' },
      timeZone: 'Europe/Paris',
    });
    expect(bundleIssues(bundle)).toEqual([]);
    expect(schema.validate(bundle)).toEqual([]);
    if (ecg.acquiredAt) expect(parts.ecg.effectiveDateTime).toMatch(/[+-]\d\d:\d\d$|Z$/);
    const result = await new FhirClient({ baseUrl: ehr.url }).postTransaction(bundle);
    expect(result.entries.every((e) => e.status === '201' || e.status === '200')).toBe(true);
  }
}

/** The test EHR's patients: one per summary that names its patient, with the system the writer gives it. */
function patientsOf(summaries: Iterable<EcgSummary>): Array<{ system: string; value: string }> {
  return [...summaries]
    .filter((s) => s.patient.identifier)
    .map((s) => {
      const { identifier } = patientReference(s, { reference: 'logical' });
      return { system: identifier?.system as string, value: identifier?.value as string };
    });
}

describe('FHIR Bundles from files the project writes (synthetic ECGs through the writers)', () => {
  const schema = new JSONSchemaValidator();
  const meta = { feed: 'file', receivedAt: '2026-11-26T09:00:00Z' };
  const files: Array<[string, Uint8Array]> = [
    ['DICOM 500 Hz, 12 leads', writeDicomEcg(synthesizeEcg({ seed: 21 }))],
    ['DICOM 1000 Hz, 8 leads', writeDicomEcg(synthesizeEcg({ seed: 22, sampleRateHz: 1000 }), { leads: 8 })],
    ['aECG 500 Hz, 12 leads', writeAecg(synthesizeEcg({ seed: 23 }))],
    ['aECG with no patient identifier', writeAecg({ ...synthesizeEcg({ seed: 24 }), patient: { name: 'DOE^JANE' } })],
  ];
  const summaries = new Map(files.map(([name, bytes]) => [name, summarizeEcg(decodeEcg(bytes, meta))]));
  let ehr: TestEhr;
  beforeAll(async () => {
    ehr = await startTestEhr({ patients: patientsOf(summaries.values()) });
  });
  afterAll(async () => {
    await ehr?.close();
  });

  it.each(files.map(([name]) => name))(
    '%s: the Bundle validates (R4, project checks, JSON schema) and the test EHR takes it',
    async (name) => {
      await expectBundlesAccepted(summaries.get(name) as EcgSummary, ehr, schema);
    },
  );
});

describe.skipIf(!samplesPresent)(
  `FHIR Bundles from the real samples${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
  () => {
    const schema = new JSONSchemaValidator();
    let ehr: TestEhr;
    const summaries = new Map<string, EcgSummary>();

    beforeAll(async () => {
      for (const name of DECODABLE) {
        summaries.set(
          name,
          summarizeEcg(decodeEcg(readSample(name), { feed: 'file', receivedAt: '2026-11-26T09:00:00Z' })),
        );
      }
      ehr = await startTestEhr({ patients: patientsOf(summaries.values()) });
    });
    afterAll(async () => {
      await ehr?.close();
    });

    it.each(DECODABLE)(
      '%s: the Bundle validates (R4, project checks, JSON schema) and the test EHR takes it',
      async (name) => {
        await expectBundlesAccepted(summaries.get(name) as EcgSummary, ehr, schema);
      },
    );

    it('identifies the DICOM ECG by its SOP Instance UID and the aECG by its id root', () => {
      const dicom = buildBundleParts(
        predictionsFor(summaries.get('dicom_mortara_el250_12lead.dcm') as EcgSummary)[0] as Prediction,
      ).parts;
      expect(dicom.ecg.identifier?.[0]).toEqual({
        system: 'urn:dicom:uid',
        value: 'urn:oid:1.3.6.1.4.1.20029.40.20130125105919.5407.1.1',
      });
      expect(dicom.ecg.device?.display).toBe('Mortara Instrument, Inc. el250');
      expect(dicom.ecg.note?.[0]?.text).toBe('12 leads, 10 s at 1000 Hz, format dicom');
      const aecg = buildBundleParts(
        predictionsFor(summaries.get('aecg_hl7_2003_example.xml') as EcgSummary)[0] as Prediction,
      ).parts;
      expect(aecg.ecg.identifier?.[0]).toEqual({
        system: 'urn:ietf:rfc:3986',
        value: 'urn:uuid:61d1a24f-b47e-41aa-ae95-f8ac302f4eeb',
      });
      expect(aecg.riskAssessment?.subject.reference).toBe(
        'Patient?identifier=urn%3Aoid%3A2.16.840.1.113883.3.400|SBJ-123',
      );
    });

    it('puts no patient name or birth date into any Bundle', () => {
      for (const ecg of summaries.values()) {
        for (const prediction of predictionsFor(ecg)) {
          const text = JSON.stringify(buildBundleParts(prediction, { patient: { whenMissing: 'placeholder' } }).bundle);
          if (ecg.patient.name) expect(text).not.toContain(ecg.patient.name);
          if (ecg.patient.birthDate) expect(text).not.toContain(ecg.patient.birthDate);
        }
      }
    });
  },
);
