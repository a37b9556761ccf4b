/**
 * A small DICOM encoder: data elements in explicit VR little endian, defined-length sequences and items,
 * and the Part 10 file wrapper (preamble, `DICM`, File Meta Information group). Enough to write waveform objects,
 * and to wrap a data set received over DIMSE as a file; it does no dictionary lookups, so each element states its
 * VR. The one DICOM writer of the project; the reader is ../dicom/.
 */
import { ECGCAD_IMPLEMENTATION_CLASS_UID } from './uid.js';

/** Value representations this encoder writes. */
export type Vr =
  | 'AE'
  | 'CS'
  | 'DA'
  | 'DS'
  | 'DT'
  | 'IS'
  | 'LO'
  | 'PN'
  | 'SH'
  | 'TM'
  | 'UI'
  | 'UT'
  | 'US'
  | 'UL'
  | 'SS'
  | 'OB'
  | 'OW'
  | 'SQ';

/** A sequence item: a list of elements. */
export type DicomItem = DicomElement[];

/** One data element. `tag` is `(group << 16) | element`. */
export type DicomElement =
  | { tag: number; vr: Exclude<Vr, 'US' | 'UL' | 'SS' | 'OB' | 'OW' | 'SQ'>; value: string | readonly string[] }
  | { tag: number; vr: 'US' | 'UL' | 'SS'; value: readonly number[] }
  | { tag: number; vr: 'OB' | 'OW'; value: Uint8Array }
  | { tag: number; vr: 'SQ'; value: readonly DicomItem[] };

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length. */
const LONG_VRS = new Set<Vr>(['OB', 'OW', 'SQ', 'UT']);

const textEncoder = new TextEncoder();

/** Builds a tag from group and element. */
export const tag = (group: number, element: number): number => ((group << 16) | element) >>> 0;

/** Formats a number as a DICOM Decimal String (at most 16 characters). */
export function ds(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError('DS value must be finite');
  let text = String(value);
  if (text.length > 16) text = value.toPrecision(10).replace(/\.?0+(e|$)/, '$1');
  if (text.length > 16) text = value.toExponential(8);
  return text;
}

function stringBytes(vr: Vr, value: string | readonly string[]): Uint8Array {
  const text = typeof value === 'string' ? value : value.join('\\');
  const bytes = textEncoder.encode(text);
  if (bytes.length % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  // UI pads with NUL, every other string VR with a space.
  padded[bytes.length] = vr === 'UI' ? 0 : 0x20;
  return padded;
}

function numberBytes(vr: 'US' | 'UL' | 'SS', values: readonly number[]): Uint8Array {
  const size = vr === 'UL' ? 4 : 2;
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (vr === 'US') view.setUint16(i * size, v, true);
    else if (vr === 'SS') view.setInt16(i * size, v, true);
    else view.setUint32(i * size, v, true);
  });
  return bytes;
}

function header(t: number, vr: Vr, length: number): Uint8Array {
  const long = LONG_VRS.has(vr);
  const bytes = new Uint8Array(long ? 12 : 8);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, t >>> 16, true);
  view.setUint16(2, t & 0xffff, true);
  bytes[4] = vr.charCodeAt(0);
  bytes[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, length, true);
  else {
    if (length > 0xffff) throw new RangeError(`value of ${vr} element too long`);
    view.setUint16(6, length, true);
  }
  return bytes;
}

/** Item tag (FFFE,E000) with a defined length. */
function itemHeader(length: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xfffe, true);
  view.setUint16(2, 0xe000, true);
  view.setUint32(4, length, true);
  return bytes;
}

function pushElement(out: Uint8Array[], element: DicomElement): void {
  let value: Uint8Array[];
  switch (element.vr) {
    case 'SQ':
      value = [];
      for (const item of element.value) {
        const body = encodeElements(item);
        value.push(itemHeader(body.length), body);
      }
      break;
    case 'US':
    case 'UL':
    case 'SS':
      value = [numberBytes(element.vr, element.value)];
      break;
    case 'OB':
    case 'OW':
      if (element.value.length % 2 !== 0) throw new RangeError(`${element.vr} value must have even length`);
      value = [element.value];
      break;
    default:
      value = [stringBytes(element.vr, element.value)];
  }
  const length = value.reduce((sum, part) => sum + part.length, 0);
  out.push(header(element.tag, element.vr, length), ...value);
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Encodes elements (sorted by tag, as the standard requires) in explicit VR little endian. */
export function encodeElements(elements: readonly DicomElement[]): Uint8Array {
  return concatBytes(encodeElementParts(elements));
}

function encodeElementParts(elements: readonly DicomElement[]): Uint8Array[] {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const out: Uint8Array[] = [];
  for (const element of sorted) pushElement(out, element);
  return out;
}

/** ecgcad's Implementation Version Name (SH, at most 16 characters). */
export const ECGCAD_IMPLEMENTATION_VERSION_NAME = 'ECGCAD_0_1';

/** File Meta Information values of a Part 10 file. */
export interface FileMeta {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  /** Default ecgcad's own, {@link ECGCAD_IMPLEMENTATION_CLASS_UID}. */
  implementationClassUid?: string;
  /** Default {@link ECGCAD_IMPLEMENTATION_VERSION_NAME}. */
  implementationVersionName?: string;
  /** Source Application Entity Title (0002,0016): who sent a data set received over the network. */
  sourceAeTitle?: string;
}

/**
 * A complete DICOM Part 10 file: 128-byte zero preamble, `DICM`, the group 0002 meta header (with its group
 * length) in explicit VR little endian, then the data set: elements, encoded in explicit VR little endian, or bytes
 * already encoded in `meta.transferSyntaxUid` (a data set received over DIMSE), copied once, unchanged; such bytes
 * may come as `fragments` (the PDV values of a DIMSE message, in order), joined in the same single copy.
 */
export function encodePart10(
  meta: FileMeta,
  dataset: readonly DicomElement[] | Uint8Array | { fragments: readonly Uint8Array[] },
): Uint8Array {
  const metaElements: DicomElement[] = [
    { tag: tag(0x0002, 0x0001), vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: tag(0x0002, 0x0002), vr: 'UI', value: meta.mediaStorageSopClassUid },
    { tag: tag(0x0002, 0x0003), vr: 'UI', value: meta.mediaStorageSopInstanceUid },
    { tag: tag(0x0002, 0x0010), vr: 'UI', value: meta.transferSyntaxUid },
    { tag: tag(0x0002, 0x0012), vr: 'UI', value: meta.implementationClassUid ?? ECGCAD_IMPLEMENTATION_CLASS_UID },
    { tag: tag(0x0002, 0x0013), vr: 'SH', value: meta.implementationVersionName ?? ECGCAD_IMPLEMENTATION_VERSION_NAME },
  ];
  if (meta.sourceAeTitle) {
    // AE: at most 16 characters of printable ASCII; the calling AE title comes from the network, so it is cut here.
    const ae = meta.sourceAeTitle
      .trim()
      .slice(0, 16)
      .replace(/[^\x20-\x7e]/g, '?');
    metaElements.push({ tag: tag(0x0002, 0x0016), vr: 'AE', value: ae });
  }
  const metaBody = encodeElements(metaElements);
  const groupLength = encodeElements([{ tag: tag(0x0002, 0x0000), vr: 'UL', value: [metaBody.length] }]);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  const body =
    dataset instanceof Uint8Array
      ? [dataset]
      : 'fragments' in dataset
        ? dataset.fragments
        : encodeElementParts(dataset);
  return concatBytes([preamble, groupLength, metaBody, ...body]);
}
