/**
 * DICOM waveform decoder: 12-lead, general, ambulatory and 32-bit ECG objects, and hemodynamic objects whose
 * channels are ECG leads. Reads Part 10 files and bare data sets (as DIMSE C-STORE carries them), in implicit or
 * explicit VR little endian and explicit VR big endian. Compressed and other transfer syntaxes are refused.
 *
 * Elements are read by ./dicom/dataset.ts (headers only, values on demand); this module picks the multiplex
 * group, maps channels to leads by code and scales samples to microvolts.
 */
import {
  deinterleaveInt16,
  type Ecg,
  type EcgPatient,
  hintLeadQuantum,
  type LeadName,
  leadFromDicomCode,
  leadFromLabel,
  MalformedInputError,
  microvoltsPer,
  type Sex,
  UnsupportedFormatError,
} from '@ecgcad/ecg';
import { type DecodeMeta, guardDecode, shownValue, sourceFor } from './decode-common.js';
import { type DicomDataset, type DicomEncoding, parseDataset, type TextDecoderLike } from './dicom/dataset.js';
import { bareDatasetEncoding, encodingOfTransferSyntax, isDicomPart10, readPart10Header } from './dicom/part10.js';
import { isEcgWaveformSopClass } from './dicom/sop-classes.js';
import { checkInputSize, checkSignalShape, type DecodeLimits, resolveLimits } from './limits.js';
import { isoDate, isoFromDateAndTime, isoFromTimestamp } from './timestamps.js';

/** Names of transfer syntaxes that are refused, for a message a human can act on. */
const REFUSED_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
};

const HEMODYNAMIC_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.9.2.1';

// Tags as numbers (group << 16 | element).
const T = {
  specificCharacterSet: 0x00080005,
  sopClassUid: 0x00080016,
  sopInstanceUid: 0x00080018,
  studyDate: 0x00080020,
  contentDate: 0x00080023,
  acquisitionDateTime: 0x0008002a,
  studyTime: 0x00080030,
  contentTime: 0x00080033,
  manufacturer: 0x00080070,
  modelName: 0x00081090,
  timezoneOffset: 0x00080201,
  codeValue: 0x00080100,
  codingScheme: 0x00080102,
  codeMeaning: 0x00080104,
  patientName: 0x00100010,
  patientId: 0x00100020,
  issuerOfPatientId: 0x00100021,
  patientBirthDate: 0x00100030,
  patientSex: 0x00100040,
  studyInstanceUid: 0x0020000d,
  originality: 0x003a0004,
  numberOfChannels: 0x003a0005,
  numberOfSamples: 0x003a0010,
  samplingFrequency: 0x003a001a,
  multiplexGroupLabel: 0x003a0020,
  channelDefinitionSequence: 0x003a0200,
  channelLabel: 0x003a0203,
  channelSourceSequence: 0x003a0208,
  channelSensitivity: 0x003a0210,
  channelSensitivityUnits: 0x003a0211,
  channelCorrectionFactor: 0x003a0212,
  channelBaseline: 0x003a0213,
  waveformSequence: 0x54000100,
  bitsAllocated: 0x54001004,
  sampleInterpretation: 0x54001006,
  paddingValue: 0x5400100a,
  waveformData: 0x54001010,
} as const;

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
  return guardDecode(FORMAT, () => decodeDicomUnguarded(bytes, meta, lim, true));
}

/**
 * Everything decodeDicom checks, with the same refusals, without making the leads: the id and source block of an
 * object the queued intake stores as received (the stages decode its samples from the stored bytes). Only the
 * samples' conversion to microvolts is left out, and it refuses nothing.
 */
export function checkDicom(
  bytes: Uint8Array,
  meta: DecodeMeta,
  limits?: Partial<DecodeLimits>,
): Pick<Ecg, 'id' | 'source'> {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  const { id, source } = guardDecode(FORMAT, () => decodeDicomUnguarded(bytes, meta, lim, false));
  return { id, source };
}

/** Decodes (`withSamples`) or only checks (leads left empty) a DICOM waveform object. */
function decodeDicomUnguarded(bytes: Uint8Array, meta: DecodeMeta, limits: DecodeLimits, withSamples: boolean): Ecg {
  const { encoding, datasetStart } = encodingOf(bytes);
  const ds = parseDataset(bytes, datasetStart, bytes.length, encoding);
  const text = textDecoderFor(ds);

  const sopClassUid = ds.string(T.sopClassUid);
  if (!sopClassUid) throw new MalformedInputError(FORMAT, 'missing SOPClassUID', '(0008,0016)');
  if (!isEcgWaveformSopClass(sopClassUid)) {
    throw new UnsupportedFormatError(FORMAT, `DICOM SOP class ${shownUid(sopClassUid)} is not an ECG waveform`);
  }

  const groups = ds.items(T.waveformSequence).map(describeGroup);
  const group = pickGroup(groups);
  if (!group) {
    if (sopClassUid === HEMODYNAMIC_SOP_CLASS) {
      throw new UnsupportedFormatError(FORMAT, 'hemodynamic waveform without ECG lead channels');
    }
    throw new MalformedInputError(FORMAT, 'no RHYTHM/ORIGINAL multiplex group with ECG lead channels', '(5400,0100)');
  }
  const { leads, sampleRateHz } = readGroup(group, encoding.littleEndian, limits, withSamples);

  const source = sourceFor(bytes, FORMAT, meta, { sopClassUid, studyInstanceUid: ds.string(T.studyInstanceUid) });
  const ecg: Ecg = {
    id: ds.string(T.sopInstanceUid) ?? `sha256:${source.sha256}`,
    source,
    patient: patientOf(ds, text),
    device: {},
    sampleRateHz,
    leads,
  };
  const acquiredAt = acquisitionTime(ds, text);
  if (acquiredAt) ecg.acquiredAt = acquiredAt;
  const manufacturer = ds.string(T.manufacturer, text);
  const model = ds.string(T.modelName, text);
  if (manufacturer) ecg.device.manufacturer = manufacturer;
  if (model) ecg.device.model = model;
  return ecg;
}

/**
 * The data set's encoding and start. A Part 10 file says its transfer syntax in the meta header, read before
 * anything else so that compressed or deflated data is refused without being touched. A bare data set (as DIMSE
 * carries it) is implicit VR little endian, unless its first element shows an explicit VR.
 */
function encodingOf(bytes: Uint8Array): { encoding: DicomEncoding; datasetStart: number } {
  if (!isDicomPart10(bytes)) return { encoding: bareDatasetEncoding(bytes), datasetStart: 0 };
  const { transferSyntaxUid: syntax, datasetStart } = readPart10Header(bytes);
  const encoding = encodingOfTransferSyntax(syntax);
  if (encoding) return { encoding, datasetStart };
  const name = REFUSED_SYNTAX_NAMES[syntax];
  throw new UnsupportedFormatError(
    FORMAT,
    `DICOM transfer syntax ${shownUid(syntax)}${name ? ` (${name})` : ''} is not supported`,
  );
}

/** A UID as it may appear in a message: hostile files can put any text in a UID field. */
function shownUid(uid: string): string {
  return /^[0-9.]{1,64}$/.test(uid) ? uid : '(not a valid UID)';
}

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8');

/** Text values are UTF-8 under SpecificCharacterSet ISO_IR 192, else read as Latin-1 (a superset of ASCII). */
function textDecoderFor(ds: DicomDataset): TextDecoderLike {
  return ds.string(T.specificCharacterSet)?.includes('ISO_IR 192') ? UTF8 : LATIN1;
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
  ds: DicomDataset;
  label: string;
  original: boolean;
  median: boolean;
  channels: ChannelInfo[];
  ecgLeadCount: number;
}

function describeGroup(ds: DicomDataset): GroupInfo {
  const label = (ds.string(T.multiplexGroupLabel) ?? '').toUpperCase();
  const originality = (ds.string(T.originality) ?? '').toUpperCase();
  const median = /MEDIAN|REPRESENTATIVE|AVERAGE/.test(label) || originality === 'DERIVED';
  // A median-beat group is never read (pickGroup skips it), so its channels are not described.
  const channels = median ? [] : ds.items(T.channelDefinitionSequence).map(describeChannel);
  // A loop, not flatMap(closure): a closure made per call is optimised again after every full collection.
  const leadsSeen = new Set<string>();
  for (const c of channels) if (c.lead) leadsSeen.add(c.lead);
  return { ds, label, original: originality === 'ORIGINAL', median, channels, ecgLeadCount: leadsSeen.size };
}

function describeChannel(ds: DicomDataset): ChannelInfo {
  const source = ds.items(T.channelSourceSequence)[0];
  const code = source?.string(T.codeValue);
  const scheme = source?.string(T.codingScheme);
  const meaning = source?.string(T.codeMeaning);
  const label = ds.string(T.channelLabel);
  let lead = code ? leadFromDicomCode(code, scheme) : undefined;
  if (!lead && label) lead = leadFromLabel(label);
  if (!lead && meaning) lead = leadFromLabel(meaning);

  const unit = ds.items(T.channelSensitivityUnits)[0]?.string(T.codeValue);
  const unitFactor = unit === undefined ? 1 : microvoltsPer(unit);
  // A channel in mmHg or another non-voltage unit is not an ECG lead, whatever its label says.
  if (unitFactor === undefined) return { lead: undefined, scale: 1, offset: 0 };
  const sensitivity = ds.decimal(T.channelSensitivity) ?? 1;
  const correction = ds.decimal(T.channelCorrectionFactor) ?? 1;
  const baseline = ds.decimal(T.channelBaseline) ?? 0;
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
  withSamples: boolean,
): { leads: Partial<Record<LeadName, Float32Array>>; sampleRateHz: number } {
  const { ds, channels } = group;
  const channelCount = ds.uint16(T.numberOfChannels);
  const samples = ds.uint32(T.numberOfSamples);
  const sampleRateHz = ds.decimal(T.samplingFrequency);
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

  const interpretation = ds.string(T.sampleInterpretation) ?? '';
  const bits = SAMPLE_BITS[interpretation];
  if (bits === undefined) {
    throw new UnsupportedFormatError(
      FORMAT,
      `WaveformSampleInterpretation "${shownValue(interpretation)}" is not supported`,
    );
  }
  const bitsAllocated = ds.uint16(T.bitsAllocated);
  if (bitsAllocated !== bits) {
    throw new MalformedInputError(
      FORMAT,
      `WaveformBitsAllocated ${bitsAllocated ?? '(missing)'} does not fit interpretation ${interpretation}`,
      '(5400,1004)',
    );
  }
  const bytesPerSample = bits / 8;
  const data = ds.get(T.waveformData);
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
  // Every refusal is above: reading the samples (their length is checked) and scaling them cannot fail.
  if (!withSamples) return { leads: {}, sampleRateHz };
  const raw = readSamples(ds.bytes, data.offset, channelCount * samples, interpretation, littleEndian);
  const padding = paddingValue(ds, interpretation, littleEndian);

  // The channel each lead comes from: the first one that maps to it.
  const wanted: boolean[] = [];
  const seen = new Set<LeadName>();
  for (const ch of channels) {
    wanted.push(ch.lead !== undefined && !seen.has(ch.lead));
    if (ch.lead) seen.add(ch.lead);
  }
  // WebAssembly SIMD where it gives the same floats (Float32 scales, no baseline), else the JavaScript passes.
  const outs: (Float32Array | undefined)[] =
    padding === undefined && raw instanceof Int16Array && HOST_IS_LITTLE_ENDIAN
      ? (deinterleaveInt16(raw, channelCount, samples, channels, wanted, newLead) ??
        scaleInt16Pairs(raw, channelCount, samples, channels, wanted))
      : [];
  const leads: Partial<Record<LeadName, Float32Array>> = {};
  for (let c = 0; c < channelCount; c++) {
    const ch = channels[c] as ChannelInfo;
    if (!ch.lead || !wanted[c]) continue;
    const lead = outs[c] ?? scaleChannel(raw, c, channelCount, samples, ch, padding);
    // Every sample is raw * scale + offset rounded to Float32 (padding holds such a value): the payload codec checks
    // this quantum first instead of searching for it.
    hintLeadQuantum(lead, { origin: ch.offset, factor: ch.scale });
    leads[ch.lead] = lead;
  }
  return { leads, sampleRateHz };
}

/**
 * Scales the wanted channels of signed 16-bit data without padding two at a time: an Int32 view over the same
 * bytes (aligned down to 4) holds two neighbouring channels per word, so one strided pass yields both (about 1.25x
 * faster than two passes over the Int16 view). The SIMD kernel (deinterleaveInt16) takes the common case first;
 * this pass serves the rest (baselines, scales Float32 cannot carry exactly, hosts without WebAssembly SIMD).
 * Returns an output per channel it handled; channels it leaves out (a lone wanted channel, an odd channel count,
 * and with data starting mid-word the first and last channels, which straddle frames) go through scaleChannel.
 * Needs a little-endian host: the low half of a word is the earlier sample.
 */
function scaleInt16Pairs(
  raw: Int16Array,
  channelCount: number,
  samples: number,
  channels: readonly ChannelInfo[],
  wanted: readonly boolean[],
): (Float32Array | undefined)[] {
  const outs: (Float32Array | undefined)[] = [];
  if (channelCount % 2 !== 0 || channelCount < 2) return outs;
  // shift = 1 when the data starts in the high half of a word: channel c then sits in the low half of word
  // (c + 1) / 2 for odd c, so the pairs are (1, 2), (3, 4), ...; channels 0 and channelCount - 1 straddle frames.
  const shift = (raw.byteOffset & 3) >> 1;
  const base = raw.byteOffset - 2 * shift;
  const words = new Int32Array(raw.buffer, base, (raw.length + shift) >> 1);
  const stride = channelCount >> 1;
  for (let lo = shift; lo + 1 < channelCount; lo += 2) {
    if (!wanted[lo] || !wanted[lo + 1]) continue;
    const hi = lo + 1;
    const a = channels[lo] as ChannelInfo;
    const b = channels[hi] as ChannelInfo;
    const outLo = newLead(samples);
    const outHi = newLead(samples);
    const sa = a.scale;
    const oa = a.offset;
    const sb = b.scale;
    const ob = b.offset;
    outs[lo] = outLo;
    outs[hi] = outHi;
    for (let s = 0, i = (lo + shift) >> 1; s < samples; s++, i += stride) {
      const v = words[i] as number;
      outLo[s] = ((v << 16) >> 16) * sa + oa;
      outHi[s] = (v >> 16) * sb + ob;
    }
  }
  return outs;
}

/**
 * A lead array the caller fills completely: uninitialised memory of its own (Buffer.allocUnsafeSlow, never the
 * shared pool), which spares zeroing it first.
 */
function newLead(samples: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(4 * samples);
  return new Float32Array(bytes.buffer, bytes.byteOffset, samples);
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
function paddingValue(ds: DicomDataset, interpretation: string, littleEndian: boolean): number | undefined {
  const el = ds.get(T.paddingValue);
  const size = (SAMPLE_BITS[interpretation] ?? 0) / 8;
  if (!el || size === 0 || el.length < size) return undefined;
  return readSamples(ds.bytes, el.offset, 1, interpretation, littleEndian)[0];
}

function scaleChannel(
  raw: RawSamples,
  channel: number,
  stride: number,
  samples: number,
  ch: ChannelInfo,
  padding: number | undefined,
): Float32Array {
  const out = newLead(samples);
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

/** The patient module's values (`text`: the decoder of the data set's character set, textDecoderFor). */
function patientOf(ds: DicomDataset, text: TextDecoderLike): EcgPatient {
  const patient: EcgPatient = {};
  const identifier = ds.string(T.patientId, text);
  const system = ds.string(T.issuerOfPatientId, text);
  const name = ds.string(T.patientName, text)?.replace(/\^+$/, '');
  const birthDate = isoDate(ds.string(T.patientBirthDate, text));
  const sex = sexOf(ds.string(T.patientSex, text));
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
function acquisitionTime(ds: DicomDataset, text: TextDecoderLike): string | undefined {
  let iso =
    isoFromTimestamp(ds.string(T.acquisitionDateTime, text)) ??
    isoFromDateAndTime(ds.string(T.contentDate, text), ds.string(T.contentTime, text)) ??
    isoFromDateAndTime(ds.string(T.studyDate, text), ds.string(T.studyTime, text));
  const tz = ds.string(T.timezoneOffset, text);
  if (iso?.includes('T') && !/[+-]\d\d:\d\d$/.test(iso) && tz && /^[+-]\d{4}$/.test(tz)) {
    iso = `${iso}${tz.slice(0, 3)}:${tz.slice(3)}`;
  }
  return iso;
}
