import { randomBytes } from 'node:crypto';
import { parseSearchRequest } from '@medplum/core';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEhr, type TestEhr } from './server.js';
import { patientScopesOnly, readOnlyScopes, s256 } from './smart.js';

const APP = 'http://app.test:9000';
const REDIRECT = `${APP}/app/index.html`;
const LAUNCH_URL = `${APP}/app/launch.html`;

/** One authorization request's parameters, PKCE included. */
function authParams(ehr: TestEhr, extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: 'viewer',
    redirect_uri: REDIRECT,
    scope: 'launch patient/*.read openid fhirUser',
    state: 'st-123',
    aud: ehr.url,
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { params, verifier };
}

async function authorize(ehr: TestEhr, params: URLSearchParams): Promise<URL> {
  const res = await fetch(`${ehr.origin}/smart/authorize?${params}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

async function exchange(ehr: TestEhr, fields: Record<string, string>) {
  const res = await fetch(ehr.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: APP },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'viewer',
      redirect_uri: REDIRECT,
      ...fields,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string | number>, headers: res.headers };
}

/** An EHR launch for `patient`: returns the opaque launch id. */
async function ehrLaunch(ehr: TestEhr, patient: string, appContext?: string): Promise<string> {
  const q = new URLSearchParams({ app: LAUNCH_URL, patient, ...(appContext ? { appContext } : {}) });
  const res = await fetch(`${ehr.origin}/smart/ehr-launch?${q}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const to = new URL(res.headers.get('location') ?? '');
  expect(`${to.origin}${to.pathname}`).toBe(LAUNCH_URL);
  expect(to.searchParams.get('iss')).toBe(ehr.url);
  return to.searchParams.get('launch') ?? '';
}

describe('test EHR SMART App Launch', () => {
  let ehr: TestEhr;
  let patientId: string;
  beforeAll(async () => {
    ehr = await startTestEhr({
      smart: { clients: [{ clientId: 'viewer', redirectUris: [REDIRECT], launchUrl: LAUNCH_URL }], tokenTtlS: 1 },
      patients: [{ system: 'urn:test', value: 'P-1' }],
    });
    const found = await ehr.repo.searchResources({ resourceType: 'Patient' });
    patientId = found[0]?.id ?? '';
  });
  afterAll(async () => {
    await ehr.close();
  });

  it('publishes its SMART configuration with S256 only, readable cross-origin by the app', async () => {
    const res = await fetch(`${ehr.url}/.well-known/smart-configuration`, { headers: { origin: APP } });
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    const conf = (await res.json()) as Record<string, unknown>;
    expect(conf.authorization_endpoint).toBe(`${ehr.origin}/smart/authorize`);
    expect(conf.token_endpoint).toBe(ehr.tokenUrl);
    expect(conf.code_challenge_methods_supported).toEqual(['S256']);
    expect(conf.capabilities).toEqual(
      expect.arrayContaining(['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient']),
    );
    const other = await fetch(`${ehr.url}/.well-known/smart-configuration`, {
      headers: { origin: 'http://evil.test' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('runs an EHR launch: code + PKCE, state echoed, patient and appContext in the token, token opens /fhir', async () => {
    const launch = await ehrLaunch(ehr, patientId, '{"ecg":"obs-1"}');
    const { params, verifier } = authParams(ehr, { launch });
    const back = await authorize(ehr, params);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('st-123');
    const code = back.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const token = await exchange(ehr, { code, code_verifier: verifier });
    expect(token.status).toBe(200);
    expect(token.headers.get('access-control-allow-origin')).toBe(APP);
    expect(token.body).toMatchObject({ token_type: 'Bearer', patient: patientId, appContext: '{"ecg":"obs-1"}' });
    expect(token.body.scope).toBe('launch patient/*.read');
    expect(token.body.expires_in).toBe(1);

    const read = await fetch(`${ehr.url}/Patient/${patientId}`, {
      headers: { authorization: `Bearer ${token.body.access_token}`, origin: APP },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(APP);
    // Read scopes only: a write with this token is refused.
    const write = await fetch(`${ehr.url}/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.body.access_token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(write.status).toBe(403);
    // The token lives expires_in seconds: afterwards /fhir answers 401.
    await new Promise((r) => setTimeout(r, 1100));
    const late = await fetch(`${ehr.url}/Patient/${patientId}`, {
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(late.status).toBe(401);
  });

  it('keeps a patient-scoped token inside its patient: other patients filtered from searches, reads refused', async () => {
    await ehr.addPatient({ system: 'urn:test', value: 'P-2' });
    const other =
      (await ehr.repo.searchResources(parseSearchRequest<Patient>('Patient?identifier=urn:test|P-2')))[0]?.id ?? '';
    const launch = await ehrLaunch(ehr, patientId);
    const { params, verifier } = authParams(ehr, { launch });
    const code = (await authorize(ehr, params)).searchParams.get('code') ?? '';
    const { body } = await exchange(ehr, { code, code_verifier: verifier });
    const auth = { authorization: `Bearer ${body.access_token}` };
    const all = (await (await fetch(`${ehr.url}/Patient`, { headers: auth })).json()) as Bundle;
    expect((all.entry ?? []).map((e) => e.resource?.id)).toEqual([patientId]);
    expect((await fetch(`${ehr.url}/Patient/${other}`, { headers: auth })).status).toBe(403);
    expect((await fetch(`${ehr.url}/Patient/${patientId}`, { headers: auth })).status).toBe(200);
  });

  it('answers CORS preflights for the app origin on /fhir', async () => {
    const res = await fetch(`${ehr.url}/Observation`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('refuses a wrong code_verifier, and the code is then spent', async () => {
    const { params, verifier } = authParams(ehr);
    const code = (await authorize(ehr, params)).searchParams.get('code') ?? '';
    const bad = await exchange(ehr, { code, code_verifier: randomBytes(32).toString('base64url') });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_grant', error_description: 'code_verifier does not match' });
    const missing = await exchange(ehr, { code, code_verifier: verifier });
    expect(missing.status).toBe(400);
  });

  it('refuses a reused code and revokes the token the code gave', async () => {
    const { params, verifier } = authParams(ehr);
    const code = (await authorize(ehr, params)).searchParams.get('code') ?? '';
    const first = await exchange(ehr, { code, code_verifier: verifier });
    expect(first.status).toBe(200);
    const again = await exchange(ehr, { code, code_verifier: verifier });
    expect(again.status).toBe(400);
    expect(again.body.error_description).toBe('authorization code already used');
    const read = await fetch(`${ehr.url}/Patient`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
    expect(read.status).toBe(401);
  });

  it('refuses a token request whose redirect_uri differs from the authorization request', async () => {
    const { params, verifier } = authParams(ehr);
    const code = (await authorize(ehr, params)).searchParams.get('code') ?? '';
    const res = await exchange(ehr, { code, code_verifier: verifier, redirect_uri: `${APP}/elsewhere` });
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/redirect_uri/);
  });

  it('never redirects to an unregistered redirect_uri or for an unknown client', async () => {
    const { params } = authParams(ehr, { redirect_uri: 'http://evil.test/cb' });
    const res = await fetch(`${ehr.origin}/smart/authorize?${params}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const unknown = authParams(ehr, { client_id: 'nobody' }).params;
    expect((await fetch(`${ehr.origin}/smart/authorize?${unknown}`, { redirect: 'manual' })).status).toBe(400);
  });

  it('requires PKCE S256 (plain and missing refused) and aud = the FHIR base, with the state echoed', async () => {
    const bad: Record<string, string>[] = [
      { code_challenge_method: 'plain' },
      { code_challenge: '' },
      { aud: 'http://other/fhir' },
    ];
    for (const extra of bad) {
      const back = await authorize(ehr, authParams(ehr, extra).params);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('code')).toBeNull();
      expect(back.searchParams.get('state')).toBe('st-123');
    }
  });

  it('refuses an expired code', async () => {
    const short = await startTestEhr({
      smart: { clients: [{ clientId: 'viewer', redirectUris: [REDIRECT] }], codeTtlS: 0.05 },
    });
    try {
      const { params, verifier } = authParams(short);
      const code = (await authorize(short, params)).searchParams.get('code') ?? '';
      await new Promise((r) => setTimeout(r, 120));
      const res = await exchange(short, { code, code_verifier: verifier });
      expect(res.body).toMatchObject({ error: 'invalid_grant', error_description: 'authorization code expired' });
    } finally {
      await short.close();
    }
  });

  it('asks a standalone launch for its patient with a picker page, then puts the pick in the token', async () => {
    const { params, verifier } = authParams(ehr, { scope: 'launch/patient patient/*.read' });
    const picker = await fetch(`${ehr.origin}/smart/authorize?${params}`, { redirect: 'manual' });
    expect(picker.status).toBe(200);
    const html = await picker.text();
    expect(html).toContain(`value="${patientId}"`);
    expect(html).toContain('P-1');
    const form = new URLSearchParams(params);
    form.set('patient', patientId);
    const res = await fetch(`${ehr.origin}/smart/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      redirect: 'manual',
    });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const token = await exchange(ehr, { code, code_verifier: verifier });
    expect(token.body.patient).toBe(patientId);
  });

  it('refuses an EHR launch into an unregistered app or for an unknown patient', async () => {
    const evil = new URLSearchParams({ app: 'http://evil.test/launch', patient: patientId });
    expect((await fetch(`${ehr.origin}/smart/ehr-launch?${evil}`, { redirect: 'manual' })).status).toBe(400);
    const nobody = new URLSearchParams({ app: LAUNCH_URL, patient: 'no-such-patient' });
    expect((await fetch(`${ehr.origin}/smart/ehr-launch?${nobody}`, { redirect: 'manual' })).status).toBe(404);
  });

  it('lists the patients with launch links on its launcher page', async () => {
    const html = await (await fetch(`${ehr.origin}/smart/launcher`)).text();
    expect(html).toContain('P-1');
    expect(html).toContain('/smart/ehr-launch?app=');
  });

  it('tells read-only scopes from writing ones', () => {
    expect(readOnlyScopes('launch patient/*.read patient/Observation.rs')).toBe(true);
    expect(readOnlyScopes('user/*.write')).toBe(false);
    expect(readOnlyScopes('patient/Observation.cruds')).toBe(false);
    expect(patientScopesOnly('launch patient/*.read')).toBe(true);
    expect(patientScopesOnly('launch user/*.read patient/*.read')).toBe(false);
    expect(patientScopesOnly('launch')).toBe(false);
  });
});
