/**
 * DICOM waveform decoder: 12-lead, general, ambulatory and 32-bit ECG objects, and hemodynamic objects whose
 * channels are ECG leads. Reads Part 10 files and bare data sets (as DIMSE C-STORE carries them), in implicit or
 * explicit VR little endian and explicit VR big endian. Compressed and other transfer syntaxes are refused.
 *
 * Element parsing is dicom-parser's; this module picks the multiplex group, maps channels to leads by code and
 * scales samples to microvolts.
 */
import {
  type Ecg,
  type EcgPatient,
  type LeadName,
  leadFromDicomCode,
  leadFromLabel,
  MalformedInputError,
  microvoltsPer,
  type Sex,
  UnsupportedFormatError,
} from '@ecgcad/ecg';
import type { DataSet, Element, ParseDicomOptions } from 'dicom-parser';
import dicomParser from 'dicom-parser';
import { type DecodeMeta, guardDecode, sha256Hex, sourceFor } from './decode-common.js';
import { checkInputSize, checkSignalShape, type DecodeLimits, resolveLimits } from './limits.js';
import { isDicomPart10 } from './sniff.js';
import { isoDate, isoFromDateAndTime, isoFromTimestamp } from './timestamps.js';

/** Transfer syntaxes this decoder reads. */
export const DICOM_TRANSFER_SYNTAXES = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

/** Names of transfer syntaxes that are refused, for a message a human can act on. */
const REFUSED_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
};

/** SOP classes whose waveforms are ECG leads. */
export const ECG_SOP_CLASSES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.9.1.1': '12-Lead ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.2': 'General ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.3': 'Ambulatory ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.4': 'General 32-bit ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.2.1': 'Hemodynamic Waveform Storage',
};
const HEMODYNAMIC_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.9.2.1';

// Tags, in dicom-parser's `xGGGGEEEE` form.
const T = {
  sopClassUid: 'x00080016',
  sopInstanceUid: 'x00080018',
  studyDate: 'x00080020',
  contentDate: 'x00080023',
  acquisitionDateTime: 'x0008002a',
  studyTime: 'x00080030',
  contentTime: 'x00080033',
  manufacturer: 'x00080070',
  modelName: 'x00081090',
  timezoneOffset: 'x00080201',
  codeValue: 'x00080100',
  codingScheme: 'x00080102',
  codeMeaning: 'x00080104',
  patientName: 'x00100010',
  patientId: 'x00100020',
  issuerOfPatientId: 'x00100021',
  patientBirthDate: 'x00100030',
  patientSex: 'x00100040',
  studyInstanceUid: 'x0020000d',
  originality: 'x003a0004',
  numberOfChannels: 'x003a0005',
  numberOfSamples: 'x003a0010',
  samplingFrequency: 'x003a001a',
  multiplexGroupLabel: 'x003a0020',
  channelDefinitionSequence: 'x003a0200',
  channelLabel: 'x003a0203',
  channelSourceSequence: 'x003a0208',
  channelSensitivity: 'x003a0210',
  channelSensitivityUnits: 'x003a0211',
  channelCorrectionFactor: 'x003a0212',
  channelBaseline: 'x003a0213',
  waveformSequence: 'x54000100',
  bitsAllocated: 'x54001004',
  sampleInterpretation: 'x54001006',
  paddingValue: 'x5400100a',
  waveformData: 'x54001010',
} as const;

const SEQUENCE_TAGS = new Set<string>([
  T.waveformSequence,
  T.channelDefinitionSequence,
  T.channelSourceSequence,
  T.channelSensitivityUnits,
  'x0040b020', // WaveformAnnotationSequence
  'x00400555', // AcquisitionContextSequence
  'x0040a043', // ConceptNameCodeSequence
  'x0040a168', // ConceptCodeSequence
  'x004008ea', // MeasurementUnitsCodeSequence
  'x00400260', // PerformedProtocolCodeSequence
  'x00081111', // ReferencedPerformedProcedureStepSequence
  'x00081032', // ProcedureCodeSequence
]);

/** Bits allocated per WaveformSampleInterpretation. */
const SAMPLE_BITS: Record<string, number> = { SB: 8, UB: 8, SS: 16, US: 16, SL: 32, UL: 32 };

const FORMAT = 'dicom';

/**
 * Decodes a DICOM waveform object to an Ecg (leads in microvolts at the source rate).
 *
 * Choices worth knowing:
 * - The multiplex group is the one labelled RHYTHM, else an ORIGINAL one, else any group that is not a median
 *   beat or DERIVED; among equals, the one with the most ECG leads. Median-beat groups are never used.
 * - Channels map to leads by ChannelSourceSequence code (SCPECG, MDC), else by ChannelLabel, else by the
 *   code's meaning. Channels that are not one of the 12 standard leads (pressure, respiration) are skipped,
 *   and so are channels whose sensitivity units are not a voltage. The first channel of a lead wins.
 * - ChannelSensitivity defaults to 1, the correction factor to 1, the baseline to 0, the units to uV when the
 *   file leaves them out.
 * - A sample equal to WaveformPaddingValue holds the lead's previous value (leading padding takes the first
 *   real value), so the Ecg stays usable; the flat stretch is the quality gate's to judge.
 */
export function decodeDicom(bytes: Uint8Array, meta: DecodeMeta, limits?: Partial<DecodeLimits>): Ecg {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  return guardDecode(FORMAT, () => decodeDicomUnguarded(bytes, meta, lim));
}

function decodeDicomUnguarded(bytes: Uint8Array, meta: DecodeMeta, limits: DecodeLimits): Ecg {
  // dicom-parser wants a Node Buffer; share the memory rather than copying it.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const syntax = transferSyntaxOf(buf);
  const ds = dicomParser.parseDicom(buf, {
    TransferSyntaxUID: syntax,
    vrCallback: (tag: string) => (SEQUENCE_TAGS.has(tag) ? 'SQ' : undefined),
  } as ParseDicomOptions);
  const littleEndian = syntax !== DICOM_TRANSFER_SYNTAXES.explicitBig;

  const sopClassUid = str(ds, T.sopClassUid);
  if (!sopClassUid) throw new MalformedInputError(FORMAT, 'missing SOPClassUID', '(0008,0016)');
  if (!ECG_SOP_CLASSES[sopClassUid]) {
    throw new UnsupportedFormatError(FORMAT, `DICOM SOP class ${sopClassUid} is not an ECG waveform`);
  }

  const groups = (ds.elements[T.waveformSequence]?.items ?? []).flatMap((item) =>
    item.dataSet ? [describeGroup(item.dataSet)] : [],
  );
  const group = pickGroup(groups);
  if (!group) {
    if (sopClassUid === HEMODYNAMIC_SOP_CLASS) {
      throw new UnsupportedFormatError(FORMAT, 'hemodynamic waveform without ECG lead channels');
    }
    throw new MalformedInputError(FORMAT, 'no RHYTHM/ORIGINAL multiplex group with ECG lead channels', '(5400,0100)');
  }
  const { leads, sampleRateHz } = readGroup(group, littleEndian, limits);

  const id = str(ds, T.sopInstanceUid) ?? `sha256:${sha256Hex(bytes)}`;
  const ecg: Ecg = {
    id,
    source: sourceFor(bytes, FORMAT, meta, { sopClassUid, studyInstanceUid: str(ds, T.studyInstanceUid) }),
    patient: patientOf(ds),
    device: {},
    sampleRateHz,
    leads,
  };
  const acquiredAt = acquisitionTime(ds);
  if (acquiredAt) ecg.acquiredAt = acquiredAt;
  const manufacturer = str(ds, T.manufacturer);
  const model = str(ds, T.modelName);
  if (manufacturer) ecg.device.manufacturer = manufacturer;
  if (model) ecg.device.model = model;
  return ecg;
}

/** Reads the transfer syntax before dicom-parser sees the data set, so that it never inflates deflated data. */
function transferSyntaxOf(buf: Buffer): string {
  if (!isDicomPart10(buf)) {
    // A bare data set: implicit VR little endian is the DIMSE default; an explicit VR shows as two letters.
    const b4 = buf[4] ?? 0;
    const b5 = buf[5] ?? 0;
    const explicit = b4 >= 0x41 && b4 <= 0x5a && b5 >= 0x41 && b5 <= 0x5a;
    return explicit ? DICOM_TRANSFER_SYNTAXES.explicitLittle : DICOM_TRANSFER_SYNTAXES.implicitLittle;
  }
  const header = dicomParser.readPart10Header(buf);
  const el = header.elements.x00020010;
  if (!el) throw new MalformedInputError(FORMAT, 'missing TransferSyntaxUID in the meta header', '(0002,0010)');
  const syntax = header.string('x00020010')?.replace(/\0/g, '').trim() ?? '';
  if (
    syntax === DICOM_TRANSFER_SYNTAXES.implicitLittle ||
    syntax === DICOM_TRANSFER_SYNTAXES.explicitLittle ||
    syntax === DICOM_TRANSFER_SYNTAXES.explicitBig
  ) {
    return syntax;
  }
  const name = REFUSED_SYNTAX_NAMES[syntax];
  throw new UnsupportedFormatError(
    FORMAT,
    `DICOM transfer syntax ${syntax || '(empty)'}${name ? ` (${name})` : ''} is not supported`,
  );
}

/** One channel of a multiplex group, with its scale to microvolts. */
interface ChannelInfo {
  lead: LeadName | undefined;
  /** Microvolts per raw unit: sensitivity * correction factor * unit factor. */
  scale: number;
  /** Microvolts added after scaling: baseline * unit factor. */
  offset: number;
}

interface GroupInfo {
  ds: DataSet;
  label: string;
  original: boolean;
  median: boolean;
  channels: ChannelInfo[];
  ecgLeadCount: number;
}

function describeGroup(ds: DataSet): GroupInfo {
  const label = (str(ds, T.multiplexGroupLabel) ?? '').toUpperCase();
  const originality = (str(ds, T.originality) ?? '').toUpperCase();
  const channels = (ds.elements[T.channelDefinitionSequence]?.items ?? []).map((item) => describeChannel(item));
  const leadsSeen = new Set(channels.flatMap((c) => (c.lead ? [c.lead] : [])));
  return {
    ds,
    label,
    original: originality === 'ORIGINAL',
    median: /MEDIAN|REPRESENTATIVE|AVERAGE/.test(label) || originality === 'DERIVED',
    channels,
    ecgLeadCount: leadsSeen.size,
  };
}

function describeChannel(item: Element): ChannelInfo {
  const ds = item.dataSet;
  if (!ds) return { lead: undefined, scale: 1, offset: 0 };
  const source = ds.elements[T.channelSourceSequence]?.items?.[0]?.dataSet;
  const code = source ? str(source, T.codeValue) : undefined;
  const scheme = source ? str(source, T.codingScheme) : undefined;
  const meaning = source ? str(source, T.codeMeaning) : undefined;
  const label = str(ds, T.channelLabel);
  let lead = code ? leadFromDicomCode(code, scheme) : undefined;
  if (!lead && label) lead = leadFromLabel(label);
  if (!lead && meaning) lead = leadFromLabel(meaning);

  const unitsDs = ds.elements[T.channelSensitivityUnits]?.items?.[0]?.dataSet;
  const unit = unitsDs ? str(unitsDs, T.codeValue) : undefined;
  const unitFactor = unit === undefined ? 1 : microvoltsPer(unit);
  // A channel in mmHg or another non-voltage unit is not an ECG lead, whatever its label says.
  if (unitFactor === undefined) return { lead: undefined, scale: 1, offset: 0 };
  const sensitivity = decimal(ds, T.channelSensitivity) ?? 1;
  const correction = decimal(ds, T.channelCorrectionFactor) ?? 1;
  const baseline = decimal(ds, T.channelBaseline) ?? 0;
  return { lead, scale: sensitivity * correction * unitFactor, offset: baseline * unitFactor };
}

function pickGroup(groups: GroupInfo[]): GroupInfo | undefined {
  let best: GroupInfo | undefined;
  let bestRank = -1;
  for (const g of groups) {
    if (g.median || g.ecgLeadCount === 0) continue;
    const rank = (g.label.includes('RHYTHM') ? 1000 : 0) + (g.original ? 100 : 0) + g.ecgLeadCount;
    if (rank > bestRank) {
      best = g;
      bestRank = rank;
    }
  }
  return best;
}

function readGroup(
  group: GroupInfo,
  littleEndian: boolean,
  limits: DecodeLimits,
): { leads: Partial<Record<LeadName, Float32Array>>; sampleRateHz: number } {
  const { ds, channels } = group;
  const channelCount = uint(ds, T.numberOfChannels, 2);
  const samples = uint(ds, T.numberOfSamples, 4);
  const sampleRateHz = decimal(ds, T.samplingFrequency);
  if (channelCount === undefined)
    throw new MalformedInputError(FORMAT, 'missing NumberOfWaveformChannels', '(003A,0005)');
  if (samples === undefined) throw new MalformedInputError(FORMAT, 'missing NumberOfWaveformSamples', '(003A,0010)');
  if (sampleRateHz === undefined) throw new MalformedInputError(FORMAT, 'missing SamplingFrequency', '(003A,001A)');
  checkSignalShape({ sampleRateHz, channels: channelCount, samples }, limits);
  if (channelCount !== channels.length) {
    throw new MalformedInputError(
      FORMAT,
      `NumberOfWaveformChannels ${channelCount} differs from ${channels.length} channel definitions`,
      '(003A,0200)',
    );
  }
  if (samples === 0) throw new MalformedInputError(FORMAT, 'NumberOfWaveformSamples is 0', '(003A,0010)');

  const interpretation = str(ds, T.sampleInterpretation) ?? '';
  const bits = SAMPLE_BITS[interpretation];
  if (bits === undefined) {
    throw new UnsupportedFormatError(FORMAT, `WaveformSampleInterpretation "${interpretation}" is not supported`);
  }
  const bitsAllocated = uint(ds, T.bitsAllocated, 2);
  if (bitsAllocated !== bits) {
    throw new MalformedInputError(
      FORMAT,
      `WaveformBitsAllocated ${bitsAllocated ?? '(missing)'} does not fit interpretation ${interpretation}`,
      '(5400,1004)',
    );
  }
  const bytesPerSample = bits / 8;
  const data = ds.elements[T.waveformData];
  if (!data) throw new MalformedInputError(FORMAT, 'missing WaveformData', '(5400,1010)');
  const expected = channelCount * samples * bytesPerSample;
  // OB data of odd length carries one pad byte.
  if (data.length !== expected && !(expected % 2 === 1 && data.length === expected + 1)) {
    throw new MalformedInputError(
      FORMAT,
      `WaveformData has ${data.length} bytes, expected ${channelCount} channels x ${samples} samples x ${bytesPerSample} bytes = ${expected}`,
      '(5400,1010)',
    );
  }
  const byteArray = ds.byteArray;
  if (data.dataOffset < 0 || data.dataOffset + expected > byteArray.length) {
    throw new MalformedInputError(FORMAT, 'WaveformData runs past the end of the input', '(5400,1010)');
  }
  const raw = readSamples(byteArray, data.dataOffset, channelCount * samples, interpretation, littleEndian);
  const padding = paddingValue(ds, interpretation, littleEndian);

  const leads: Partial<Record<LeadName, Float32Array>> = {};
  for (let c = 0; c < channelCount; c++) {
    const ch = channels[c] as ChannelInfo;
    if (!ch.lead || leads[ch.lead]) continue;
    leads[ch.lead] = scaleChannel(raw, c, channelCount, samples, ch, padding);
  }
  return { leads, sampleRateHz };
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type RawSamples = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Copies `count` interleaved samples out of the input into a typed array of the right kind (endianness handled). */
function readSamples(
  bytes: Uint8Array,
  offset: number,
  count: number,
  interpretation: string,
  littleEndian: boolean,
): RawSamples {
  const size = (SAMPLE_BITS[interpretation] ?? 8) / 8;
  const start = bytes.byteOffset + offset;
  // Little-endian data at an aligned offset is read in place (most files); otherwise it is copied through a DataView.
  if (littleEndian && HOST_IS_LITTLE_ENDIAN && start % size === 0) {
    if (interpretation === 'SS') return new Int16Array(bytes.buffer, start, count);
    if (interpretation === 'US') return new Uint16Array(bytes.buffer, start, count);
    if (interpretation === 'SL') return new Int32Array(bytes.buffer, start, count);
    if (interpretation === 'UL') return new Uint32Array(bytes.buffer, start, count);
  }
  const dv = new DataView(bytes.buffer, start, count * size);
  switch (interpretation) {
    case 'SB':
      return new Int8Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count));
    case 'UB':
      return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 'SS': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(i * 2, littleEndian);
      return out;
    }
    case 'US': {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, littleEndian);
      return out;
    }
    case 'SL': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(i * 4, littleEndian);
      return out;
    }
    default: {
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(i * 4, littleEndian);
      return out;
    }
  }
}

/** WaveformPaddingValue in the group's sample interpretation, or undefined when absent or unreadable. */
function paddingValue(ds: DataSet, interpretation: string, littleEndian: boolean): number | undefined {
  const el = ds.elements[T.paddingValue];
  const size = (SAMPLE_BITS[interpretation] ?? 0) / 8;
  if (!el || size === 0 || el.length < size || el.dataOffset + size > ds.byteArray.length) return undefined;
  return readSamples(ds.byteArray, el.dataOffset, 1, interpretation, littleEndian)[0];
}

function scaleChannel(
  raw: RawSamples,
  channel: number,
  stride: number,
  samples: number,
  ch: ChannelInfo,
  padding: number | undefined,
): Float32Array {
  const out = new Float32Array(samples);
  const { scale, offset } = ch;
  if (padding === undefined) {
    for (let s = 0, i = channel; s < samples; s++, i += stride) out[s] = (raw[i] as number) * scale + offset;
    return out;
  }
  let held = Number.NaN;
  let firstReal = -1;
  for (let s = 0, i = channel; s < samples; s++, i += stride) {
    const v = raw[i] as number;
    if (v === padding) {
      out[s] = held;
    } else {
      held = v * scale + offset;
      out[s] = held;
      if (firstReal < 0) firstReal = s;
    }
  }
  // Leading padding takes the first real value; an all-padding channel is flat zero.
  const fill = firstReal < 0 ? 0 : (out[firstReal] as number);
  for (let s = 0; s < (firstReal < 0 ? samples : firstReal); s++) out[s] = fill;
  return out;
}

function patientOf(ds: DataSet): EcgPatient {
  const patient: EcgPatient = {};
  const identifier = str(ds, T.patientId);
  const system = str(ds, T.issuerOfPatientId);
  const name = str(ds, T.patientName)?.replace(/\^+$/, '');
  const birthDate = isoDate(str(ds, T.patientBirthDate));
  const sex = sexOf(str(ds, T.patientSex));
  if (identifier) patient.identifier = identifier;
  if (system) patient.identifierSystem = system;
  if (name) patient.name = name;
  if (birthDate) patient.birthDate = birthDate;
  if (sex) patient.sex = sex;
  return patient;
}

function sexOf(value: string | undefined): Sex | undefined {
  if (!value) return undefined;
  switch (value.toUpperCase()) {
    case 'M':
      return 'male';
    case 'F':
      return 'female';
    case 'O':
      return 'other';
    default:
      return 'unknown';
  }
}

/** AcquisitionDateTime, else ContentDate + ContentTime, else StudyDate + StudyTime; TimezoneOffsetFromUTC applied. */
function acquisitionTime(ds: DataSet): string | undefined {
  const dt = str(ds, T.acquisitionDateTime);
  let iso =
    isoFromTimestamp(dt) ??
    isoFromDateAndTime(str(ds, T.contentDate), str(ds, T.contentTime)) ??
    isoFromDateAndTime(str(ds, T.studyDate), str(ds, T.studyTime));
  const tz = str(ds, T.timezoneOffset);
  if (iso?.includes('T') && !/[+-]\d\d:\d\d$/.test(iso) && tz && /^[+-]\d{4}$/.test(tz)) {
    iso = `${iso}${tz.slice(0, 3)}:${tz.slice(3)}`;
  }
  return iso;
}

/** A string value, trimmed, undefined when absent or empty. */
function str(ds: DataSet, tag: string): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0 || el.dataOffset + el.length > ds.byteArray.length) return undefined;
  const v = ds.string(tag)?.replace(/\0/g, '').trim();
  return v ? v : undefined;
}

/** A DS / IS value as a finite number; undefined when absent; MalformedInputError when not a number. */
function decimal(ds: DataSet, tag: string): number | undefined {
  const s = str(ds, tag);
  if (s === undefined) return undefined;
  const n = Number(s.split('\\')[0]);
  if (!Number.isFinite(n)) throw new MalformedInputError(FORMAT, 'value is not a decimal number', tagLabel(tag));
  return n;
}

/** A US (2 bytes) or UL (4 bytes) value, checked against the element's length. */
function uint(ds: DataSet, tag: string, size: 2 | 4): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  if (el.length < size || el.dataOffset + size > ds.byteArray.length) {
    throw new MalformedInputError(FORMAT, `value shorter than ${size} bytes`, tagLabel(tag));
  }
  return size === 2 ? ds.uint16(tag) : ds.uint32(tag);
}

function tagLabel(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5).toUpperCase()})`;
}
