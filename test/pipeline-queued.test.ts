/**
 * The queued pipeline end to end in one process, on real Redis (unique prefix), the fhir-writer test EHR, and dcmtk
 * storescu as the DICOM sender: C-STORE, STOW-RS, HTTP aECG and a folder drop each end as FHIR resources in the EHR;
 * refused inputs get a reason and sit in the rejected store; the status endpoint follows an ECG; ops endpoints answer.
 * The infer stage runs two model instances here.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import type { QueuedEngine } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { RejectedStore, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import type { Observation, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  dropPrefix,
  resources,
  startTestEngine,
  storescu,
  stowBody,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';
import { noteSkip, readSample, SAMPLES_DIR, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const DICOM_SAMPLES = ['dicom_mortara_el250_12lead.dcm', 'dicom_gemarquette_maclab_hemodynamic_12ch.dcm'];
const MORTARA_UID = '1.3.6.1.4.1.20029.40.20130125105919.5407.1.1';

describe.skipIf(!samplesPresent)(
  `queued pipeline, one process (${samplesPresent ? 'samples' : SAMPLES_SKIP_REASON})`,
  () => {
    let ehr: TestEhr;
    let engine: QueuedEngine & { tmp: string };
    let folder: string;
    const prefix = uniquePrefix('queued');

    beforeAll(async () => {
      ehr = await startTestEhr();
      folder = await mkdtemp(join(tmpdir(), 'ecgcad-drop-'));
      // Two single-threaded model instances (model.instances): the other pipeline tests run the default one.
      engine = await startTestEngine({
        prefix,
        fhirUrl: ehr.url,
        folder,
        overrides: [
          { path: ['model', 'instances'], value: 2 },
          { path: ['model', 'threads'], value: 1 },
        ],
      });
    });

    afterAll(async () => {
      await engine?.close();
      await ehr?.close();
      await dropPrefix(prefix);
    });

    const ecgObservations = (): Promise<Observation[]> => resources<Observation>(ehr, 'Observation?code=34534-8');
    const status = async (ecgId: string): Promise<Record<string, unknown>> => {
      const response = await fetch(`${engine.http!.url}/ecg/${encodeURIComponent(ecgId)}/status`);
      return (await response.json()) as Record<string, unknown>;
    };

    it('C-STORE (storescu): each DICOM sample ends as one RiskAssessment, and the status says written', async () => {
      await storescu(
        engine.dimse!.port,
        DICOM_SAMPLES.map((name) => join(SAMPLES_DIR, name)),
      );
      await waitFor('two RiskAssessments', async () => (await resources(ehr, 'RiskAssessment')).length >= 2);
      await waitFor('status written', async () => (await status(MORTARA_UID)).status === 'written');
      expect(await status(MORTARA_UID)).toMatchObject({ status: 'written', result: 'scored' });
      // A resend is a duplicate: nothing new in the EHR.
      await storescu(engine.dimse!.port, [join(SAMPLES_DIR, DICOM_SAMPLES[0]!)]);
      // So is the same object from another AE title (a PACS forwarding what the cart sent): the content hash covers
      // the data set as sent, not the File Meta the feed adds around it, which names the calling AE title.
      const forwarded = await storescu(engine.dimse!.port, [join(SAMPLES_DIR, DICOM_SAMPLES[0]!)], 'ECGCAD', [
        '-v',
        '-aet',
        'PACSFWD',
      ]);
      expect(`${forwarded.stdout}${forwarded.stderr}`).toMatch(/Received Store Response \(Success\)/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const assessments = await resources<RiskAssessment>(ehr, 'RiskAssessment');
      expect(assessments).toHaveLength(2);
      for (const ra of assessments) expect(ra.prediction).toHaveLength(4);
    });

    it('STOW-RS: a multipart/related POST of synthetic DICOM ECGs ends in the EHR', async () => {
      const before = (await resources(ehr, 'RiskAssessment')).length;
      const parts = [11, 12, 13].map((seed) => writeDicomEcg(synthesizeEcg({ seed })));
      const { body, contentType } = stowBody(parts);
      const response = await fetch(`${engine.http!.url}/dicomweb/studies`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'x-api-key': API_KEY, accept: 'application/dicom+json' },
        body,
      });
      expect(response.status).toBe(200);
      await waitFor(
        'three more RiskAssessments',
        async () => (await resources(ehr, 'RiskAssessment')).length >= before + 3,
      );
    });

    it('HTTP aECG: 202 with a statusUrl that reaches written; refused files get 4xx with a reason and are kept', async () => {
      const response = await fetch(`${engine.http!.url}/ecg`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
        body: Buffer.from(readSample('aecg_hl7_2003_example.xml')),
      });
      expect(response.status).toBe(202);
      const receipt = (await response.json()) as { id: string; status: string };
      const polled = await waitFor('aECG written', async () => {
        const s = (await (await fetch(receipt.status)).json()) as { status: string };
        return s.status === 'written' ? s : undefined;
      });
      expect(polled).toMatchObject({ status: 'written', result: 'scored' });

      // FDA's minimum aECG reuses the HL7 example's document id with other content: refused (409) and kept,
      // never silently taken as a resend. A true resend of the same bytes is a duplicate (202).
      const oneLead = await fetch(`${engine.http!.url}/ecg`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
        body: Buffer.from(readSample('aecg_fda_minimum_1lead.xml')),
      });
      expect(oneLead.status).toBe(409);
      const conflict = (await oneLead.json()) as { issue: Array<{ code: string; diagnostics: string }> };
      expect(conflict.issue[0]).toMatchObject({ code: 'duplicate', diagnostics: expect.stringMatching(/same ECG id/) });
      const resend = await fetch(`${engine.http!.url}/ecg`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
        body: Buffer.from(readSample('aecg_hl7_2003_example.xml')),
      });
      expect(resend.status).toBe(202);
      expect(await resend.json()).toMatchObject({ id: receipt.id, duplicate: true });

      const refusedNames = ['aecg_fda_empty_no_waveform.xml', 'philips_sierraecg_1_03_129DYPRG.xml'];
      for (const name of refusedNames) {
        const refused = await fetch(`${engine.http!.url}/ecg`, {
          method: 'POST',
          headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
          body: Buffer.from(readSample(name)),
        });
        expect(refused.status).toBeGreaterThanOrEqual(400);
        expect(refused.status).toBeLessThan(500);
        const outcome = (await refused.json()) as { issue: Array<{ diagnostics: string }> };
        expect(outcome.issue[0]!.diagnostics.length).toBeGreaterThan(10);
      }
      const store = await RejectedStore.open(engine.config.rejectedDir);
      const entries = await store.list();
      expect(entries.map((e) => e.reason.code).sort()).toEqual(['DUPLICATE_ID', 'MALFORMED', 'UNSUPPORTED_FORMAT']);
    });

    it('folder drop: an aECG file dropped in the watched folder ends in the EHR', async () => {
      const ecg = synthesizeEcg({ seed: 77 });
      const before = (await ecgObservations()).length;
      await writeFile(join(folder, 'drop-77.xml'), writeAecg(ecg));
      await waitFor('the dropped ECG in the EHR', async () => (await ecgObservations()).length > before, 30_000);
      await waitFor('file moved to done/', async () => (await readdir(join(folder, 'done'))).length === 1, 10_000);
    });

    it('ops: healthz, readyz with its checks, metrics with stage and feed counters, status of an unknown id', async () => {
      const url = engine.http!.url;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { redis: 'ok', model: 'ok', ehr: 'ok' } });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/ecgcad_jobs_total\{stage="infer",outcome="done"\} \d+/);
      expect(metrics).toMatch(/ecgcad_jobs_total\{stage="write",outcome="done"\} \d+/);
      expect(metrics).toMatch(/ecgcad_feed_outcomes_total\{feed="cstore",outcome="accepted"\} \d+/);
      expect(metrics).toMatch(/ecgcad_feed_outcomes_total\{feed="http",outcome="refused"\} 3/);
      // Per sender: storescu's default calling AE title, and the API key's id (sha256 prefix, not the key).
      expect(metrics).toMatch(
        /ecgcad_feed_sender_outcomes_total\{feed="cstore",sender="ae:STORESCU",outcome="accepted"\} [1-9]/,
      );
      const keyId = createHash('sha256').update(API_KEY).digest('hex').slice(0, 12);
      expect(metrics).toContain(
        `ecgcad_feed_sender_outcomes_total{feed="http",sender="key:${keyId}",outcome="refused"} 3`,
      );
      expect(metrics).not.toContain(API_KEY);
      expect(metrics).toMatch(/ecgcad_batch_size_count \d+/);
      expect(metrics).toMatch(/ecgcad_queue_depth\{queue="ecg.infer",state="waiting"\} 0/);
      expect(metrics).toMatch(/ecgcad_queue_oldest_waiting_seconds\{queue="ecg.infer"\} 0/);
      // Model monitoring through the infer worker's hook (docs/MONITORING.md).
      expect(metrics).toMatch(/ecgcad_prediction_outcomes_total\{status="scored"\} [1-9]/);
      expect(metrics).toMatch(/ecgcad_predictions_total\{vessel="LAD",stratum="(low|intermediate|high)"\} [1-9]/);
      expect(metrics).toMatch(/ecgcad_inputs_total\{feed="cstore",device="[^"]+"\} [1-9]/);
      expect(metrics).toMatch(/ecgcad_input_sample_rate_hz_count [1-9]/);
      expect(metrics).toMatch(/ecgcad_drift_reference_captured_ecgs [1-9]/);
      expect((await fetch(`${url}/ecg/no-such-ecg/status`)).status).toBe(404);
    });

    it('readyz says not ready while the EHR is down (fault switch)', async () => {
      ehr.faults.failFor(5_000);
      const ready = await fetch(`${engine.http!.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { ehr: string } }).checks.ehr).toMatch(/503/);
      ehr.faults.clear();
    });
  },
);
