/**
 * Authenticates CDS clients as CDS Hooks asks ("Trusting CDS Clients"): every service call carries
 * `Authorization: Bearer <JWT>` signed with the client's private key. The JWT is accepted only when
 * - its header has an asymmetric `alg` (no `none`, no HMAC), a `kid`, `typ` JWT, and a `jku` (if any) on the
 *   client's allow list;
 * - its `iss` is a configured client, and the signature verifies with a key of that client's JWK Set (fetched from
 *   its `jwksUrl` or the allowed `jku`, cached by jose's remote JWK Set: refetched on an unknown kid, at most every
 *   30 s);
 * - `aud` is the URL of the endpoint called, `exp` and `iat` are present and `exp` is in the future (30 s clock
 *   skew), the token lives no longer than `maxLifetimeS`, and `jti` was not seen before (replay; by this process
 *   with the default in-memory {@link ReplayCache}, or by any process sharing a {@link ReplayStore} such as Redis).
 * Each failure is a {@link ClientAuthError} whose reason names the check, never the token.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';

/** A CDS client the service trusts. */
export interface TrustedClient {
  /** The `iss` of its JWTs. */
  iss: string;
  /** Its JWK Set URL (public keys). */
  jwksUrl: string;
  /** Other JWK Set URLs it may name in the `jku` header (its `jwksUrl` always may be named). */
  jku?: string[];
}

/** Options of {@link createClientAuthenticator}. */
export interface ClientAuthOptions {
  clients: TrustedClient[];
  /** Longest token life accepted (exp - now), seconds. Default 300. */
  maxLifetimeS?: number;
  /** Clock skew allowed on exp / iat, seconds. Default 30. */
  clockToleranceS?: number;
  /** Time limit of a JWK Set fetch, ms. Default 3000. */
  jwksTimeoutMs?: number;
  /**
   * Where seen `jti` values are kept. Default: an in-memory {@link ReplayCache}, which only sees this process's
   * calls; behind a load balancer, a store all processes share (the engine uses Redis in queued mode).
   */
  replays?: ReplayStore;
  /** Clock (tests). */
  now?: () => number;
}

/** The authenticated caller. */
export interface AuthenticatedClient {
  iss: string;
  jti: string;
  /** The `tenant` claim, when given. */
  tenant?: string;
}

/** Why a request was refused (401). The reason is safe to log and to answer. */
export class ClientAuthError extends Error {}

/** The signature algorithms accepted: asymmetric only (CDS Hooks recommends ES384 and RS384). */
export const ACCEPTED_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
];

/** Records token ids until they expire, and says whether one was already recorded. */
export interface ReplayStore {
  /** Records `key` until `expiresAtMs`; false when it was already there (a replay). May reject: the call is refused. */
  add(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** Remembers seen `jti` values until their token expires, in this process. */
export class ReplayCache implements ReplayStore {
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  /** Records `key` until `expiresAtMs`; false when it was already there (a replay). */
  add(key: string, expiresAtMs: number, nowMs: number): boolean {
    if (nowMs >= this.nextSweep) {
      for (const [k, exp] of this.seen) if (exp <= nowMs) this.seen.delete(k);
      this.nextSweep = nowMs + 10_000;
    }
    const known = this.seen.get(key);
    if (known !== undefined && known > nowMs) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** A function that checks the Authorization header of a call to `audience`. */
export type ClientAuthenticator = (authorization: string | undefined, audience: string) => Promise<AuthenticatedClient>;

/** Builds the authenticator for the configured clients (JWK Sets are fetched lazily and cached). */
export function createClientAuthenticator(options: ClientAuthOptions): ClientAuthenticator {
  const byIss = new Map(options.clients.map((c) => [c.iss, c]));
  const jwkSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const replays = options.replays ?? new ReplayCache();
  const maxLifetimeS = options.maxLifetimeS ?? 300;
  const toleranceS = options.clockToleranceS ?? 30;
  const now = options.now ?? Date.now;

  const jwkSet = (url: string): ReturnType<typeof createRemoteJWKSet> => {
    let set = jwkSets.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { timeoutDuration: options.jwksTimeoutMs ?? 3000 });
      jwkSets.set(url, set);
    }
    return set;
  };

  return async (authorization, audience) => {
    const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new ClientAuthError('missing bearer JWT');
    const token = match[1];
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new ClientAuthError('malformed JWT');
    }
    if (!header.alg || !ACCEPTED_ALGORITHMS.includes(header.alg)) {
      throw new ClientAuthError(`JWT alg ${header.alg ?? '(none)'} not accepted (asymmetric algorithms only)`);
    }
    if (!header.kid) throw new ClientAuthError('JWT header has no kid');
    if (header.typ === undefined || header.typ.toUpperCase() !== 'JWT')
      throw new ClientAuthError('JWT typ must be JWT');
    const client = typeof unverified.iss === 'string' ? byIss.get(unverified.iss) : undefined;
    if (!client) throw new ClientAuthError('JWT iss is not a trusted CDS client');
    const allowedJku = new Set([client.jwksUrl, ...(client.jku ?? [])]);
    if (header.jku !== undefined && !allowedJku.has(header.jku)) {
      throw new ClientAuthError('JWT jku is not on the allow list of its issuer');
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwkSet(header.jku ?? client.jwksUrl), {
        issuer: client.iss,
        audience,
        algorithms: ACCEPTED_ALGORITHMS,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
        clockTolerance: toleranceS,
        currentDate: new Date(now()),
      }));
    } catch (err) {
      throw new ClientAuthError(verifyFailure(err));
    }
    const nowS = now() / 1000;
    const exp = payload.exp as number;
    if (exp - nowS > maxLifetimeS + toleranceS) {
      throw new ClientAuthError(`JWT lives longer than ${maxLifetimeS} s`);
    }
    const jti = payload.jti as string;
    let fresh: boolean;
    try {
      fresh = await replays.add(`${client.iss}\u0000${jti}`, (exp + toleranceS) * 1000, now());
    } catch {
      // Fail closed: a token whose replay cannot be checked is not accepted (the EHR may call again).
      throw new ClientAuthError('JWT replay check unavailable');
    }
    if (!fresh) throw new ClientAuthError('JWT jti already used (replay)');
    return { iss: client.iss, jti, ...(typeof payload.tenant === 'string' ? { tenant: payload.tenant } : {}) };
  };
}

/** jose's error as a short reason (its codes name the check; its messages may quote claims). */
function verifyFailure(err: unknown): string {
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'JWT expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `JWT claim ${claim ?? '?'} invalid`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'JWT signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key of the issuer JWK Set matches the JWT kid';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'several keys of the issuer JWK Set match the JWT kid';
    case 'ERR_JWKS_TIMEOUT':
      return 'issuer JWK Set did not answer in time';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'JWT alg not accepted';
    default:
      return code ? `JWT refused (${code})` : 'issuer JWK Set unavailable or JWT invalid';
  }
}
