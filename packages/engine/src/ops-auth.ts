/**
 * Who may read the operations endpoints (/metrics, /readyz, /ecg/:id/status, the queue dashboard) and in which role.
 * Credentials: the ops token and named ops users' tokens, as a bearer token or as HTTP Basic (user name and token,
 * so a browser can prompt for them), compared as sha256 digests in constant time. Without any credential
 * configured, loopback peers get in as viewers and nobody else does. /ecg/:id/status also takes the HTTP feeds' own
 * credentials, so a sender can follow the statusUrl it was given. /healthz stays open.
 *
 * Roles: `viewer` reads; `operator` may also replay dead-lettered jobs from the dashboard. The shared ops token is a
 * viewer (it is what a metrics scraper holds, and a replay must name a person in the audit trail).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { AuthResult } from '@ecgcad/ingest';
import { isLoopbackHost } from './http-server.js';

/** What an ops user may do. */
export type OpsRole = 'viewer' | 'operator';

/** A configured ops user (the config's `ops.users`): the token itself or its hex sha256. */
export interface OpsUserCredential {
  name: string;
  role: OpsRole;
  token?: string;
  tokenSha256?: string;
}

/** Options of {@link opsAccessChecker} and {@link opsIdentifier}. */
export interface OpsAuthOptions {
  /** The shared ops token (at least 16 characters): a viewer named `ops`. */
  token?: string;
  /** Named users with roles. */
  users?: readonly OpsUserCredential[];
}

/** Who is asking: a configured user, the shared token, or (no credentials configured) a loopback peer. */
export interface OpsPrincipal {
  name: string;
  role: OpsRole;
}

/** The name the shared ops token goes by. */
export const OPS_TOKEN_NAME = 'ops';

/** The principal of a loopback peer when no credential is configured. */
export const LOOPBACK_PRINCIPAL: OpsPrincipal = { name: 'loopback', role: 'viewer' };

/** The verdict: `ok`, `missing` (401: no or wrong credentials) or `forbidden` (403: no credential can help). */
export type OpsAccess = 'ok' | 'missing' | 'forbidden';

/** An identification: the principal, or why there is none. */
export type OpsIdentity = { verdict: 'ok'; principal: OpsPrincipal } | { verdict: 'missing' | 'forbidden' };

/** A request check; `feedAuth`, when given, is tried as well (for the status route). */
export type OpsAccessCheck = (
  headers: IncomingHttpHeaders,
  socket: Socket,
  feedAuth?: (headers: IncomingHttpHeaders, socket: Socket) => AuthResult,
) => OpsAccess;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The credentials a request presents: a bearer token, or a Basic user name and token. */
export function presentedCredentials(headers: IncomingHttpHeaders): { user?: string; token: string } | undefined {
  const authorization = headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer?.[1]) return { token: bearer[1] };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

/** Builds the identification: which principal a request's credentials (or its loopback peer) stand for. */
export function opsIdentifier(options: OpsAuthOptions): (headers: IncomingHttpHeaders, socket: Socket) => OpsIdentity {
  const known: Array<OpsPrincipal & { digest: Buffer }> = [
    ...(options.token === undefined
      ? []
      : [{ name: OPS_TOKEN_NAME, role: 'viewer' as const, digest: digest(options.token) }]),
    ...(options.users ?? []).map((user) => ({
      name: user.name,
      role: user.role,
      digest: user.tokenSha256 ? Buffer.from(user.tokenSha256, 'hex') : digest(user.token ?? ''),
    })),
  ];
  return (headers, socket) => {
    if (known.length === 0) {
      return isLoopbackHost(socket.remoteAddress ?? '')
        ? { verdict: 'ok', principal: LOOPBACK_PRINCIPAL }
        : { verdict: 'forbidden' };
    }
    const presented = presentedCredentials(headers);
    if (presented === undefined) return { verdict: 'missing' };
    const candidate = digest(presented.token);
    let match: OpsPrincipal | undefined;
    // Every entry is compared (no early exit), so the time taken does not tell which one matched.
    for (const entry of known) {
      if (entry.digest.length === candidate.length && timingSafeEqual(entry.digest, candidate) && !match) {
        match = { name: entry.name, role: entry.role };
      }
    }
    // With Basic, the user name must be the one the token belongs to.
    if (!match || (presented.user !== undefined && presented.user !== match.name)) return { verdict: 'missing' };
    return { verdict: 'ok', principal: match };
  };
}

/** Builds the read check of the ops endpoints: any principal may read. */
export function opsAccessChecker(options: OpsAuthOptions): OpsAccessCheck {
  const identify = opsIdentifier(options);
  return (headers, socket, feedAuth) => {
    if (feedAuth?.(headers, socket).ok) return 'ok';
    return identify(headers, socket).verdict;
  };
}
