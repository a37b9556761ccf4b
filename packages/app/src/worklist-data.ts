/**
 * The worklist's FHIR queries. The unit is an ECG Observation (LOINC 34534-8) with its results; the order is any
 * vessel high first, then newest first, and pages follow the server's `next` links, so a patient with hundreds of
 * ECGs loads page by page.
 *
 * Queries are plain R4 searches that any server (and the test EHR's Medplum router, which ignores `_include` and
 * `_revinclude`) answers: the ECGs (`Observation?code=loinc|34534-8&_sort=-date`), or, for "high" and "not
 * analysable", the result Observations (`value-concept=risk-stratum|high`, `code=ecgcad|ecg-cad-assessment`) whose
 * `derivedFrom` names the ECG; then, per page, what derives from those ECGs (`Observation?derived-from=...`, one
 * query) and the Provenances that target them (`Provenance?target=...`), whose targets name the RiskAssessments
 * (R4 has no RiskAssessment search on `basis`), read with one `RiskAssessment?_id=...`.
 */
import type { Bundle, Observation, Provenance, Resource, RiskAssessment } from '@medplum/fhirtypes';
import {
  ASSESSMENT,
  ECG_CODE,
  ECGCAD,
  LOINC,
  RISK_CATEGORY,
  RISK_STRATUM,
  stratumCode,
  type Vessel,
} from './fhir-codes.js';
import {
  derivedFromIds,
  isAiAssessment,
  isPtpAssessment,
  sortRelated,
  type WorklistRow,
  worklistRow,
} from './worklist-model.js';

/** Reads a search Bundle: a path relative to the FHIR base (`Observation?...`) or a server's absolute next link. */
export type FhirSearch = (url: string) => Promise<Bundle>;

/** What the worklist shows. */
export interface WorklistFilter {
  /** Only this Patient's ECGs (id), as in a patient-context launch. */
  patient?: string;
  /** `all`: every ECG (high first); `high`: any vessel high, or one vessel; `not-analysable`. */
  show: 'all' | 'high' | 'not-analysable';
  /** With `show: 'high'`: only ECGs high in this vessel. */
  vessel?: Vessel;
  /** Acquired on or after this date (YYYY-MM-DD). */
  from?: string;
  /** Acquired on or before this date (YYYY-MM-DD). */
  to?: string;
}

/** Where the worklist is in its streams of pages. */
export interface WorklistCursor {
  /** The query of each stream still to read, in order; the first is being read. */
  streams: string[];
  /** The next page of the current stream (a server's next link), when it has one. */
  next?: string;
  /** ECG ids already shown (the "all" list shows high ECGs first, then the rest). */
  seen: string[];
  /** Rows a page aims at: a page reads on into the next stream until it has them. */
  pageSize: number;
  done: boolean;
}

/** A page of rows, and where to go on. */
export interface WorklistPage {
  rows: WorklistRow[];
  cursor: WorklistCursor;
}

/** Rows a page asks for. */
export const PAGE_SIZE = 25;

const enc = encodeURIComponent;

/**
 * The ECG Observation's elements a row needs: not its waveform components (about 200 kB an ECG), which the viewer
 * reads when the ECG is opened. Servers that ignore `_elements` send everything, which works too.
 */
const ECG_SUMMARY = 'identifier,status,code,subject,effective,device';

function common(filter: WorklistFilter, count: number): string {
  const parts = [`_sort=-date`, `_count=${count}`];
  if (filter.patient) parts.push(`subject=${enc(`Patient/${filter.patient}`)}`);
  if (filter.from) parts.push(`date=ge${enc(filter.from)}`);
  // "To" a date includes that whole day: before the next day begins.
  if (filter.to) parts.push(`date=lt${enc(dayAfter(filter.to))}`);
  return parts.join('&');
}

/** The day after a YYYY-MM-DD date. */
export function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The queries of a filter's streams, in the order the worklist reads them. */
export function worklistQueries(filter: WorklistFilter, count = PAGE_SIZE): string[] {
  const tail = common(filter, count);
  const high =
    `Observation?category=${enc(`${ECGCAD}|${RISK_CATEGORY}`)}&value-concept=${enc(`${RISK_STRATUM}|high`)}` +
    (filter.vessel ? `&code=${enc(`${ECGCAD}|${stratumCode(filter.vessel)}`)}` : '') +
    `&${tail}`;
  if (filter.show === 'high') return [high];
  if (filter.show === 'not-analysable') return [`Observation?code=${enc(`${ECGCAD}|${ASSESSMENT}`)}&${tail}`];
  return [high, `Observation?code=${enc(`${LOINC}|${ECG_CODE}`)}&${tail}&_elements=${ECG_SUMMARY}`];
}

/** The first cursor of a filter. */
export function startCursor(filter: WorklistFilter, count = PAGE_SIZE): WorklistCursor {
  return { streams: worklistQueries(filter, count), seen: [], pageSize: count, done: false };
}

const resourcesOf = <T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] =>
  (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type && (r.id ?? '') !== '');

const nextLink = (bundle: Bundle): string | undefined => bundle.link?.find((l) => l.relation === 'next')?.url;

/** Reads every page of a search (for the per-page look-ups, which are bounded by the page's ECGs). */
async function searchAll(search: FhirSearch, url: string, maxPages = 20): Promise<Bundle['entry']> {
  const entries: NonNullable<Bundle['entry']> = [];
  let next: string | undefined = url;
  for (let i = 0; next && i < maxPages; i++) {
    const bundle: Bundle = await search(next);
    entries.push(...(bundle.entry ?? []));
    next = nextLink(bundle);
  }
  return entries;
}

/** Reads the next page of the worklist. */
export async function loadWorklistPage(search: FhirSearch, cursor: WorklistCursor): Promise<WorklistPage> {
  const seen = new Set(cursor.seen);
  let { streams, next } = cursor;
  const ecgIds: string[] = [];
  const ecgs = new Map<string, Observation>();
  // Read stream pages until this page has its rows or every stream is done (a page may hold up to two pages'
  // worth where the high stream ends and the next begins).
  while (ecgIds.length < cursor.pageSize && streams.length > 0) {
    const url = next ?? streams[0] ?? '';
    const bundle = await search(url);
    for (const obs of resourcesOf<Observation>(bundle, 'Observation')) {
      const isEcg = obs.code?.coding?.some((c) => c.system === LOINC && c.code === ECG_CODE);
      const ids = isEcg ? [obs.id ?? ''] : derivedFromIds(obs);
      if (isEcg) ecgs.set(obs.id ?? '', obs);
      for (const id of ids) {
        if (!seen.has(id)) {
          seen.add(id);
          ecgIds.push(id);
        }
      }
    }
    next = nextLink(bundle);
    if (!next) {
      streams = streams.slice(1);
      next = undefined;
    }
  }
  const rows = ecgIds.length > 0 ? await rowsFor(search, ecgIds, ecgs) : [];
  return {
    rows,
    cursor: {
      streams,
      ...(next ? { next } : {}),
      seen: [...seen],
      pageSize: cursor.pageSize,
      done: streams.length === 0,
    },
  };
}

/** The rows of these ECGs (ids in worklist order); ECGs already read are passed in `known`. */
export async function rowsFor(
  search: FhirSearch,
  ecgIds: string[],
  known: Map<string, Observation> = new Map(),
): Promise<WorklistRow[]> {
  const refs = ecgIds.map((id) => `Observation/${id}`).join(',');
  const missing = ecgIds.filter((id) => !known.has(id));
  const [ecgEntries, relatedEntries, provenanceEntries] = await Promise.all([
    missing.length
      ? searchAll(search, `Observation?_id=${enc(missing.join(','))}&_count=${missing.length}&_elements=${ECG_SUMMARY}`)
      : [],
    searchAll(search, `Observation?derived-from=${enc(refs)}&_count=200`),
    searchAll(search, `Provenance?target=${enc(refs)}&_count=200`),
  ]);
  const ecgs = new Map(known);
  for (const e of ecgEntries ?? [])
    if (e.resource?.resourceType === 'Observation') ecgs.set(e.resource.id ?? '', e.resource);

  const provenances = (provenanceEntries ?? [])
    .map((e) => e.resource)
    .filter((r): r is Provenance => r?.resourceType === 'Provenance');
  const raIds = new Set<string>();
  const raOfEcg = new Map<string, string[]>();
  for (const p of provenances) {
    const targets = (p.target ?? []).map((t) => t.reference ?? '');
    const ras = targets.map((t) => /RiskAssessment\/([^/]+)$/.exec(t)?.[1]).filter((x): x is string => !!x);
    for (const t of targets) {
      const ecg = /Observation\/([^/]+)$/.exec(t)?.[1];
      if (ecg && ecgIds.includes(ecg)) raOfEcg.set(ecg, [...(raOfEcg.get(ecg) ?? []), ...ras]);
    }
    for (const id of ras) raIds.add(id);
  }
  const raEntries = raIds.size
    ? await searchAll(search, `RiskAssessment?_id=${enc([...raIds].join(','))}&_count=${raIds.size}`)
    : [];
  const ras = new Map<string, RiskAssessment>();
  for (const e of raEntries ?? [])
    if (e.resource?.resourceType === 'RiskAssessment') ras.set(e.resource.id ?? '', e.resource);

  const relatedByEcg = new Map<string, Observation[]>();
  for (const e of relatedEntries ?? []) {
    if (e.resource?.resourceType !== 'Observation') continue;
    for (const id of derivedFromIds(e.resource)) relatedByEcg.set(id, [...(relatedByEcg.get(id) ?? []), e.resource]);
  }

  return ecgIds.flatMap((id) => {
    const ecg = ecgs.get(id);
    if (!ecg) return [];
    const mine = (raOfEcg.get(id) ?? []).map((r) => ras.get(r)).filter((r): r is RiskAssessment => !!r);
    const ai = mine.find(isAiAssessment);
    // The RF-CL PTP (no parent) is the one the combined category is built on.
    const ptp = mine.find((r) => isPtpAssessment(r) && !r.parent) ?? mine.find(isPtpAssessment);
    return [
      worklistRow({
        ecg,
        ...sortRelated(relatedByEcg.get(id) ?? []),
        ...(ai ? { riskAssessment: ai } : {}),
        ...(ptp ? { ptp } : {}),
      }),
    ];
  });
}

/** A patient-free summary of the result for screen readers and the page title. */
export function filterLabel(filter: WorklistFilter): string {
  if (filter.show === 'high') return filter.vessel ? `${filter.vessel} high risk` : 'any vessel high risk';
  if (filter.show === 'not-analysable') return 'not analysable';
  return 'all ECGs, high risk first';
}
