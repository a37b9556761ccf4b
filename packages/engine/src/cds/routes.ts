/**
 * The CDS Hooks endpoints, as a fastify plugin (registered by ops.ts):
 *   GET  /cds-services        discovery; open (it lists services and prefetch templates, no patient data)
 *   POST /cds-services/{id}   a hook call; the caller's JWT is checked before the body is read (401 otherwise)
 *   POST /cds-services/{id}/feedback   what the user did with the cards (accepted / overridden): counted, logged
 *   OPTIONS on both           CORS preflight for browser-based CDS clients (only for `corsOrigins`)
 * Answers: 200 `{ cards }` (an empty list when there is nothing to say), 400 for a request that breaks the spec's
 * shape, 404 for an unknown service, 412 when the FHIR data cannot be had; errors carry an OperationOutcome.
 * Logs name the service, the client's `iss`, the number of cards and the time taken: never a patient.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import { buildCards } from './cards.js';
import { ClientAuthError, type ClientAuthenticator } from './client-auth.js';
import { type DataOptions, loadResources, PreconditionFailed } from './data.js';
import type { CdsMetrics } from './metrics.js';
import { ecgResults } from './results.js';
import { discovery, hasCoronaryTestOrder, type ServedService, servedServices } from './services.js';
import { type CdsRequest, type CdsResponse, cdsRequestSchema, feedbackSchema, patientContextSchema } from './spec.js';

/** Options of {@link cdsRoutes}. */
export interface CdsRoutesOptions {
  /** Checks the caller's JWT. */
  authenticate: ClientAuthenticator;
  /** This server's public base URL: a call to service `x` must carry `aud` = `<baseUrl>/cds-services/x`. */
  baseUrl: string | (() => string);
  /** SMART launch URL of the ECG viewer (the cards' link). */
  appLaunchUrl: string | (() => string);
  /** Results older than this are not shown. */
  recentDays: number;
  maxCards: number;
  /** Order codes (`system|code`) the order hooks answer for. */
  orderCodes: readonly string[];
  /** FHIR reads when prefetch is missing (the `since` is computed per call). */
  data: Omit<DataOptions, 'since'>;
  /** Origins allowed by CORS (`*` for any); default none. */
  corsOrigins?: readonly string[];
  /** Largest request body, bytes. Default 8 MiB (prefetch Bundles). */
  maxBodyBytes?: number;
  logger: Logger;
  services?: ServedService[];
  /** Calls and answer times (Prometheus). */
  metrics?: CdsMetrics;
  now?: () => Date;
}

/** A FHIR OperationOutcome with one issue (CDS Hooks: errors SHOULD carry one). */
export function operationOutcome(code: string, text: string): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

/** The FHIR logical id rule: what a `patientId` must look like before it goes into a query. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const value = (v: string | (() => string)): string => (typeof v === 'function' ? v() : v);

/** Sets the CORS headers when the request's Origin may call; true when it may. */
function cors(request: FastifyRequest, reply: FastifyReply, origins: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (!origin || origins.length === 0) return false;
  const any = origins.includes('*');
  if (!any && !origins.includes(origin)) return false;
  void reply.header('access-control-allow-origin', any ? '*' : origin);
  if (!any) void reply.header('vary', 'Origin');
  return true;
}

/** The plugin. */
export const cdsRoutes: FastifyPluginAsync<CdsRoutesOptions> = async (app: FastifyInstance, options) => {
  const services = options.services ?? servedServices();
  const byId = new Map(services.map((s) => [s.id, s]));
  const origins = options.corsOrigins ?? [];
  const now = options.now ?? (() => new Date());
  const log = options.logger;

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!cors(request, reply, origins)) return reply.code(403).send();
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send();
  };
  if (options.metrics) {
    const metrics = options.metrics;
    app.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'POST' || request.routeOptions.url !== '/cds-services/:id') return;
      const id = (request.params as { id?: string } | undefined)?.id;
      const service = id && byId.has(id) ? id : 'unknown';
      metrics.calls.inc({ service, status: String(reply.statusCode) });
      metrics.seconds.observe({ service }, reply.elapsedTime / 1000);
    });
  }
  app.options('/cds-services', preflight);
  app.options('/cds-services/:id', preflight);
  app.options('/cds-services/:id/feedback', preflight);

  app.get('/cds-services', async (request, reply) => {
    cors(request, reply, origins);
    return reply.send(discovery(services));
  });

  /** Checks the caller's JWT for `<baseUrl>/cds-services/<id><suffix>` before the body is read (401 otherwise). */
  const authenticated =
    (suffix: string) =>
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<unknown> => {
      cors(request, reply, origins);
      const service = byId.get(request.params.id);
      if (!service) {
        return reply.code(404).send(operationOutcome('not-found', 'no such CDS service'));
      }
      const audience = `${value(options.baseUrl).replace(/\/+$/, '')}/cds-services/${service.id}${suffix}`;
      try {
        const client = await options.authenticate(request.headers.authorization, audience);
        (request as FastifyRequest & { cdsClient?: string }).cdsClient = client.iss;
      } catch (err) {
        const reason = err instanceof ClientAuthError ? err.message : 'authentication failed';
        log.warn({ service: service.id, remote: request.ip, reason }, 'cds call refused');
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer error="invalid_token"')
          .send(operationOutcome('login', reason));
      }
      return undefined;
    };

  // Feedback (spec: Feedback): the outcome of each card the user acted on, counted and logged (card uuids only).
  app.post<{ Params: { id: string }; Body: unknown }>(
    '/cds-services/:id/feedback',
    { bodyLimit: 1024 * 1024, onRequest: authenticated('/feedback') },
    async (request, reply) => {
      const parsed = feedbackSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.join('.') || '(body)';
        return reply.code(400).send(operationOutcome('invalid', `${where}: ${issue?.message ?? 'invalid'}`));
      }
      const outcomes = { accepted: 0, overridden: 0 };
      for (const item of parsed.data.feedback) {
        outcomes[item.outcome]++;
        options.metrics?.feedback.inc({ service: request.params.id, outcome: item.outcome });
      }
      const iss = (request as FastifyRequest & { cdsClient?: string }).cdsClient;
      log.info({ service: request.params.id, iss, ...outcomes }, 'cds feedback');
      return reply.code(200).send({});
    },
  );

  app.post<{ Params: { id: string }; Body: unknown }>(
    '/cds-services/:id',
    { bodyLimit: options.maxBodyBytes ?? 8 * 1024 * 1024, onRequest: authenticated('') },
    async (request, reply) => {
      const started = performance.now();
      const service = byId.get(request.params.id) as ServedService;
      const iss = (request as FastifyRequest & { cdsClient?: string }).cdsClient;
      const parsed = cdsRequestSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.join('.') || '(body)';
        return reply.code(400).send(operationOutcome('invalid', `${where}: ${issue?.message ?? 'invalid'}`));
      }
      const call: CdsRequest = parsed.data;
      if (call.hook !== service.hook) {
        return reply
          .code(400)
          .send(
            operationOutcome('invalid', `service ${service.id} answers the ${service.hook} hook, not ${call.hook}`),
          );
      }
      const context = patientContextSchema.safeParse(call.context);
      if (!context.success || !FHIR_ID.test(context.data.patientId)) {
        return reply.code(400).send(operationOutcome('invalid', 'context.patientId must be a FHIR id'));
      }
      if (service.hook !== 'patient-view' && !hasCoronaryTestOrder(call.context, options.orderCodes)) {
        log.info({ service: service.id, iss, cards: 0, reason: 'no coronary test order' }, 'cds call answered');
        return reply.send({ cards: [] } satisfies CdsResponse);
      }
      const at = now();
      const since = new Date(at.getTime() - options.recentDays * 86_400_000);
      try {
        const { resources, source } = await loadResources(call, context.data.patientId, { ...options.data, since });
        const cards = buildCards(ecgResults(resources), {
          now: at,
          recentDays: options.recentDays,
          maxCards: options.maxCards,
          appLaunchUrl: value(options.appLaunchUrl),
          newId: randomUUID,
        });
        const ms = Math.round(performance.now() - started);
        log.info({ service: service.id, iss, cards: cards.length, source, ms }, 'cds call answered');
        return reply.send({ cards } satisfies CdsResponse);
      } catch (err) {
        if (!(err instanceof PreconditionFailed)) throw err;
        log.warn({ service: service.id, iss, reason: err.message }, 'cds call: FHIR data unavailable');
        return reply.code(412).send(operationOutcome('processing', err.message));
      }
    },
  );
};
