/**
 * SMART App Launch for the test EHR, so apps are tested against a real authorization flow, not a shortcut:
 * - `<fhir base>/.well-known/smart-configuration` (endpoints, capabilities, S256 only);
 * - `/smart/authorize`: authorization code for registered public clients, exact redirect URI match, PKCE S256
 *   required (plain refused), `aud` = the FHIR base, `state` echoed; an EHR launch's context (`launch`) or, for a
 *   standalone launch asking `launch/patient`, a configured default patient or a patient picker page. The test EHR
 *   plays a signed-in clinician who approves every request: there is no login page;
 * - `/token` grant `authorization_code`: codes are single use (a reused code revokes the tokens it gave) and live
 *   `codeTtlS`; the code_verifier is checked; the answer carries `patient` and `appContext` from the launch;
 * - `/smart/ehr-launch?app=<launch URL>&patient=<id>[&appContext=...]`: the EHR launch simulator (302 to the app
 *   with `iss` and an opaque `launch`), and `/smart/launcher`, a page with a launch link per patient.
 * The HTTP plumbing (CORS, bodies) stays in server.ts; this module decides.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TokenReply, TokenService } from './token.js';

/** A registered SMART app (public client: no secret, PKCE instead). */
export interface SmartAppClient {
  clientId: string;
  /** Redirect URIs the app may use, matched exactly. Their origins are allowed by CORS. */
  redirectUris: string[];
  /** The app's launch URL, for the launcher page's links. */
  launchUrl?: string;
}

/** SMART settings of the test EHR. */
export interface SmartOptions {
  clients: SmartAppClient[];
  /** Patient id given to a standalone launch asking `launch/patient`; without it a picker page asks. */
  defaultPatient?: string;
  /** Life of an authorization code, seconds. Default 60. */
  codeTtlS?: number;
  /** Life of an access token from this flow, seconds. Default the token service's. */
  tokenTtlS?: number;
  /** More origins allowed by CORS (besides the redirect URIs' origins). */
  corsOrigins?: string[];
}

/** An HTTP answer for server.ts to send. */
export interface SmartReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the authorize page needs to know about patients (server.ts reads them from the repository). */
export interface SmartPatients {
  exists(id: string): Promise<boolean>;
  /** Patients for the picker and launcher pages, with a label (identifier or name). */
  list(): Promise<Array<{ id: string; label: string }>>;
}

interface LaunchContext {
  patient?: string;
  appContext?: string;
  expiresAt: number;
}

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  patient?: string;
  appContext?: string;
  expiresAt: number;
  used: boolean;
  tokens: string[];
}

const LAUNCH_TTL_MS = 10 * 60_000;
/** RFC 7636: 43-128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** Scopes this server never grants (no refresh tokens, no OpenID Connect id_token). */
const NOT_GRANTED = new Set(['offline_access', 'online_access', 'openid', 'fhirUser', 'profile']);

/**
 * SMART settings for one app served at `appUrl` (the folder of its launch.html and index.html, e.g. the engine's
 * `http://127.0.0.1:8080/app/`): redirect URI `<appUrl>index.html`, launch URL `<appUrl>launch.html`.
 */
export function smartAppOptions(appUrl: string, clientId = 'ecgcad-viewer', defaultPatient?: string): SmartOptions {
  const base = appUrl.endsWith('/') ? appUrl : `${appUrl}/`;
  return {
    clients: [
      {
        clientId,
        redirectUris: [new URL('index.html', base).toString()],
        launchUrl: new URL('launch.html', base).toString(),
      },
    ],
    ...(defaultPatient ? { defaultPatient } : {}),
  };
}

/** The S256 code challenge of a verifier (base64url of its SHA-256). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** True when every resource scope only reads (v1 `.read`, v2 `.r`/`.s`/`.rs`). */
export function readOnlyScopes(scope: string): boolean {
  for (const s of scope.split(/\s+/)) {
    const m = /^(patient|user|system)\/[^.]+\.(.+)$/.exec(s);
    if (!m) continue;
    const perm = m[2] ?? '';
    if (perm === 'read') continue;
    if (perm === 'write' || perm === '*' || /[cud]/.test(perm.split('?')[0] ?? '')) return false;
  }
  return true;
}

/** True when every resource scope is a `patient/` one: the token then reads one patient's compartment. */
export function patientScopesOnly(scope: string): boolean {
  const resourceScopes = scope.split(/\s+/).filter((s) => /^(patient|user|system)\//.test(s));
  return resourceScopes.length > 0 && resourceScopes.every((s) => s.startsWith('patient/'));
}

/**
 * True when a resource lies in the Patient's compartment as far as the test EHR checks: the Patient itself, or a
 * resource whose `subject` or `patient` names it. Resources with neither (Device, Provenance) stay readable: this
 * is a test stand-in for an EHR's compartment rules, not a full implementation of them.
 */
export function inPatientCompartment(resource: unknown, patientId: string): boolean {
  const r = resource as {
    resourceType?: string;
    id?: string;
    subject?: { reference?: string };
    patient?: { reference?: string };
  };
  if (r?.resourceType === 'Patient') return r.id === patientId;
  const ref = r?.subject?.reference ?? r?.patient?.reference;
  if (ref === undefined || !ref.startsWith('Patient/')) return true;
  return ref === `Patient/${patientId}`;
}

/** The SMART authorization server of the test EHR. */
export class SmartAuthorizer {
  private readonly clients = new Map<string, SmartAppClient>();
  private readonly launches = new Map<string, LaunchContext>();
  private readonly codes = new Map<string, CodeGrant>();
  private readonly origins: Set<string>;
  private readonly codeTtlMs: number;

  constructor(
    private readonly options: SmartOptions,
    private readonly tokens: TokenService,
    /** The server's origin and FHIR base, known once it listens. */
    private readonly urls: () => { origin: string; fhirBase: string },
    private readonly patients: SmartPatients,
  ) {
    for (const c of options.clients) this.clients.set(c.clientId, c);
    this.origins = new Set(options.corsOrigins ?? []);
    for (const c of options.clients) for (const uri of c.redirectUris) this.origins.add(new URL(uri).origin);
    this.codeTtlMs = (options.codeTtlS ?? 60) * 1000;
  }

  /** True when CORS lets this origin read the answers (a registered app's origin). */
  allowsOrigin(origin: string | undefined): boolean {
    return !!origin && this.origins.has(origin);
  }

  /** The `.well-known/smart-configuration` document. */
  configuration(): Record<string, unknown> {
    const { origin } = this.urls();
    return {
      issuer: origin,
      authorization_endpoint: `${origin}/smart/authorize`,
      token_endpoint: `${origin}/token`,
      grant_types_supported: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      scopes_supported: ['launch', 'launch/patient', 'patient/*.read', 'user/*.read', 'patient/*.rs', 'user/*.rs'],
      response_types_supported: ['code'],
      capabilities: [
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'context-ehr-patient',
        'context-standalone-patient',
        'permission-patient',
        'permission-user',
        'permission-v1',
        'permission-v2',
      ],
      code_challenge_methods_supported: ['S256'],
    };
  }

  /**
   * `GET /smart/ehr-launch`: the EHR opens an app with a patient (and appContext) in context. The app URL's origin
   * must be a registered app's (no open redirect); the patient must exist.
   */
  async ehrLaunch(params: URLSearchParams): Promise<SmartReply> {
    const app = params.get('app') ?? '';
    let appUrl: URL;
    try {
      appUrl = new URL(app);
    } catch {
      return page(400, 'EHR launch refused', '<p>The <code>app</code> parameter is not a URL.</p>');
    }
    if (!this.origins.has(appUrl.origin))
      return page(400, 'EHR launch refused', '<p>That app is not registered with this EHR.</p>');
    const patient = params.get('patient') ?? undefined;
    if (patient !== undefined && !(await this.patients.exists(patient)))
      return page(404, 'EHR launch refused', '<p>No such patient.</p>');
    const appContext = params.get('appContext') ?? undefined;
    const launch = randomBytes(16).toString('base64url');
    this.sweep();
    this.launches.set(launch, {
      ...(patient ? { patient } : {}),
      ...(appContext ? { appContext } : {}),
      expiresAt: Date.now() + LAUNCH_TTL_MS,
    });
    appUrl.searchParams.set('iss', this.urls().fhirBase);
    appUrl.searchParams.set('launch', launch);
    return { status: 302, headers: { location: appUrl.toString(), 'cache-control': 'no-store' }, body: '' };
  }

  /** `GET /smart/launcher`: a page listing the patients, each with an EHR launch link per registered app. */
  async launcherPage(): Promise<SmartReply> {
    const apps = [...this.clients.values()].filter((c) => c.launchUrl);
    const rows = (await this.patients.list())
      .map(
        (p) =>
          `<li>${esc(p.label)}: ${apps
            .map(
              (a) =>
                `<a href="/smart/ehr-launch?${esc(new URLSearchParams({ app: a.launchUrl ?? '', patient: p.id }).toString())}">open in ${esc(a.clientId)}</a>`,
            )
            .join(' ')}</li>`,
      )
      .join('');
    return page(200, 'Test EHR launcher', apps.length ? `<ul>${rows}</ul>` : '<p>No app with a launch URL.</p>');
  }

  /**
   * `/smart/authorize` (GET from the app; POST from the patient picker). Client and redirect URI problems answer
   * a page (never a redirect to an unchecked URI); others redirect back with `error` and the `state`.
   */
  async authorize(params: URLSearchParams, fromPicker = false): Promise<SmartReply> {
    const client = this.clients.get(params.get('client_id') ?? '');
    if (!client) return page(400, 'Authorization refused', '<p>Unknown client_id.</p>');
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri))
      return page(400, 'Authorization refused', '<p>redirect_uri is not registered for this client.</p>');
    const state = params.get('state') ?? undefined;
    const back = (query: Record<string, string>): SmartReply => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      if (state !== undefined) url.searchParams.set('state', state);
      return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store' }, body: '' };
    };
    const fail = (error: string, description: string) => back({ error, error_description: description });

    if (params.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    const { fhirBase } = this.urls();
    if ((params.get('aud') ?? '').replace(/\/+$/, '') !== fhirBase)
      return fail('invalid_request', 'aud must be this EHR FHIR base URL');
    const challenge = params.get('code_challenge') ?? '';
    const method = params.get('code_challenge_method') ?? '';
    if (!challenge) return fail('invalid_request', 'PKCE required: code_challenge missing');
    if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    const requested = (params.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const scope = requested.filter((s) => !NOT_GRANTED.has(s)).join(' ');

    let patient: string | undefined;
    let appContext: string | undefined;
    const launchId = params.get('launch');
    if (launchId) {
      const launch = this.launches.get(launchId);
      if (!launch || launch.expiresAt < Date.now()) return fail('invalid_request', 'unknown or expired launch');
      patient = launch.patient;
      appContext = launch.appContext;
    } else if (requested.includes('launch/patient')) {
      const picked = fromPicker ? params.get('patient') : null;
      if (picked) {
        if (!(await this.patients.exists(picked))) return fail('invalid_request', 'no such patient');
        patient = picked;
      } else if (this.options.defaultPatient) {
        patient = this.options.defaultPatient;
      } else {
        return this.pickerPage(params);
      }
    }

    const code = randomBytes(24).toString('base64url');
    this.sweep();
    this.codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge,
      scope,
      ...(patient ? { patient } : {}),
      ...(appContext ? { appContext } : {}),
      expiresAt: Date.now() + this.codeTtlMs,
      used: false,
      tokens: [],
    });
    return back({ code });
  }

  /** `POST /token` with grant_type authorization_code. */
  exchange(form: URLSearchParams): TokenReply {
    const refuse = (error: string, description: string): TokenReply => {
      this.tokens.countRefusal();
      return { status: 400, body: { error, error_description: description } };
    };
    const grant = this.codes.get(form.get('code') ?? '');
    if (!grant) return refuse('invalid_grant', 'unknown authorization code');
    if (grant.used) {
      // RFC 6749 4.1.2: a code used twice is treated as stolen; what it gave is revoked.
      for (const t of grant.tokens) this.tokens.revoke(t);
      return refuse('invalid_grant', 'authorization code already used');
    }
    grant.used = true;
    if (grant.expiresAt < Date.now()) return refuse('invalid_grant', 'authorization code expired');
    if ((form.get('client_id') ?? '') !== grant.clientId)
      return refuse('invalid_client', 'client_id does not match the code');
    if ((form.get('redirect_uri') ?? '') !== grant.redirectUri)
      return refuse('invalid_grant', 'redirect_uri does not match the authorization request');
    const verifier = form.get('code_verifier') ?? '';
    if (!VERIFIER.test(verifier)) return refuse('invalid_grant', 'code_verifier missing or malformed');
    if (s256(verifier) !== grant.challenge) return refuse('invalid_grant', 'code_verifier does not match');
    const { token, ttlS } = this.tokens.issue(grant.clientId, {
      ...(this.options.tokenTtlS !== undefined ? { ttlS: this.options.tokenTtlS } : {}),
      readOnly: readOnlyScopes(grant.scope),
      ...(grant.patient && patientScopesOnly(grant.scope) ? { patient: grant.patient } : {}),
    });
    grant.tokens.push(token);
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'Bearer',
        expires_in: ttlS,
        scope: grant.scope,
        ...(grant.patient ? { patient: grant.patient, need_patient_banner: true } : {}),
        ...(grant.appContext ? { appContext: grant.appContext } : {}),
      },
    };
  }

  private async pickerPage(params: URLSearchParams): Promise<SmartReply> {
    const hidden = [...params.entries()]
      .filter(([k]) => k !== 'patient')
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('');
    const options = (await this.patients.list())
      .map(
        (p, i) =>
          `<label><input type="radio" name="patient" value="${esc(p.id)}"${i === 0 ? ' checked' : ''}> ${esc(p.label)}</label><br>`,
      )
      .join('');
    return page(
      200,
      'Choose a patient',
      `<form method="post" action="/smart/authorize">${hidden}<fieldset><legend>Patient</legend>${options || 'No patients.'}</fieldset><button type="submit">Continue</button></form>`,
    );
  }

  /** Drops expired launches and codes (used codes are kept until they expire, to catch a reuse). */
  private sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.launches) if (v.expiresAt < now) this.launches.delete(k);
    for (const [k, v] of this.codes) if (v.expiresAt + this.codeTtlMs < now) this.codes.delete(k);
  }
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status: number, title: string, html: string): SmartReply {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // No form-action: the picker's POST answers with a redirect to the app, which form-action would block.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${html}</body></html>`,
  };
}
