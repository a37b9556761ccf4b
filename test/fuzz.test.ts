/**
 * Property tests on hostile bytes: truncated, bit-flipped and header-rewritten copies of the real DICOM and aECG
 * sample files must give a valid Ecg or a typed EcgcadError, never another exception and never a hang; and the queued
 * intake's check of a DICOM object (checkDicom: no leads made) must refuse exactly what the decoder refuses, with the
 * same error, and name the same ECG when it takes one.
 * About 13,000 cases in all, split so that each `it` stays well under a minute.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ecg, EcgcadError, STANDARD_LEADS } from '@ecgcad/ecg';
import { checkDicom, decodeEcg, detectFormat } from '@ecgcad/ingest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noteSkip, readSample, SAMPLES_DIR, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';
import { commandPresent } from './support/tools.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const meta = { feed: 'fuzz', receivedAt: '2024-01-01T00:00:00.000Z' };
/** A single decode that takes longer than this counts as a hang. */
const MAX_DECODE_MS = 2_000;
const SEED = 20240101;

/** Decodes and checks the outcome: a well-formed Ecg, or a typed error. Returns a short tag of the outcome. */
function decodeChecked(bytes: Uint8Array): string {
  const started = performance.now();
  let outcome: string;
  let decoded: Ecg | EcgcadError;
  try {
    const ecg = decodeEcg(bytes, meta);
    checkEcg(ecg);
    outcome = 'ok';
    decoded = ecg;
  } catch (err) {
    if (!(err instanceof EcgcadError)) {
      throw new Error(`untyped ${err instanceof Error ? err.name : typeof err}: ${String(err)}`, { cause: err });
    }
    outcome = err.code;
    decoded = err;
  }
  const ms = performance.now() - started;
  if (ms > MAX_DECODE_MS) throw new Error(`decode took ${ms.toFixed(0)} ms`);
  expectSameVerdict(bytes, decoded);
  return outcome;
}

/** The format detectFormat sees, or undefined where it throws (decodeEcg then refuses the bytes as a whole). */
function sniffed(bytes: Uint8Array): string | undefined {
  try {
    return detectFormat(bytes);
  } catch {
    return undefined;
  }
}

/**
 * For bytes that sniff as DICOM (the queued intake checks those, and decodes everything else), checkDicom gives the
 * decoder's verdict: the same error (class, code, message), or the same id and source.
 */
function expectSameVerdict(bytes: Uint8Array, decoded: Ecg | EcgcadError): void {
  if (sniffed(bytes) !== 'dicom') return;
  let checked: Pick<Ecg, 'id' | 'source'> | EcgcadError;
  try {
    checked = checkDicom(bytes, meta);
  } catch (err) {
    checked = err as EcgcadError;
  }
  if (decoded instanceof EcgcadError || checked instanceof EcgcadError) {
    const verdict = (e: unknown) => (e instanceof EcgcadError ? [e.constructor.name, e.code, e.message] : 'taken');
    expect(verdict(checked)).toEqual(verdict(decoded));
    return;
  }
  expect({ id: checked.id, source: checked.source }).toEqual({ id: decoded.id, source: decoded.source });
}

function checkEcg(ecg: Ecg): void {
  if (!(ecg.sampleRateHz > 0 && Number.isFinite(ecg.sampleRateHz))) throw new Error('bad sample rate');
  const leads = Object.entries(ecg.leads);
  if (leads.length === 0) throw new Error('no leads');
  const n = leads[0]?.[1]?.length ?? 0;
  if (n === 0) throw new Error('empty leads');
  for (const [name, samples] of leads) {
    if (!(STANDARD_LEADS as readonly string[]).includes(name)) throw new Error(`unknown lead ${name}`);
    if (!(samples instanceof Float32Array) || samples.length !== n) throw new Error(`lead ${name} is malformed`);
  }
  if (typeof ecg.id !== 'string' || ecg.id.length === 0) throw new Error('no id');
}

/** Runs a property and tallies outcomes, so a test can also check that the mutations reach the decoder. */
function runCases<T>(arb: fc.Arbitrary<T>, numRuns: number, toBytes: (t: T) => Uint8Array): Map<string, number> {
  const tally = new Map<string, number>();
  fc.assert(
    fc.property(arb, (t) => {
      const outcome = decodeChecked(toBytes(t));
      tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    }),
    { numRuns, seed: SEED },
  );
  return tally;
}

const truncations = (bytes: Uint8Array) => fc.nat({ max: bytes.length });
const flips = (bytes: Uint8Array) =>
  fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 16,
  });
function flipped(bytes: Uint8Array, changes: Array<[number, number]>): Uint8Array {
  const out = bytes.slice();
  for (const [at, value] of changes) out[at] = value;
  return out;
}

// ----- DICOM: header fields located by their explicit VR little endian element headers -----

interface DicomField {
  /** Offset of the value. */
  at: number;
  length: number;
  vr: string;
  /** Offset of the element's length field. */
  lengthAt: number;
  lengthSize: 2 | 4;
}

function findDicomFields(bytes: Uint8Array, tags: Array<[number, number]>): DicomField[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: DicomField[] = [];
  for (let i = 132; i + 8 <= bytes.length; i++) {
    const group = dv.getUint16(i, true);
    const element = dv.getUint16(i + 2, true);
    if (!tags.some(([g, e]) => g === group && e === element)) continue;
    const vr = String.fromCharCode(bytes[i + 4] ?? 0, bytes[i + 5] ?? 0);
    if (!/^[A-Z]{2}$/.test(vr)) continue;
    const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
    const lengthAt = long ? i + 8 : i + 6;
    const length = long ? dv.getUint32(lengthAt, true) : dv.getUint16(lengthAt, true);
    fields.push({ at: lengthAt + (long ? 4 : 2), length, vr, lengthAt, lengthSize: long ? 4 : 2 });
  }
  return fields;
}

const DICOM_TAGS: Array<[number, number]> = [
  [0x003a, 0x0005], // NumberOfWaveformChannels
  [0x003a, 0x0010], // NumberOfWaveformSamples
  [0x003a, 0x001a], // SamplingFrequency
  [0x003a, 0x0210], // ChannelSensitivity
  [0x003a, 0x0212], // ChannelSensitivityCorrectionFactor
  [0x003a, 0x0213], // ChannelBaseline
  [0x5400, 0x1004], // WaveformBitsAllocated
  [0x5400, 0x1006], // WaveformSampleInterpretation
  [0x5400, 0x100a], // WaveformPaddingValue
  [0x5400, 0x1010], // WaveformData
  [0x5400, 0x0100], // WaveformSequence
  [0x003a, 0x0200], // ChannelDefinitionSequence
  [0x0008, 0x0100], // CodeValue (channel source and units codes)
  [0x0008, 0x0016], // SOPClassUID
];

const DS_VALUES = [
  '0',
  '-1',
  '1e308',
  '-1e308',
  '1e-300',
  'NaN',
  'abc',
  '.',
  '',
  '\\',
  '1\\2',
  '500',
  '0.0001',
  '99999',
];
const CS_VALUES = ['SS', 'US', 'SB', 'UB', 'SL', 'UL', 'MB', 'AB', 'XX', '', 'mV', 'uV', 'mm[Hg]'];

function rewriteDicom(
  bytes: Uint8Array,
  field: DicomField,
  choice: number,
  raw: number,
  lengthHack: number,
): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  const mode = choice % 4;
  if (mode === 3) {
    // Rewrite the element's length field itself.
    if (field.lengthSize === 2) dv.setUint16(field.lengthAt, lengthHack & 0xffff, true);
    else dv.setUint32(field.lengthAt, lengthHack >>> 0, true);
    return out;
  }
  if (field.vr === 'US' && field.length >= 2) dv.setUint16(field.at, raw & 0xffff, true);
  else if (field.vr === 'UL' && field.length >= 4) dv.setUint32(field.at, raw >>> 0, true);
  else if (field.vr === 'DS' || field.vr === 'CS' || field.vr === 'SH' || field.vr === 'UI') {
    const pool = field.vr === 'DS' ? DS_VALUES : CS_VALUES;
    const value = (pool[raw % pool.length] ?? '').padEnd(field.length, ' ').slice(0, field.length);
    for (let k = 0; k < field.length; k++) out[field.at + k] = value.charCodeAt(k) & 0xff;
  } else if (field.length > 0) {
    for (let k = 0; k < Math.min(4, field.length); k++) out[field.at + k] = (raw >>> (k * 8)) & 0xff;
  }
  return out;
}

// ----- aECG: attribute values, codes and digits located with regular expressions -----

interface TextSpan {
  start: number;
  end: number;
  kind: string;
}

function findAecgSpans(xml: string): TextSpan[] {
  const spans: TextSpan[] = [];
  const patterns: Array<[string, RegExp]> = [
    ['increment', /<increment value="([^"]*)" unit="([^"]*)"/g],
    ['scale', /<scale value="([^"]*)" unit="([^"]*)"/g],
    ['origin', /<origin value="([^"]*)" unit="([^"]*)"/g],
    ['code', /<code code="([^"]*)"/g],
    ['type', /xsi:type="([^"]*)"/g],
    ['digits', /<digits>([^<]*)<\/digits>/g],
  ];
  for (const [kind, re] of patterns) {
    for (const m of xml.matchAll(re)) {
      const whole = m[0];
      const first = m[1] ?? '';
      const start = (m.index ?? 0) + whole.indexOf(first, Math.max(0, whole.indexOf('"')));
      spans.push({ start, end: start + first.length, kind });
      if (m[2] !== undefined) {
        const unitStart = (m.index ?? 0) + whole.lastIndexOf(m[2]);
        spans.push({ start: unitStart, end: unitStart + m[2].length, kind: `${kind}-unit` });
      }
    }
  }
  return spans;
}

const XML_VALUES = [
  '0',
  '-0.002',
  '1e-9',
  '1e308',
  'NaN',
  '',
  's',
  'ms',
  'mV',
  'uV',
  'V',
  'furlong',
  'RHYTHM',
  'TIME_ABSOLUTE',
  'TIME_RELATIVE',
  'MDC_ECG_LEAD_II',
  'MDC_ECG_LEAD_AVR',
  'GLIST_TS',
  'SLIST_PQ',
  '&amp;',
  '&xxe;',
  '<',
  '"',
  '1 2 3',
  '99999999999999999999',
  '-',
  '1.5 2.5e3 -7',
];

describe.skipIf(!samplesPresent)(
  `fuzzing the DICOM decoder${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
  () => {
    const files = samplesPresent
      ? ['dicom_mortara_el250_12lead.dcm', 'dicom_gemarquette_maclab_hemodynamic_12ch.dcm'].map((n) => readSample(n))
      : [];

    it('truncated files: 1,500 cases', () => {
      for (const [k, bytes] of files.entries()) {
        const tally = runCases(truncations(bytes), 750, (n) => bytes.subarray(0, n));
        expect(tally.get('MALFORMED') ?? 0, `file ${k}`).toBeGreaterThan(0);
      }
    });

    it('bytes overwritten at random: 2,000 cases', () => {
      for (const bytes of files) {
        const tally = runCases(flips(bytes), 1000, (changes) => flipped(bytes, changes));
        expect(tally.get('ok') ?? 0).toBeGreaterThan(0);
      }
    });

    it('header values and element lengths rewritten: 3,000 cases', () => {
      for (const bytes of files) {
        const fields = findDicomFields(bytes, DICOM_TAGS);
        expect(fields.length).toBeGreaterThan(20);
        const arb = fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }));
        const tally = runCases(arb, 1500, ([which, choice, raw, len]) => {
          const field = fields[which % fields.length] as DicomField;
          return rewriteDicom(bytes, field, choice, raw, len);
        });
        // The rewrites must reach the decoder's checks, not just fail early.
        expect(tally.size).toBeGreaterThan(1);
      }
    });
  },
);

describe.skipIf(!samplesPresent)(`fuzzing the aECG decoder${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`, () => {
  const names = ['aecg_liryc_100hz_example.xml', 'aecg_fda_minimum_1lead.xml', 'aecg_hl7_2003_example.xml'];
  const files = samplesPresent ? names.map((n) => readSample(n)) : [];
  const [liryc, minimum, hl7] = files as [Uint8Array, Uint8Array, Uint8Array];

  it('truncated files: 1,400 cases', () => {
    for (const [bytes, runs] of [
      [liryc, 600],
      [minimum, 600],
      [hl7, 200],
    ] as const) {
      const tally = runCases(truncations(bytes), runs, (n) => bytes.subarray(0, n));
      expect(tally.get('MALFORMED') ?? 0).toBeGreaterThan(0);
    }
  });

  it('bytes overwritten at random: 1,600 cases', () => {
    for (const [bytes, runs] of [
      [liryc, 700],
      [minimum, 700],
      [hl7, 200],
    ] as const) {
      runCases(flips(bytes), runs, (changes) => flipped(bytes, changes));
    }
  });

  it('increments, scales, origins, units, codes, types and digits rewritten: 2,000 cases', () => {
    for (const [bytes, runs] of [
      [liryc, 900],
      [minimum, 900],
      [hl7, 200],
    ] as const) {
      const xml = new TextDecoder().decode(bytes);
      const spans = findAecgSpans(xml);
      expect(spans.length).toBeGreaterThan(5);
      const value = fc.oneof(fc.constantFrom(...XML_VALUES), fc.string({ maxLength: 12 }));
      const tally = runCases(fc.array(fc.tuple(fc.nat(), value), { minLength: 1, maxLength: 4 }), runs, (edits) => {
        // Apply edits from the end so earlier offsets stay valid.
        const chosen = edits
          .map(([which, v]) => ({ span: spans[which % spans.length] as TextSpan, v }))
          .sort((a, b) => b.span.start - a.span.start);
        let out = xml;
        let lastStart = Number.POSITIVE_INFINITY;
        for (const { span, v } of chosen) {
          if (span.end > lastStart) continue; // overlapping edit
          out = out.slice(0, span.start) + v + out.slice(span.end);
          lastStart = span.start;
        }
        return new TextEncoder().encode(out);
      });
      expect(tally.size).toBeGreaterThan(1);
    }
  });

  it('digits with random numbers and junk: 1,000 cases', () => {
    const xml = new TextDecoder().decode(minimum);
    const digits = fc.array(
      fc.oneof(
        fc.integer().map(String),
        fc.double().map(String),
        fc.constantFrom('', ' ', '\n', '+', '-', '.', 'e', '1e', '--1', '0x10', '\u00a0', '\u0000'),
      ),
      { maxLength: 40 },
    );
    const tally = runCases(digits, 1000, (tokens) =>
      new TextEncoder().encode(xml.replace(/<digits>[^<]*<\/digits>/, `<digits>${tokens.join(' ')}</digits>`)),
    );
    expect(tally.get('ok') ?? 0).toBeGreaterThan(0);
    expect(tally.get('MALFORMED') ?? 0).toBeGreaterThan(0);
  });
});

/** dcmtk re-encodes the Mortara sample as a bare implicit VR data set and as big endian: the reader's other paths. */
const dcmconvPresent = commandPresent('dcmconv');

describe.skipIf(!samplesPresent || !dcmconvPresent)('fuzzing the DICOM decoder on other encodings', () => {
  function convert(args: string[]): Uint8Array {
    const out = join(mkdtempSync(join(tmpdir(), 'ecgcad-fuzz-')), 'out.dcm');
    execFileSync('dcmconv', [...args, join(SAMPLES_DIR, 'dicom_mortara_el250_12lead.dcm'), out]);
    return new Uint8Array(readFileSync(out));
  }

  it('bare implicit VR and explicit big endian, truncated or overwritten: 1,600 cases', () => {
    for (const bytes of [convert(['-F', '+ti']), convert(['+tb'])]) {
      expect(decodeChecked(bytes)).toBe('ok');
      runCases(truncations(bytes), 300, (n) => bytes.subarray(0, n));
      const tally = runCases(flips(bytes), 500, (changes) => flipped(bytes, changes));
      expect(tally.get('ok') ?? 0).toBeGreaterThan(0);
    }
  });
});
