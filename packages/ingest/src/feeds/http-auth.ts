/**
 * Who may post ECGs over HTTP: API keys (constant-time compared) and/or TLS client certificates the server verified.
 * A feed with neither must say `anonymous: true` explicitly, so an open endpoint is never an accident.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '@ecgcad/ecg';

/** Authentication of the HTTP feeds. Any configured method that succeeds lets the request in. */
export interface HttpFeedAuth {
  /** Accepted keys, sent as `x-api-key: <key>` or `Authorization: ApiKey <key>`. At least 16 characters each. */
  apiKeys?: string[];
  /**
   * Accept requests over TLS whose client certificate the server verified against its `ca` (fastify `https` with
   * `requestCert: true`). `true` accepts any verified certificate; `allowedSubjects` narrows it to subject CNs.
   */
  clientCert?: boolean | { allowedSubjects: string[] };
  /** Let every request in. Only for a feed behind another authenticating proxy. Default false. */
  anonymous?: boolean;
}

/**
 * Why a request was let in, for the log and the audit trail (never the key itself): `principal` is
 * `api-key:<id>` or `cert:<CN>`; `keyId` is the API key's id alone (for per-sender metrics).
 */
export type AuthResult =
  | { ok: true; method: 'api-key' | 'client-cert' | 'anonymous'; principal?: string; keyId?: string }
  | { ok: false };

/** The id of an API key for logs, metrics and the audit trail: 12 hex digits of its sha256 (not recoverable). */
export function apiKeyId(key: string): string {
  return digest(key).toString('hex').slice(0, 12);
}

/** Builds the request check; throws ConfigError when no method is configured. */
export function authChecker(auth: HttpFeedAuth): (headers: IncomingHttpHeaders, socket: Socket) => AuthResult {
  const issues: string[] = [];
  const keys = (auth.apiKeys ?? []).map((k) => {
    if (k.length < 16) issues.push('http feed auth.apiKeys: every key needs at least 16 characters');
    return digest(k);
  });
  const certRule = auth.clientCert;
  if (keys.length === 0 && !certRule && !auth.anonymous) {
    issues.push('http feed auth: configure apiKeys and/or clientCert, or set anonymous: true explicitly');
  }
  if (issues.length > 0) throw new ConfigError([...new Set(issues)]);
  const keyIds = (auth.apiKeys ?? []).map(apiKeyId);

  return (headers, socket) => {
    if (auth.anonymous) return { ok: true, method: 'anonymous' };
    if (keys.length > 0) {
      const presented = presentedKey(headers);
      if (presented !== undefined) {
        const candidate = digest(presented);
        let match = -1;
        // Compare against every key, without an early exit, so timing does not tell which key nearly matched.
        keys.forEach((key, i) => {
          if (timingSafeEqual(candidate, key)) match = i;
        });
        if (match >= 0)
          return { ok: true, method: 'api-key', principal: `api-key:${keyIds[match]}`, keyId: keyIds[match] };
      }
    }
    if (certRule && verifiedClientCert(socket, certRule)) {
      const cn = (socket as Partial<TLSSocket>).getPeerCertificate?.()?.subject?.CN;
      return { ok: true, method: 'client-cert', ...(cn ? { principal: `cert:${[cn].flat()[0]}` } : {}) };
    }
    return { ok: false };
  };
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^ApiKey\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return undefined;
}

function verifiedClientCert(socket: Socket, rule: true | { allowedSubjects: string[] }): boolean {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function' || tls.authorized !== true) return false;
  const cert = tls.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return false;
  if (rule === true) return true;
  const cn = cert.subject?.CN;
  const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  return names.some((name) => rule.allowedSubjects.includes(name));
}

/** Fixed-length digests make timingSafeEqual applicable to keys of any length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
