/**
 * The HTTP server of a queued engine process: ops endpoints, and the HTTP feeds (POST /ecg, STOW-RS) when this
 * process runs them. One port (http.port, default 8080) for both, so a sender's statusUrl and the probes share it.
 *   GET /healthz          the process is up (liveness)
 *   GET /readyz           Redis reachable, model loaded (infer), EHR reachable (write): 200 or 503 with the checks
 *   GET /metrics          Prometheus text
 *   GET /ecg/:id/status   where an ECG is: queued / scoring / scored / writing / written / failed (+ reason)
 *   /ops/queues           the queue dashboard (bull-board; dashboard/plugin.ts): viewers read, operators replay
 * Everything but /healthz needs the ops token (or, without one, a loopback peer); see ops-auth.ts. With `server`
 * settings the server speaks HTTPS and enforces time limits and caps (http-server.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import {
  type AuthResult,
  authChecker,
  type FeedCommonOptions,
  type HttpFeedAuth,
  httpFeedsPlugin,
} from '@ecgcad/ingest';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { type AppRoutesOptions, appRoutes } from './app-routes.js';
import { type CdsRoutesOptions, cdsRoutes } from './cds/routes.js';
import { DASHBOARD_PATH, type QueueDashboardOptions, queueDashboard } from './dashboard/plugin.js';
import { ecgStatus } from './ecg-status.js';
import { type HttpServerSettings, hardenedServerFactory, limitInFlight } from './http-server.js';
import type { Logger } from './logger.js';
import type { EngineMetrics } from './metrics.js';
import { type OpsUserCredential, opsAccessChecker } from './ops-auth.js';
import type { EngineQueues } from './redis.js';

/**
 * One readiness check: resolves with nothing when fine, throws when not. Only a ReadinessFailure's message reaches
 * the answer; any other error (a library's text) is logged and answered as `failed`.
 */
export type ReadinessCheck = () => Promise<void>;

/** A readiness failure whose message is ours (patient-free, no library text), shown in /readyz. */
export class ReadinessFailure extends Error {}

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: EngineMetrics;
  queues: EngineQueues;
  /** Named readiness checks. */
  checks: Record<string, ReadinessCheck>;
  /** The HTTP feeds, when this process takes ECGs over HTTP. */
  feeds?: FeedCommonOptions & { auth: HttpFeedAuth; publicUrl?: string; retryAfterS?: number };
  /** TLS, time limits and caps (the config's `http`); default plain HTTP with Node's limits, no caps. */
  server?: HttpServerSettings & { maxInFlight?: number; retryAfterS?: number };
  /** Who may read /metrics, /readyz, /ecg/:id/status and the dashboard; default loopback peers only. */
  opsAuth?: { token?: string; users?: readonly OpsUserCredential[]; anonymousReadiness?: boolean };
  /** The queue dashboard at /ops/queues (dashboard/plugin.ts): where replays are audited. */
  dashboard?: Pick<QueueDashboardOptions, 'audit' | 'payloads'>;
  /** The ecgcad app at /app/ (public pages; the app signs in to the EHR itself). */
  app?: AppRoutesOptions;
  /** The CDS Hooks service (/cds-services), when enabled. */
  cds?: CdsRoutesOptions;
}

/** A running ops server. */
export interface OpsServer {
  app: FastifyInstance;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Runs a check with a time limit. */
export async function withTimeout(check: ReadinessCheck, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ReadinessFailure(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness check: Redis answers PING. */
export function redisCheck(redis: Redis): ReadinessCheck {
  return async () => {
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new ReadinessFailure('unexpected PING answer');
  };
}

/** Readiness check: the EHR answers GET [base]/metadata with 2xx (a cheap CapabilityStatement read). */
export function ehrCheck(baseUrl: string, timeoutMs = 3000): ReadinessCheck {
  return async () => {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/metadata`, {
      headers: { accept: 'application/fhir+json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) throw new ReadinessFailure(`EHR answered ${response.status} to GET /metadata`);
  };
}

/** Starts the server; resolves once it listens. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = options.server;
  const app = Fastify({
    logger: false,
    forceCloseConnections: false,
    return503OnClosing: true,
    ...(server ? { serverFactory: hardenedServerFactory(server) } : {}),
  });
  if (server?.maxInFlight) {
    limitInFlight(app, { max: server.maxInFlight, retryAfterS: server.retryAfterS ?? 5, exempt: ['/healthz'] });
  }

  const opsAuth = {
    ...(options.opsAuth?.token ? { token: options.opsAuth.token } : {}),
    users: options.opsAuth?.users ?? [],
  };
  const access = opsAccessChecker(opsAuth);
  const feedAuth: ((headers: IncomingHttpHeaders, socket: Socket) => AuthResult) | undefined = options.feeds
    ? authChecker(options.feeds.auth)
    : undefined;
  /** Answers 401/403 and returns false when the caller may not read an ops endpoint. */
  const allowed = (request: FastifyRequest, reply: FastifyReply, withFeedAuth = false): boolean => {
    const verdict = access(request.headers, request.raw.socket, withFeedAuth ? feedAuth : undefined);
    if (verdict === 'ok') return true;
    options.logger.warn({ remote: request.ip, url: request.routeOptions.url, verdict }, 'ops request refused');
    if (verdict === 'forbidden') {
      void reply
        .code(403)
        .send({ status: 'forbidden', reason: 'ops endpoints answer loopback only (no ops token set)' });
    } else {
      void reply
        .code(401)
        .header('www-authenticate', withFeedAuth ? 'Bearer, ApiKey' : 'Bearer')
        .send({ status: 'unauthorized', reason: 'credentials required' });
    }
    return false;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const detailed = access(request.headers, request.raw.socket) === 'ok';
    if (!detailed && !options.opsAuth?.anonymousReadiness && !allowed(request, reply)) return reply;
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check, 3000);
          results[name] = 'ok';
        } catch (err) {
          ready = false;
          // Only our own messages go out; a library's text (addresses, versions) stays in the log.
          results[name] = err instanceof ReadinessFailure ? err.message : 'failed';
          options.logger.warn(
            { check: name, error: err instanceof Error ? err.message : String(err) },
            'readiness check failed',
          );
        }
      }),
    );
    const status = ready ? 'ready' : 'not ready';
    return reply.code(ready ? 200 : 503).send(detailed ? { status, checks: results } : { status });
  });

  app.get('/metrics', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const text = await options.metrics.registry.metrics();
    return reply.header('content-type', options.metrics.registry.contentType).send(text);
  });

  app.get<{ Params: { id: string } }>('/ecg/:id/status', async (request, reply) => {
    if (!allowed(request, reply, true)) return reply;
    try {
      const status = await ecgStatus(options.queues, request.params.id);
      return reply.code(status.status === 'unknown' ? 404 : 200).send(status);
    } catch {
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'queue unavailable' });
    }
  });

  if (options.app) await app.register(appRoutes, options.app);

  let publicUrl = '';
  if (options.feeds) {
    const feeds = options.feeds;
    // Its own plugin context: the feeds replace the content-type parsers, which must not touch the ops routes.
    await app.register(httpFeedsPlugin, {
      ...feeds,
      statusUrl: (ecgId: string) => `${publicUrl}/ecg/${encodeURIComponent(ecgId)}/status`,
    });
  }
  if (options.cds) await app.register(cdsRoutes, options.cds);
  const { queues, logger } = options;
  if (options.dashboard)
    await app.register(queueDashboard, { prefix: DASHBOARD_PATH, ...options.dashboard, queues, auth: opsAuth, logger });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `${server?.tls ? 'https' : 'http'}://${shownHost}:${port}`;
  publicUrl = options.feeds?.publicUrl?.replace(/\/+$/, '') ?? url;
  options.logger.info({ url, feeds: options.feeds !== undefined }, 'http server listening');
  return { app, url, port, close: () => app.close() };
}
