/**
 * Format detection from the bytes alone: file names and content types lie, the bytes do not.
 */
import type { EcgFormat } from '@ecgcad/ecg';
import { isBareDicomDataset, isDicomPart10 } from './dicom/part10.js';
import { decodeXmlText, findXmlRoot } from './xml.js';

/** Namespace of HL7 v3 documents (aECG). */
export const HL7_V3_NAMESPACE = 'urn:hl7-org:v3';
/** Namespace of Philips SierraECG / PhilipsECG documents. */
export const PHILIPS_NAMESPACE = 'http://www3.medical.philips.com';

/** How much of an XML document is decoded to find its root element. */
const XML_SNIFF_BYTES = 16 * 1024;

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
