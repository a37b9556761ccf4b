/**
 * The one entry point the feeds call: sniff the format from the bytes, decode it, and let only typed errors out.
 */
import { type Ecg, UnsupportedFormatError } from '@ecgcad/ecg';
import { decodeAecg } from './decode-aecg.js';
import { type DecodeMeta, guardDecode } from './decode-common.js';
import { checkDicom, decodeDicom } from './decode-dicom.js';
import { decodeMuse } from './decode-muse.js';
import { refusePhilips } from './decode-philips.js';
import { checkInputSize, type DecodeLimits, resolveLimits } from './limits.js';
import { detectFormat } from './sniff.js';

/**
 * Decodes an ECG in any supported format. Synchronous and pure apart from hashing.
 * Throws UnsupportedFormatError (unknown bytes, Philips XLI, compressed DICOM, a non-ECG SOP class),
 * MalformedInputError (the bytes break their format's rules) or LimitExceededError; never anything else.
 */
export function decodeEcg(bytes: Uint8Array, meta: DecodeMeta, limits?: Partial<DecodeLimits>): Ecg {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  return guardDecode('unknown', () => decodeFormat(detectFormat(bytes), bytes, meta, lim));
}

/** What {@link checkOrDecodeEcg} gives: a DICOM object's identity (checked), or any other format decoded. */
export type CheckedEcg = { checked: Pick<Ecg, 'id' | 'source'>; ecg?: undefined } | { ecg: Ecg; checked?: undefined };

/**
 * For an intake that stores a DICOM object as received: the same refusals as decodeEcg, but a DICOM object is only
 * checked (checkDicom: its id and source, no leads made); any other format is decoded in full.
 */
export function checkOrDecodeEcg(bytes: Uint8Array, meta: DecodeMeta, limits?: Partial<DecodeLimits>): CheckedEcg {
  const lim = resolveLimits(limits);
  checkInputSize(bytes.length, lim);
  return guardDecode('unknown', () => {
    const format = detectFormat(bytes);
    if (format === 'dicom') return { checked: checkDicom(bytes, meta, lim) };
    return { ecg: decodeFormat(format, bytes, meta, lim) };
  });
}

function decodeFormat(
  format: ReturnType<typeof detectFormat>,
  bytes: Uint8Array,
  meta: DecodeMeta,
  lim: DecodeLimits,
): Ecg {
  switch (format) {
    case 'dicom':
      return decodeDicom(bytes, meta, lim);
    case 'aecg':
      return decodeAecg(bytes, meta, lim);
    case 'ge-muse':
      return decodeMuse(bytes, meta, lim);
    case 'philips-sierra':
      return refusePhilips(bytes);
    default:
      throw new UnsupportedFormatError(
        'unknown',
        'not a recognised ECG format (expected DICOM waveform, HL7 aECG, GE MUSE or Philips XML)',
      );
  }
}
