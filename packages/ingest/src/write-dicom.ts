/**
 * Writes an Ecg as a DICOM 12-Lead ECG Waveform object (PS3.3 A.34.3), Part 10, explicit VR little endian.
 * One multiplex group "RHYTHM" (ORIGINAL), channels identified by SCP-ECG codes, 16-bit signed samples in uV.
 * The output passes dcmtk (`dcmftest`, `dcmdump -E`) and dicom3tools' `dciodvfy` with no errors.
 * A record outside the 12-lead IOD's limits (more than 16384 samples per channel, a sample rate outside
 * 200-1000 Hz) is written as General ECG Waveform Storage instead, whose limits are wider.
 */
import { ConfigError, type Ecg, type LeadName, type Sex } from '@ecgcad/ecg';
import { DICOM_TRANSFER_SYNTAXES } from './dicom/part10.js';
import {
  type DicomElement,
  type DicomItem,
  ds,
  ECGCAD_IMPLEMENTATION_VERSION_NAME,
  encodePart10,
  tag,
} from './dicom-writer/encode.js';
import { checkUidRoot, derivedUid, implementationClassUid, isValidUid } from './dicom-writer/uid.js';
import { compactDate, INT16_LIMIT, leadsToWrite, type StoredLeads, timestampParts } from './writer-common.js';

/** SOP classes the writer produces. */
export const TWELVE_LEAD_ECG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.9.1.1';
export const GENERAL_ECG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.9.1.2';
/** Explicit VR Little Endian, the transfer syntax the writer uses. */
export const EXPLICIT_VR_LITTLE_ENDIAN = DICOM_TRANSFER_SYNTAXES.explicitLittle;

/** Options of {@link writeDicomEcg}. */
export interface WriteDicomOptions {
  /** Store all 12 leads, or only I, II, V1-V6 (readers derive the other four). Default 12. */
  leads?: StoredLeads;
  /**
   * The site's UID root. Default none: UIDs are `2.25.<UUID>`. Either way they are derived from the record id,
   * so writing the same record twice gives the same SOP Instance UID. A record whose id is already a UID (a
   * decoded DICOM object) keeps it as SOP Instance UID.
   */
  uidRoot?: string;
  /** Microvolts per integer step (ChannelSensitivity, in uV). Default 2.5; the range is then +-81.9 mV. */
  resolutionUv?: number;
  /** Acquisition filter settings to record (the writer itself does not filter). Default 0.05-150 Hz, no notch. */
  filters?: { lowHz?: number; highHz?: number; notchHz?: number };
  /** Implementation Version Name in the file meta header (at most 16 characters). Default `ECGCAD_0_1`. */
  implementationVersionName?: string;
}

/** Default microvolts per integer step. */
export const DEFAULT_RESOLUTION_UV = 2.5;

/** SCP-ECG code value and DICOM CID 3001 meaning of each lead. */
const SCPECG_LEAD: Record<LeadName, [string, string]> = {
  I: ['5.6.3-9-1', 'Lead I'],
  II: ['5.6.3-9-2', 'Lead II'],
  V1: ['5.6.3-9-3', 'Lead V1'],
  V2: ['5.6.3-9-4', 'Lead V2'],
  V3: ['5.6.3-9-5', 'Lead V3'],
  V4: ['5.6.3-9-6', 'Lead V4'],
  V5: ['5.6.3-9-7', 'Lead V5'],
  V6: ['5.6.3-9-8', 'Lead V6'],
  III: ['5.6.3-9-61', 'Lead III'],
  aVR: ['5.6.3-9-62', 'Lead aVR'],
  aVL: ['5.6.3-9-63', 'Lead aVL'],
  aVF: ['5.6.3-9-64', 'Lead aVF'],
};

const SEX_CODE: Record<Sex, string> = { male: 'M', female: 'F', other: 'O', unknown: '' };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Element shorthand. */
const str = (
  group: number,
  element: number,
  vr: Exclude<DicomElement['vr'], 'US' | 'UL' | 'SS' | 'OB' | 'OW' | 'SQ'>,
  value: string,
): DicomElement => ({ tag: tag(group, element), vr, value }) as DicomElement;
const us = (group: number, element: number, value: number): DicomElement => ({
  tag: tag(group, element),
  vr: 'US',
  value: [value],
});
const sq = (group: number, element: number, items: DicomItem[]): DicomElement => ({
  tag: tag(group, element),
  vr: 'SQ',
  value: items,
});

/** A coded entry (code sequence item). */
const code = (value: string, scheme: string, version: string | undefined, meaning: string): DicomItem => [
  str(0x0008, 0x0100, 'SH', value),
  str(0x0008, 0x0102, 'SH', scheme),
  ...(version === undefined ? [] : [str(0x0008, 0x0103, 'SH', version)]),
  str(0x0008, 0x0104, 'LO', meaning),
];

/** Cuts a string to a VR's maximum length (DICOM counts characters). */
const cut = (value: string | undefined, max: number): string => (value ?? '').slice(0, max);

/** Interleaves the leads as int16 (sample s of channel c at word s * channels + c), little endian. */
function waveformBytes(samples: Float32Array[], length: number, resolutionUv: number): Uint8Array {
  const channels = samples.length;
  const words = new Int16Array(length * channels);
  const inv = 1 / resolutionUv;
  const limit = INT16_LIMIT;
  for (let c = 0; c < channels; c++) {
    const lead = samples[c] as Float32Array;
    for (let s = 0, w = c; s < length; s++, w += channels) {
      // Round half up and saturate; NaN fails every comparison and becomes 0. floor(x + 0.5) rather than
      // Math.round: Math.round returns -0 for small negative values, which drops V8 off its fast integer path
      // (3x slower on real ECG data).
      const x = (lead[s] as number) * inv + 0.5;
      words[w] = x >= limit ? limit : x >= -limit ? Math.floor(x) : x < -limit ? -limit : 0;
    }
  }
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(words.buffer);
  const bytes = new Uint8Array(words.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setInt16(i * 2, words[i] as number, true);
  return bytes;
}

/**
 * Encodes the record as a DICOM Part 10 file. Throws MalformedInputError for a record with no samples or unequal
 * lead lengths, ConfigError for bad options (uidRoot, resolutionUv, filters).
 */
export function writeDicomEcg(ecg: Ecg, options: WriteDicomOptions = {}): Uint8Array {
  const stored = options.leads ?? 12;
  const resolutionUv = options.resolutionUv ?? DEFAULT_RESOLUTION_UV;
  const issues: string[] = [];
  if (!(resolutionUv > 0) || !Number.isFinite(resolutionUv)) issues.push('resolutionUv must be a positive number');
  for (const [key, hz] of Object.entries(options.filters ?? {})) {
    if (hz !== undefined && !(Number.isFinite(hz) && hz >= 0)) issues.push(`filters.${key} must be a number >= 0`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const root = options.uidRoot;
  if (root !== undefined) checkUidRoot(root);
  const { names, samples, length } = leadsToWrite(ecg, stored, 'dicom');
  const fs = ecg.sampleRateHz;

  const twelveLeadOk = names.length <= 13 && length <= 16384 && fs >= 200 && fs <= 1000;
  const sopClassUid = twelveLeadOk ? TWELVE_LEAD_ECG_SOP_CLASS : GENERAL_ECG_SOP_CLASS;
  const sopInstanceUid = isValidUid(ecg.id) ? ecg.id : derivedUid(`instance:${ecg.id}`, root);
  const studyUid = ecg.source.studyInstanceUid;
  const studyInstanceUid = studyUid && isValidUid(studyUid) ? studyUid : derivedUid(`study:${ecg.id}`, root);
  const seriesInstanceUid = derivedUid(`series:${ecg.id}`, root);

  const when = timestampParts(ecg.acquiredAt ?? ecg.source.receivedAt);
  const tm = `${when.time}.${when.millis}`;
  const patient = ecg.patient;
  const filters = { lowHz: 0.05, highHz: 150, ...options.filters };
  const texts = [patient.name, patient.identifier, patient.identifierSystem, ecg.device.manufacturer, ecg.device.model];
  const needsUtf8 = texts.some((t) => t !== undefined && /[\u0080-\uffff]/.test(t));

  const channels: DicomItem[] = names.map((name, i) => {
    const [codeValue, meaning] = SCPECG_LEAD[name];
    const item: DicomItem = [
      str(0x003a, 0x0202, 'IS', String(i + 1)),
      str(0x003a, 0x0203, 'SH', name),
      sq(0x003a, 0x0208, [code(codeValue, 'SCPECG', '1.3', meaning)]),
      str(0x003a, 0x0210, 'DS', ds(resolutionUv)),
      sq(0x003a, 0x0211, [code('uV', 'UCUM', '1.4', 'microvolt')]),
      str(0x003a, 0x0212, 'DS', '1'),
      str(0x003a, 0x0213, 'DS', '0'),
      str(0x003a, 0x0215, 'DS', '0'),
      us(0x003a, 0x021a, 16),
    ];
    if (filters.lowHz !== undefined) item.push(str(0x003a, 0x0220, 'DS', ds(filters.lowHz)));
    if (filters.highHz !== undefined) item.push(str(0x003a, 0x0221, 'DS', ds(filters.highHz)));
    if (filters.notchHz !== undefined) item.push(str(0x003a, 0x0222, 'DS', ds(filters.notchHz)));
    return item;
  });

  const multiplexGroup: DicomItem = [
    str(0x003a, 0x0004, 'CS', 'ORIGINAL'),
    us(0x003a, 0x0005, names.length),
    { tag: tag(0x003a, 0x0010), vr: 'UL', value: [length] },
    str(0x003a, 0x001a, 'DS', ds(fs)),
    str(0x003a, 0x0020, 'SH', 'RHYTHM'),
    sq(0x003a, 0x0200, channels),
    us(0x5400, 0x1004, 16),
    str(0x5400, 0x1006, 'CS', 'SS'),
    { tag: tag(0x5400, 0x1010), vr: 'OW', value: waveformBytes(samples, length, resolutionUv) },
  ];

  const dataset: DicomElement[] = [
    // SOP Common
    ...(needsUtf8 ? [str(0x0008, 0x0005, 'CS', 'ISO_IR 192')] : []),
    str(0x0008, 0x0016, 'UI', sopClassUid),
    str(0x0008, 0x0018, 'UI', sopInstanceUid),
    ...(when.zone ? [str(0x0008, 0x0201, 'SH', when.zone)] : []),
    // General Study
    str(0x0008, 0x0020, 'DA', when.date),
    str(0x0008, 0x0030, 'TM', tm),
    str(0x0008, 0x0050, 'SH', ''),
    str(0x0008, 0x0090, 'PN', ''),
    str(0x0020, 0x000d, 'UI', studyInstanceUid),
    str(0x0020, 0x0010, 'SH', '1'),
    // General Series
    str(0x0008, 0x0060, 'CS', 'ECG'),
    str(0x0020, 0x000e, 'UI', seriesInstanceUid),
    str(0x0020, 0x0011, 'IS', '1'),
    // Waveform Identification
    str(0x0008, 0x0023, 'DA', when.date),
    str(0x0008, 0x0033, 'TM', tm),
    str(0x0008, 0x002a, 'DT', `${when.date}${tm}${when.zone ?? ''}`),
    str(0x0020, 0x0013, 'IS', '1'),
    // General Equipment
    str(0x0008, 0x0070, 'LO', cut(ecg.device.manufacturer, 64)),
    ...(ecg.device.model ? [str(0x0008, 0x1090, 'LO', cut(ecg.device.model, 64))] : []),
    // Patient
    str(0x0010, 0x0010, 'PN', cut(patient.name, 64)),
    str(0x0010, 0x0020, 'LO', cut(patient.identifier, 64)),
    ...(patient.identifierSystem ? [str(0x0010, 0x0021, 'LO', cut(patient.identifierSystem, 64))] : []),
    str(0x0010, 0x0030, 'DA', compactDate(patient.birthDate) ?? ''),
    str(0x0010, 0x0040, 'CS', patient.sex ? SEX_CODE[patient.sex] : ''),
    // Acquisition Context: Type 2, empty when nothing is known about the acquisition context.
    sq(0x0040, 0x0555, []),
    // Waveform
    sq(0x5400, 0x0100, [multiplexGroup]),
  ];

  return encodePart10(
    {
      mediaStorageSopClassUid: sopClassUid,
      mediaStorageSopInstanceUid: sopInstanceUid,
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
      implementationClassUid: implementationClassUid(root),
      implementationVersionName: cut(options.implementationVersionName ?? ECGCAD_IMPLEMENTATION_VERSION_NAME, 16),
    },
    dataset,
  );
}
