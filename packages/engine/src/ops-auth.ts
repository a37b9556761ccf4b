/**
 * Who may read the operations endpoints (/metrics, /readyz, /ecg/:id/status): a bearer token compared in constant
 * time, or, when no token is configured, loopback peers only. /ecg/:id/status also takes the HTTP feeds' own
 * credentials, so a sender can follow the statusUrl it was given. /healthz stays open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { AuthResult } from '@ecgcad/ingest';
import { isLoopbackHost } from './http-server.js';

/** Options of {@link opsAccessChecker}. */
export interface OpsAuthOptions {
  /** Bearer token (at least 16 characters). Without it, only loopback peers get in. */
  token?: string;
}

/** The verdict: `ok`, `missing` (401: no or wrong credentials) or `forbidden` (403: no credential can help). */
export type OpsAccess = 'ok' | 'missing' | 'forbidden';

/** A request check; `feedAuth`, when given, is tried as well (for the status route). */
export type OpsAccessCheck = (
  headers: IncomingHttpHeaders,
  socket: Socket,
  feedAuth?: (headers: IncomingHttpHeaders, socket: Socket) => AuthResult,
) => OpsAccess;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Builds the check. */
export function opsAccessChecker(options: OpsAuthOptions): OpsAccessCheck {
  const expected = options.token === undefined ? undefined : digest(options.token);
  return (headers, socket, feedAuth) => {
    if (feedAuth?.(headers, socket).ok) return 'ok';
    if (expected === undefined) return isLoopbackHost(socket.remoteAddress ?? '') ? 'ok' : 'forbidden';
    const presented = bearer(headers);
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return 'ok';
    return 'missing';
  };
}
