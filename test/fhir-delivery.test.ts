/**
 * Delivery guarantees of the FHIR writer against the test EHR over real HTTP:
 * resends and writer restarts leave exactly one of each resource, and a 30-second outage loses nothing.
 */
import {
  deliverWithRetry,
  examplePrediction,
  FhirClient,
  FhirWriter,
  SYSTEMS,
  startTestEhr,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const PATIENT = { system: SYSTEMS.patientId, value: 'MRN-000123' };

async function total(ehr: TestEhr, query: string): Promise<number> {
  const res = await fetch(`${ehr.url}/${query}${query.includes('?') ? '&' : '?'}_count=1000`);
  return ((await res.json()) as { total: number }).total;
}

/** Resource counts by type, over HTTP. */
async function counts(ehr: TestEhr): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of ['Device', 'Observation', 'RiskAssessment', 'Flag', 'Provenance'])
    out[type] = await total(ehr, type);
  return out;
}

describe('FHIR delivery', () => {
  let ehr: TestEhr;
  beforeEach(async () => {
    ehr = await startTestEhr({ patients: [PATIENT] });
  });
  afterEach(async () => {
    await ehr.close();
  });

  it('leaves exactly one of each resource after three sends and a writer restart', async () => {
    const scored = examplePrediction({ ecgId: '1.2.3.9001', probabilities: [0.5, 0.05, 0.05, 0.05] });
    const refused = examplePrediction({ ecgId: '1.2.3.9002', notAnalysable: ['lead V2 is flat'] });
    const first = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }) });
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await first.write(scored));
      results.push(await first.write(refused));
    }
    // A restart: new client, new writer, same predictions.
    const second = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }) });
    results.push(await second.write(scored));
    results.push(await second.write(refused));

    expect(results.map((r) => r.created)).toEqual([9, 3, 0, 0, 0, 0, 0, 0]);
    expect(results.map((r) => r.existing)).toEqual([0, 1, 9, 4, 9, 4, 9, 4]);
    // One Device (shared), ECG + 4 vessels + ECG + not-analysable Observations, one of the rest.
    expect(await counts(ehr)).toEqual({ Device: 1, Observation: 7, RiskAssessment: 1, Flag: 1, Provenance: 2 });
    const ecg = `Observation?identifier=${encodeURIComponent('urn:dicom:uid')}|${encodeURIComponent('urn:oid:1.2.3.9001')}`;
    expect(await total(ehr, ecg)).toBe(1);
    expect(await total(ehr, `Observation?code=${encodeURIComponent(SYSTEMS.concept)}|RCA-risk-stratum`)).toBe(1);
  });

  it('loses nothing through a 30-second outage (503 with Retry-After, then dropped connections)', async () => {
    const predictions = Array.from({ length: 12 }, (_, i) =>
      examplePrediction({ ecgId: `1.2.3.77.${i + 1}`, probabilities: [0.05, 0.05, i % 3 === 0 ? 0.6 : 0.3, 0.05] }),
    );
    const writer = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url, timeoutMs: 5000 }) });
    ehr.faults.failFor(30_000, { status: 503, retryAfterS: 2 });
    const started = Date.now();
    let retries = 0;
    const results = await Promise.all(
      predictions.map((p) =>
        deliverWithRetry(() => writer.write(p), {
          attempts: 100,
          baseDelayMs: 250,
          maxDelayMs: 4000,
          onRetry: () => {
            retries++;
            // A second fault kind mid-outage: the next two requests lose their connection.
            if (retries === 20) ehr.faults.dropNext(2);
          },
        }),
      ),
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(30_000);
    expect(elapsed).toBeLessThan(60_000);
    expect(ehr.stats.faulted).toBeGreaterThan(predictions.length);
    expect(results.every((r) => r.created + r.existing === r.entries.length)).toBe(true);
    const high = predictions.filter((_, i) => i % 3 === 0).length;
    expect(await counts(ehr)).toEqual({
      Device: 1,
      Observation: predictions.length * 5,
      RiskAssessment: predictions.length,
      Flag: high,
      Provenance: predictions.length,
    });
  }, 90_000);
});
