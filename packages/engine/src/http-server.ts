/**
 * The engine's HTTP server, hardened: HTTPS from certificate and key files (optional mTLS), time limits against slow
 * senders (slow-loris) and idle sockets, a socket cap and an in-flight request cap (503 + Retry-After), and a start
 * check that refuses plain HTTP on a non-loopback address unless the operator says so explicitly.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { ConfigError } from '@ecgcad/ecg';
import type { HttpFeedAuth } from '@ecgcad/ingest';
import type { FastifyInstance } from 'fastify';
import type { EngineConfig } from './config.js';

/** The HTTP part of the configuration. */
export type HttpConfig = EngineConfig['http'];

/** What the server factory needs: TLS, time limits, socket cap. */
export type HttpServerSettings = Pick<HttpConfig, 'tls' | 'timeouts' | 'maxConnections'>;

/** Minimal logger (pino-compatible). */
interface WarnLogger {
  warn(fields: Record<string, unknown>, msg?: string): void;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, ::ffff:127.x, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice('::ffff:'.length));
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Refuses (ConfigError) plain HTTP on a non-loopback bind address unless `allowInsecure` is set, and then warns
 * loudly: API keys, ECGs and status answers would cross the network in clear.
 */
export function checkHttpExposure(
  config: Pick<HttpConfig, 'host' | 'tls' | 'allowInsecure'>,
  logger: WarnLogger,
): void {
  if (config.tls || isLoopbackHost(config.host)) return;
  if (!config.allowInsecure) {
    throw new ConfigError([
      `http: plain HTTP on ${config.host} (not loopback) would send API keys and ECGs in clear; set http.tls ` +
        '(certFile, keyFile) or, behind a TLS-terminating proxy only, http.allowInsecure=true',
    ]);
  }
  logger.warn(
    { host: config.host, security: 'insecure' },
    'INSECURE: HTTP server without TLS on a non-loopback address (http.allowInsecure): only behind a TLS-terminating proxy',
  );
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new ConfigError([`${key}: cannot read ${file}`]);
  }
}

/** Node TLS options from the config's files. Throws ConfigError naming the key of an unreadable file. */
export function httpsOptions(tls: NonNullable<HttpConfig['tls']>): https.ServerOptions {
  const clientCert = tls.clientCert ?? 'off';
  return {
    cert: readPem(tls.certFile, 'http.tls.certFile'),
    key: readPem(tls.keyFile, 'http.tls.keyFile'),
    ...(tls.caFile ? { ca: readPem(tls.caFile, 'http.tls.caFile') } : {}),
    minVersion: tls.minVersion ?? 'TLSv1.2',
    // `optional`: ask, verify against `ca`, but let the request reach the feeds' auth, which checks
    // socket.authorized (an unverified certificate authenticates nothing). `require`: the handshake fails.
    requestCert: clientCert !== 'off',
    rejectUnauthorized: clientCert === 'require',
  };
}

/** The feeds' client-certificate rule implied by the TLS config (undefined: certificates authenticate nothing). */
export function clientCertAuth(tls: HttpConfig['tls']): HttpFeedAuth['clientCert'] {
  if (!tls || (tls.clientCert ?? 'off') === 'off') return undefined;
  return tls.allowedSubjects ? { allowedSubjects: tls.allowedSubjects } : true;
}

/**
 * A fastify `serverFactory` with the limits set on the Node server itself. `headersTimeout` and `requestTimeout` are
 * enforced by Node's connection checker, which by default runs every 30 s; it runs here at a quarter of the headers
 * limit (at most 1 s), so a slow-loris sender is cut off close to the limit.
 */
export function hardenedServerFactory(
  settings: HttpServerSettings,
): (handler: http.RequestListener) => http.Server | https.Server {
  const { timeouts } = settings;
  const headersTimeout = Math.min(timeouts.headersMs, timeouts.requestMs);
  const limits: http.ServerOptions = {
    headersTimeout,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  const tls = settings.tls ? httpsOptions(settings.tls) : undefined;
  return (handler) => {
    const server = tls
      ? https.createServer({ ...tls, ...limits, handshakeTimeout: headersTimeout }, handler)
      : http.createServer(limits, handler);
    server.keepAliveTimeout = timeouts.keepAliveMs;
    // A socket with no traffic at all (no bytes, or none after the handshake) is destroyed after idleMs.
    server.setTimeout(timeouts.idleMs);
    server.maxConnections = settings.maxConnections;
    return server;
  };
}

/** Options of {@link limitInFlight}. */
export interface InFlightOptions {
  max: number;
  retryAfterS: number;
  /** Paths never refused (liveness probes). */
  exempt?: string[];
}

/**
 * Caps the requests handled at once: one more gets 503 + Retry-After before its body is read. The count drops when
 * the response is finished or the connection closes, whichever comes first.
 */
export function limitInFlight(app: FastifyInstance, options: InFlightOptions): { current(): number } {
  let inFlight = 0;
  const exempt = new Set(options.exempt ?? []);
  app.addHook('onRequest', async (request, reply) => {
    if (exempt.has(request.url.split('?')[0] ?? '')) return undefined;
    if (inFlight >= options.max) {
      reply
        .code(503)
        .header('retry-after', String(options.retryAfterS))
        .header('connection', 'close')
        .send({ status: 'busy', reason: 'too many requests in flight; retry later' });
      return reply;
    }
    inFlight += 1;
    let released = false;
    reply.raw.once('close', () => {
      if (!released) {
        released = true;
        inFlight -= 1;
      }
    });
    return undefined;
  });
  return { current: () => inFlight };
}
