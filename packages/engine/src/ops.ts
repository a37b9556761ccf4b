/**
 * The HTTP server of a queued engine process: ops endpoints, and the HTTP feeds (POST /ecg, STOW-RS) when this
 * process runs them. One port (http.port, default 8080) for both, so a sender's statusUrl and the probes share it.
 *   GET /healthz          the process is up (liveness)
 *   GET /readyz           Redis reachable, model loaded (infer), EHR reachable (write): 200 or 503 with the checks
 *   GET /metrics          Prometheus text
 *   GET /ecg/:id/status   where an ECG is: queued / scoring / scored / writing / written / failed (+ reason)
 */
import { type FeedCommonOptions, type HttpFeedAuth, httpFeedsPlugin } from '@ecgcad/ingest';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { ecgStatus } from './ecg-status.js';
import type { Logger } from './logger.js';
import type { EngineMetrics } from './metrics.js';
import type { EngineQueues } from './redis.js';

/** One readiness check: resolves with nothing when fine, throws (patient-free message) when not. */
export type ReadinessCheck = () => Promise<void>;

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
  feeds?: FeedCommonOptions & { auth: HttpFeedAuth; publicUrl?: string };
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
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
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
    if (pong !== 'PONG') throw new Error('unexpected PING answer');
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
    if (!response.ok) throw new Error(`EHR answered ${response.status} to GET /metadata`);
  };
}

/** Starts the server; resolves once it listens. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const app = Fastify({ logger: false, forceCloseConnections: false, return503OnClosing: true });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check, 3000);
          results[name] = 'ok';
        } catch (err) {
          ready = false;
          results[name] = err instanceof Error ? err.message : 'failed';
        }
      }),
    );
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await options.metrics.registry.metrics();
    return reply.header('content-type', options.metrics.registry.contentType).send(text);
  });

  app.get<{ Params: { id: string } }>('/ecg/:id/status', async (request, reply) => {
    try {
      const status = await ecgStatus(options.queues, request.params.id);
      return reply.code(status.status === 'unknown' ? 404 : 200).send(status);
    } catch {
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'queue unavailable' });
    }
  });

  let publicUrl = '';
  if (options.feeds) {
    const feeds = options.feeds;
    // Its own plugin context: the feeds replace the content-type parsers, which must not touch the ops routes.
    await app.register(httpFeedsPlugin, {
      ...feeds,
      statusUrl: (ecgId: string) => `${publicUrl}/ecg/${encodeURIComponent(ecgId)}/status`,
    });
  }
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${shownHost}:${port}`;
  publicUrl = options.feeds?.publicUrl?.replace(/\/+$/, '') ?? url;
  options.logger.info({ url, feeds: options.feeds !== undefined }, 'http server listening');
  return { app, url, port, close: () => app.close() };
}
