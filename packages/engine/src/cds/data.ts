/**
 * Where a service call's FHIR data comes from: the request's prefetch when the CDS client filled a template, else a
 * FHIR search of its own (CDS Hooks, "Providing FHIR Resources to a CDS Service"):
 * - with `fhirServer` + `fhirAuthorization`: that server with the client's access token, when the server is the one
 *   the engine writes to (`fhir.url`) or on `cds.fhirServers`; any other server is refused, so a caller cannot make
 *   the engine send requests where it likes;
 * - with `fhirServer` alone: the engine's own FHIR client (its credentials) when it is the engine's server; an
 *   allowed other server without credentials;
 * - with neither: the engine's own FHIR client.
 * A prefetch value of `null` means "no data" (nothing is read); a missing key, an OperationOutcome or a paged Bundle
 * (a `next` link) is read again here. When the data cannot be had the call ends in 412 (Precondition Failed).
 */
import { FhirClient } from '@ecgcad/fhir-writer';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { PREFETCH_KEYS, ptpQuery, resultsQuery } from './services.js';
import type { CdsRequest } from './spec.js';

/** What a FHIR search source must do (FhirClient does). */
export interface FhirSearcher {
  search<T extends Resource = Resource>(
    resourceType: string,
    params: Record<string, string>,
    options?: { maxPages?: number },
  ): Promise<T[]>;
}

/** The call cannot get the data it needs: answered 412 with this reason. */
export class PreconditionFailed extends Error {}

/** Options of {@link loadResources}. */
export interface DataOptions {
  /** The engine's own FHIR client and its base URL (`fhir.url`), when it has one. */
  engine?: { baseUrl: string; searcher: FhirSearcher };
  /** Other FHIR base URLs a request's `fhirServer` may name. */
  allowedFhirServers: readonly string[];
  /** Time limit of each FHIR request made here, ms. */
  timeoutMs: number;
  /** Only results from this time on are read in a FHIR search (the card window). */
  since: Date;
}

/** Where the resources of a call came from (for logs and metrics). */
export type DataSource = 'prefetch' | 'fhir' | 'mixed';

/** The base URL without trailing slashes, for comparing. */
export function normaliseBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The resources of a prefetch value, or undefined when it must be read again. */
export function prefetched(value: unknown): Resource[] | undefined {
  if (value === null) return [];
  if (typeof value !== 'object' || value === undefined) return undefined;
  const resource = value as Resource;
  if (resource.resourceType !== 'Bundle') return undefined;
  const bundle = resource as Bundle;
  if (bundle.link?.some((l) => l.relation === 'next')) return undefined;
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Resource => r !== undefined && r.resourceType !== 'OperationOutcome');
}

/** The searcher for the FHIR reads of this request, or PreconditionFailed. */
export function searcherFor(request: CdsRequest, options: DataOptions): FhirSearcher {
  const engineBase = options.engine ? normaliseBase(options.engine.baseUrl) : undefined;
  if (request.fhirServer === undefined) {
    if (options.engine) return options.engine.searcher;
    throw new PreconditionFailed('no prefetch and no FHIR server to read the results from');
  }
  const base = normaliseBase(request.fhirServer);
  const allowed = base === engineBase || options.allowedFhirServers.some((s) => normaliseBase(s) === base);
  if (!allowed) throw new PreconditionFailed('fhirServer is not a FHIR server this service may read');
  const token = request.fhirAuthorization?.access_token;
  if (token) return new FhirClient({ baseUrl: base, auth: { type: 'bearer', token }, timeoutMs: options.timeoutMs });
  if (base === engineBase && options.engine) return options.engine.searcher;
  return new FhirClient({ baseUrl: base, timeoutMs: options.timeoutMs });
}

/**
 * The Observations and RiskAssessments the cards of `patientId` are built from, and where they came from.
 * FHIR faults (timeouts, 4xx, 5xx) become PreconditionFailed naming the resource type and status only.
 */
export async function loadResources(
  request: CdsRequest,
  patientId: string,
  options: DataOptions,
): Promise<{ resources: Resource[]; source: DataSource }> {
  const prefetch = request.prefetch ?? {};
  const fromPrefetch = {
    results: prefetched(prefetch[PREFETCH_KEYS.results]),
    ptp: prefetched(prefetch[PREFETCH_KEYS.ptp]),
  };
  const missing = Object.values(fromPrefetch).some((v) => v === undefined);
  if (!missing)
    return { resources: [...(fromPrefetch.results ?? []), ...(fromPrefetch.ptp ?? [])], source: 'prefetch' };

  const searcher = searcherFor(request, options);
  const since = `ge${options.since.toISOString().slice(0, 10)}`;
  const read = async (type: string, params: Record<string, string>): Promise<Resource[]> => {
    try {
      return await searcher.search(type, { ...params, date: since }, { maxPages: 5 });
    } catch (err) {
      throw new PreconditionFailed(
        `reading ${type} from the FHIR server failed: ${err instanceof Error ? err.message : 'unknown fault'}`,
      );
    }
  };
  const [results, ptp] = await Promise.all([
    fromPrefetch.results ?? read('Observation', resultsQuery(patientId)),
    fromPrefetch.ptp ?? read('RiskAssessment', ptpQuery(patientId)),
  ]);
  const bothRead = fromPrefetch.results === undefined && fromPrefetch.ptp === undefined;
  return { resources: [...results, ...ptp], source: bothRead ? 'fhir' : 'mixed' };
}
