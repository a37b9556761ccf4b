/**
 * HL7 v3 annotated ECG (aECG) decoder. Reads the RHYTHM series' sequence set: one time sequence (TIME_ABSOLUTE
 * GLIST_TS or TIME_RELATIVE GLIST_PQ) and lead sequences (SLIST_PQ with origin, scale and digits).
 *
 * The XML structure goes through fast-xml-parser with entities off; the digits, which are most of the bytes,
 * are kept as raw text and scanned here by a hand-written number parser.
 */
import {
  type Ecg,
  type EcgPatient,
  type LeadName,
  leadFromLabel,
  MalformedInputError,
  microvoltsPer,
  type Sex,
  secondsPer,
} from '@ecgcad/ecg';
import { type DecodeMeta, guardDecode, shownValue, sourceFor } from './decode-common.js';
import { checkInputSize, checkSignalShape, type DecodeLimits, resolveLimits } from './limits.js';
import { isoDate, isoFromTimestamp } from './timestamps.js';
import {
  attr,
  child,
  children,
  createSafeXmlParser,
  decodeXmlText,
  findXmlRoot,
  isNode,
  path,
  text,
  type XmlNode,
} from './xml.js';

const FORMAT = 'aecg';

/**
 * Parts of the document kept as raw text: the digits (scanned by hand), and the annotations, control variables
 * and derived (median-beat) series, which the decoder does not need and so does not pay to parse.
 */
const AECG_STOP_NODES = ['*.digits', '*.annotationSet', '*.controlVariable', '*.derivation'];

/**
 * Decodes an HL7 aECG document to an Ecg (leads in microvolts at the source rate).
 *
 * Choices worth knowing:
 * - The series coded RHYTHM is used (REPRESENTATIVE_BEAT / derived median beats never are); without one the
 *   input is refused with "no RHYTHM waveform".
 * - Leads map by code (MDC_ECG_LEAD_*, any case, AVR or aVR); codes that are not one of the twelve standard
 *   leads are skipped; the first sequence of a lead wins. Fewer than twelve leads is fine: quality decides.
 * - The sample rate is 1 / increment, the increment's unit (s, ms, us) converted; a `unit` on a TS head is
 *   tolerated. Origin and scale are converted to microvolts separately; a missing unit counts as uV.
 * - Leads of different lengths are cut to the shortest, so every lead has the same length.
 * - id = `id@root`, plus `^` + `id@extension` when present; without an id root, `sha256:<hex>` of the bytes.
 */
export function decodeAecg(bytes: Uint8Array, meta: DecodeMeta, limits?: Partial<DecodeLimits>): Ecg {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  return guardDecode(FORMAT, () => decodeAecgText(bytes, decodeXmlText(bytes), meta, lim));
}

function decodeAecgText(bytes: Uint8Array, xml: string, meta: DecodeMeta, limits: DecodeLimits): Ecg {
  const rootInfo = findXmlRoot(xml);
  if (rootInfo?.localName !== 'AnnotatedECG') {
    throw new MalformedInputError(FORMAT, 'root element is not AnnotatedECG');
  }
  const parser = createSafeXmlParser({ maxDepth: limits.maxXmlDepth, stopNodes: AECG_STOP_NODES });
  const doc = parser.parse(xml) as XmlNode;
  const root = child(doc, 'AnnotatedECG');
  if (!root) throw new MalformedInputError(FORMAT, 'root element is not AnnotatedECG');

  const series = rhythmSeries(root);
  if (!series) throw new MalformedInputError(FORMAT, 'no RHYTHM waveform', 'AnnotatedECG/component/series');
  const { leads, sampleRateHz } = readSequenceSet(series, limits);

  const idNode = child(root, 'id');
  const idRoot = attr(idNode, 'root')?.trim();
  const idExt = attr(idNode, 'extension')?.trim();
  const source = sourceFor(bytes, FORMAT, meta);
  const ecg: Ecg = {
    id: idRoot ? (idExt ? `${idRoot}^${idExt}` : idRoot) : `sha256:${source.sha256}`,
    source,
    patient: patientOf(root),
    device: {},
    sampleRateHz,
    leads,
  };
  const acquiredAt =
    isoFromTimestamp(attr(path(series, 'effectiveTime', 'low'), 'value')) ??
    isoFromTimestamp(attr(path(root, 'effectiveTime', 'low'), 'value')) ??
    isoFromTimestamp(attr(path(root, 'effectiveTime', 'center'), 'value'));
  if (acquiredAt) ecg.acquiredAt = acquiredAt;
  const author = path(series, 'author', 'seriesAuthor');
  const model = text(path(author, 'manufacturedSeriesDevice', 'manufacturerModelName'));
  const manufacturer = text(path(author, 'manufacturerOrganization', 'name'));
  if (manufacturer) ecg.device.manufacturer = manufacturer;
  if (model) ecg.device.model = model;
  return ecg;
}

/** The first series coded RHYTHM; failing that, the first series with no code at all (older writers). */
function rhythmSeries(root: XmlNode): XmlNode | undefined {
  const all = children(root, 'component').flatMap((c) => children(c, 'series'));
  const coded = (s: XmlNode) => attr(child(s, 'code'), 'code')?.trim().toUpperCase();
  return all.find((s) => coded(s) === 'RHYTHM') ?? all.find((s) => coded(s) === undefined);
}

interface LeadSequence {
  lead: LeadName;
  value: XmlNode;
}

function readSequenceSet(
  series: XmlNode,
  limits: DecodeLimits,
): { leads: Partial<Record<LeadName, Float32Array>>; sampleRateHz: number } {
  const set = children(series, 'component')
    .flatMap((c) => children(c, 'sequenceSet'))
    .find((s) => children(s, 'component').length > 0);
  if (!set) throw new MalformedInputError(FORMAT, 'no RHYTHM waveform', 'series/component/sequenceSet');
  const sequences = children(set, 'component').flatMap((c) => children(c, 'sequence'));

  let sampleRateHz: number | undefined;
  const leadSequences: LeadSequence[] = [];
  const seen = new Set<LeadName>();
  for (const seq of sequences) {
    const code = attr(child(seq, 'code'), 'code')?.trim() ?? '';
    const value = child(seq, 'value');
    if (!value) continue;
    if (code.toUpperCase().startsWith('TIME_')) {
      sampleRateHz ??= rateOf(value);
      continue;
    }
    const lead = leadFromLabel(code);
    if (!lead || seen.has(lead)) continue;
    seen.add(lead);
    leadSequences.push({ lead, value });
  }
  if (sampleRateHz === undefined) {
    throw new MalformedInputError(FORMAT, 'no time sequence (TIME_ABSOLUTE / TIME_RELATIVE)', 'sequenceSet');
  }
  if (leadSequences.length === 0) throw new MalformedInputError(FORMAT, 'no lead sequences', 'sequenceSet');
  checkSignalShape({ sampleRateHz, channels: leadSequences.length, samples: 0 }, limits);
  const maxSamples = Math.floor(limits.maxDurationS * sampleRateHz);

  const decoded = leadSequences.map(({ lead, value }) => ({ lead, samples: readLead(lead, value, maxSamples) }));
  const n = Math.min(...decoded.map((d) => d.samples.length));
  if (n === 0) throw new MalformedInputError(FORMAT, 'lead sequences hold no samples', 'sequence/value/digits');
  const leads: Partial<Record<LeadName, Float32Array>> = {};
  for (const { lead, samples } of decoded) leads[lead] = samples.length === n ? samples : samples.slice(0, n);
  return { leads, sampleRateHz };
}

/** Sample rate from a GLIST_TS / GLIST_PQ time sequence: 1 / increment, in Hz. */
function rateOf(value: XmlNode): number {
  const increment = child(value, 'increment');
  const raw = attr(increment, 'value');
  const unit = attr(increment, 'unit') ?? 's';
  const perSecond = secondsPer(unit);
  const step = raw === undefined ? Number.NaN : Number(raw);
  if (perSecond === undefined) {
    throw new MalformedInputError(
      FORMAT,
      `time increment unit "${shownValue(unit)}" is not a time unit`,
      'value/increment',
    );
  }
  if (!Number.isFinite(step) || step <= 0) {
    throw new MalformedInputError(FORMAT, 'time increment is missing or not a positive number', 'value/increment');
  }
  return 1 / (step * perSecond);
}

/** A PQ element's value in microvolts; `fallback` when the element is absent. */
function microvolts(node: XmlNode | undefined, what: string, fallback?: number): number {
  if (!node) {
    if (fallback !== undefined) return fallback;
    throw new MalformedInputError(FORMAT, `missing ${what}`, `value/${what}`);
  }
  const unit = attr(node, 'unit') ?? 'uV';
  const factor = microvoltsPer(unit);
  if (factor === undefined)
    throw new MalformedInputError(FORMAT, `${what} unit "${shownValue(unit)}" is not a voltage`, `value/${what}`);
  const v = Number(attr(node, 'value'));
  if (!Number.isFinite(v)) throw new MalformedInputError(FORMAT, `${what} is not a number`, `value/${what}`);
  return v * factor;
}

function readLead(lead: LeadName, value: XmlNode, maxSamples: number): Float32Array {
  const origin = microvolts(child(value, 'origin'), 'origin', 0);
  const scale = microvolts(child(value, 'scale'), 'scale');
  const digitsNode = value.digits;
  const digits = typeof digitsNode === 'string' ? digitsNode : (text(child(value, 'digits')) ?? '');
  return parseDigits(digits, origin, scale, maxSamples, lead);
}

/**
 * Scans whitespace-separated numbers (integers, optionally with a fraction or exponent) and returns
 * origin + scale * n for each, as float32. Throws MalformedInputError on any other character and on more than
 * `maxSamples` values.
 */
export function parseDigits(
  digits: string,
  origin: number,
  scale: number,
  maxSamples: number,
  lead = '',
): Float32Array {
  const len = digits.length;
  // Every value takes at least one character and one separator, which bounds the allocation by the input size.
  const capacity = Math.min(Math.ceil((len + 1) / 2), maxSamples + 1);
  const out = new Float32Array(capacity);
  let count = 0;
  let i = 0;
  // Reads past the end see a space: charCodeAt would return NaN there, which turns `c` from a small integer
  // into a double and sends the whole loop down V8's slow path.
  const at = (k: number): number => (k < len ? digits.charCodeAt(k) : 32);
  while (i < len) {
    let c = digits.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
      continue;
    }
    const start = i;
    let negative = false;
    if (c === 45 || c === 43) {
      negative = c === 45;
      i++;
      c = at(i);
    }
    let n = 0;
    let nDigits = 0;
    while (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      nDigits++;
      i++;
      c = at(i);
    }
    let v: number;
    if (c === 46 || c === 101 || c === 69) {
      // A fraction or exponent: rare in digits; hand the token to Number().
      while (i < len && !isSpace(digits.charCodeAt(i))) i++;
      v = Number(digits.slice(start, i));
      if (!Number.isFinite(v)) throw badDigits(lead);
    } else {
      if (nDigits === 0 || !isSpace(c)) throw badDigits(lead);
      v = negative ? -n : n;
    }
    if (count === maxSamples) {
      throw new MalformedInputError(FORMAT, `lead ${lead} has more samples than the duration limit allows`, 'digits');
    }
    out[count++] = origin + scale * v;
  }
  return count === capacity ? out : out.slice(0, count);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function badDigits(lead: string): MalformedInputError {
  return new MalformedInputError(FORMAT, `lead ${lead} digits hold something other than numbers`, 'digits');
}

function patientOf(root: XmlNode): EcgPatient {
  const patient: EcgPatient = {};
  const subject = path(root, 'componentOf', 'timepointEvent', 'componentOf', 'subjectAssignment', 'subject');
  const trialSubject = child(subject, 'trialSubject');
  const idNode = child(trialSubject, 'id');
  const identifier = attr(idNode, 'extension')?.trim();
  const system = attr(idNode, 'root')?.trim();
  if (identifier) {
    patient.identifier = identifier;
    if (system) patient.identifierSystem = system;
  }
  const person = child(trialSubject, 'subjectDemographicPerson');
  if (isNode(person)) {
    const name = text(child(person, 'name'));
    const birthDate = isoDate(attr(child(person, 'birthTime'), 'value'));
    const sex = sexOf(attr(child(person, 'administrativeGenderCode'), 'code'));
    if (name) patient.name = name;
    if (birthDate) patient.birthDate = birthDate;
    if (sex) patient.sex = sex;
  }
  return patient;
}

function sexOf(code: string | undefined): Sex | undefined {
  const c = code?.trim().toUpperCase();
  if (!c) return undefined;
  switch (c) {
    case 'M':
      return 'male';
    case 'F':
      return 'female';
    default:
      return 'unknown';
  }
}
