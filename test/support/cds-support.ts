/**
 * A stand-in CDS client (an EHR calling CDS Hooks services) for tests and the bench: an ES384 (or RS384) key pair
 * made by jose, its JWK Set served over real HTTP (node:http), signed JWTs as CDS Hooks asks (kid, typ JWT, jku, iss, aud,
 * exp, iat, jti), and prefetch templates filled by running them against a FHIR server as an EHR would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_PTP_INPUT_OPTIONS,
  examplePrediction,
  FhirClient,
  FhirWriter,
  loadR4Definitions,
  SYSTEMS,
} from '@ecgcad/fhir-writer';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** A running CDS client identity. */
export interface CdsClientIdentity {
  iss: string;
  jwksUrl: string;
  kid: string;
  /** Signs a JWT for `aud`; `overrides` change claims or header fields (tests of refusals). */
  sign(aud: string, overrides?: JwtOverrides): Promise<string>;
  /** JWK Set fetches served so far. */
  jwksFetches(): number;
  close(): Promise<void>;
}

/** Claim and header changes for a test JWT. */
export interface JwtOverrides {
  iss?: string;
  jti?: string;
  /** Seconds from now. Default 60. */
  expiresInS?: number;
  /** Seconds from now (negative: in the past). Default 0. */
  issuedAtS?: number;
  jku?: string | null;
  kid?: string;
  /** Sign with another key than the served one. */
  foreignKey?: boolean;
  omitJti?: boolean;
}

/** Starts a JWK Set server for a new key (ES384 unless `alg` says RS384) and returns the identity. */
export async function startCdsClientIdentity(
  options: { iss?: string; alg?: 'ES384' | 'RS384' } = {},
): Promise<CdsClientIdentity> {
  const alg = options.alg ?? 'ES384';
  const kid = `cds-test-${randomUUID().slice(0, 8)}`;
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const foreign = await generateKeyPair(alg);
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks.json') {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const iss = options.iss ?? `${origin}/ehr`;
  const jwksUrl = `${origin}/jwks.json`;
  return {
    iss,
    jwksUrl,
    kid,
    jwksFetches: () => fetches,
    async sign(aud, o = {}) {
      const nowS = Math.floor(Date.now() / 1000);
      const header: Record<string, string> = { alg, typ: 'JWT', kid: o.kid ?? kid };
      if (o.jku !== null) header.jku = o.jku ?? jwksUrl;
      const jwt = new SignJWT(o.omitJti ? {} : { jti: o.jti ?? randomUUID() })
        .setProtectedHeader(header as { alg: string })
        .setIssuer(o.iss ?? iss)
        .setAudience(aud)
        .setIssuedAt(nowS + (o.issuedAtS ?? 0))
        .setExpirationTime(nowS + (o.expiresInS ?? 60));
      return jwt.sign(o.foreignKey ? foreign.privateKey : privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Fills prefetch templates for `patientId` and runs them against `fhirBase`, as an EHR does before a call. Only
 * `{{context.patientId}}` is a token here (the templates use no other).
 */
export async function fillPrefetch(
  templates: Record<string, string>,
  fhirBase: string,
  patientId: string,
): Promise<Record<string, Bundle>> {
  const out: Record<string, Bundle> = {};
  for (const [key, template] of Object.entries(templates)) {
    const relative = template.replaceAll('{{context.patientId}}', encodeURIComponent(patientId));
    const [path, query = ''] = relative.split('?');
    // Values are written raw in the template (system|code): encode each one as the EHR's HTTP client would.
    const params = new URLSearchParams();
    for (const pair of query.split('&')) {
      const at = pair.indexOf('=');
      params.append(pair.slice(0, at), decodeURIComponent(pair.slice(at + 1)));
    }
    const response = await fetch(`${fhirBase}/${path}?${params.toString()}`, {
      headers: { accept: 'application/fhir+json' },
    });
    if (!response.ok) throw new Error(`prefetch ${key}: ${response.status} ${await response.text()}`);
    out[key] = (await response.json()) as Bundle;
  }
  return out;
}

/** What {@link seedCdsEhr} wrote. */
export interface SeededEhr {
  /** FHIR id of the patient with a high result (LAD and LCx high, with a computed PTP). */
  highPatientId: string;
  /** FHIR id of the ECG Observation of that result. */
  highEcgId: string;
  /** FHIR id of a patient with no result. */
  nonePatientId: string;
}

/**
 * Writes, with the real FhirWriter (PTP on), one scored ECG for a patient (woman, 54 at the ECG, atypical chest pain,
 * never smoked: the PTP is computed) with LAD and LCx high, and creates a second patient with no result. With
 * `token`, every request carries it (an EHR that needs authentication).
 */
export async function seedCdsEhr(fhirBase: string, options: { token?: string } = {}): Promise<SeededEhr> {
  const tag = randomUUID().slice(0, 8);
  const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  // The writer loads the R4 definitions synchronously (seconds on a loaded host): done first, so that no pooled
  // keep-alive connection sits through it and is reused after the server has closed it.
  loadR4Definitions();
  const create = async (resource: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${fhirBase}/${resource.resourceType as string}`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', ...auth },
      body: JSON.stringify(resource),
    });
    if (res.status !== 201)
      throw new Error(`seed ${resource.resourceType as string}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const sct = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });
  const mrnHigh = `MRN-CDS-HIGH-${tag}`;
  const highPatientId = await create({
    resourceType: 'Patient',
    identifier: [{ system: SYSTEMS.patientId, value: mrnHigh }],
    gender: 'female',
    birthDate: '1971-11-27',
  });
  const subject = { reference: `Patient/${highPatientId}` };
  await create({
    resourceType: 'Observation',
    status: 'final',
    subject,
    code: { coding: [{ system: 'http://loinc.org', code: '72166-2' }] },
    effectiveDateTime: '2026-01-10',
    valueCodeableConcept: sct('266919005'),
  });
  await create({
    resourceType: 'ServiceRequest',
    status: 'completed',
    intent: 'order',
    subject,
    authoredOn: '2026-11-26T08:00:00+01:00',
    reasonCode: [sct('371807002')],
  });
  const nonePatientId = await create({
    resourceType: 'Patient',
    identifier: [{ system: SYSTEMS.patientId, value: `MRN-CDS-NONE-${tag}` }],
    gender: 'male',
    birthDate: '1960-01-01',
  });
  const client = new FhirClient({
    baseUrl: fhirBase,
    ...(options.token ? { auth: { type: 'bearer' as const, token: options.token } } : {}),
  });
  const inputs = {
    ...DEFAULT_PTP_INPUT_OPTIONS,
    problemListAuthoritative: true,
    familyHistory: { ...DEFAULT_PTP_INPUT_OPTIONS.familyHistory, authoritative: true },
  };
  const writer = new FhirWriter({ sink: client, ptp: { searcher: client, inputs } });
  const ecgUid = `1.2.826.0.1.3680043.8.498.7.${Date.now()}`;
  await writer.write(examplePrediction({ ecgId: ecgUid, patientId: mrnHigh, probabilities: [0.05, 0.05, 0.52, 0.45] }));
  const [ecg] = await client.search<Observation>('Observation', {
    identifier: `urn:dicom:uid|urn:oid:${ecgUid}`,
  });
  if (!ecg?.id) throw new Error('seed: the ECG Observation was not found');
  return { highPatientId, highEcgId: ecg.id, nonePatientId };
}

/**
 * A transaction Bundle's resources as a FHIR server stores them: ids from the fullUrls, `urn:uuid:` references
 * made `Type/id` (what the service reads back, without a server).
 */
export function asStored(bundle: Bundle): Resource[] {
  const types = new Map<string, string>();
  for (const e of bundle.entry ?? []) if (e.fullUrl && e.resource) types.set(e.fullUrl, e.resource.resourceType);
  const text = JSON.stringify((bundle.entry ?? []).map((e) => ({ ...e.resource, id: e.fullUrl?.slice(9) })));
  return JSON.parse(
    text.replace(/"urn:uuid:([0-9a-f-]{36})"/g, (all, id: string) => {
      const type = types.get(`urn:uuid:${id}`);
      return type ? `"${type}/${id}"` : all;
    }),
  ) as Resource[];
}
