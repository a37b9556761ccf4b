import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError, TransientError } from '@ecgcad/ecg';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirClient } from './client.js';
import { SYSTEMS } from './codes.js';
import { startTestEhr, type TestEhr } from './test-ehr/server.js';

describe('FhirClient.search against the test EHR', () => {
  let ehr: TestEhr;
  beforeAll(async () => {
    const patients = Array.from({ length: 5 }, (_, i) => ({ system: SYSTEMS.patientId, value: `MRN-S-${i}` }));
    ehr = await startTestEhr({ patients });
  });
  afterAll(async () => {
    await ehr.close();
  });

  it('follows next links to collect every page, and encodes token values once', async () => {
    const client = new FhirClient({ baseUrl: ehr.url });
    const all = await client.search<Patient>('Patient', { _count: '2' });
    expect(all.map((p) => p.identifier?.[0]?.value).sort()).toEqual([
      'MRN-S-0',
      'MRN-S-1',
      'MRN-S-2',
      'MRN-S-3',
      'MRN-S-4',
    ]);
    const one = await client.search<Patient>('Patient', { identifier: `${SYSTEMS.patientId}|MRN-S-3` });
    expect(one.map((p) => p.identifier?.[0]?.value)).toEqual(['MRN-S-3']);
    await expect(client.search('Patient', { _count: '1' }, { maxPages: 2 })).rejects.toThrow(/more than 2 pages/);
  });

  it('is transient through an outage', async () => {
    ehr.faults.failNext(1, { status: 503, retryAfterS: 1 });
    const err = await new FhirClient({ baseUrl: ehr.url }).search('Patient', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryAfterMs).toBe(1000);
  });
});

describe('FhirClient.search against a scripted server', () => {
  let server: Server;
  let base = '';
  let reply: { status: number; body: unknown } = { status: 200, body: {} };
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(reply.status, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(reply.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('refuses a next link to another server (the token stays home)', async () => {
    reply = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: { resourceType: 'Condition', id: 'c1' }, search: { mode: 'match' } }],
        link: [{ relation: 'next', url: 'https://elsewhere.example/fhir/Condition?page=2' }],
      },
    };
    await expect(new FhirClient({ baseUrl: base }).search('Condition', { patient: 'Patient/1' })).rejects.toThrow(
      /next-page link points at another server/,
    );
  });

  it('refuses a result with fewer matches than the server counted and no next link', async () => {
    reply = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 3,
        entry: [{ resource: { resourceType: 'Condition', id: 'c1' }, search: { mode: 'match' } }],
      },
    };
    await expect(new FhirClient({ baseUrl: base }).search('Condition', {})).rejects.toThrow(
      /counted 3 matches, returned 1 and gave no next-page link/,
    );
  });

  it('leaves included resources out', async () => {
    reply = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          { resource: { resourceType: 'Condition', id: 'c1' }, search: { mode: 'match' } },
          { resource: { resourceType: 'Patient', id: 'p1' }, search: { mode: 'include' } },
        ],
      },
    };
    const found = await new FhirClient({ baseUrl: base }).search('Condition', {});
    expect(found.map((r) => r.id)).toEqual(['c1']);
  });

  it('makes a 4xx permanent, names the resource type, hints at scopes on 403 and redacts echoed values', async () => {
    reply = {
      status: 403,
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'no access to Patient?identifier=sys|MRN-123' }],
      },
    };
    const err = await new FhirClient({ baseUrl: base })
      .search('Patient', { identifier: 'sys|MRN-123' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/answered 403 to a Patient search: .*check the client's scopes/);
    expect((err as Error).message).not.toMatch(/MRN-123/);
  });
});
