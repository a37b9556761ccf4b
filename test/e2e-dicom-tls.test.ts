/**
 * DICOM TLS end to end: dcmtk storescu +tls with a client certificate -> the queued engine configured with
 * dimse.tls and a calling-AE allow list (as `ecgcad serve` builds it) -> Redis -> model -> the test EHR gets the
 * RiskAssessment. Certificates are made by the test with openssl.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import type { QueuedEngine } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { writeDicomEcg } from '@ecgcad/ingest';
import type { RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from './dimse-security-support.js';
import { runTool, tempDir } from './feeds-support.js';
import { dropPrefix, resources, startTestEngine, uniquePrefix, waitFor } from './pipeline-support.js';

describe('DICOM TLS end to end: storescu +tls -> queued engine -> test EHR', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  let pki: TestPki;
  let ecgFile: string;
  const prefix = uniquePrefix('dicomtls');

  beforeAll(async () => {
    const dir = await tempDir('e2e-dicomtls');
    pki = await makeTestPki(dir);
    ecgFile = join(dir, 'ecg.dcm');
    await writeFile(ecgFile, writeDicomEcg(synthesizeEcg({ seed: 21 })));
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: [
        { path: ['dimse', 'tls'], value: { certFile: pki.serverPem, keyFile: pki.serverKey, caFile: pki.caPem } },
        { path: ['dimse', 'allowedCallingAeTitles'], value: ['CART1'] },
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  const store = (calling: string, tls: string[]) =>
    runTool('storescu', [
      '-v',
      '-aet',
      calling,
      '-aec',
      'ECGCAD',
      ...tls,
      '127.0.0.1',
      String(engine.dimse!.port),
      ecgFile,
    ]);

  it('delivers over TLS with a client certificate, and the EHR gets the RiskAssessment', async () => {
    expect(engine.dimse?.tls).toBe(true);
    const { code, out } = await store('CART1', ['+tls', pki.clientKey, pki.clientPem, '+cf', pki.caPem]);
    expect(out).toMatch(/Received Store Response \(Success\)/);
    expect(code).toBe(0);
    await waitFor('a RiskAssessment', async () => (await resources(ehr, 'RiskAssessment')).length >= 1);
    const [assessment] = await resources<RiskAssessment>(ehr, 'RiskAssessment');
    expect(assessment?.prediction?.length).toBeGreaterThan(0);
  });

  it('refuses plain TCP, an untrusted certificate and an unknown calling AE; nothing more reaches the EHR', async () => {
    const plain = await store('CART1', []);
    const rogue = await store('CART1', ['+tls', pki.rogueKey, pki.roguePem, '+cf', pki.caPem]);
    const intruder = await store('INTRUDER', ['+tls', pki.clientKey, pki.clientPem, '+cf', pki.caPem]);
    for (const r of [plain, rogue, intruder]) {
      expect(r.code).not.toBe(0);
      expect(r.out).not.toMatch(/Store Response/);
    }
    expect(intruder.out).toMatch(/Calling AE Title Not Recognized/i);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await resources(ehr, 'RiskAssessment')).toHaveLength(1);
  });
});
