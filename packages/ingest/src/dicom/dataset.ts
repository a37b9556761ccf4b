/**
 * A small, strict DICOM data set reader: element headers only, values read on demand. Implicit VR little endian,
 * explicit VR little and big endian; nested sequences of defined or undefined length. It never inflates,
 * never allocates in proportion to a declared length, and fails with MalformedInputError on any element that
 * runs past its container, so hostile bytes cannot make it read out of bounds or loop.
 */
import { MalformedInputError } from '@ecgcad/ecg';

const FORMAT = 'dicom';

/** How the data set is encoded. */
export interface DicomEncoding {
  littleEndian: boolean;
  explicitVr: boolean;
}

/** What string() needs of a TextDecoder. */
export interface TextDecoderLike {
  decode(input: Uint8Array): string;
}

/** One element: where its value lies in the input. Sequence elements carry their items. */
export interface DicomElement {
  tag: number;
  /** VR from the file (explicit) or from the reader's small dictionary (implicit; `UN` when unknown). */
  vr: string;
  /** Offset of the value in the input bytes. */
  offset: number;
  /** Length of the value in bytes (for undefined-length sequences, the bytes up to the delimiter). */
  length: number;
  items?: DicomDataset[];
}

/** Elements of one data set (the top level or one sequence item), by tag (group << 16 | element). */
export class DicomDataset {
  readonly elements = new Map<number, DicomElement>();
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly encoding: DicomEncoding,
  ) {}

  get(tag: number): DicomElement | undefined {
    return this.elements.get(tag);
  }

  /** Items of a sequence element (empty when absent or not a sequence). */
  items(tag: number): DicomDataset[] {
    return this.elements.get(tag)?.items ?? [];
  }

  /** A string value with trailing spaces / NULs and surrounding blanks removed; undefined when absent or empty. */
  string(tag: number, decoder: TextDecoderLike = LATIN1): string | undefined {
    const el = this.elements.get(tag);
    if (!el || el.length === 0) return undefined;
    const raw = decoder.decode(this.bytes.subarray(el.offset, el.offset + el.length));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: DICOM pads UIs with NUL
    const value = raw.replace(/\u0000/g, '').trim();
    return value === '' ? undefined : value;
  }

  /** A US value (2 bytes); undefined when absent; MalformedInputError when too short. */
  uint16(tag: number): number | undefined {
    const el = this.elements.get(tag);
    if (!el || el.length === 0) return undefined;
    if (el.length < 2) throw new MalformedInputError(FORMAT, 'value shorter than 2 bytes', tagLabel(tag));
    return this.view.getUint16(el.offset, this.encoding.littleEndian);
  }

  /** A UL value (4 bytes); undefined when absent; MalformedInputError when too short. */
  uint32(tag: number): number | undefined {
    const el = this.elements.get(tag);
    if (!el || el.length === 0) return undefined;
    if (el.length < 4) throw new MalformedInputError(FORMAT, 'value shorter than 4 bytes', tagLabel(tag));
    return this.view.getUint32(el.offset, this.encoding.littleEndian);
  }

  /** The first value of a DS / IS element as a finite number; undefined when absent; MalformedInputError otherwise. */
  decimal(tag: number): number | undefined {
    const s = this.string(tag);
    if (s === undefined) return undefined;
    const n = Number(s.split('\\')[0]);
    if (!Number.isFinite(n)) throw new MalformedInputError(FORMAT, 'value is not a decimal number', tagLabel(tag));
    return n;
  }
}

const LATIN1 = new TextDecoder('latin1');

/** `(GGGG,EEEE)` for messages. */
export function tagLabel(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const UNDEFINED_LENGTH = 0xffffffff;
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Sequence tags the waveform decoder needs, for implicit VR where the file does not say which elements are
 * sequences. Other undefined-length elements are parsed as sequences too; other defined-length ones are not.
 */
const KNOWN_SEQUENCES = new Set([
  0x54000100, // WaveformSequence
  0x003a0200, // ChannelDefinitionSequence
  0x003a0208, // ChannelSourceSequence
  0x003a0211, // ChannelSensitivityUnitsSequence
  0x0040b020, // WaveformAnnotationSequence
  0x00400555, // AcquisitionContextSequence
]);

/** Elements that are never sequences, whatever their first bytes look like. */
const NEVER_SEQUENCES = new Set([0x54001010, 0x5400100a]);

/** Deepest sequence nesting accepted (waveform objects nest 3-4 deep). */
const MAX_DEPTH = 16;

/** Parses a data set from `start` to `end` (exclusive) of `bytes`. */
export function parseDataset(bytes: Uint8Array, start: number, end: number, encoding: DicomEncoding): DicomDataset {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new Reader(bytes, view, encoding);
  const ds = new DicomDataset(bytes, view, encoding);
  reader.readElements(ds, start, end, 0, false);
  return ds;
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly encoding: DicomEncoding,
  ) {}

  private u16(at: number): number {
    return this.view.getUint16(at, this.encoding.littleEndian);
  }
  private u32(at: number): number {
    return this.view.getUint32(at, this.encoding.littleEndian);
  }
  private tagAt(at: number): number {
    return ((this.u16(at) << 16) | this.u16(at + 2)) >>> 0;
  }

  /**
   * Reads elements into `ds` from `pos` until `end`, or, for an undefined-length item, until an item delimiter.
   * Returns the position after the last element (after the delimiter, when one ended the item).
   */
  readElements(ds: DicomDataset, pos: number, end: number, depth: number, untilDelimiter: boolean): number {
    const { explicitVr } = this.encoding;
    while (pos < end) {
      if (pos + 8 > end) throw malformed('element header runs past the end', pos);
      const tag = this.tagAt(pos);
      if (tag === ITEM_DELIMITER) {
        if (!untilDelimiter) throw malformed('item delimiter outside an undefined-length item', pos);
        return pos + 8;
      }
      if (tag === SEQUENCE_DELIMITER || tag === ITEM) throw malformed('sequence delimiter or item out of place', pos);
      let vr: string;
      let length: number;
      let valueAt: number;
      if (explicitVr) {
        vr = String.fromCharCode(this.bytes[pos + 4] as number, this.bytes[pos + 5] as number);
        if (LONG_VRS.has(vr)) {
          if (pos + 12 > end) throw malformed('element header runs past the end', pos);
          length = this.u32(pos + 8);
          valueAt = pos + 12;
        } else {
          length = this.u16(pos + 6);
          valueAt = pos + 8;
        }
      } else {
        length = this.u32(pos + 4);
        valueAt = pos + 8;
        vr = KNOWN_SEQUENCES.has(tag) ? 'SQ' : 'UN';
      }
      const el: DicomElement = { tag, vr, offset: valueAt, length };
      if (length === UNDEFINED_LENGTH) {
        if (vr === 'SQ' || vr === 'UN') {
          // An undefined-length UN is an implicit VR little endian sequence (PS3.5 6.2.2).
          const encoding = vr === 'UN' && explicitVr ? { littleEndian: true, explicitVr: false } : this.encoding;
          const reader = encoding === this.encoding ? this : new Reader(this.bytes, this.view, encoding);
          const after = reader.readSequence(el, valueAt, end, depth + 1, true);
          el.length = after - 8 - valueAt;
          pos = after;
        } else {
          // Encapsulated data (e.g. OB fragments): skip items up to the sequence delimiter.
          pos = this.skipFragments(valueAt, end);
          el.length = 0;
        }
      } else {
        if (valueAt + length > end) throw malformed(`element ${tagLabel(tag)} runs past its container`, pos);
        if (vr === 'SQ') {
          this.readSequence(el, valueAt, valueAt + length, depth + 1, false);
        } else if (!explicitVr && length >= 8 && !NEVER_SEQUENCES.has(tag) && this.tagAt(valueAt) === ITEM) {
          // Implicit VR: a value that starts with an item tag is most likely a sequence the dictionary lacks.
          // If it does not parse as one, it was data after all.
          try {
            this.readSequence(el, valueAt, valueAt + length, depth + 1, false);
            el.vr = 'SQ';
          } catch (err) {
            if (!(err instanceof MalformedInputError)) throw err;
            el.items = undefined;
          }
        }
        pos = valueAt + length;
      }
      // The first occurrence wins; a repeated tag is a broken file, but not one worth refusing.
      if (!ds.elements.has(tag)) ds.elements.set(tag, el);
    }
    if (untilDelimiter) throw malformed('undefined-length item has no delimiter', pos);
    return pos;
  }

  /** Reads the items of a sequence; returns the position after it (after the delimiter when undefined-length). */
  readSequence(el: DicomElement, pos: number, end: number, depth: number, undefinedLength: boolean): number {
    if (depth > MAX_DEPTH) throw malformed('sequences nested too deep', pos);
    const items: DicomDataset[] = [];
    el.items = items;
    while (pos < end) {
      if (pos + 8 > end) throw malformed('item header runs past the end', pos);
      const tag = this.tagAt(pos);
      const length = this.u32(pos + 4);
      if (tag === SEQUENCE_DELIMITER) {
        if (!undefinedLength) throw malformed('sequence delimiter in a defined-length sequence', pos);
        return pos + 8;
      }
      if (tag !== ITEM) throw malformed(`expected an item in sequence ${tagLabel(el.tag)}`, pos);
      const item = new DicomDataset(this.bytes, this.view, this.encoding);
      items.push(item);
      if (length === UNDEFINED_LENGTH) {
        pos = this.readElements(item, pos + 8, end, depth, true);
      } else {
        const itemEnd = pos + 8 + length;
        if (itemEnd > end) throw malformed('item runs past its sequence', pos);
        this.readElements(item, pos + 8, itemEnd, depth, false);
        pos = itemEnd;
      }
    }
    if (undefinedLength) throw malformed(`sequence ${tagLabel(el.tag)} has no delimiter`, pos);
    return pos;
  }

  private skipFragments(pos: number, end: number): number {
    while (pos + 8 <= end) {
      const tag = this.tagAt(pos);
      const length = this.u32(pos + 4);
      if (tag === SEQUENCE_DELIMITER) return pos + 8;
      if (tag !== ITEM || length === UNDEFINED_LENGTH || pos + 8 + length > end) {
        throw malformed('broken encapsulated fragment', pos);
      }
      pos += 8 + length;
    }
    throw malformed('encapsulated data has no delimiter', pos);
  }
}

function malformed(message: string, offset: number): MalformedInputError {
  return new MalformedInputError(FORMAT, message, `byte ${offset}`);
}

/** What a Part 10 meta header says, and where the data set begins. */
export interface Part10Header {
  transferSyntaxUid: string;
  datasetStart: number;
}

/**
 * Reads the Part 10 file meta information (group 0002, always explicit VR little endian) after the preamble.
 * Returns the transfer syntax and the offset of the data set.
 */
export function readPart10Header(bytes: Uint8Array): Part10Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const encoding = { littleEndian: true, explicitVr: true };
  let pos = 132;
  // Walk group 0002 element by element (the group length may be missing or wrong in the wild).
  let end = pos;
  while (end + 8 <= bytes.length && view.getUint16(end, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[end + 4] as number, bytes[end + 5] as number);
    const long = LONG_VRS.has(vr);
    if (long && end + 12 > bytes.length) break;
    const length = long ? view.getUint32(end + 8, true) : view.getUint16(end + 6, true);
    const next = end + (long ? 12 : 8) + length;
    if (length === UNDEFINED_LENGTH || next > bytes.length) throw malformed('broken file meta information', end);
    end = next;
  }
  const meta = parseDataset(bytes, pos, end, encoding);
  const transferSyntaxUid = meta.string(0x00020010);
  if (!transferSyntaxUid) throw new MalformedInputError(FORMAT, 'missing TransferSyntaxUID', '(0002,0010)');
  pos = end;
  return { transferSyntaxUid, datasetStart: pos };
}
