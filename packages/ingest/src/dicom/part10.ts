/**
 * What a DICOM byte stream is: a Part 10 file (`DICM` after the preamble, then the file meta information, group
 * 0002 in explicit VR little endian, read here with the data set reader) or a bare data set as DIMSE carries it, and
 * the encoding of the data set that follows. The one place the decoder, format sniffing and the STOW-RS feed learn
 * this; the writer's side is ../dicom-writer/encode.ts.
 */
import { MalformedInputError } from '@ecgcad/ecg';
import { type DicomEncoding, parseDataset } from './dataset.js';

/** Transfer syntaxes whose data sets the reader parses. */
export const DICOM_TRANSFER_SYNTAXES = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

/** Offset of the `DICM` prefix, after the 128-byte preamble. */
const PREAMBLE_BYTES = 128;
/** Where the meta header begins. */
const META_START = PREAMBLE_BYTES + 4;
/** The first tag after group 0002. */
const AFTER_META_GROUP = 0x00030000;
const EXPLICIT_LITTLE: DicomEncoding = { littleEndian: true, explicitVr: true };

/** True when the bytes are a DICOM Part 10 file: 128-byte preamble then `DICM`. */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return (
    bytes.length >= META_START &&
    bytes[PREAMBLE_BYTES] === 0x44 &&
    bytes[PREAMBLE_BYTES + 1] === 0x49 &&
    bytes[PREAMBLE_BYTES + 2] === 0x43 &&
    bytes[PREAMBLE_BYTES + 3] === 0x4d
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
  if (bareDatasetEncoding(bytes).explicitVr) return true;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = dv.getUint32(4, true);
  return length === 0xffffffff || length <= bytes.length - 8;
}

/** What the meta header of a Part 10 file says (values as written: callers check UIDs they show or echo). */
export interface Part10Meta {
  transferSyntaxUid?: string;
  /** MediaStorageSOPClassUID (0002,0002). */
  sopClassUid?: string;
  /** MediaStorageSOPInstanceUID (0002,0003). */
  sopInstanceUid?: string;
  /** Offset of the data set, just after group 0002. */
  datasetStart: number;
}

/** A meta header with the transfer syntax the data set needs. */
export interface Part10Header extends Part10Meta {
  transferSyntaxUid: string;
}

/**
 * Reads the meta header of Part 10 bytes (check {@link isDicomPart10} first). Walks group 0002 element by element:
 * its group length may be missing or wrong in the wild. Throws MalformedInputError when an element is broken.
 */
export function readPart10Meta(bytes: Uint8Array): Part10Meta {
  const meta = parseDataset(bytes, META_START, bytes.length, EXPLICIT_LITTLE, { stopAtTag: AFTER_META_GROUP });
  const transferSyntaxUid = meta.string(0x00020010);
  const sopClassUid = meta.string(0x00020002);
  const sopInstanceUid = meta.string(0x00020003);
  return {
    ...(transferSyntaxUid ? { transferSyntaxUid } : {}),
    ...(sopClassUid ? { sopClassUid } : {}),
    ...(sopInstanceUid ? { sopInstanceUid } : {}),
    datasetStart: meta.end,
  };
}

/** {@link readPart10Meta}, and a MalformedInputError when the transfer syntax is missing. */
export function readPart10Header(bytes: Uint8Array): Part10Header {
  const meta = readPart10Meta(bytes);
  const { transferSyntaxUid } = meta;
  if (!transferSyntaxUid) throw new MalformedInputError('dicom', 'missing TransferSyntaxUID', '(0002,0010)');
  return { ...meta, transferSyntaxUid };
}

/** The encoding of a data set in one of {@link DICOM_TRANSFER_SYNTAXES}; undefined for any other syntax. */
export function encodingOfTransferSyntax(uid: string): DicomEncoding | undefined {
  switch (uid) {
    case DICOM_TRANSFER_SYNTAXES.implicitLittle:
      return { littleEndian: true, explicitVr: false };
    case DICOM_TRANSFER_SYNTAXES.explicitLittle:
      return { littleEndian: true, explicitVr: true };
    case DICOM_TRANSFER_SYNTAXES.explicitBig:
      return { littleEndian: false, explicitVr: true };
    default:
      return undefined;
  }
}

/**
 * The encoding of a bare data set (no preamble, no meta header, as DIMSE C-STORE carries it), which says nothing
 * of itself: explicit VR when bytes 4-5 of the first element are a VR's two capital letters, else implicit; always
 * little endian (the only byte order DIMSE negotiates here).
 */
export function bareDatasetEncoding(bytes: Uint8Array): DicomEncoding {
  return { littleEndian: true, explicitVr: isUpperAscii(bytes[4]) && isUpperAscii(bytes[5]) };
}

function isUpperAscii(b: number | undefined): boolean {
  return b !== undefined && b >= 0x41 && b <= 0x5a;
}
