/**
 * Authentication to the EHR: none, a static bearer token, OAuth2 client credentials (client_secret_basic), and
 * SMART Backend Services (client_credentials with a private_key_jwt client assertion signed RS384 or ES384).
 * Access tokens are cached until shortly before they expire; concurrent callers share one token request.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, PermanentError, TransientError } from '@ecgcad/ecg';
import { type CryptoKey, importJWK, importPKCS8, type JWK, type KeyObject, SignJWT } from 'jose';
import { describeUrl, fetchWithTimeout, isTransientStatus, parseRetryAfter, readJsonBody } from './http.js';

/**
 * The scopes requested by default, in SMART App Launch 2 syntax (`system/<Type>.<cruds>`), which Backend Services
 * uses: create and search on each type the engine writes (every entry is a conditional create, which searches), and
 * read and search on what conditional Patient references and the pre-test-probability reader read. Servers that
 * speak only SMART v1 need the `.read` / `.write` form, set through `scope` (see docs/OPERATIONS.md).
 */
export const DEFAULT_SMART_SCOPES: readonly string[] = [
  'system/Device.cs',
  'system/Observation.crs',
  'system/RiskAssessment.cs',
  'system/Provenance.cs',
  'system/Flag.cs',
  'system/Patient.rs',
  'system/Condition.rs',
  'system/FamilyMemberHistory.rs',
  'system/ServiceRequest.rs',
  'system/Encounter.rs',
];

/** {@link DEFAULT_SMART_SCOPES} as one space-separated `scope` value. */
export const DEFAULT_SMART_SCOPE = DEFAULT_SMART_SCOPES.join(' ');

/** SMART Backend Services signing algorithms. */
export type SmartAlgorithm = 'RS384' | 'ES384';

/** How the client authenticates to the FHIR server. */
export type FhirAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | {
      type: 'client-credentials';
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      /** Requested scope. Default {@link DEFAULT_SMART_SCOPE}. */
      scope?: string;
    }
  | {
      type: 'smart-backend';
      tokenUrl: string;
      clientId: string;
      /** The private key: a JWK, a PKCS#8 PEM string, or an imported key. */
      privateKey: JWK | string | CryptoKey | KeyObject;
      alg: SmartAlgorithm;
      /** Key id sent in the JWT header so the server can pick the key from the client's JWKS. */
      kid?: string;
      /** Requested scope. Default {@link DEFAULT_SMART_SCOPE}. */
      scope?: string;
      /** Client assertion lifetime in seconds, at most 300 (SMART's limit). Default 300. */
      assertionLifetimeS?: number;
    };

/** Options shared by token requests. */
export interface TokenClientOptions {
  /** Token request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Renew this many seconds before expiry. Default 60 (or a tenth of the lifetime, if shorter). */
  refreshMarginS?: number;
}

/** Supplies the Authorization header value for each request. */
export interface AuthProvider {
  /** `Bearer <token>`, or undefined for no header. */
  authorization(signal?: AbortSignal): Promise<string | undefined>;
  /** Forget a cached token (after the server answered 401). True if there was one to forget. */
  invalidate(): boolean;
}

/** Builds the provider for an auth configuration. Configuration faults are ConfigError. */
export function createAuthProvider(auth: FhirAuth, options: TokenClientOptions = {}): AuthProvider {
  switch (auth.type) {
    case 'none':
      return { authorization: async () => undefined, invalidate: () => false };
    case 'bearer':
      if (!auth.token) throw new ConfigError(['auth.token: empty bearer token']);
      return { authorization: async () => `Bearer ${auth.token}`, invalidate: () => false };
    case 'client-credentials':
    case 'smart-backend':
      return new OAuthTokenProvider(auth, options);
    default:
      throw new ConfigError([`auth.type: unknown type ${(auth as { type: unknown }).type}`]);
  }
}

type OAuthConfig = Extract<FhirAuth, { type: 'client-credentials' | 'smart-backend' }>;

interface CachedToken {
  value: string;
  renewAt: number;
}

/** Client-credentials token provider (secret or signed client assertion) with caching. */
export class OAuthTokenProvider implements AuthProvider {
  private readonly auth: OAuthConfig;
  private readonly timeoutMs: number;
  private readonly refreshMarginS: number;
  private cached: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;
  private signingKey: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  /** Token requests made so far (for tests and metrics). */
  tokenRequests = 0;

  constructor(auth: OAuthConfig, options: TokenClientOptions = {}) {
    const issues: string[] = [];
    if (!/^https?:\/\//.test(auth.tokenUrl)) issues.push('auth.tokenUrl: must be an http(s) URL');
    if (!auth.clientId) issues.push('auth.clientId: missing');
    if (auth.type === 'client-credentials' && !auth.clientSecret) issues.push('auth.clientSecret: missing');
    if (auth.type === 'smart-backend') {
      if (auth.alg !== 'RS384' && auth.alg !== 'ES384') issues.push('auth.alg: must be RS384 or ES384');
      if (!auth.privateKey) issues.push('auth.privateKey: missing');
      const life = auth.assertionLifetimeS;
      if (life !== undefined && !(life > 0 && life <= 300)) issues.push('auth.assertionLifetimeS: must be in (0, 300]');
    }
    if (issues.length > 0) throw new ConfigError(issues);
    this.auth = auth;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.refreshMarginS = options.refreshMarginS ?? 60;
  }

  async authorization(signal?: AbortSignal): Promise<string> {
    const now = Date.now();
    if (this.cached && now < this.cached.renewAt) return `Bearer ${this.cached.value}`;
    if (!this.pending) {
      this.pending = this.requestToken(signal).finally(() => {
        this.pending = undefined;
      });
    }
    const token = await this.pending;
    this.cached = token;
    return `Bearer ${token.value}`;
  }

  invalidate(): boolean {
    const had = this.cached !== undefined;
    this.cached = undefined;
    return had;
  }

  /** The signed client assertion (SMART Backend Services). Exposed for tests. */
  async clientAssertion(): Promise<string> {
    const auth = this.auth;
    if (auth.type !== 'smart-backend') throw new ConfigError(['auth.type: client assertions need smart-backend']);
    this.signingKey ??= importSigningKey(auth.privateKey, auth.alg);
    const key = await this.signingKey;
    const now = Math.floor(Date.now() / 1000);
    const life = auth.assertionLifetimeS ?? 300;
    return new SignJWT({})
      .setProtectedHeader({ alg: auth.alg, typ: 'JWT', ...(auth.kid ? { kid: auth.kid } : {}) })
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(auth.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + life)
      .sign(key);
  }

  private async requestToken(signal?: AbortSignal): Promise<CachedToken> {
    const auth = this.auth;
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: auth.scope ?? DEFAULT_SMART_SCOPE });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (auth.type === 'client-credentials') {
      const basic = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await this.clientAssertion());
    }
    this.tokenRequests++;
    const started = Date.now();
    const response = await fetchWithTimeout(
      auth.tokenUrl,
      { method: 'POST', headers, body: form.toString() },
      this.timeoutMs,
      signal,
    );
    const body = (await readJsonBody(response)) as Record<string, unknown> | undefined;
    const where = `token endpoint ${describeUrl(auth.tokenUrl)}`;
    if (!response.ok) {
      const reason = [body?.error, body?.error_description].filter((s) => typeof s === 'string').join(': ');
      const message = `${where} answered ${response.status}${reason ? ` (${reason})` : ''}`;
      if (isTransientStatus(response.status)) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        throw new TransientError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
      }
      // 4xx: the request itself is wrong (RFC 6749 5.2); retrying the same credentials cannot help.
      const what = body?.error === 'invalid_scope' ? 'the requested scope' : "this client's credentials";
      throw new PermanentError(`${message}: the EHR refused ${what}`);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '') throw new PermanentError(`${where} returned no access_token`);
    const expiresIn = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
    const margin = Math.min(this.refreshMarginS, expiresIn / 10);
    return { value: token, renewAt: started + (expiresIn - margin) * 1000 };
  }
}

async function importSigningKey(
  key: JWK | string | CryptoKey | KeyObject,
  alg: SmartAlgorithm,
): Promise<CryptoKey | KeyObject | Uint8Array> {
  try {
    if (typeof key === 'string') return await importPKCS8(key, alg);
    if ('kty' in key && typeof key.kty === 'string') return await importJWK(key as JWK, alg);
    return key as CryptoKey | KeyObject;
  } catch (err) {
    throw new ConfigError([`auth.privateKey: cannot be used for ${alg} (${err instanceof Error ? err.message : err})`]);
  }
}
