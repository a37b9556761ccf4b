import { FhirClient } from '@ecgcad/fhir-writer';
import { describe, expect, it } from 'vitest';
import {
  type DataOptions,
  type FhirSearcher,
  loadResources,
  PreconditionFailed,
  prefetched,
  searcherFor,
} from './data.js';
import type { CdsRequest } from './spec.js';

const ENGINE_BASE = 'https://ehr.example.org/fhir';
const request = (extra: Partial<CdsRequest> = {}): CdsRequest => ({
  hook: 'patient-view',
  hookInstance: 'h',
  context: { patientId: 'p1' },
  ...extra,
});

/** A searcher that records its queries and answers from a table. */
function recording(answers: Record<string, unknown[]> = {}): FhirSearcher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async search(type: string, params: Record<string, string>) {
      calls.push(`${type}?${new URLSearchParams(params).toString()}`);
      return (answers[type] ?? []) as never[];
    },
  };
}

const options = (searcher: FhirSearcher, allowed: string[] = []): DataOptions => ({
  engine: { baseUrl: ENGINE_BASE, searcher },
  allowedFhirServers: allowed,
  timeoutMs: 1000,
  since: new Date('2025-12-03T00:00:00Z'),
});

describe('prefetched', () => {
  it('takes a searchset Bundle, treats null as no data, and asks for a read otherwise', () => {
    const obs = { resourceType: 'Observation', id: 'o' };
    const outcome = { resourceType: 'OperationOutcome' };
    expect(prefetched({ resourceType: 'Bundle', entry: [{ resource: obs }, { resource: outcome }] })).toEqual([obs]);
    expect(prefetched(null)).toEqual([]);
    expect(prefetched(undefined)).toBeUndefined();
    expect(prefetched(outcome)).toBeUndefined();
    expect(prefetched({ resourceType: 'Bundle', link: [{ relation: 'next', url: 'x' }], entry: [] })).toBeUndefined();
  });
});

describe('searcherFor', () => {
  it('uses the engine client without fhirServer, or for its own server without a token', () => {
    const engine = recording();
    expect(searcherFor(request(), options(engine))).toBe(engine);
    expect(searcherFor(request({ fhirServer: `${ENGINE_BASE}/` }), options(engine))).toBe(engine);
  });

  it("uses the client's token for an allowed server, and refuses any other server", () => {
    const auth = { access_token: 't', token_type: 'Bearer' as const, expires_in: 60, scope: 's', subject: 'c' };
    const withToken = searcherFor(request({ fhirServer: ENGINE_BASE, fhirAuthorization: auth }), options(recording()));
    expect(withToken).toBeInstanceOf(FhirClient);
    const other = 'https://other.example.org/fhir';
    expect(searcherFor(request({ fhirServer: other }), options(recording(), [other]))).toBeInstanceOf(FhirClient);
    expect(() => searcherFor(request({ fhirServer: other }), options(recording()))).toThrow(PreconditionFailed);
    expect(() => searcherFor(request(), { ...options(recording()), engine: undefined })).toThrow(PreconditionFailed);
  });
});

describe('loadResources', () => {
  it('reads nothing when both prefetch keys are there', async () => {
    const engine = recording();
    const prefetch = { ecgcadResults: { resourceType: 'Bundle', entry: [] }, ecgcadPtp: null };
    expect(await loadResources(request({ prefetch }), 'p1', options(engine))).toEqual({
      resources: [],
      source: 'prefetch',
    });
    expect(engine.calls).toEqual([]);
  });

  it('reads only the missing key, for the patient and the card window', async () => {
    const engine = recording({ RiskAssessment: [{ resourceType: 'RiskAssessment' }] });
    const prefetch = { ecgcadResults: { resourceType: 'Bundle', entry: [] } };
    const out = await loadResources(request({ prefetch }), 'p1', options(engine));
    expect(out.source).toBe('mixed');
    expect(out.resources).toHaveLength(1);
    expect(engine.calls).toHaveLength(1);
    expect(engine.calls[0]).toMatch(/^RiskAssessment\?patient=Patient%2Fp1&method=.*&date=ge2025-12-03$/);
  });

  it('turns a FHIR fault into PreconditionFailed', async () => {
    const failing: FhirSearcher = {
      search: async () => {
        throw new Error('EHR answered 503');
      },
    };
    await expect(loadResources(request(), 'p1', options(failing))).rejects.toThrow(PreconditionFailed);
  });
});
