/**
 * A small FHIR R4 client for one job: POST a transaction Bundle to the server base URL.
 * 429, 408, 5xx, timeouts and network faults are TransientError (Retry-After honoured); other 4xx are
 * PermanentError carrying the server's OperationOutcome text with patient identifiers redacted.
 * TLS certificate verification is Node's default and there is deliberately no option to turn it off.
 */
import { ConfigError, PermanentError, TransientError } from '@ecgcad/ecg';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { type AuthProvider, createAuthProvider, type FhirAuth, type TokenClientOptions } from './auth.js';
import { describeUrl, fetchWithTimeout, isTransientStatus, parseRetryAfter, readJsonBody } from './http.js';
import { HttpPoster, type PostAnswer } from './http-post.js';
import { serializeBundle } from './serialize.js';
import type { BundleSink, DeliveredEntry, DeliveryResult } from './sink.js';
import { collectReferences } from './validate.js';

/** Options of FhirClient. */
export interface FhirClientOptions {
  /** FHIR base URL, e.g. `https://ehr.example.org/fhir/R4`. */
  baseUrl: string;
  /** Authentication. Default `{ type: 'none' }`. */
  auth?: FhirAuth;
  /** Request timeout per HTTP call. Default 30 000 ms. */
  timeoutMs?: number;
  /** Token request options (timeout, refresh margin). */
  token?: TokenClientOptions;
}

/** Posts transaction Bundles to a FHIR server. */
export class FhirClient implements BundleSink {
  readonly baseUrl: string;
  private readonly auth: AuthProvider;
  private readonly timeoutMs: number;
  /** Transactions go over node:http(s) with kept-alive connections (half fetch's CPU per Bundle); searches use fetch. */
  private readonly poster: HttpPoster;

  constructor(options: FhirClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ConfigError(['fhir.baseUrl: not a URL']);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(['fhir.baseUrl: must be http(s)']);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.auth = createAuthProvider(options.auth ?? { type: 'none' }, options.token);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.poster = new HttpPoster(this.baseUrl);
  }

  /** BundleSink: posts the transaction. */
  deliver(bundle: Bundle): Promise<DeliveryResult> {
    return this.postTransaction(bundle);
  }

  /**
   * POSTs a transaction Bundle to the base URL and reports each entry's outcome.
   *
   * Not async: what the answer needs of the Bundle (its entries' types, the patient identifiers to redact from an
   * error) is taken before the POST, so no frame keeps the Bundle while the EHR works. A Bundle with its waveform
   * holds some 250 kB of data strings; kept through the wait they outlived scavenges and were copied into the old
   * generation: most of what the engine promoted (four-fifths less without it in bench/e2e's GC line).
   */
  postTransaction(bundle: Bundle, signal?: AbortSignal): Promise<DeliveryResult> {
    try {
      const body = serializeBundle(bundle);
      const requested = (bundle.entry ?? []).map((e) => e.resource?.resourceType);
      return this.postSerialized(body, requested, patientIdentifierValues(bundle), signal);
    } catch (err) {
      // As an async function would: a rejected promise, never a throw.
      return Promise.reject(err);
    }
  }

  /** postTransaction once the Bundle is bytes: `requested` its entries' resource types, `secrets` to redact. */
  private async postSerialized(
    body: Buffer,
    requested: (string | undefined)[],
    secrets: string[],
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    let response = await this.post(body, signal);
    if (response.status === 401 && this.auth.invalidate()) {
      // The cached token may have been revoked or expired early: fetch a new one once.
      response = await this.post(body, signal);
    }
    const { json } = response;
    if (!response.ok) throw this.failure(response, json, secrets);
    const reply = json as Bundle | undefined;
    if (reply?.resourceType !== 'Bundle') {
      throw new TransientError(`${describeUrl(this.baseUrl)} answered ${response.status} without a response Bundle`);
    }
    // A loop, not map(closure): a closure made per delivery is optimised again after every full collection.
    const entries: DeliveredEntry[] = [];
    let created = 0;
    let existing = 0;
    for (const [i, e] of (reply.entry ?? []).entries()) {
      const status = (e.response?.status ?? '').split(' ')[0] ?? '';
      if (status === '201') created++;
      else if (status === '200') existing++;
      entries.push({
        resourceType: requested[i] ?? e.resource?.resourceType ?? 'unknown',
        status,
        ...(e.response?.location ? { location: e.response.location } : {}),
      });
    }
    return { sink: 'fhir', target: this.baseUrl, entries, created, existing };
  }

  /**
   * A FHIR search (`GET <base>/<type>?<params>`), following `next` links up to `maxPages` pages, returning the
   * matched resources (search mode `match`; included ones are left out). Faults as for transactions: 408, 429,
   * 5xx, timeouts and network faults are TransientError; any other 4xx is a PermanentError naming the resource
   * type and the status (never the query, which holds patient identifiers).
   */
  async search<T extends Resource = Resource>(
    resourceType: string,
    params: Record<string, string>,
    options: { maxPages?: number; signal?: AbortSignal } = {},
  ): Promise<T[]> {
    const maxPages = options.maxPages ?? 20;
    let url: string | undefined = `${this.baseUrl}/${resourceType}?${new URLSearchParams(params).toString()}`;
    const out: T[] = [];
    for (let page = 0; url !== undefined; page++) {
      if (page >= maxPages) {
        throw new PermanentError(
          `search of ${resourceType} at ${describeUrl(this.baseUrl)} has more than ${maxPages} pages`,
        );
      }
      let response = await this.get(url, options.signal);
      if (response.status === 401 && this.auth.invalidate()) {
        await response.body?.cancel();
        response = await this.get(url, options.signal);
      }
      const json = await readJsonBody(response);
      if (!response.ok) throw this.searchFailure(resourceType, response, json);
      const bundle = json as Bundle | undefined;
      if (bundle?.resourceType !== 'Bundle') {
        throw new TransientError(`${describeUrl(this.baseUrl)} answered a ${resourceType} search without a Bundle`);
      }
      for (const entry of bundle.entry ?? []) {
        if (entry.resource?.resourceType === resourceType && entry.search?.mode !== 'include') {
          out.push(entry.resource as T);
        }
      }
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      url = next ? this.sameServer(next, resourceType) : undefined;
      if (!url && bundle.total !== undefined && bundle.total > out.length) {
        // Fewer matches than the server counted and no way to the rest: deciding on part of a record is unsafe.
        throw new PermanentError(
          `search of ${resourceType} at ${describeUrl(this.baseUrl)}: the server counted ${bundle.total} matches, returned ${out.length} and gave no next-page link`,
        );
      }
    }
    return out;
  }

  /** A next-page link, resolved against the base; refused when it points at another server (the token stays home). */
  private sameServer(link: string, resourceType: string): string {
    let resolved: URL;
    try {
      resolved = new URL(link, `${this.baseUrl}/`);
    } catch {
      throw new PermanentError(`search of ${resourceType}: the server's next-page link is not a URL`);
    }
    if (resolved.origin !== new URL(this.baseUrl).origin) {
      throw new PermanentError(`search of ${resourceType}: the server's next-page link points at another server`);
    }
    return resolved.toString();
  }

  private searchFailure(resourceType: string, response: Response, json: unknown): Error {
    // The server may echo the search, identifiers included: every `=value` and `|value` part is cut out.
    const text = outcomeText(json)
      .replace(/[|=][^\s;,]*/g, '[redacted]')
      .slice(0, 200);
    const message = `${describeUrl(this.baseUrl)} answered ${response.status} to a ${resourceType} search${text ? `: ${text}` : ''}`;
    const hint =
      response.status === 401 || response.status === 403
        ? " (the engine needs read access for pre-test probability: check the client's scopes)"
        : '';
    return faultOf(response, message, hint);
  }

  private async get(url: string, signal?: AbortSignal): Promise<Response> {
    const authorization = await this.auth.authorization(signal);
    const headers: Record<string, string> = {
      accept: 'application/fhir+json',
      ...(authorization ? { authorization } : {}),
    };
    return fetchWithTimeout(url, { method: 'GET', headers }, this.timeoutMs, signal);
  }

  private async post(body: Buffer, signal?: AbortSignal): Promise<PostAnswer> {
    const authorization = await this.auth.authorization(signal);
    const headers: Record<string, string> = {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      // Entries' status and location are all the client reads: a server that honours this leaves the resources out.
      prefer: 'return=minimal',
      ...(authorization ? { authorization } : {}),
    };
    return this.poster.post(this.baseUrl, body, headers, this.timeoutMs, signal);
  }

  private failure(response: PostAnswer, json: unknown, secrets: string[]): Error {
    const text = redactValues(outcomeText(json), secrets).slice(0, 2000);
    const message = `${describeUrl(this.baseUrl)} answered ${response.status}${text ? `: ${text}` : ''}`;
    return faultOf(response, message, redirectHint(response, this.baseUrl));
  }
}

/**
 * Removes the patient identifier values the Bundle carries from a server message: servers like to echo the
 * conditional reference that failed, and error messages must not carry patient data.
 */
export function redactPatientIdentifiers(text: string, bundle: Bundle): string {
  return redactValues(text, patientIdentifierValues(bundle));
}

/** `text` with each of `secrets` (longest first, so no shorter one cuts a longer) replaced by [redacted]. */
function redactValues(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}

/** The patient identifier values a Bundle carries (conditional references and subjects), longest first. */
function patientIdentifierValues(bundle: Bundle): string[] {
  const secrets = new Set<string>();
  for (const entry of bundle.entry ?? []) {
    for (const ref of collectReferences(entry.resource)) {
      const m = /^Patient\?identifier=[^|]*\|(.+)$/.exec(ref);
      if (m?.[1]) {
        secrets.add(m[1]);
        secrets.add(safeDecode(m[1]));
      }
    }
    const subject = (entry.resource as { subject?: { identifier?: { value?: string } } } | undefined)?.subject;
    if (subject?.identifier?.value) secrets.add(subject.identifier.value);
  }
  return [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The issues' texts of an OperationOutcome answer ('' for anything else). */
function outcomeText(json: unknown): string {
  const outcome = json as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome') return '';
  return (outcome.issue ?? [])
    .map((i) => i.details?.text ?? i.diagnostics ?? i.code)
    .filter(Boolean)
    .join('; ');
}

/**
 * What to do about a redirect answered to a transaction: the client does not follow it (the body and the EHR's
 * credentials go to the configured address only), so fhir.url has to be the address the server sends to. The
 * Location's query, which could hold anything, is left out.
 */
function redirectHint(response: PostAnswer, baseUrl: string): string {
  if (response.status < 300 || response.status > 399) return '';
  const location = response.header('location');
  let target = '';
  if (location) {
    try {
      target = ` to ${describeUrl(new URL(location, baseUrl).toString())}`;
    } catch {
      // A Location that is no URL: the hint names no target.
    }
  }
  return ` (a redirect${target}, which is not followed: set fhir.url to the FHIR server's base URL itself)`;
}

/** A TransientError (with the answer's Retry-After) for a status worth retrying, else a PermanentError. */
function faultOf(response: Response | PostAnswer, message: string, permanentHint = ''): Error {
  if (isTransientStatus(response.status)) {
    const retryAfterMs = parseRetryAfter(
      'header' in response ? response.header('retry-after') : response.headers.get('retry-after'),
    );
    return new TransientError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  return new PermanentError(`${message}${permanentHint}`);
}
