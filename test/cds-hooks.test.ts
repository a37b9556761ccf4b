/**
 * The CDS Hooks service end to end over real HTTP: the test EHR holds results the real FhirWriter wrote (a high
 * result with a computed PTP for one patient, nothing for another); a stand-in EHR signs its calls with an ES384 key
 * whose JWK Set it serves over HTTP; the engine's CDS routes run in a fastify server. Checked: discovery against the
 * spec's shapes, patient-view with prefetch (the templates run against the EHR) and without (the service reads the
 * EHR itself), the empty answer, the order hooks for a CCTA order and for an unrelated one, JWT refusals, CORS.
 */
import {
  type CdsRoutesOptions,
  cdsResponseSchema,
  cdsRoutes,
  createClientAuthenticator,
  discoverySchema,
  prefetchTemplates,
} from '@ecgcad/engine';
import { FhirClient, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CdsClientIdentity,
  fillPrefetch,
  type SeededEhr,
  seedCdsEhr,
  startCdsClientIdentity,
} from './support/cds-support.js';

const NOW = new Date('2026-12-03T12:00:00Z');
const APP = 'https://viewer.example.org/app/launch.html';
const CCTA = { system: 'http://www.ama-assn.org/go/cpt', code: '75574' };

describe('CDS Hooks service', () => {
  let ehr: TestEhr;
  let seeded: SeededEhr;
  /** A second EHR that needs a bearer token, allowed by `cds.fhirServers`. */
  let lockedEhr: TestEhr;
  let locked: SeededEhr;
  let lockedToken: string;
  let client: CdsClientIdentity;
  let app: FastifyInstance;
  let base: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    ehr = await startTestEhr();
    seeded = await seedCdsEhr(ehr.url);
    lockedEhr = await startTestEhr({ auth: { clients: [{ clientId: 'cds-service', secret: 'a-long-test-secret' }] } });
    const token = await fetch(lockedEhr.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'cds-service',
        client_secret: 'a-long-test-secret',
      }),
    });
    lockedToken = ((await token.json()) as { access_token: string }).access_token;
    locked = await seedCdsEhr(lockedEhr.url, { token: lockedToken });
    client = await startCdsClientIdentity();
    app = Fastify();
    const options: CdsRoutesOptions = {
      authenticate: createClientAuthenticator({ clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }] }),
      baseUrl: () => base,
      appLaunchUrl: APP,
      recentDays: 365,
      maxCards: 3,
      orderCodes: [`${CCTA.system}|${CCTA.code}`],
      data: {
        engine: { baseUrl: ehr.url, searcher: new FhirClient({ baseUrl: ehr.url }) },
        allowedFhirServers: [lockedEhr.url],
        timeoutMs: 5000,
      },
      corsOrigins: ['https://sandbox.example.org'],
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
      now: () => NOW,
    };
    await app.register(cdsRoutes, options);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await client?.close();
    await ehr?.close();
    await lockedEhr?.close();
  });

  const call = async (
    id: string,
    body: Record<string, unknown>,
    token?: string | null,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const jwt = token === undefined ? await client.sign(`${base}/cds-services/${id}`) : token;
    const res = await fetch(`${base}/cds-services/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const patientView = (patientId: string, extra: Record<string, unknown> = {}) => ({
    hook: 'patient-view',
    hookInstance: crypto.randomUUID(),
    context: { userId: 'Practitioner/example', patientId },
    ...extra,
  });

  function expectHighCard(json: Record<string, unknown>): void {
    const response = cdsResponseSchema.parse(json);
    expect(response.cards).toHaveLength(1);
    const [card] = response.cards;
    expect(card?.indicator).toBe('warning');
    expect(card?.summary).toMatch(/high risk of severe stenosis in LAD, LCx/);
    expect(card?.summary.length).toBeLessThan(140);
    // Probabilities, strata, the computed PTP and the combined category are all in the detail.
    expect(card?.detail).toContain('| LAD | 52 % | **high** |');
    expect(card?.detail).toContain('| LCx | 45 % | **high** |');
    expect(card?.detail).toContain('| RCA | 5 % | low |');
    expect(card?.detail).toMatch(/Pre-test probability: \*\*[\d.]+ %\*\* \(ESC 2024 RF-CL: /);
    expect(card?.detail).toMatch(/testing with priority|non-invasive testing|rule-out/);
    expect(card?.detail).toContain('**Not for clinical use.**');
    expect(card?.links).toEqual([
      { label: 'Open ECG viewer', url: APP, type: 'smart', appContext: JSON.stringify({ ecg: seeded.highEcgId }) },
    ]);
  }

  it('lists its services in the shape the spec gives, with prefetch templates', async () => {
    const res = await fetch(`${base}/cds-services`);
    expect(res.status).toBe(200);
    const body = discoverySchema.parse(await res.json());
    expect(body.services.map((s) => s.hook)).toEqual(['patient-view', 'order-select', 'order-sign']);
    for (const service of body.services) expect(service.prefetch).toEqual(prefetchTemplates());
  });

  it('answers patient-view from prefetch with a warning card naming the high vessels and the viewer link', async () => {
    const prefetch = await fillPrefetch(prefetchTemplates(), ehr.url, seeded.highPatientId);
    // The templates are real FHIR searches: the EHR found the 4 vessel Observations and the PTP.
    expect(prefetch.ecgcadResults?.entry?.length).toBe(4);
    expect(prefetch.ecgcadPtp?.entry?.length).toBeGreaterThanOrEqual(1);
    const before = ehr.stats.requests;
    const { status, json } = await call('ecgcad-ecg-cad-risk', patientView(seeded.highPatientId, { prefetch }));
    expect(status).toBe(200);
    expectHighCard(json);
    expect(ehr.stats.requests).toBe(before); // everything came from prefetch
  });

  it('reads the EHR itself when there is no prefetch, and gives the same card', async () => {
    const before = ehr.stats.requests;
    const { status, json } = await call(
      'ecgcad-ecg-cad-risk',
      patientView(seeded.highPatientId, { fhirServer: ehr.url }),
    );
    expect(status).toBe(200);
    expectHighCard(json);
    expect(ehr.stats.requests).toBeGreaterThan(before);
  });

  it('answers an empty card list for a patient with no results (prefetch and FHIR read)', async () => {
    const prefetch = await fillPrefetch(prefetchTemplates(), ehr.url, seeded.nonePatientId);
    expect(await call('ecgcad-ecg-cad-risk', patientView(seeded.nonePatientId, { prefetch }))).toEqual({
      status: 200,
      json: { cards: [] },
    });
    expect(await call('ecgcad-ecg-cad-risk', patientView(seeded.nonePatientId))).toEqual({
      status: 200,
      json: { cards: [] },
    });
  });

  it("reads an allowed FHIR server with the EHR's access token (fhirAuthorization), and gets 412 without it", async () => {
    const fhirAuthorization = {
      access_token: lockedToken,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/Observation.read patient/RiskAssessment.read',
      subject: 'cds-service',
    };
    const withToken = await call(
      'ecgcad-ecg-cad-risk',
      patientView(locked.highPatientId, { fhirServer: lockedEhr.url, fhirAuthorization }),
    );
    expect(withToken.status).toBe(200);
    const [card] = cdsResponseSchema.parse(withToken.json).cards;
    expect(card?.indicator).toBe('warning');
    expect(card?.links?.[0]?.appContext).toBe(JSON.stringify({ ecg: locked.highEcgId }));
    const without = await call('ecgcad-ecg-cad-risk', patientView(locked.highPatientId, { fhirServer: lockedEhr.url }));
    expect(without.status).toBe(412);
    expect(JSON.stringify(without.json)).not.toContain(lockedToken);
  });

  it('refuses to read a FHIR server it was not given (412), never sending it a request', async () => {
    const { status, json } = await call(
      'ecgcad-ecg-cad-risk',
      patientView(seeded.highPatientId, { fhirServer: 'http://127.0.0.1:9/fhir' }),
    );
    expect(status).toBe(412);
    expect(json.resourceType).toBe('OperationOutcome');
  });

  it('answers order-select and order-sign for a coronary CTA order, and nothing for an unrelated order', async () => {
    const order = (code: { system: string; code: string }) => ({
      hook: 'order-select',
      hookInstance: crypto.randomUUID(),
      fhirServer: ehr.url,
      context: {
        userId: 'Practitioner/example',
        patientId: seeded.highPatientId,
        selections: ['ServiceRequest/draft-1'],
        draftOrders: {
          resourceType: 'Bundle',
          type: 'collection',
          entry: [
            {
              resource: {
                resourceType: 'ServiceRequest',
                id: 'draft-1',
                status: 'draft',
                intent: 'order',
                code: { coding: [code] },
                subject: { reference: `Patient/${seeded.highPatientId}` },
              },
            },
          ],
        },
      },
    });
    const ccta = await call('ecgcad-ecg-cad-risk-order-select', order(CCTA));
    expect(ccta.status).toBe(200);
    expectHighCard(ccta.json);
    const lipids = await call(
      'ecgcad-ecg-cad-risk-order-select',
      order({ system: 'http://loinc.org', code: '57698-3' }),
    );
    expect(lipids).toEqual({ status: 200, json: { cards: [] } });
    // order-sign has no selections: every draft order counts.
    const { selections: _s, ...signContext } = order(CCTA).context;
    const sign = await call('ecgcad-ecg-cad-risk-order-sign', {
      ...order(CCTA),
      hook: 'order-sign',
      context: signContext,
    });
    expect(sign.status).toBe(200);
    expectHighCard(sign.json);
  });

  it('refuses a call with a missing, forged, expired, replayed or misdirected JWT (401)', async () => {
    const id = 'ecgcad-ecg-cad-risk';
    const aud = `${base}/cds-services/${id}`;
    const body = patientView(seeded.highPatientId);
    expect((await call(id, body, null)).status).toBe(401);
    expect((await call(id, body, 'not-a-jwt')).status).toBe(401);
    expect((await call(id, body, await client.sign(aud, { foreignKey: true }))).status).toBe(401);
    expect((await call(id, body, await client.sign(aud, { expiresInS: -120, issuedAtS: -180 }))).status).toBe(401);
    expect((await call(id, body, await client.sign(`${base}/cds-services/other`))).status).toBe(401);
    const once = await client.sign(aud);
    expect((await call(id, body, once)).status).toBe(200);
    const replay = await call(id, body, once);
    expect(replay.status).toBe(401);
    expect(JSON.stringify(replay.json)).toContain('replay');
  });

  it('refuses a request that breaks the spec shape (400) and an unknown service (404)', async () => {
    expect((await call('ecgcad-ecg-cad-risk', { hook: 'patient-view', context: {} })).status).toBe(400);
    expect(
      (await call('ecgcad-ecg-cad-risk', { ...patientView(seeded.highPatientId), hook: 'order-sign' })).status,
    ).toBe(400);
    expect((await call('no-such-service', patientView(seeded.highPatientId))).status).toBe(404);
  });

  it('takes feedback on a card with a JWT for the feedback endpoint, and refuses one for the service', async () => {
    const id = 'ecgcad-ecg-cad-risk';
    const url = `${base}/cds-services/${id}/feedback`;
    const body = JSON.stringify({
      feedback: [
        { card: crypto.randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-12-03T12:00:00Z' },
        {
          card: crypto.randomUUID(),
          outcome: 'overridden',
          overrideReason: { userComment: 'already booked' },
          outcomeTimestamp: '2026-12-03T12:00:01Z',
        },
      ],
    });
    const post = async (token: string, payload = body) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: payload,
      });
    expect((await post(await client.sign(url))).status).toBe(200);
    expect((await post(await client.sign(`${base}/cds-services/${id}`))).status).toBe(401);
    expect((await post(await client.sign(url), JSON.stringify({ feedback: [{ card: 'x' }] }))).status).toBe(400);
    expect(logLines.join('')).toMatch(/"overridden":2[^\n]*cds feedback|cds feedback[^\n]*"overridden":2/);
  });

  it('logs each answer and refusal without patient data', () => {
    const text = logLines.join('');
    expect(text).toContain('cds call answered');
    expect(text).toContain('cds call refused');
    for (const secret of [seeded.highPatientId, seeded.nonePatientId, seeded.highEcgId, 'MRN-CDS', lockedToken]) {
      expect(text).not.toContain(secret);
    }
  });

  it('answers a CORS preflight for an allowed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/cds-services/ecgcad-ecg-cad-risk`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://sandbox.example.org');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://sandbox.example.org');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await preflight('https://evil.example.org');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
