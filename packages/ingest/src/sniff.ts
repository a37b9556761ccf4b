/**
 * Format detection from the bytes alone: file names and content types lie, the bytes do not.
 */
import type { EcgFormat } from '@ecgcad/ecg';
import { decodeXmlText, findXmlRoot } from './xml.js';

/** Namespace of HL7 v3 documents (aECG). */
export const HL7_V3_NAMESPACE = 'urn:hl7-org:v3';
/** Namespace of Philips SierraECG / PhilipsECG documents. */
export const PHILIPS_NAMESPACE = 'http://www3.medical.philips.com';

/** How much of an XML document is decoded to find its root element. */
const XML_SNIFF_BYTES = 16 * 1024;

/** True when the bytes are a DICOM Part 10 file: 128-byte preamble then `DICM`. */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

/**
 * True when the bytes look like a bare DICOM data set (no preamble, no meta header), as a DIMSE C-STORE carries
 * it: the first element is in group 0008 (little endian), with either an explicit VR or a plausible implicit
 * 32-bit length.
 */
export function isBareDicomDataset(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  if (bytes[0] !== 0x08 || bytes[1] !== 0x00) return false;
  if (isUpperAscii(bytes[4]) && isUpperAscii(bytes[5])) return true;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = dv.getUint32(4, true);
  return length === 0xffffffff || length <= bytes.length - 8;
}

function isUpperAscii(b: number | undefined): boolean {
  return b !== undefined && b >= 0x41 && b <= 0x5a;
}

/**
 * Detects the ECG format of `bytes`: DICOM (Part 10 or a bare data set), HL7 aECG (root AnnotatedECG in
 * urn:hl7-org:v3), GE MUSE (root RestingECG), Philips (root restingecgdata). Anything else is `unknown`.
 * XML may start with a UTF-8 or UTF-16 byte order mark; comments, processing instructions and a DOCTYPE before
 * the root are skipped.
 */
export function detectFormat(bytes: Uint8Array): EcgFormat | 'unknown' {
  if (isDicomPart10(bytes) || isBareDicomDataset(bytes)) return 'dicom';
  const root = findXmlRoot(decodeXmlText(bytes.subarray(0, XML_SNIFF_BYTES)));
  if (!root) return 'unknown';
  if (root.localName === 'AnnotatedECG' && root.namespace === HL7_V3_NAMESPACE) return 'aecg';
  if (root.localName === 'RestingECG') return 'ge-muse';
  if (root.localName === 'restingecgdata' && (root.namespace === PHILIPS_NAMESPACE || root.namespace === '')) {
    return 'philips-sierra';
  }
  return 'unknown';
}
