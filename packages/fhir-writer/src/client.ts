/**
 * A small FHIR R4 client for one job: POST a transaction Bundle to the server base URL.
 * 429, 408, 5xx, timeouts and network faults are TransientError (Retry-After honoured); other 4xx are
 * PermanentError carrying the server's OperationOutcome text with patient identifiers redacted.
 * TLS certificate verification is Node's default and there is deliberately no option to turn it off.
 */
import { ConfigError, PermanentError, TransientError } from '@ecgcad/ecg';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { type AuthProvider, createAuthProvider, type FhirAuth, type TokenClientOptions } from './auth.js';
import { describeUrl, fetchWithTimeout, isTransientStatus, parseRetryAfter, readJsonBody } from './http.js';
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
  }

  /** BundleSink: posts the transaction. */
  deliver(bundle: Bundle): Promise<DeliveryResult> {
    return this.postTransaction(bundle);
  }

  /** POSTs a transaction Bundle to the base URL and reports each entry's outcome. */
  async postTransaction(bundle: Bundle, signal?: AbortSignal): Promise<DeliveryResult> {
    const body = JSON.stringify(bundle);
    let response = await this.post(body, signal);
    if (response.status === 401 && this.auth.invalidate()) {
      // The cached token may have been revoked or expired early: fetch a new one once.
      await response.body?.cancel();
      response = await this.post(body, signal);
    }
    const json = await readJsonBody(response);
    if (!response.ok) throw this.failure(response, json, bundle);
    const reply = json as Bundle | undefined;
    if (reply?.resourceType !== 'Bundle') {
      throw new TransientError(`${describeUrl(this.baseUrl)} answered ${response.status} without a response Bundle`);
    }
    const requested = bundle.entry ?? [];
    const entries: DeliveredEntry[] = (reply.entry ?? []).map((e, i) => ({
      resourceType: requested[i]?.resource?.resourceType ?? e.resource?.resourceType ?? 'unknown',
      status: (e.response?.status ?? '').split(' ')[0] ?? '',
      ...(e.response?.location ? { location: e.response.location } : {}),
    }));
    return {
      sink: 'fhir',
      target: this.baseUrl,
      entries,
      created: entries.filter((e) => e.status === '201').length,
      existing: entries.filter((e) => e.status === '200').length,
    };
  }

  private async post(body: string, signal?: AbortSignal): Promise<Response> {
    const authorization = await this.auth.authorization(signal);
    const headers: Record<string, string> = {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      ...(authorization ? { authorization } : {}),
    };
    return fetchWithTimeout(this.baseUrl, { method: 'POST', headers, body }, this.timeoutMs, signal);
  }

  private failure(response: Response, json: unknown, bundle: Bundle): Error {
    const outcome = json as OperationOutcome | undefined;
    const details =
      outcome?.resourceType === 'OperationOutcome'
        ? (outcome.issue ?? [])
            .map((i) => i.details?.text ?? i.diagnostics ?? i.code)
            .filter(Boolean)
            .join('; ')
        : '';
    const text = redactPatientIdentifiers(details, bundle).slice(0, 2000);
    const message = `${describeUrl(this.baseUrl)} answered ${response.status}${text ? `: ${text}` : ''}`;
    if (isTransientStatus(response.status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      return new TransientError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    return new PermanentError(message);
  }
}

/**
 * Removes the patient identifier values the Bundle carries from a server message: servers like to echo the
 * conditional reference that failed, and error messages must not carry patient data.
 */
export function redactPatientIdentifiers(text: string, bundle: Bundle): string {
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
  let out = text;
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
