/**
 * The waveform in the ECG Observation, end to end: decoded files' samples go through SampledData and come back as
 * the same Float32 values (files the project writes, and the real shared samples); the test EHR takes the Bundle
 * over HTTP and the leads are rebuilt from the Observation read back; in queued mode the infer stage hands the
 * payload to the writer, which deletes it once delivered, and a write job replayed from the dead-letter set still
 * finds it. With `fhir.waveform` off the Observation is as before and the infer stage frees the payload.
 */
import {
  decodeEcgPayloadDetailed,
  type Ecg,
  encodeEcgPayload,
  type LeadName,
  type Prediction,
  STANDARD_LEADS,
  summarizeEcg,
  synthesizeEcg,
} from '@ecgcad/ecg';
import { ecgStatus, listDeadLetters, type QueuedEngine, replayDeadLetters } from '@ecgcad/engine';
import {
  decodeSampledData,
  EXAMPLE_MODEL,
  FhirClient,
  FhirWriter,
  leadOfMdcCode,
  patientReference,
  startTestEhr,
  type TestEhr,
  waveformComponents,
} from '@ecgcad/fhir-writer';
import { decodeEcg, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  dropPrefix,
  REDIS_URL,
  resources,
  startTestEngine,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const META = { feed: 'file', receivedAt: '2026-11-26T09:00:00Z' };

/** The leads an ECG Observation carries, by lead name, as values in uV. */
function leadsOf(observation: Observation): Partial<Record<LeadName, Float64Array>> {
  const out: Partial<Record<LeadName, Float64Array>> = {};
  for (const c of observation.component ?? []) {
    const lead = leadOfMdcCode(c.code.coding?.[0]?.code);
    if (lead && c.valueSampledData) out[lead] = decodeSampledData(c.valueSampledData);
  }
  return out;
}

/** The stored leads of `ecg` come back from `observation` as the same Float32 values, at the same rate. */
function expectSameLeads(observation: Observation, ecg: Ecg): void {
  const stored = STANDARD_LEADS.filter((lead) => (ecg.leads[lead]?.length ?? 0) > 0);
  const back = leadsOf(observation);
  expect(Object.keys(back)).toEqual(stored);
  for (const lead of stored) expect(Float32Array.from(back[lead] as Float64Array)).toEqual(ecg.leads[lead]);
  for (const c of observation.component ?? []) expect(c.valueSampledData?.period).toBe(1000 / ecg.sampleRateHz);
}

function scored(ecg: Ecg): Prediction {
  return {
    status: 'scored',
    ecg: summarizeEcg(ecg),
    model: EXAMPLE_MODEL,
    predictedAt: '2026-11-26T09:00:01.5Z',
    vessels: [
      { vessel: 'RCA', probability: 0.03, stratum: 'low' },
      { vessel: 'LM', probability: 0.2, stratum: 'intermediate' },
      { vessel: 'LAD', probability: 0.74, stratum: 'high' },
      { vessel: 'LCx', probability: 0.4, stratum: 'intermediate' },
    ],
  };
}

/** The identifier the writer references `ecg`'s patient by (for the test EHR's patient list). */
function patientOf(ecg: Ecg): { system: string; value: string } {
  const { identifier } = patientReference(summarizeEcg(ecg), { reference: 'logical' });
  return { system: identifier?.system as string, value: identifier?.value as string };
}

async function ecgObservations(ehr: TestEhr): Promise<Observation[]> {
  const res = await fetch(`${ehr.url}/Observation?code=${encodeURIComponent('http://loinc.org|34534-8')}&_count=100`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Bundle<Observation>).entry?.map((e) => e.resource as Observation) ?? [];
}

describe('SampledData gives back the decoded samples exactly (files the project writes)', () => {
  it.each([
    ['DICOM 500 Hz, 12 leads', writeDicomEcg(synthesizeEcg({ seed: 31 }))],
    ['DICOM 1000 Hz, 8 leads', writeDicomEcg(synthesizeEcg({ seed: 32, sampleRateHz: 1000 }), { leads: 8 })],
    ['aECG 500 Hz, 12 leads', writeAecg(synthesizeEcg({ seed: 33 }))],
  ])('%s', (_name, bytes) => {
    const ecg = decodeEcg(bytes, META);
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      component: waveformComponents(ecg),
    };
    expectSameLeads(observation, ecg);
  });
});

describe.skipIf(!samplesPresent)(
  `SampledData gives back the decoded samples exactly (real samples${samplesPresent ? '' : `: ${SAMPLES_SKIP_REASON}`})`,
  () => {
    it.each([
      ['dicom_mortara_el250_12lead.dcm', [1.25, 6.25]],
      ['dicom_gemarquette_maclab_hemodynamic_12ch.dcm', [1.22, 2.44]],
      ['aecg_hl7_2003_example.xml', [2.5]],
      ['aecg_liryc_100hz_example.xml', [5]],
      ['aecg_fda_minimum_1lead.xml', [2.5]],
      ['ge_muse_restingecg_example1.xml', [4.88]],
    ])('%s: the source quantum (%j uV) is found and every sample round-trips', (name, factors) => {
      const ecg = decodeEcg(readSample(name), META);
      const components = waveformComponents(ecg);
      expect([...new Set(components.map((c) => c.valueSampledData?.factor))].sort()).toEqual(factors);
      expectSameLeads({ resourceType: 'Observation', status: 'final', code: {}, component: components }, ecg);
      // Through the payload (version 2: leads as integers): the same Float32 bits, and the writer makes the same
      // SampledData from the stored integers as from the floats.
      const bytes = encodeEcgPayload(ecg);
      const v1Bytes = encodeEcgPayload(ecg, { version: 1 }).length;
      // (A one-lead file of a few samples is mostly header.)
      if (v1Bytes > 20_000) expect(bytes.length).toBeLessThan(v1Bytes * 0.6);
      const { ecg: back, quantised } = decodeEcgPayloadDetailed(bytes);
      for (const lead of STANDARD_LEADS) {
        const a = ecg.leads[lead];
        const b = back.leads[lead];
        expect(b === undefined ? undefined : Buffer.from(b.buffer).equals(Buffer.from(a?.buffer as ArrayBuffer))).toBe(
          a === undefined ? undefined : true,
        );
      }
      expect(waveformComponents({ ...back, quantised })).toEqual(components);
    });
  },
);

describe('the test EHR over HTTP', () => {
  let ehr: TestEhr;
  const dicom = decodeEcg(writeDicomEcg({ ...synthesizeEcg({ seed: 41 }), id: 'waveform-http-1' }), META);
  const patients = [dicom];

  beforeAll(async () => {
    if (samplesPresent) patients.push(decodeEcg(readSample('dicom_mortara_el250_12lead.dcm'), META));
    ehr = await startTestEhr({ patients: patients.map(patientOf) });
  });
  afterAll(async () => {
    await ehr?.close();
  });

  it('takes the Bundle, and the leads rebuilt from the Observation read back are the ECG', async () => {
    const writer = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }) });
    const result = await writer.write(scored(dicom), dicom);
    expect(result.created).toBeGreaterThan(0);
    const observation = (await ecgObservations(ehr)).find((o) =>
      o.identifier?.some((i) => i.value?.endsWith(dicom.id)),
    );
    expect(observation?.component).toHaveLength(12);
    expectSameLeads(observation as Observation, dicom);
  });

  it.skipIf(!samplesPresent)(
    'takes the largest real sample (12 leads, 10 s at 1000 Hz) and gives it back',
    async () => {
      const mortara = patients[1] as Ecg;
      const writer = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }) });
      const bundle = writer.bundleFor(scored(mortara), undefined, mortara);
      // About 0.5 MB: far below the test EHR's 20 MiB body limit and the 1 MB R4 string limit per lead.
      expect(JSON.stringify(bundle).length).toBeLessThan(2_000_000);
      await writer.write(scored(mortara), mortara);
      const observation = (await ecgObservations(ehr)).find((o) =>
        o.identifier?.some((i) => i.value?.endsWith('1.3.6.1.4.1.20029.40.20130125105919.5407.1.1')),
      );
      expectSameLeads(observation as Observation, mortara);
    },
  );

  it('writes no components with the option off', async () => {
    const ecg = decodeEcg(writeDicomEcg({ ...synthesizeEcg({ seed: 42 }), id: 'waveform-http-off' }), META);
    await ehr.addPatient(patientOf(ecg));
    const writer = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }), waveform: false });
    await writer.write(scored(ecg), ecg);
    const observation = (await ecgObservations(ehr)).find((o) => o.identifier?.some((i) => i.value?.endsWith(ecg.id)));
    expect(observation).toBeDefined();
    expect(observation?.component).toBeUndefined();
  });
});

describe('queued mode: the payload travels to the writer', () => {
  let ehr: TestEhr;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefixes: string[] = [];
  const engines: QueuedEngine[] = [];

  beforeAll(async () => {
    ehr = await startTestEhr();
  });
  afterAll(async () => {
    for (const engine of engines) await engine.close();
    await ehr?.close();
    for (const prefix of prefixes) await dropPrefix(prefix);
    redis.disconnect();
  });

  async function post(engine: QueuedEngine, ecg: Ecg): Promise<{ id: string; decoded: Ecg; bytes: Uint8Array }> {
    const bytes = writeDicomEcg(ecg);
    const response = await fetch(`${engine.http?.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(bytes),
    });
    expect(response.status).toBe(202);
    const id = ((await response.json()) as { id: string }).id;
    return { id, decoded: decodeEcg(bytes, META), bytes };
  }

  const observationOf = async (id: string): Promise<Observation | undefined> =>
    (await ecgObservations(ehr)).find((o) => o.identifier?.some((i) => i.value === `urn:oid:${id}`));

  it('writes the leads, deletes the payload once delivered, and keeps it for a dead-lettered write job', async () => {
    const prefix = uniquePrefix('waveform');
    prefixes.push(prefix);
    // Conditional patient references: the EHR refuses (400) a Bundle whose patient it does not know yet.
    const engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: [{ path: ['fhir', 'patientReference'], value: 'conditional' }],
    });
    engines.push(engine);
    const known = { ...synthesizeEcg({ seed: 51 }), id: 'waveform-queued-1' };
    const unknown = { ...synthesizeEcg({ seed: 52 }), id: 'waveform-queued-2' };
    await ehr.addPatient(patientOf(known));

    const first = await post(engine, known);
    await waitFor(
      'the first ECG to be written',
      async () => (await ecgStatus(engine.queues, first.id)).status === 'written',
    );
    expectSameLeads((await observationOf(first.id)) as Observation, first.decoded);
    const [written] = await engine.queues.write.getCompleted();
    expect(written?.data.payloadKey).toMatch(/^ecg:/);
    expect(await redis.exists(`${prefix}:payload:${written?.data.payloadKey}`)).toBe(0);

    // The second ECG's patient is missing: its write job is dead-lettered and keeps the payload.
    const second = await post(engine, unknown);
    await waitFor('the write job to fail', async () => (await ecgStatus(engine.queues, second.id)).status === 'failed');
    const [letter] = await listDeadLetters(engine.queues, ['write']);
    expect(letter?.ecgId).toBe(second.id);
    const job = await engine.queues.write.getJob(letter?.jobId as string);
    const key = `${prefix}:payload:${job?.data.payloadKey}`;
    // The claim check of a DICOM object is the object as the feed received it; both stages decode it again.
    expect((await redis.getBuffer(key))?.equals(Buffer.from(second.bytes))).toBe(true);

    await ehr.addPatient(patientOf(unknown));
    expect(await replayDeadLetters(engine.queues, ['write'], { all: true })).toHaveLength(1);
    await waitFor(
      'the replay to be written',
      async () => (await ecgStatus(engine.queues, second.id)).status === 'written',
    );
    expectSameLeads((await observationOf(second.id)) as Observation, second.decoded);
    expect(await redis.exists(key)).toBe(0);
    expect((await engine.queues.write.getJob(letter?.jobId as string))?.returnvalue).toMatchObject({
      waveform: 'included',
    });
  });

  it('a write job whose payload expired still writes the result, without the leads, and says so', async () => {
    const prefix = uniquePrefix('waveform-expired');
    prefixes.push(prefix);
    const engine = await startTestEngine({ prefix, fhirUrl: ehr.url, stages: ['write'], feeds: false });
    engines.push(engine);
    const ecg = decodeEcg(writeDicomEcg({ ...synthesizeEcg({ seed: 54 }), id: 'waveform-queued-expired' }), META);
    const before = (await resources(ehr, 'RiskAssessment')).length;
    const job = await engine.queues.write.add('write', { prediction: scored(ecg), payloadKey: 'ecg:gone' });
    await waitFor('the write job to complete', async () => (await job.getState()) === 'completed');
    expect((await engine.queues.write.getJob(job.id as string))?.returnvalue).toMatchObject({
      waveform: 'unavailable',
    });
    const observation = await observationOf(ecg.id);
    expect(observation?.component).toBeUndefined();
    expect(observation?.note?.map((n) => n.text)).toContain(
      'Waveform not included: the ECG samples had expired from the payload store before the result was written',
    );
    expect((await resources(ehr, 'RiskAssessment')).length).toBe(before + 1);
  });

  it('with fhir.waveform off: no components, and the infer stage frees the payload', async () => {
    const prefix = uniquePrefix('waveform-off');
    prefixes.push(prefix);
    const engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: [{ path: ['fhir', 'waveform'], value: false }],
    });
    engines.push(engine);
    const { id } = await post(engine, { ...synthesizeEcg({ seed: 53 }), id: 'waveform-queued-off' });
    await waitFor('the ECG to be written', async () => (await ecgStatus(engine.queues, id)).status === 'written');
    const observation = await observationOf(id);
    expect(observation).toBeDefined();
    expect(observation?.component).toBeUndefined();
    const [writeJob] = await engine.queues.write.getCompleted();
    expect(writeJob?.data).toBeDefined();
    expect(writeJob?.data.payloadKey).toBeUndefined();
    const [inferJob] = await engine.queues.infer.getCompleted();
    expect(await redis.exists(`${prefix}:payload:${inferJob?.data.payloadKey}`)).toBe(0);
  });
});
