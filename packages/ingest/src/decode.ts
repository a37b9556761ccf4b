/**
 * The one entry point the feeds call: sniff the format from the bytes, decode it, and let only typed errors out.
 */
import { type Ecg, UnsupportedFormatError } from '@ecgcad/ecg';
import { decodeAecg } from './decode-aecg.js';
import { type DecodeMeta, guardDecode } from './decode-common.js';
import { decodeDicom } from './decode-dicom.js';
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
  return guardDecode('unknown', () => {
    const format = detectFormat(bytes);
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
  });
}
