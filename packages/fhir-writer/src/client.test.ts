import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConfigError, PermanentError, TransientError } from '@ecgcad/ecg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle } from './bundle.js';
import { FhirClient, redactPatientIdentifiers } from './client.js';
import { SYSTEMS } from './codes.js';
import { examplePrediction } from './example.js';
import { startTestEhr, type TestEhr } from './test-ehr/server.js';

async function count(ehr: TestEhr, type: string): Promise<number> {
  const reply = (await (await fetch(`${ehr.url}/${type}?_count=1000`)).json()) as { total?: number };
  return reply.total ?? -1;
}

describe('FhirClient against the test EHR', () => {
  let ehr: TestEhr;
  beforeAll(async () => {
    ehr = await startTestEhr({ patients: [{ system: SYSTEMS.patientId, value: 'MRN-000123' }] });
  });
  afterAll(async () => {
    await ehr.close();
  });
  beforeEach(() => {
    ehr.faults.clear();
  });

  it('posts a transaction and reports created entries, then existing ones on a resend', async () => {
    const client = new FhirClient({ baseUrl: `${ehr.url}/` });
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.100' }));
    const first = await client.postTransaction(bundle);
    expect(first).toMatchObject({ sink: 'fhir', target: ehr.url, created: 9, existing: 0 });
    expect(first.entries.map((e) => e.resourceType)).toEqual([
      'Device',
      'Observation',
      'RiskAssessment',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Flag',
      'Provenance',
    ]);
    expect(first.entries[2]?.location).toMatch(/^RiskAssessment\//);
    const again = await client.postTransaction(bundle);
    expect(again).toMatchObject({ created: 0, existing: 9 });
    expect(again.entries[2]?.location).toBe(first.entries[2]?.location);
  });

  it('keeps nothing of the Bundle while the EHR works on it, so its waveform strings can die young', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    ehr.faults.latencyMs = 400;
    const client = new FhirClient({ baseUrl: ehr.url });
    const { held, posting } = (() => {
      const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.150' }));
      return { held: new WeakRef(bundle), posting: client.postTransaction(bundle) };
    })();
    // A WeakRef holds its target until the current job ends: wait one turn, then collect while the EHR waits.
    await new Promise((r) => setTimeout(r, 50));
    gc();
    expect(held.deref()).toBeUndefined();
    const result = await posting;
    expect(result.created + result.existing).toBe(9);
    // The same prediction built again: the types the client must report, in the order they were sent.
    const sent = buildBundle(examplePrediction({ ecgId: '1.2.3.150' })).entry?.map((e) => e.resource?.resourceType);
    expect(result.entries.map((e) => e.resourceType)).toEqual(sent);
  });

  it('maps 503 to TransientError with Retry-After in seconds', async () => {
    ehr.faults.failNext(1, { status: 503, retryAfterS: 4 });
    const err = await new FhirClient({ baseUrl: ehr.url }).deliver(buildBundle(examplePrediction())).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryAfterMs).toBe(4000);
    expect((err as Error).message).toMatch(/answered 503/);
  });

  it('maps 429 to TransientError and other 4xx to PermanentError', async () => {
    ehr.faults.failNext(1, { status: 429 });
    await expect(new FhirClient({ baseUrl: ehr.url }).deliver(buildBundle(examplePrediction()))).rejects.toBeInstanceOf(
      TransientError,
    );
    ehr.faults.failNext(1, { status: 403 });
    await expect(new FhirClient({ baseUrl: ehr.url }).deliver(buildBundle(examplePrediction()))).rejects.toBeInstanceOf(
      PermanentError,
    );
  });

  it('refuses a redirect permanently, without following it, and says where it pointed (no query)', async () => {
    let posts = 0;
    const redirecting = createServer((request, response) => {
      posts++;
      request.resume();
      response.writeHead(307, { location: `${ehr.url}?token=secret` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const { port } = redirecting.address() as AddressInfo;
    try {
      const before = await count(ehr, 'Observation');
      const client = new FhirClient({ baseUrl: `http://127.0.0.1:${port}/fhir` });
      const err = await client.deliver(buildBundle(examplePrediction())).catch((e) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toContain(`answered 307 (a redirect to ${ehr.url}`);
      expect((err as Error).message).toContain('set fhir.url');
      expect((err as Error).message).not.toContain('secret');
      expect(posts).toBe(1);
      expect(await count(ehr, 'Observation')).toBe(before);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it('carries the server diagnostics of a 400 without the patient identifier, and writes nothing', async () => {
    const before = await count(ehr, 'Observation');
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.101', patientId: 'UNKNOWN-778899' }));
    const err = await new FhirClient({ baseUrl: ehr.url }).deliver(bundle).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/answered 400: .*conditional reference Patient\?identifier=.*matched 0/);
    expect((err as Error).message).not.toContain('UNKNOWN-778899');
    expect(await count(ehr, 'Observation')).toBe(before);
  });

  it('maps timeouts and dropped connections to TransientError', async () => {
    ehr.faults.latencyMs = 500;
    const slow = new FhirClient({ baseUrl: ehr.url, timeoutMs: 100 });
    await expect(slow.deliver(buildBundle(examplePrediction()))).rejects.toThrow(/no response within 100 ms/);
    ehr.faults.clear();
    ehr.faults.dropNext(1);
    const err = await new FhirClient({ baseUrl: ehr.url }).deliver(buildBundle(examplePrediction())).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/network fault/);
  });

  it('maps a refused connection to TransientError', async () => {
    const closed = await startTestEhr();
    const url = closed.url;
    await closed.close();
    await expect(new FhirClient({ baseUrl: url }).deliver(buildBundle(examplePrediction()))).rejects.toThrow(
      /network fault \(ECONNREFUSED\)/,
    );
  });

  it('rejects a base URL that is not http(s)', () => {
    expect(() => new FhirClient({ baseUrl: 'file:///etc' })).toThrow(ConfigError);
    expect(() => new FhirClient({ baseUrl: 'not a url' })).toThrow(ConfigError);
  });
});

describe('redactPatientIdentifiers', () => {
  it('removes raw and percent-decoded identifier values', () => {
    const bundle = buildBundle(examplePrediction({ patientId: 'A B|7' }));
    expect(redactPatientIdentifiers('no match for A B|7 or A%20B%7C7', bundle)).toBe(
      'no match for [redacted] or [redacted]',
    );
  });
});
