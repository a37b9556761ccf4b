/**
 * HTTP feeds as a fastify plugin: `POST /ecg` (one aECG XML or DICOM file) and DICOMweb STOW-RS
 * (`POST /dicomweb/studies[/:study]`). Authentication runs before the body is read; bad input gets a FHIR
 * OperationOutcome (or, for STOW-RS, the PS3.18 response) and its bytes go to the rejected store.
 * Register it in its own context: `app.register(httpFeedsPlugin, { ... })`. The status route is the engine's.
 */
import type { IncomingMessage } from 'node:http';
import { EcgcadError, LimitExceededError, MalformedInputError } from '@ecgcad/ecg';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authChecker, type HttpFeedAuth } from './http-auth.js';
import type { FeedCommonOptions } from './intake.js';
import { handOver, notifyPeerRefused, silentLogger } from './intake.js';
import { type MultipartLimits, MultipartParser, type MultipartPart, parseMediaType } from './multipart.js';
import { storeInstances } from './stow.js';

/** Media types `POST /ecg` takes. */
export const ECG_BODY_TYPES = [
  'application/xml',
  'text/xml',
  'application/hl7-v3+xml',
  'application/dicom',
  'application/octet-stream',
] as const;

/** Options of {@link httpFeedsPlugin}. */
export interface HttpFeedsOptions extends FeedCommonOptions {
  auth: HttpFeedAuth;
  limits?: {
    /** Largest `POST /ecg` body and largest STOW-RS request, in bytes. Default 64 MiB. */
    maxBodyBytes?: number;
    /** Multipart limits for STOW-RS (parts, part size, header size). Defaults in DEFAULT_MULTIPART_LIMITS. */
    multipart?: Partial<Omit<MultipartLimits, 'maxTotalBytes'>>;
  };
  /** URL where the sender can follow an ECG (the engine serves it). */
  statusUrl(ecgId: string): string;
  /** Retry-After, in seconds, when a transient error gives none. Default 30. */
  retryAfterS?: number;
  /** Path prefix for the routes, e.g. `/ingest`. Default none. */
  prefix?: string;
}

/** An HTTP-level refusal (auth, media type) that the error handler turns into an OperationOutcome. */
class HttpRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly issueCode: string,
    message: string,
  ) {
    super(message);
  }
}

type IssueCode =
  | 'invalid'
  | 'not-supported'
  | 'too-long'
  | 'security'
  | 'login'
  | 'transient'
  | 'exception'
  | 'processing'
  | 'duplicate';

/** A FHIR R4 OperationOutcome with one error issue. */
export function operationOutcome(code: IssueCode | string, diagnostics: string): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** HTTP status and OperationOutcome issue code for a refused ECG, by error code. */
function refusalStatus(code: string): { status: number; issue: IssueCode } {
  switch (code) {
    case 'UNSUPPORTED_FORMAT':
      return { status: 415, issue: 'not-supported' };
    case 'LIMIT_EXCEEDED':
      return { status: 413, issue: 'too-long' };
    case 'NOT_ANALYSABLE':
      return { status: 422, issue: 'processing' };
    case 'DUPLICATE_ID':
      return { status: 409, issue: 'duplicate' };
    default:
      return { status: 400, issue: 'invalid' };
  }
}

/** The fastify plugin. Options are checked when it registers (ConfigError on bad auth). */
export async function httpFeedsPlugin(fastify: FastifyInstance, options: HttpFeedsOptions): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const checkAuth = authChecker(options.auth);
  /** Who each authenticated request is (for the audit trail), by its raw request. */
  const principals = new WeakMap<object, string>();
  const maxBodyBytes = options.limits?.maxBodyBytes ?? 64 * 1024 * 1024;
  const multipartLimits: Partial<MultipartLimits> = { ...options.limits?.multipart, maxTotalBytes: maxBodyBytes };
  const retryAfterS = options.retryAfterS ?? 30;
  const prefix = options.prefix ?? '';

  // Only the media types the feeds take: anything else is a 415 from fastify, turned into an OperationOutcome below.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    [...ECG_BODY_TYPES],
    { parseAs: 'buffer', bodyLimit: maxBodyBytes },
    (_request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body),
  );
  fastify.addContentTypeParser('multipart/related', (request: FastifyRequest, payload: IncomingMessage, done) => {
    parseStowBody(request, payload, multipartLimits, maxBodyBytes).then(
      (parts) => done(null, parts),
      (err: unknown) => done(err as Error),
    );
  });

  // Who each authenticated request came from (per-sender metrics), by raw request.
  const senders = new WeakMap<object, string>();
  fastify.addHook('onRequest', async (request, reply) => {
    const result = checkAuth(request.headers, request.raw.socket);
    if (result.ok && result.principal) principals.set(request.raw, result.principal);
    if (result.ok) senders.set(request.raw, result.keyId ? `key:${result.keyId}` : result.method);
    if (!result.ok) {
      logger.warn(
        { feed: 'http', remote: request.ip, url: request.routeOptions.url },
        'unauthenticated request refused',
      );
      notifyPeerRefused(options, {
        feed: 'http',
        at: new Date().toISOString(),
        peer: request.ip,
        code: 'UNAUTHENTICATED',
        reason: 'no valid API key or client certificate',
      });
      reply
        .code(401)
        .header('www-authenticate', 'ApiKey')
        .type('application/fhir+json')
        .send(operationOutcome('login', 'authentication required: API key or verified client certificate'));
      return reply;
    }
    return undefined;
  });

  fastify.setErrorHandler((error: unknown, request, reply) => {
    const { status, issue, message } = describeError(error, maxBodyBytes);
    if (status >= 500) {
      logger.error({ feed: 'http', errorClass: error instanceof Error ? error.name : typeof error }, 'HTTP feed error');
    } else {
      logger.warn({ feed: 'http', remote: request.ip, status, reason: message }, 'HTTP feed request refused');
    }
    if (status === 503) reply.header('retry-after', String(retryAfterS));
    reply.code(status).type('application/fhir+json').send(operationOutcome(issue, message));
  });

  fastify.post(`${prefix}/ecg`, { bodyLimit: maxBodyBytes }, async (request, reply) => {
    const body = request.body;
    if (!(body instanceof Uint8Array) || body.byteLength === 0) {
      throw new HttpRefusal(400, 'invalid', 'empty request body');
    }
    const contentType = parseMediaType(request.headers['content-type'])?.type;
    const result = await handOver(
      body,
      {
        feed: 'http',
        receivedAt: new Date().toISOString(),
        ...(contentType ? { contentType } : {}),
        remote: request.ip,
        ...(principals.has(request.raw) ? { principal: principals.get(request.raw) as string } : {}),
        ...(senders.has(request.raw) ? { sender: senders.get(request.raw) as string } : {}),
      },
      options,
    );
    if (result.outcome === 'accepted') {
      const url = options.statusUrl(result.receipt.ecgId);
      return reply
        .code(202)
        .header('location', url)
        .send({ id: result.receipt.ecgId, status: url, ...(result.receipt.duplicate ? { duplicate: true } : {}) });
    }
    if (result.outcome === 'retry') {
      const seconds =
        result.retryAfterMs === undefined ? retryAfterS : Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      return reply
        .code(503)
        .header('retry-after', String(seconds))
        .type('application/fhir+json')
        .send(operationOutcome('transient', result.reason));
    }
    const { status, issue } = refusalStatus(result.code);
    if (result.rejectedId) reply.header('x-ecgcad-rejected-id', result.rejectedId);
    return reply.code(status).type('application/fhir+json').send(operationOutcome(issue, result.reason));
  });

  const stow = async (request: FastifyRequest<{ Params: { study?: string } }>, reply: FastifyReply) => {
    const parts = request.body as MultipartPart[];
    if (!Array.isArray(parts) || parts.length === 0) throw new HttpRefusal(400, 'invalid', 'no parts in the request');
    const rootType = parseMediaType(request.headers['content-type'])?.params.type ?? 'application/dicom';
    const response = await storeInstances(
      parts,
      {
        receivedAt: new Date().toISOString(),
        remote: request.ip,
        ...(principals.has(request.raw) ? { principal: principals.get(request.raw) as string } : {}),
        ...(senders.has(request.raw) ? { sender: senders.get(request.raw) as string } : {}),
        rootType,
        ...(request.params.study ? { expectedStudyUid: request.params.study } : {}),
      },
      options,
    );
    // PS3.18 lets the origin server explain failures in Warning header fields (code 299).
    const warnings = response.results
      .filter((r) => r.reason !== undefined)
      .map((r) => `299 ecgcad "${(r.reason ?? '').replace(/["\\\r\n]/g, ' ').slice(0, 200)}"`);
    if (warnings.length > 0) reply.header('warning', warnings);
    if (response.status === 503) {
      const seconds =
        response.retryAfterMs === undefined ? retryAfterS : Math.max(1, Math.ceil(response.retryAfterMs / 1000));
      reply.header('retry-after', String(seconds));
    }
    return reply.code(response.status).type('application/dicom+json').send(response.body);
  };
  fastify.post(`${prefix}/dicomweb/studies`, { bodyLimit: maxBodyBytes }, stow);
  fastify.post(`${prefix}/dicomweb/studies/:study`, { bodyLimit: maxBodyBytes }, stow);
}

/** Streams a STOW-RS body through the multipart parser; checks the media type before reading anything. */
async function parseStowBody(
  request: FastifyRequest,
  payload: IncomingMessage,
  limits: Partial<MultipartLimits>,
  maxBodyBytes: number,
): Promise<MultipartPart[]> {
  const mediaType = parseMediaType(request.headers['content-type']);
  const type = mediaType?.params.type?.toLowerCase();
  if (!mediaType || (type !== undefined && type !== 'application/dicom')) {
    payload.resume();
    throw new HttpRefusal(415, 'not-supported', 'STOW-RS takes multipart/related; type="application/dicom"');
  }
  const boundary = mediaType.params.boundary;
  if (!boundary) {
    payload.resume();
    throw new HttpRefusal(400, 'invalid', 'multipart/related without a boundary parameter');
  }
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    payload.resume();
    throw new LimitExceededError(`request body over ${maxBodyBytes} bytes`);
  }
  const parser = new MultipartParser(boundary, limits);
  try {
    for await (const chunk of payload) parser.push(chunk as Buffer);
  } catch (err) {
    payload.resume();
    throw err;
  }
  return parser.end();
}

function describeError(
  error: unknown,
  maxBodyBytes: number,
): { status: number; issue: IssueCode | string; message: string } {
  if (error instanceof HttpRefusal) return { status: error.statusCode, issue: error.issueCode, message: error.message };
  if (error instanceof LimitExceededError) return { status: 413, issue: 'too-long', message: error.message };
  if (error instanceof MalformedInputError) return { status: 400, issue: 'invalid', message: error.message };
  if (error instanceof EcgcadError) {
    if (!error.permanent) return { status: 503, issue: 'transient', message: error.message };
    return { status: 400, issue: 'invalid', message: error.message };
  }
  const code = (error as { code?: unknown }).code;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) {
    return { status: 413, issue: 'too-long', message: `request body over ${maxBodyBytes} bytes` };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || statusCode === 415) {
    return {
      status: 415,
      issue: 'not-supported',
      message: `content type must be one of: ${ECG_BODY_TYPES.join(', ')}`,
    };
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, issue: 'invalid', message: 'bad request' };
  }
  return { status: 500, issue: 'exception', message: 'internal error' };
}
