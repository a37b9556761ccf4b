/**
 * The test EHR: the Medplum FHIR router over an in-memory repository behind node:http, made strict enough to
 * stand in for a real EHR in tests and demos:
 * - every write is validated against the R4 StructureDefinitions (each transaction entry too): 400 + OperationOutcome;
 * - conditional references (`Patient?identifier=...`) in transactions are resolved (no or several matches: 400);
 * - conditional creates (ifNoneExist / If-None-Exist) dedupe, and writes are serialised so two concurrent resends
 *   cannot both create;
 * - an optional OAuth2 token endpoint (client secret or SMART Backend Services assertion) protects `/fhir`;
 * - optional SMART App Launch (smart.ts): authorize with PKCE, EHR launch simulator, CORS for the apps' origins;
 * - fault switches: outages (503 for N ms or N requests, with Retry-After), added latency, dropped connections;
 * - `Prefer: return=minimal` on a transaction or batch: the response entries carry their `response` (status,
 *   location) without the resource, as FHIR's RESTful API asks of a server that honours it (the router alone echoes
 *   every resource back).
 * Transactions are validated and their references resolved before anything is written, so a refused Bundle
 * leaves nothing behind; the router itself does not roll back a transaction that fails half way.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { badRequest, getStatus, normalizeOperationOutcome, parseSearchRequest } from '@medplum/core';
import { FhirRouter, type HttpMethod, type MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Identifier, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { loadR4Definitions, structuralIssues } from '../validate.js';
import { FaultSwitches } from './faults.js';
import { IndexedMemoryRepository } from './indexed-repository.js';
import { inPatientCompartment, SmartAuthorizer, type SmartOptions, type SmartReply } from './smart.js';
import { type TestEhrClient, TokenService } from './token.js';

/** Options of startTestEhr. */
export interface TestEhrOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** When given, `/fhir` needs a bearer token from `/token`, issued to these clients. Default: no auth. */
  auth?: { clients: TestEhrClient[]; tokenTtlS?: number };
  /**
   * SMART App Launch for registered public clients (apps). Turns on auth: `/fhir` then needs a token from either
   * flow. Default off.
   */
  smart?: SmartOptions;
  /** Patients to create at start (the writer references patients by identifier). Default none. */
  patients?: Identifier[];
  /** Largest request body accepted. Default 20 MiB. */
  maxBodyBytes?: number;
}

/** Counters of what the server saw. */
export interface TestEhrStats {
  /** FHIR requests received (faulted ones included). */
  requests: number;
  /** Transactions committed. */
  transactions: number;
  /** Requests refused by validation. */
  invalid: number;
  /** Requests answered by a fault switch (fail or drop). */
  faulted: number;
}

/** A running test EHR. */
export interface TestEhr {
  /** FHIR base URL, e.g. `http://127.0.0.1:40123/fhir`. */
  url: string;
  /** Token endpoint URL (`<origin>/token`). */
  tokenUrl: string;
  faults: FaultSwitches;
  repo: MemoryRepository;
  stats: TestEhrStats;
  /** The token service (stats, revokeAll), when auth is on. */
  tokens: TokenService | undefined;
  /** The SMART authorization server, when `smart` is on. */
  smart: SmartAuthorizer | undefined;
  /** Server origin, e.g. `http://127.0.0.1:40123` (SMART pages: `/smart/launcher`, `/smart/ehr-launch`). */
  origin: string;
  /** Creates a Patient with this identifier (idempotent). */
  addPatient(identifier: Identifier): Promise<void>;
  close(): Promise<void>;
}

/** Starts a test EHR; resolves once it listens. */
export async function startTestEhr(options: TestEhrOptions = {}): Promise<TestEhr> {
  loadR4Definitions({ searchParameters: true });
  const repo = new IndexedMemoryRepository();
  const router = new FhirRouter();
  const faults = new FaultSwitches();
  const stats: TestEhrStats = { requests: 0, transactions: 0, invalid: 0, faulted: 0 };
  const maxBody = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const host = options.host ?? '127.0.0.1';
  let origin = '';
  const tokens =
    options.auth || options.smart
      ? new TokenService(options.auth?.clients ?? [], () => `${origin}/token`, options.auth?.tokenTtlS)
      : undefined;
  const smart =
    options.smart && tokens
      ? new SmartAuthorizer(options.smart, tokens, () => ({ origin, fhirBase: `${origin}/fhir` }), {
          exists: async (id) => {
            try {
              await repo.readResource('Patient', id);
              return true;
            } catch {
              return false;
            }
          },
          list: async () =>
            (await repo.searchResources(parseSearchRequest<Patient>('Patient?_count=100&_sort=_id'))).map((p) => ({
              id: p.id ?? '',
              label: patientLabel(p),
            })),
        })
      : undefined;

  // One write at a time: conditional creates are check-then-create, which concurrent requests would race.
  let writeChain: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = writeChain.then(fn, fn);
    writeChain = run.catch(() => undefined);
    return run;
  };

  const addPatient = (identifier: Identifier): Promise<void> =>
    serialised(async () => {
      const found = await repo.search(
        parseSearchRequest(
          `Patient?identifier=${encodeURIComponent(identifier.system ?? '')}|${encodeURIComponent(identifier.value ?? '')}`,
        ),
      );
      if ((found.entry ?? []).length === 0)
        await repo.createResource({ resourceType: 'Patient', identifier: [identifier] });
    });
  for (const p of options.patients ?? []) await addPatient(p);

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, normalizeOperationOutcome(err));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    // CORS for the registered apps' origins (browsers call /fhir, /token and the SMART configuration directly).
    const requestOrigin = req.headers.origin;
    if (smart?.allowsOrigin(requestOrigin)) {
      res.setHeader('access-control-allow-origin', requestOrigin as string);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'location, content-location, etag, www-authenticate');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
          'access-control-allow-headers': 'authorization, content-type, accept, prefer, if-none-exist, if-match',
          'access-control-max-age': '600',
        });
        return void res.end();
      }
    }
    const body = await readBody(req, maxBody);
    if (body === undefined) return sendJson(res, 413, badRequest('request body too large'));

    if (url.pathname === '/token') {
      if (!tokens || req.method !== 'POST') return sendJson(res, 404, { error: 'not_found' });
      const form = new URLSearchParams(body.toString('utf8'));
      const reply =
        smart && form.get('grant_type') === 'authorization_code'
          ? smart.exchange(form)
          : await tokens.handle(form, req.headers.authorization);
      return sendJson(res, reply.status, reply.body, 'application/json', {
        'cache-control': 'no-store',
        pragma: 'no-cache',
      });
    }
    if (smart && url.pathname === '/fhir/.well-known/smart-configuration' && req.method === 'GET') {
      return sendJson(res, 200, smart.configuration(), 'application/json');
    }
    if (smart && url.pathname.startsWith('/smart/')) {
      let reply: SmartReply | undefined;
      if (url.pathname === '/smart/authorize' && req.method === 'GET') reply = await smart.authorize(url.searchParams);
      else if (url.pathname === '/smart/authorize' && req.method === 'POST')
        reply = await smart.authorize(new URLSearchParams(body.toString('utf8')), true);
      else if (url.pathname === '/smart/ehr-launch' && req.method === 'GET')
        reply = await smart.ehrLaunch(url.searchParams);
      else if (url.pathname === '/smart/launcher' && req.method === 'GET') reply = await smart.launcherPage();
      if (reply) {
        res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
        return void res.end(reply.body);
      }
    }
    if (url.pathname !== '/fhir' && !url.pathname.startsWith('/fhir/')) {
      return sendJson(res, 404, badRequest('not found'));
    }

    stats.requests++;
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    const fault = faults.next();
    if (fault.kind === 'drop') {
      stats.faulted++;
      req.socket.destroy();
      return;
    }
    if (fault.kind === 'fail') {
      stats.faulted++;
      const headers: Record<string, string> =
        fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) };
      return sendJson(
        res,
        fault.status,
        outcome('transient', 'service unavailable (test EHR fault switch)'),
        undefined,
        headers,
      );
    }
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    // SMART: the CapabilityStatement is public, as apps read it before they have a token.
    const publicRead = smart !== undefined && method === 'GET' && url.pathname === '/fhir/metadata';
    const token = tokens?.lookup(req.headers.authorization);
    if (tokens && !token && !publicRead) {
      return sendJson(res, 401, outcome('login', 'missing, invalid or expired bearer token'), undefined, {
        'www-authenticate': 'Bearer',
      });
    }
    if (token?.readOnly && method !== 'GET' && !(method === 'POST' && url.pathname.endsWith('/_search'))) {
      return sendJson(res, 403, outcome('forbidden', 'this token grants read scopes only'));
    }

    let parsed: unknown;
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        stats.invalid++;
        return sendJson(res, 400, badRequest('request body is not JSON'));
      }
    }
    const fhirPath = url.pathname.slice('/fhir'.length).replace(/^\//, '');
    const isWrite = method === 'POST' || method === 'PUT' || method === 'PATCH';

    const run = async (): Promise<void> => {
      if (isWrite && parsed !== undefined && method !== 'PATCH') {
        const problems = await checkWrite(parsed as Resource, repo);
        if (problems.length > 0) {
          stats.invalid++;
          return sendJson(res, 400, {
            resourceType: 'OperationOutcome',
            issue: problems.map((text) => ({ severity: 'error', code: 'invalid', details: { text } })),
          });
        }
      }
      const [result, resource] = await router.handleRequest(
        {
          method,
          url: `${fhirPath}${url.search}`,
          pathname: '',
          body: parsed,
          params: {},
          query: {},
          headers: req.headers,
        },
        repo,
      );
      const status = getStatus(result);
      if (status < 300 && (parsed as Bundle | undefined)?.resourceType === 'Bundle' && fhirPath === '') {
        stats.transactions++;
      }
      let answer: unknown = method === 'GET' ? withNextLink(resource ?? result, url, origin) : (resource ?? result);
      if (method === 'POST' && fhirPath === '' && status < 300 && prefersMinimal(req.headers.prefer)) {
        answer = withoutEntryResources(answer);
      }
      if (token?.patient && status < 300) {
        const compartment = token.patient;
        const bundle = answer as Bundle;
        if (bundle?.resourceType === 'Bundle' && bundle.type === 'searchset') {
          // A patient-scoped token sees only its patient's resources in a search.
          answer = {
            ...bundle,
            entry: (bundle.entry ?? []).filter((e) => inPatientCompartment(e.resource, compartment)),
          };
        } else if (!inPatientCompartment(answer, compartment)) {
          return sendJson(res, 403, outcome('forbidden', "outside this token's patient compartment"));
        }
      }
      sendJson(res, status, answer);
    };
    await (isWrite ? serialised(run) : run());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url: `${origin}/fhir`,
    tokenUrl: `${origin}/token`,
    faults,
    repo,
    stats,
    tokens,
    smart,
    origin,
    addPatient,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** R4 validation of a write, plus conditional reference resolution for transactions (rewrites in place). */
async function checkWrite(resource: Resource, repo: MemoryRepository): Promise<string[]> {
  if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') {
    return ['body is not a FHIR resource'];
  }
  if (resource.resourceType !== 'Bundle') return structuralIssues(resource);
  const bundle = resource as Bundle;
  const shell: Bundle = { ...bundle, entry: (bundle.entry ?? []).map(({ resource: _r, ...rest }) => rest) };
  const problems = structuralIssues(shell, 'Bundle');
  (bundle.entry ?? []).forEach((entry, i) => {
    if (entry.resource)
      problems.push(...structuralIssues(entry.resource, `entry[${i}] ${entry.resource.resourceType}`));
  });
  if (problems.length > 0 || bundle.type !== 'transaction') return problems;
  for (const [i, entry] of (bundle.entry ?? []).entries()) {
    problems.push(...(await resolveConditionalReferences(entry.resource, repo, `entry[${i}]`)));
  }
  return problems;
}

/** Replaces `Type?query` references with `Type/id` when exactly one resource matches. */
async function resolveConditionalReferences(value: unknown, repo: MemoryRepository, where: string): Promise<string[]> {
  const problems: string[] = [];
  const visit = async (node: unknown): Promise<void> => {
    if (Array.isArray(node)) {
      for (const v of node) await visit(v);
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        if (k === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\?/.test(v)) {
          const found = await repo.search(parseSearchRequest(v));
          const matches = found.entry ?? [];
          if (matches.length === 1 && matches[0]?.resource) {
            obj.reference = `${matches[0].resource.resourceType}/${matches[0].resource.id}`;
          } else {
            // Real servers echo the query here, as this one does; the client redacts identifiers from it.
            problems.push(`${where}: conditional reference ${v} matched ${matches.length} resources (need exactly 1)`);
          }
        } else {
          await visit(v);
        }
      }
    }
  };
  await visit(value);
  return problems;
}

/**
 * The Medplum router pages searches (`_count`, `_offset`) and reports `total` but gives no `next` link; real
 * servers do. Add one when more matches remain, so clients page as they must against an EHR.
 */
function withNextLink(resource: unknown, url: URL, origin: string): unknown {
  const bundle = resource as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset' || bundle.total === undefined) return resource;
  if (bundle.link?.some((l) => l.relation === 'next')) return resource;
  const offset = Number(url.searchParams.get('_offset') ?? '0') || 0;
  const returned = bundle.entry?.length ?? 0;
  if (returned === 0 || offset + returned >= bundle.total) return resource;
  const next = new URL(url.pathname + url.search, origin);
  next.searchParams.set('_offset', String(offset + returned));
  return { ...bundle, link: [...(bundle.link ?? []), { relation: 'next', url: next.toString() }] };
}

/** A patient's label on the SMART pages: name, else first identifier, else id. */
function patientLabel(p: Patient): string {
  const name = p.name?.[0];
  const named = name?.text ?? [name?.given?.join(' '), name?.family].filter(Boolean).join(' ');
  return named || p.identifier?.[0]?.value || p.id || '';
}

function outcome(code: 'transient' | 'login' | 'forbidden', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** True when a Prefer header asks for `return=minimal` (RFC 7240: comma-separated preferences, any case). */
export function prefersMinimal(prefer: string | string[] | undefined): boolean {
  const values = Array.isArray(prefer) ? prefer : prefer === undefined ? [] : [prefer];
  return values.some((v) =>
    v.split(',').some(
      (p) =>
        p
          .trim()
          .toLowerCase()
          .replace(/\s*=\s*/, '=') === 'return=minimal',
    ),
  );
}

/** A transaction or batch response with each entry's resource left out (the entry's `response` stays). */
function withoutEntryResources(answer: unknown): unknown {
  const bundle = answer as Bundle | undefined;
  if (
    bundle?.resourceType !== 'Bundle' ||
    (bundle.type !== 'transaction-response' && bundle.type !== 'batch-response')
  ) {
    return answer;
  }
  return { ...bundle, entry: (bundle.entry ?? []).map(({ resource: _resource, ...entry }) => entry) };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/fhir+json',
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
