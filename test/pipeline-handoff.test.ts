/**
 * Intake, infer and write in one process on real Redis, sharing EcgHandoffs (as `ecgcad serve` runs them): the
 * writer takes the ECG the infer stage decoded from a DICOM payload instead of reading the payload back and decoding
 * it again, writes the same leads into the test EHR (the Medplum router), and still deletes the payload once
 * delivered. A codec payload (an aECG, say) is not handed off: the writer reads it, as a writer elsewhere would.
 * The queued intake decodes a DICOM object and leaves its ECG for the infer stage, which takes it only for the job
 * of that delivery; then neither stage reads the payload.
 */
import {
  EcgHandoff,
  encodeEcgPayload,
  type InferJobData,
  MemoryPayloadStore,
  payloadKey,
  QUEUE_NAMES,
  STANDARD_LEADS,
  synthesizeEcg,
  type WriteJobData,
} from '@ecgcad/ecg';
import {
  decodeSampledData,
  FhirClient,
  FhirWriter,
  leadOfMdcCode,
  startTestEhr,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import { startWriteWorker } from '@ecgcad/fhir-writer/worker';
import { buildModelInMemory, createSession, Predictor } from '@ecgcad/infer';
import { startInferWorker } from '@ecgcad/infer/worker';
import { decodeEcg, writeDicomEcg } from '@ecgcad/ingest';
import { createQueuedIntake } from '@ecgcad/ingest/queued-intake';
import { stageJobOptions } from '@ecgcad/queue';
import type { Observation } from '@medplum/fhirtypes';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, resources, uniquePrefix, waitFor } from './pipeline-support.js';

const prefix = uniquePrefix('handoff');
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const inferQueue = new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix });
const writeQueue = new Queue<WriteJobData>(QUEUE_NAMES.write, { connection, prefix });

/** A payload store that counts reads per key (the writer's read is what the hand-off saves). */
class CountingStore extends MemoryPayloadStore {
  readonly reads = new Map<string, number>();
  override async get(key: string): Promise<Uint8Array | undefined> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return super.get(key);
  }
}

const payloads = new CountingStore();
const handoff = new EcgHandoff();
/** Where the intake leaves the ECGs it decoded for the infer stage. */
const fromFeeds = new EcgHandoff();
let ehr: TestEhr;
let predictor: Predictor;
let workers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ehr = await startTestEhr();
  const { model } = buildModelInMemory();
  predictor = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), { batching: { maxBatch: 4 } });
  const common = { connection, prefix, payloads, decodeSource: decodeEcg, handoff, concurrency: 2 };
  workers = [
    startInferWorker({ ...common, predictor, writeQueue, handOverPayloads: true, intakeHandoff: fromFeeds }),
    startWriteWorker({
      ...common,
      writer: new FhirWriter({
        sink: new FhirClient({ baseUrl: ehr.url }),
        patient: { whenMissing: 'placeholder', reference: 'logical' },
        waveform: true,
      }),
    }),
  ];
});

afterAll(async () => {
  for (const closable of [...workers, predictor, inferQueue, writeQueue, ehr]) await closable.close();
  connection.disconnect();
  await dropPrefix(prefix);
});

/** The ECG Observation written for `ecgId`, its leads by name (uV). */
async function writtenLeads(ecgId: string): Promise<Map<string, Float64Array>> {
  const observations = await resources<Observation>(ehr, 'Observation?code=34534-8');
  const observation = observations.find((o) => o.identifier?.some((i) => i.value === `urn:oid:${ecgId}`));
  const leads = new Map<string, Float64Array>();
  for (const c of observation?.component ?? []) {
    const lead = leadOfMdcCode(c.code.coding?.[0]?.code);
    if (lead && c.valueSampledData) leads.set(lead, decodeSampledData(c.valueSampledData));
  }
  return leads;
}

async function score(ecgId: string, key: string, feed: string): Promise<void> {
  const data = { ecgId, payloadKey: key, receivedAt: '2026-12-04T10:00:00.000Z', feed };
  await inferQueue.add('infer', data, { ...stageJobOptions(), jobId: ecgId });
  await waitFor('the write job to complete', async () =>
    (await writeQueue.getCompleted()).some((j) => j.data.prediction.ecg.id === ecgId),
  );
}

describe('infer -> write hand-off in one process (real Redis, test EHR)', () => {
  it('the writer takes the decoded DICOM payload instead of reading it again, and writes the same leads', async () => {
    const bytes = writeDicomEcg({ ...synthesizeEcg({ seed: 61 }), id: 'handoff-dicom-1' });
    const expected = decodeEcg(bytes, { feed: 'stow', receivedAt: '2026-12-04T10:00:00.000Z' });
    const key = payloadKey('ecg', `source\n${expected.source.sha256}`);
    await payloads.put(key, bytes);
    await score(expected.id, key, 'stow');
    // Read once, by the infer stage; the writer took what it decoded.
    expect(payloads.reads.get(key)).toBe(1);
    expect(handoff.size).toBe(0);
    const leads = await writtenLeads(expected.id);
    expect([...leads.keys()]).toEqual(STANDARD_LEADS.filter((lead) => (expected.leads[lead]?.length ?? 0) > 0));
    for (const [lead, values] of leads) expect(Float32Array.from(values)).toEqual(expected.leads[lead as 'I']);
    // Delivered: the payload is gone from the store as without the hand-off.
    expect(await payloads.get(key)).toBeUndefined();
  });

  it('a codec payload is not handed off: the writer reads it from the store', async () => {
    const ecg = { ...synthesizeEcg({ seed: 62 }), id: 'handoff-codec-1' };
    const key = payloadKey('ecg', ecg.id);
    await payloads.put(key, encodeEcgPayload(ecg));
    await score(ecg.id, key, 'http');
    expect(payloads.reads.get(key)).toBe(2);
    expect(handoff.size).toBe(0);
    const [written] = (await writeQueue.getCompleted()).filter((j) => j.data.prediction.ecg.id === ecg.id);
    expect(written?.returnvalue).toMatchObject({ waveform: 'included' });
    expect(await payloads.get(key)).toBeUndefined();
  });

  it('the infer stage takes the ECG the intake decoded: neither stage reads the payload', async () => {
    const intake = createQueuedIntake({ inferQueue, payloads, handoff: fromFeeds });
    const bytes = writeDicomEcg({ ...synthesizeEcg({ seed: 63 }), id: 'handoff-intake-1' });
    const meta = { feed: 'cstore', receivedAt: '2026-12-05T08:00:00.000Z' };
    const expected = decodeEcg(bytes, meta);
    const key = payloadKey('ecg', `source\n${expected.source.sha256}`);
    expect(await intake(bytes, { ...meta, contentType: 'application/dicom' })).toEqual({ ecgId: expected.id });
    await waitFor('the write job to complete', async () =>
      (await writeQueue.getCompleted()).some((j) => j.data.prediction.ecg.id === expected.id),
    );
    expect(payloads.reads.get(key)).toBeUndefined();
    expect(fromFeeds.size).toBe(0);
    expect(handoff.size).toBe(0);
    const leads = await writtenLeads(expected.id);
    expect(leads.size).toBe(12);
    for (const [lead, values] of leads) expect(Float32Array.from(values)).toEqual(expected.leads[lead as 'I']);
    expect(await payloads.get(key)).toBeUndefined();
  });

  it('an entry from another delivery of the document is not taken for the job: the infer stage reads the payload', async () => {
    const bytes = writeDicomEcg({ ...synthesizeEcg({ seed: 64 }), id: 'handoff-intake-2' });
    const sent = decodeEcg(bytes, { feed: 'cstore', receivedAt: '2026-12-05T08:00:00.000Z' });
    const key = payloadKey('ecg', `source\n${sent.source.sha256}`);
    await payloads.put(key, bytes);
    // Left by a resend received later than the delivery whose job this is.
    const resend = decodeEcg(bytes, { feed: 'cstore', receivedAt: '2026-12-05T08:00:05.000Z' });
    fromFeeds.put(key, resend);
    const data = {
      ecgId: sent.id,
      payloadKey: key,
      receivedAt: sent.source.receivedAt,
      feed: 'cstore',
      sha256: sent.source.sha256,
    };
    await inferQueue.add('infer', data, { ...stageJobOptions(), jobId: sent.id });
    await waitFor('the write job to complete', async () =>
      (await writeQueue.getCompleted()).some((j) => j.data.prediction.ecg.id === sent.id),
    );
    // Read by the infer stage (the entry was not its delivery's); the writer took what that read decoded.
    expect(payloads.reads.get(key)).toBe(1);
    const [written] = (await writeQueue.getCompleted()).filter((j) => j.data.prediction.ecg.id === sent.id);
    expect(written?.data.prediction.ecg.receivedAt).toBe(sent.source.receivedAt);
  });
});
