import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../bundle.js';
import { SYSTEMS } from '../codes.js';
import { examplePrediction } from '../example.js';
import { prefersMinimal, startTestEhr, type TestEhr } from './server.js';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: JSON.stringify(body),
  });

describe('test EHR', () => {
  let ehr: TestEhr;
  beforeAll(async () => {
    ehr = await startTestEhr({ patients: [{ system: SYSTEMS.patientId, value: 'MRN-000123' }] });
  });
  afterAll(async () => {
    await ehr.close();
  });

  const total = async (query: string): Promise<number> =>
    ((await (await fetch(`${ehr.url}/${query}`)).json()) as { total: number }).total;

  it('refuses an invalid resource with 400 and an OperationOutcome', async () => {
    const res = await post(`${ehr.url}/Observation`, { resourceType: 'Observation', status: 'final', bogus: true });
    expect(res.status).toBe(400);
    const outcome = (await res.json()) as { resourceType: string; issue: { details: { text: string } }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.map((i) => i.details.text).join(' ')).toMatch(/bogus|code/);
  });

  it('validates each transaction entry and writes nothing from a refused Bundle', async () => {
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.200' }));
    // biome-ignore lint/suspicious/noExplicitAny: corrupt one entry
    (bundle.entry?.[5]?.resource as any).valueCodeableConcept = 'high';
    const before = await total('Observation');
    const res = await post(ehr.url, bundle);
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/entry\[5\] Observation/);
    expect(await total('Observation')).toBe(before);
    expect(await total('Device')).toBe(0);
  });

  it('honours If-None-Exist on plain creates', async () => {
    const device = { resourceType: 'Device', identifier: [{ system: 'urn:x', value: 'd1' }] };
    const a = await post(`${ehr.url}/Device`, device, { 'if-none-exist': 'identifier=urn:x|d1' });
    const b = await post(`${ehr.url}/Device`, device, { 'if-none-exist': 'identifier=urn:x|d1' });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(await total('Device?identifier=urn:x|d1')).toBe(1);
  });

  it('dedupes concurrent resends of the same transaction', async () => {
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.201', probabilities: [0.9, 0.9, 0.9, 0.9] }));
    const replies = await Promise.all(Array.from({ length: 5 }, () => post(ehr.url, bundle)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const ra = bundle.entry?.[2]?.resource as { identifier: { system: string; value: string }[] };
    const id = ra.identifier[0];
    expect(await total(`RiskAssessment?identifier=${encodeURIComponent(id?.system ?? '')}|${id?.value}`)).toBe(1);
    const flag = bundle.entry?.[7]?.resource as { identifier: { value: string }[] };
    expect(await total(`Flag?identifier=${encodeURIComponent(SYSTEMS.resultId)}|${flag.identifier[0]?.value}`)).toBe(1);
  });

  it('resolves the conditional patient reference to the Patient it finds', async () => {
    const patients = (await (await fetch(`${ehr.url}/Patient`)).json()) as { entry: { resource: { id: string } }[] };
    const patientId = patients.entry[0]?.resource.id;
    const ras = (await (await fetch(`${ehr.url}/RiskAssessment?subject=Patient/${patientId}`)).json()) as {
      total: number;
    };
    expect(ras.total).toBeGreaterThan(0);
  });

  it('leaves the resources out of a transaction response under Prefer: return=minimal, and only then', async () => {
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.202' }));
    const full = (await (await post(ehr.url, bundle)).json()) as Bundle;
    const minimal = (await (await post(ehr.url, bundle, { prefer: 'return=minimal' })).json()) as Bundle;
    expect(full.type).toBe('transaction-response');
    expect(full.entry?.every((e) => e.resource !== undefined)).toBe(true);
    expect(minimal.type).toBe('transaction-response');
    expect(minimal.entry).toHaveLength(bundle.entry?.length ?? -1);
    expect(minimal.entry?.some((e) => e.resource !== undefined)).toBe(false);
    // The same outcome per entry (a resend: every conditional create finds what the first post made).
    expect(minimal.entry?.map((e) => [e.response?.status, e.response?.location])).toEqual(
      full.entry?.map((e) => ['200', e.response?.location]),
    );
  });

  it('reads return=minimal among other preferences, in any case', () => {
    expect(prefersMinimal('return=minimal')).toBe(true);
    expect(prefersMinimal('respond-async, Return = Minimal')).toBe(true);
    expect(prefersMinimal(['handling=strict', 'return=minimal'])).toBe(true);
    expect(prefersMinimal('return=representation')).toBe(false);
    expect(prefersMinimal(undefined)).toBe(false);
  });

  it('answers 404 outside /fhir and /token', async () => {
    expect((await fetch(`${ehr.url.replace('/fhir', '/nope')}`)).status).toBe(404);
    expect((await post(ehr.tokenUrl, {})).status).toBe(404);
  });
});
