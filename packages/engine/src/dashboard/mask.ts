/**
 * What the queue dashboard may show of a job: its data with every patient field and every free-text string
 * masked, and its failure reason with the job's own patient values cut out. Pure, so the rule is tested apart from
 * bull-board.
 *
 * The data rule is an allow list: a string survives only under a key known to hold an id, a code or a time
 * (ecgId, sha256, receivedAt, vessel, ...) and only when it looks like one (no spaces, at most 160 characters).
 * Everything under a `patient` key is masked whatever its key, so an operator sees which fields were there, never
 * their values. Numbers and booleans pass (probabilities, durations, sample rates).
 */

/** What a masked value reads as. No letters or digits, so masking never forms a new match of a patient value. */
export const MASK = '***';

/** Keys whose string values are ids, codes or times, never patient data or free text. */
const SAFE_KEYS = new Set([
  'ecgId',
  'id',
  'payloadKey',
  'feed',
  'receivedAt',
  'predictedAt',
  'acquiredAt',
  'sha256',
  'format',
  'sopClassUid',
  'status',
  'vessel',
  'stratum',
  'version',
  'writeJobId',
  'leads',
]);

/** What an id, a code or an ISO time looks like: no spaces, nothing long. */
const SAFE_VALUE = /^[A-Za-z0-9._:@/+=-]{0,160}$/;

/** Below this depth everything is masked (job data is shallow; a deep structure is not ours). */
const MAX_DEPTH = 12;

/** Masks every field of a patient object, keeping its keys. */
function maskPatient(patient: unknown): unknown {
  if (typeof patient !== 'object' || patient === null || Array.isArray(patient)) return MASK;
  return Object.fromEntries(Object.keys(patient).map((key) => [key, MASK]));
}

function maskValue(value: unknown, key: string | undefined, depth: number): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (depth > MAX_DEPTH) return MASK;
  if (typeof value === 'string') {
    return key !== undefined && SAFE_KEYS.has(key) && SAFE_VALUE.test(value) ? value : MASK;
  }
  if (Array.isArray(value)) return value.map((item) => maskValue(item, key, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === 'patient' ? maskPatient(v) : maskValue(v, k, depth + 1);
    }
    return out;
  }
  return MASK; // bigint, function, symbol: nothing job data should hold
}

/** A job's data (or return value) as the dashboard may show it. */
export function maskJobData(data: unknown): unknown {
  return maskValue(data, undefined, 0);
}

/** The strings a job's data holds under `patient` keys, and their parts (name components, compact dates). */
export function patientValuesOf(data: unknown): string[] {
  const found = new Set<string>();
  const addText = (text: string): void => {
    const trimmed = text.trim();
    if (trimmed.length === 0) return;
    found.add(trimmed);
    // DICOM PN (Family^Given^Middle), "Given Family", "Family, Given": each part on its own too.
    for (const part of trimmed.split(/[\s^,]+/)) if (part.length >= 3) found.add(part);
    // 1970-01-31 is also written 19700131.
    if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) found.add(trimmed.replaceAll('-', ''));
  };
  const collect = (value: unknown): void => {
    if (typeof value === 'string') addText(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(collect);
  };
  const walk = (value: unknown, depth: number): void => {
    if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      if (key === 'patient') collect(v);
      else walk(v, depth + 1);
    }
  };
  walk(data, 0);
  return [...found];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Longest text the dashboard shows of a failure reason or log line. */
export const MAX_TEXT = 1000;

/**
 * Free text about a job (its failure reason, a log line) with the job's own patient values cut out, case
 * insensitively, and trimmed to {@link MAX_TEXT}. The engine's reasons are patient-free by contract; this covers a
 * peer's answer quoted in one (an EHR echoing a name back). One- and two-letter values (sex codes) are left alone:
 * cutting every `M` would garble the text and tell nothing.
 */
export function maskText(text: string, patientValues: readonly string[]): string {
  let out = text.length > MAX_TEXT * 4 ? text.slice(0, MAX_TEXT * 4) : text;
  const values = [...patientValues].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length);
  for (const value of values) out = out.replace(new RegExp(escapeRegExp(value), 'gi'), MASK);
  return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}...` : out;
}

/** A job name (a fixed word such as `write`) or, when it is anything else, a neutral one. */
export function maskJobName(name: unknown): string {
  return typeof name === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(name) ? name : 'job';
}
