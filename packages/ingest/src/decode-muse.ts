/**
 * GE MUSE `RestingECG` XML decoder. MUSE stores the rhythm as base64 little-endian int16 per lead, usually only
 * the eight independent leads (I, II, V1-V6); III, aVR, aVL and aVF are left to prepare() to derive.
 * The DOCTYPE (restecg.dtd) is never fetched or expanded: entity processing is off.
 */
import {
  type Ecg,
  type EcgPatient,
  type LeadName,
  leadFromLabel,
  MalformedInputError,
  microvoltsPer,
} from '@ecgcad/ecg';
import { type DecodeMeta, guardDecode, shownValue, sourceFor } from './decode-common.js';
import { checkInputSize, checkSignalShape, type DecodeLimits, resolveLimits } from './limits.js';
import { child, children, createSafeXmlParser, decodeXmlText, text, type XmlNode } from './xml.js';

const FORMAT = 'ge-muse';

/**
 * Decodes a GE MUSE RestingECG document: the `Rhythm` waveform, rate = SampleBase * 10^SampleExponent,
 * value = raw * LeadAmplitudeUnitsPerBit in LeadAmplitudeUnits (MICROVOLTS unless stated). MUSE files carry no
 * instance UID, so id = `sha256:<hex>` of the bytes.
 */
export function decodeMuse(bytes: Uint8Array, meta: DecodeMeta, limits?: Partial<DecodeLimits>): Ecg {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  return guardDecode(FORMAT, () => decodeMuseUnguarded(bytes, meta, lim));
}

function decodeMuseUnguarded(bytes: Uint8Array, meta: DecodeMeta, limits: DecodeLimits): Ecg {
  const doc = createSafeXmlParser({ maxDepth: limits.maxXmlDepth }).parse(decodeXmlText(bytes)) as XmlNode;
  const root = child(doc, 'RestingECG');
  if (!root) throw new MalformedInputError(FORMAT, 'root element is not RestingECG');
  const rhythm = children(root, 'Waveform').find((w) => text(child(w, 'WaveformType'))?.toLowerCase() === 'rhythm');
  if (!rhythm) throw new MalformedInputError(FORMAT, 'no Rhythm waveform', 'RestingECG/Waveform');

  const base = Number(text(child(rhythm, 'SampleBase')));
  const exponent = Number(text(child(rhythm, 'SampleExponent')) ?? '0');
  const sampleRateHz = base * 10 ** exponent;
  if (!Number.isFinite(sampleRateHz)) {
    throw new MalformedInputError(FORMAT, 'SampleBase / SampleExponent is not a number', 'Waveform/SampleBase');
  }
  const leadData = children(rhythm, 'LeadData');
  checkSignalShape({ sampleRateHz, channels: leadData.length, samples: 0 }, limits);
  const maxSamples = Math.floor(limits.maxDurationS * sampleRateHz);

  const decoded: Array<{ lead: LeadName; samples: Float32Array }> = [];
  for (const ld of leadData) {
    const lead = leadFromLabel(text(child(ld, 'LeadID')) ?? '');
    if (!lead || decoded.some((d) => d.lead === lead)) continue;
    decoded.push({ lead, samples: readLead(ld, lead, maxSamples) });
  }
  if (decoded.length === 0) throw new MalformedInputError(FORMAT, 'no standard leads in the Rhythm waveform');
  const n = Math.min(...decoded.map((d) => d.samples.length));
  if (n === 0) throw new MalformedInputError(FORMAT, 'Rhythm leads hold no samples', 'LeadData/WaveFormData');
  const leads: Partial<Record<LeadName, Float32Array>> = {};
  for (const { lead, samples } of decoded) leads[lead] = samples.length === n ? samples : samples.slice(0, n);

  const source = sourceFor(bytes, FORMAT, meta);
  const ecg: Ecg = {
    id: `sha256:${source.sha256}`,
    source,
    patient: patientOf(child(root, 'PatientDemographics')),
    device: {},
    sampleRateHz,
    leads,
  };
  const test = child(root, 'TestDemographics');
  const acquiredAt = museDateTime(text(child(test, 'AcquisitionDate')), text(child(test, 'AcquisitionTime')));
  if (acquiredAt) ecg.acquiredAt = acquiredAt;
  const model = text(child(test, 'AcquisitionDevice'));
  if (model) ecg.device.model = model;
  return ecg;
}

function readLead(ld: XmlNode, lead: LeadName, maxSamples: number): Float32Array {
  const perBit = Number(text(child(ld, 'LeadAmplitudeUnitsPerBit')) ?? '1');
  const unit = text(child(ld, 'LeadAmplitudeUnits')) ?? 'MICROVOLTS';
  const factor = microvoltsPer(unit);
  if (factor === undefined)
    throw new MalformedInputError(FORMAT, `lead ${lead} units "${shownValue(unit)}" are not a voltage`);
  if (!Number.isFinite(perBit))
    throw new MalformedInputError(FORMAT, `lead ${lead} LeadAmplitudeUnitsPerBit is not a number`);
  const raw = Buffer.from(text(child(ld, 'WaveFormData')) ?? '', 'base64');
  const available = raw.length >> 1;
  const declared = Number(text(child(ld, 'LeadSampleCountTotal')) ?? available);
  if (!Number.isInteger(declared) || declared < 0 || declared > available) {
    throw new MalformedInputError(FORMAT, `lead ${lead} declares ${declared} samples but holds ${available}`);
  }
  if (declared > maxSamples) throw new MalformedInputError(FORMAT, `lead ${lead} is longer than the duration limit`);
  const scale = perBit * factor;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(declared);
  for (let i = 0; i < declared; i++) out[i] = dv.getInt16(i * 2, true) * scale;
  return out;
}

function patientOf(demographics: XmlNode | undefined): EcgPatient {
  const patient: EcgPatient = {};
  if (!demographics) return patient;
  const identifier = text(child(demographics, 'PatientID'));
  const family = text(child(demographics, 'PatientLastName'));
  const given = text(child(demographics, 'PatientFirstName'));
  const birth = /^(\d{2})-(\d{2})-(\d{4})$/.exec(text(child(demographics, 'DateofBirth')) ?? '');
  const gender = text(child(demographics, 'Gender'))?.toUpperCase();
  if (identifier) patient.identifier = identifier;
  if (family || given) patient.name = [given, family].filter(Boolean).join(' ');
  if (birth) patient.birthDate = `${birth[3]}-${birth[1]}-${birth[2]}`;
  if (gender) patient.sex = gender === 'MALE' ? 'male' : gender === 'FEMALE' ? 'female' : 'unknown';
  return patient;
}

/** MUSE dates are MM-DD-YYYY, times HH:MM:SS (device local time). */
function museDateTime(date: string | undefined, time: string | undefined): string | undefined {
  const d = /^(\d{2})-(\d{2})-(\d{4})$/.exec(date ?? '');
  if (!d) return undefined;
  const t = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time ?? '');
  return t ? `${d[3]}-${d[1]}-${d[2]}T${t[1]}:${t[2]}:${t[3]}` : `${d[3]}-${d[1]}-${d[2]}`;
}
