/**
 * The test EHR's OAuth2 token endpoint: client_credentials with either a client secret (Basic or form) or a
 * SMART Backend Services client assertion (private_key_jwt, RS384/ES384) checked against the client's public JWKS:
 * signature, iss = sub = client_id, aud = this token URL, exp no more than 5 minutes ahead, jti not replayed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, type JWK, jwtVerify } from 'jose';

/** A registered client. */
export interface TestEhrClient {
  clientId: string;
  /** Client secret for client_secret_basic / client_secret_post. */
  secret?: string;
  /** Public keys for private_key_jwt (SMART Backend Services). */
  jwks?: JWK[];
}

/** A token endpoint answer. */
export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION_LIFETIME_S = 300;
const CLOCK_SKEW_S = 5;

/** What an issued access token stands for. */
export interface IssuedToken {
  clientId: string;
  expiresAt: number;
  /** True for SMART user tokens granted only read scopes: writes with them are refused (403). */
  readOnly?: boolean;
  /** SMART `patient/` tokens: reads stay in this Patient's compartment (permission-patient). */
  patient?: string;
}

/** Issues and checks opaque access tokens. */
export class TokenService {
  private readonly clients = new Map<string, TestEhrClient>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly seenJti = new Map<string, number>();
  /** Token requests answered, by outcome. */
  readonly stats = { issued: 0, refused: 0 };

  constructor(
    clients: TestEhrClient[],
    private readonly tokenUrl: () => string,
    private readonly ttlS = 300,
  ) {
    for (const c of clients) this.clients.set(c.clientId, c);
  }

  /** True when the bearer token was issued here and has not expired. */
  check(authorization: string | undefined): boolean {
    return this.lookup(authorization) !== undefined;
  }

  /** The live token a bearer header carries (undefined: none, unknown or expired). */
  lookup(authorization: string | undefined): IssuedToken | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = m?.[1] ? this.tokens.get(m[1]) : undefined;
    return token && token.expiresAt > Date.now() ? token : undefined;
  }

  /** Issues a token for a grant checked elsewhere (the SMART authorization code flow); ttlS default this one's. */
  issue(
    clientId: string,
    options: { ttlS?: number; readOnly?: boolean; patient?: string } = {},
  ): { token: string; ttlS: number } {
    const ttlS = options.ttlS ?? this.ttlS;
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, {
      clientId,
      expiresAt: Date.now() + ttlS * 1000,
      ...(options.readOnly ? { readOnly: true } : {}),
      ...(options.patient ? { patient: options.patient } : {}),
    });
    this.stats.issued++;
    return { token, ttlS };
  }

  /** Revokes one token (a reused authorization code revokes what the code gave). */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Counts a refusal decided elsewhere (the SMART token exchange). */
  countRefusal(): void {
    this.stats.refused++;
  }

  /** Forget every issued token (clients then get 401 and must fetch a new one). */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** Handles one token request (form-encoded body, Authorization header). */
  async handle(form: URLSearchParams, authorization: string | undefined): Promise<TokenReply> {
    const refuse = (status: number, error: string, description: string): TokenReply => {
      this.stats.refused++;
      return { status, body: { error, error_description: description } };
    };
    if (form.get('grant_type') !== 'client_credentials') {
      return refuse(400, 'unsupported_grant_type', 'only client_credentials is supported');
    }
    let clientId: string;
    const assertionType = form.get('client_assertion_type');
    if (assertionType !== null) {
      if (assertionType !== JWT_BEARER) return refuse(400, 'invalid_client', 'unsupported client_assertion_type');
      const result = await this.checkAssertion(form.get('client_assertion') ?? '');
      if ('error' in result) return refuse(401, 'invalid_client', result.error);
      clientId = result.clientId;
    } else {
      const creds = basicCredentials(authorization) ?? {
        id: form.get('client_id') ?? '',
        secret: form.get('client_secret') ?? '',
      };
      const client = this.clients.get(creds.id);
      if (!client?.secret || !sameSecret(client.secret, creds.secret)) {
        return refuse(401, 'invalid_client', 'unknown client or wrong secret');
      }
      clientId = client.clientId;
    }
    const { token } = this.issue(clientId);
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'bearer',
        expires_in: this.ttlS,
        scope: form.get('scope') ?? 'system/*.write',
      },
    };
  }

  private async checkAssertion(assertion: string): Promise<{ clientId: string } | { error: string }> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      return { error: 'client_assertion is not a JWT' };
    }
    const client = iss ? this.clients.get(iss) : undefined;
    if (!client?.jwks?.length) return { error: 'client_assertion issuer is not a registered client with keys' };
    const now = Math.floor(Date.now() / 1000);
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: client.jwks }), {
        issuer: client.clientId,
        subject: client.clientId,
        audience: this.tokenUrl(),
        algorithms: ['RS384', 'ES384'],
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_SKEW_S,
      }));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      return { error: `client_assertion rejected (${code}: ${err instanceof Error ? err.message : 'invalid'})` };
    }
    const exp = payload.exp ?? 0;
    if (exp - now > MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) {
      return { error: 'client_assertion exp is more than 5 minutes ahead' };
    }
    for (const [jti, until] of this.seenJti) if (until < now) this.seenJti.delete(jti);
    const jti = payload.jti ?? '';
    if (this.seenJti.has(jti)) return { error: 'client_assertion jti was already used' };
    this.seenJti.set(jti, exp);
    return { clientId: client.clientId };
  }
}

function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
