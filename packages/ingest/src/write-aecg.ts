/**
 * Writes an Ecg as an HL7 v3 annotated ECG (aECG, `AnnotatedECG` in urn:hl7-org:v3), UTF-8 XML that validates
 * against the HL7 2003-12 schema (PORT_MT020001.xsd). One RHYTHM series with one sequence set: a TIME_ABSOLUTE
 * GLIST_TS time sequence (head = acquisition time, increment = 1 / sample rate in s) and one SLIST_PQ sequence per
 * stored lead (MDC_ECG_LEAD_*, origin 0 uV, scale = the resolution, integer digits).
 * The digits are written straight into a byte buffer: at 12 x 5000 samples that is most of the file.
 */
import { ConfigError, type Ecg, type LeadName, type Sex } from '@ecgcad/ecg';
import { derivedUid, isValidUid } from './dicom-writer/uid.js';
import { INT16_LIMIT, leadsToWrite, type StoredLeads, timestampParts } from './writer-common.js';

/** Options of {@link writeAecg}. */
export interface WriteAecgOptions {
  /** Store all 12 leads, or only I, II, V1-V6 (readers derive the other four). Default 12. */
  leads?: StoredLeads;
  /** Microvolts per digit (the SLIST_PQ scale). Default 2.5 uV, as in the HL7 example. */
  resolutionUv?: number;
  /**
   * OID or UUID used as `id@root` when the record id is not itself a root (the id then goes in `@extension`).
   * Default ecgcad's record-id OID, {@link ECGCAD_AECG_ID_ROOT}.
   */
  idRoot?: string;
}

/** ecgcad's OID (a 2.25 UUID OID) for record ids and local patient ids that have no root of their own. */
export const ECGCAD_AECG_ID_ROOT = '2.25.271320672282599918291873950112326160162';

/** Clinical trial id written when the record has none (aECG requires the subjectAssignment to name a trial). */
const NO_TRIAL_EXTENSION = 'ecgcad-no-trial';

const MDC = '2.16.840.1.113883.6.24';
const ACT_CODE = '2.16.840.1.113883.5.4';
const GENDER_CODE: Record<Sex, string> = { male: 'M', female: 'F', other: 'UN', unknown: 'UN' };
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** MDC lead code of each lead, as the HL7 aECG implementation guide spells them. */
const MDC_LEAD: Record<LeadName, string> = {
  I: 'MDC_ECG_LEAD_I',
  II: 'MDC_ECG_LEAD_II',
  III: 'MDC_ECG_LEAD_III',
  aVR: 'MDC_ECG_LEAD_AVR',
  aVL: 'MDC_ECG_LEAD_AVL',
  aVF: 'MDC_ECG_LEAD_AVF',
  V1: 'MDC_ECG_LEAD_V1',
  V2: 'MDC_ECG_LEAD_V2',
  V3: 'MDC_ECG_LEAD_V3',
  V4: 'MDC_ECG_LEAD_V4',
  V5: 'MDC_ECG_LEAD_V5',
  V6: 'MDC_ECG_LEAD_V6',
};

const isRoot = (value: string): boolean => isValidUid(value) || UUID_PATTERN.test(value);

/** Code points XML 1.0 forbids (C0 controls other than tab, LF, CR, and U+FFFE / U+FFFF). */
const isXmlForbidden = (c: number): boolean =>
  (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff;

/** Escapes markup characters and drops characters XML cannot carry. */
function escapeXml(s: string): string {
  let clean = s;
  for (let i = 0; i < s.length; i++) {
    if (isXmlForbidden(s.charCodeAt(i))) {
      clean = Array.from(s)
        .filter((ch) => !isXmlForbidden(ch.charCodeAt(0)))
        .join('');
      break;
    }
  }
  return clean.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** `<id root=".." extension=".."/>` for an identifier and its system. */
function idElement(value: string, system: string | undefined, fallbackRoot: string): string {
  const root = system?.startsWith('urn:oid:') ? system.slice('urn:oid:'.length) : system;
  if (root && isRoot(root)) return `<id root="${escapeXml(root)}" extension="${escapeXml(value)}"/>`;
  return `<id root="${fallbackRoot}" extension="${escapeXml(value)}"/>`;
}

/** The record id as `id@root` (+ `@extension`): a `root^extension` id splits back into its parts. */
function recordIdElement(id: string, idRoot: string): string {
  const caret = id.indexOf('^');
  if (caret > 0 && isRoot(id.slice(0, caret))) {
    return `<id root="${escapeXml(id.slice(0, caret))}" extension="${escapeXml(id.slice(caret + 1))}"/>`;
  }
  if (isRoot(id)) return `<id root="${escapeXml(id)}"/>`;
  return `<id root="${idRoot}" extension="${escapeXml(id)}"/>`;
}

/** HL7 TS with milliseconds, e.g. `20260101080000.000+0000` (no zone when the record's time has none). */
function ts(iso: string | undefined, offsetMs = 0): string {
  const p = timestampParts(iso, offsetMs);
  return `${p.date}${p.time}.${p.millis}${p.zone ?? ''}`;
}

/** Shortest decimal text of a number that parses back to the same double (no exponent for typical values). */
function decimal(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(12).replace(/0+$/, '').replace(/\.$/, '') : text;
}

const encoder = new TextEncoder();

/** ASCII digits of 0..32767, five bytes per value (left-aligned), and their lengths: built on first use. */
let digitTable: { bytes: Uint8Array; lengths: Uint8Array } | undefined;
function digits(): { bytes: Uint8Array; lengths: Uint8Array } {
  if (!digitTable) {
    const bytes = new Uint8Array((INT16_LIMIT + 1) * 5);
    const lengths = new Uint8Array(INT16_LIMIT + 1);
    for (let v = 0; v <= INT16_LIMIT; v++) {
      const text = String(v);
      lengths[v] = text.length;
      for (let i = 0; i < text.length; i++) bytes[v * 5 + i] = text.charCodeAt(i);
    }
    digitTable = { bytes, lengths };
  }
  return digitTable;
}

/**
 * Writes integer digits (uV / resolution, rounded, saturated at +-32767) separated by spaces into `out` at
 * `offset`; returns the new offset. Each value takes at most 7 bytes.
 */
function writeDigits(out: Uint8Array, offset: number, samples: Float32Array, resolutionUv: number): number {
  const inv = 1 / resolutionUv;
  const { bytes, lengths } = digits();
  const limit = INT16_LIMIT;
  for (let s = 0; s < samples.length; s++) {
    // Round half up and saturate; NaN fails every comparison and becomes 0. floor(x + 0.5) rather than
    // Math.round, whose -0 results for small negative values drop V8 off its fast integer path.
    const x = (samples[s] as number) * inv + 0.5;
    let q = x >= limit ? limit : x >= -limit ? Math.floor(x) : x < -limit ? -limit : 0;
    if (s > 0) out[offset++] = 0x20;
    if (q < 0) {
      out[offset++] = 0x2d;
      q = -q;
    }
    const at = q * 5;
    const length = lengths[q] as number;
    for (let i = 0; i < length; i++) out[offset++] = bytes[at + i] as number;
  }
  return offset;
}

/**
 * Encodes the record as aECG XML (UTF-8 bytes). Throws MalformedInputError for a record with no samples or
 * unequal lead lengths.
 */
export function writeAecg(ecg: Ecg, options: WriteAecgOptions = {}): Uint8Array {
  const stored = options.leads ?? 12;
  const resolutionUv = options.resolutionUv ?? 2.5;
  if (!(resolutionUv > 0) || !Number.isFinite(resolutionUv))
    throw new ConfigError(['resolutionUv must be a positive number']);
  const idRoot = options.idRoot ?? ECGCAD_AECG_ID_ROOT;
  if (!isRoot(idRoot)) throw new ConfigError(['idRoot must be an OID or a UUID']);
  const { names, samples, length } = leadsToWrite(ecg, stored, 'aecg');
  const fs = ecg.sampleRateHz;
  const acquired = ecg.acquiredAt ?? ecg.source.receivedAt;
  const start = ts(acquired);
  const end = ts(acquired, Math.round((length / fs) * 1000));
  const patient = ecg.patient;

  const demographics: string[] = [];
  if (patient.name) demographics.push(`<name>${escapeXml(patient.name)}</name>`);
  if (patient.sex) {
    demographics.push(
      `<administrativeGenderCode code="${GENDER_CODE[patient.sex]}" codeSystem="2.16.840.1.113883.5.1"/>`,
    );
  }
  if (patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate)) {
    demographics.push(`<birthTime value="${patient.birthDate.replace(/-/g, '')}"/>`);
  }
  const subjectId = idElement(patient.identifier ?? 'UNKNOWN', patient.identifierSystem, idRoot);
  const device: string[] = [];
  device.push('<manufacturedSeriesDevice>');
  device.push(`<id root="${idRoot}" extension="${escapeXml(ecg.device.model ?? 'unknown')}"/>`);
  if (ecg.device.model) device.push(`<manufacturerModelName>${escapeXml(ecg.device.model)}</manufacturerModelName>`);
  device.push('</manufacturedSeriesDevice>');
  if (ecg.device.manufacturer) {
    device.push(
      `<manufacturerOrganization><name>${escapeXml(ecg.device.manufacturer)}</name></manufacturerOrganization>`,
    );
  }

  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" type="Observation">',
    `  ${recordIdElement(ecg.id, idRoot)}`,
    '  <code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>',
    `  <effectiveTime><center value="${start}"/></effectiveTime>`,
    '  <componentOf><timepointEvent><componentOf><subjectAssignment>',
    '    <subject><trialSubject>',
    `      ${subjectId}`,
    ...(demographics.length > 0
      ? [`      <subjectDemographicPerson>${demographics.join('')}</subjectDemographicPerson>`]
      : []),
    '    </trialSubject></subject>',
    `    <componentOf><clinicalTrial><id root="${idRoot}" extension="${NO_TRIAL_EXTENSION}"/></clinicalTrial></componentOf>`,
    '  </subjectAssignment></componentOf></timepointEvent></componentOf>',
    '  <component><series>',
    `    <id root="${derivedUid(`aecg-series:${ecg.id}`)}"/>`,
    `    <code code="RHYTHM" codeSystem="${ACT_CODE}" codeSystemName="ActCode" displayName="Rhythm Waveforms"/>`,
    `    <effectiveTime><low value="${start}" inclusive="true"/><high value="${end}" inclusive="false"/></effectiveTime>`,
    `    <author><seriesAuthor>${device.join('')}</seriesAuthor></author>`,
    '    <component><sequenceSet>',
    '      <component><sequence>',
    `        <code code="TIME_ABSOLUTE" codeSystem="${ACT_CODE}" codeSystemName="ActCode"/>`,
    `        <value xsi:type="GLIST_TS"><head value="${start}"/><increment value="${decimal(1 / fs)}" unit="s"/></value>`,
    '      </sequence></component>',
    '',
  ].join('\n');
  const leadHead = (name: LeadName): string =>
    `      <component><sequence>\n        <code code="${MDC_LEAD[name]}" codeSystem="${MDC}" codeSystemName="MDC"/>\n` +
    `        <value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="${decimal(resolutionUv)}" unit="uV"/><digits>`;
  const leadTail = '</digits></value>\n      </sequence></component>\n';
  const tail = '    </sequenceSet></component>\n  </series></component>\n</AnnotatedECG>\n';

  const headBytes = encoder.encode(head);
  const leadHeads = names.map((name) => encoder.encode(leadHead(name)));
  const leadTailBytes = encoder.encode(leadTail);
  const tailBytes = encoder.encode(tail);
  const capacity =
    headBytes.length +
    leadHeads.reduce((sum, b) => sum + b.length, 0) +
    names.length * (leadTailBytes.length + 7 * length) +
    tailBytes.length;
  const out = new Uint8Array(capacity);
  out.set(headBytes, 0);
  let offset = headBytes.length;
  names.forEach((_, i) => {
    const lh = leadHeads[i] as Uint8Array;
    out.set(lh, offset);
    offset = writeDigits(out, offset + lh.length, samples[i] as Float32Array, resolutionUv);
    out.set(leadTailBytes, offset);
    offset += leadTailBytes.length;
  });
  out.set(tailBytes, offset);
  offset += tailBytes.length;
  return out.slice(0, offset);
}
