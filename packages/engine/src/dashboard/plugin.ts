/**
 * The queue dashboard: bull-board mounted on the engine's HTTP server at /ops/queues, behind the ops credentials.
 * Viewers read; operators may also replay dead-lettered (failed) jobs, one or a queue's whole set, each replay
 * written to the audit trail before the answer. Every other change bull-board offers is refused for everyone
 * (actions.ts). Job data, failure reasons and logs are masked (mask.ts, masked-adapter.ts). The page loads nothing
 * from outside the engine: bull-board's Google Fonts link is cut out and a Content-Security-Policy keeps it so.
 */
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter } from '@bull-board/fastify';
import type { AuditActor, AuditFact } from '@ecgcad/fhir-writer';
import type { RedisPayloadStore } from '@ecgcad/queue';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type QueueKey, replayDeadLetters } from '../dlq.js';
import type { Logger } from '../logger.js';
import { type OpsAuthOptions, type OpsPrincipal, opsIdentifier } from '../ops-auth.js';
import type { EngineQueues } from '../redis.js';
import { dashboardAction } from './actions.js';
import { MaskedQueueAdapter } from './masked-adapter.js';

/** Where the dashboard is mounted. */
export const DASHBOARD_PATH = '/ops/queues';

/** The realm a browser shows when it asks for the ops user name and token. */
const CHALLENGE = 'Basic realm="ecgcad ops", charset="UTF-8", Bearer realm="ecgcad ops"';

/** Nothing from elsewhere: scripts, styles, fonts, images and API calls come from the engine itself. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/** Options of {@link queueDashboard}. */
export interface QueueDashboardOptions {
  queues: EngineQueues;
  auth: OpsAuthOptions;
  /** Where each replay is recorded (the process's audit trail). */
  audit: { record(fact: AuditFact): Promise<void> };
  /** A replayed job's payload gets its full TTL again (as `ecgcad dlq replay` does). */
  payloads?: Pick<RedisPayloadStore, 'keep'>;
  logger: Logger;
}

/** The body bull-board's page expects of a refused call (it shows `message`). */
function refusal(key: string, message: string): { error: { key: string }; message: string } {
  return { error: { key }, message };
}

/** Removes `<link>` and `<script>` tags that load from another origin (bull-board's Google Fonts stylesheet). */
export function withoutExternalAssets(html: string): string {
  return html
    .replace(/<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>/gi, '')
    .replace(/<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?\/\/[^>]*>\s*<\/script>/gi, '');
}

/** bull-board's queue list as a read-only board shows it (the viewer's page). */
export function readOnlyQueues(json: string): string {
  const body = JSON.parse(json) as { queues?: Array<Record<string, unknown>> };
  for (const queue of body.queues ?? []) {
    queue.readOnlyMode = true;
    queue.allowRetries = false;
    queue.allowCompletedRetries = false;
  }
  return JSON.stringify(body);
}

/** The fastify plugin; register it with `{ prefix: DASHBOARD_PATH }`. */
export async function queueDashboard(app: FastifyInstance, options: QueueDashboardOptions): Promise<void> {
  const { queues, logger } = options;
  const identify = opsIdentifier(options.auth);
  const keyOf = new Map<string, QueueKey>(
    (Object.keys(queues) as QueueKey[]).map((key) => [queues[key].name, key] as const),
  );

  const replay = async (
    request: FastifyRequest,
    reply: FastifyReply,
    principal: OpsPrincipal,
    queueName: string,
    jobId: string | undefined,
  ): Promise<FastifyReply> => {
    const key = keyOf.get(queueName);
    if (!key) return reply.code(404).send(refusal('ERRORS.QUEUE_NOT_FOUND', 'no such queue'));
    const operator: AuditActor = { name: `${principal.name} (ops dashboard)`, address: request.ip };
    const recorded: Array<Promise<void>> = [];
    const replayed = await replayDeadLetters(queues, [key], jobId === undefined ? { all: true } : { id: jobId }, {
      ...(options.payloads ? { payloads: options.payloads } : {}),
      onReplay: (r) => {
        recorded.push(
          options.audit.record({
            kind: 'replayed',
            at: new Date().toISOString(),
            queue: r.queue,
            jobId: r.jobId,
            ...(r.ecgId ? { ecgId: r.ecgId } : {}),
            operator,
          }),
        );
      },
    });
    // The audit events are in Redis (or held in memory while it is away) before the page hears of the replay.
    await Promise.all(recorded);
    logger.info({ user: principal.name, queue: queueName, replayed: replayed.length }, 'dashboard: jobs replayed');
    if (jobId === undefined) return reply.code(200).send({ retried: replayed.length, skipped: 0 });
    if (replayed.length === 1) return reply.code(204).send();
    const job = await queues[key].getJob(jobId);
    if (!job) return reply.code(404).send(refusal('ERRORS.JOB_NOT_FOUND', 'no such job'));
    return reply
      .code(409)
      .send(
        refusal(
          'ERRORS.JOB_NOT_RETRIABLE',
          `only failed (dead-lettered) jobs are replayed here; this one is ${await job.getState()}`,
        ),
      );
  };

  const principals = new WeakMap<FastifyRequest, OpsPrincipal>();
  app.addHook('onRequest', async (request, reply) => {
    const identity = identify(request.headers, request.raw.socket);
    if (identity.verdict !== 'ok') {
      logger.warn({ remote: request.ip, verdict: identity.verdict }, 'dashboard request refused');
      if (identity.verdict === 'forbidden') {
        return reply
          .code(403)
          .send(refusal('ERRORS.FORBIDDEN', 'ops endpoints answer loopback only (no ops credentials set)'));
      }
      return reply
        .code(401)
        .header('www-authenticate', CHALLENGE)
        .send(refusal('ERRORS.UNAUTHORIZED', 'credentials required'));
    }
    const { principal } = identity;
    principals.set(request, principal);
    const action = dashboardAction(request.method, request.url.slice(DASHBOARD_PATH.length));
    if (action.kind === 'read') return undefined;
    if (action.kind === 'refused') {
      logger.warn({ user: principal.name, method: request.method }, 'dashboard: change refused (not offered)');
      return reply
        .code(403)
        .send(refusal('ERRORS.FORBIDDEN', 'not available from the dashboard: only replays of failed jobs are'));
    }
    if (principal.role !== 'operator') {
      logger.warn({ user: principal.name, role: principal.role }, 'dashboard: replay refused (viewer)');
      return reply.code(403).send(refusal('ERRORS.FORBIDDEN', 'replaying jobs needs the operator role'));
    }
    return replay(request, reply, principal, action.queueName, action.kind === 'retry' ? action.jobId : undefined);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('application/json')) reply.header('cache-control', 'no-store');
    // A viewer's page is read-only: no buttons for what the server would refuse anyway.
    if (
      principals.get(request)?.role !== 'operator' &&
      type.startsWith('application/json') &&
      typeof payload === 'string' &&
      request.url.slice(DASHBOARD_PATH.length).split('?')[0] === '/api/queues'
    ) {
      return readOnlyQueues(payload);
    }
    if (type.startsWith('text/html') && typeof payload === 'string') return withoutExternalAssets(payload);
    return payload;
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: (Object.keys(queues) as QueueKey[]).map(
      (key) => new MaskedQueueAdapter(queues[key], { description: DESCRIPTIONS[key] }),
    ),
    serverAdapter,
    options: {
      uiConfig: { boardTitle: 'ecgcad queues', hideDocsLink: true, pollingInterval: { forceInterval: 5000 } },
    },
  });
  await app.register(serverAdapter.registerPlugin());
}

const DESCRIPTIONS: Record<QueueKey, string> = {
  ingest: 'decode received payloads',
  infer: 'score decoded ECGs',
  write: 'write results to the EHR (failed: dead-lettered)',
};
