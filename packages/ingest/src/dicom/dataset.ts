/**
 * A small, strict DICOM data set reader: element headers only, values read on demand. Implicit VR little endian,
 * explicit VR little and big endian; nested sequences of defined or undefined length. It never inflates,
 * never allocates in proportion to a declared length, and fails with MalformedInputError on any element that
 * runs past its container, so hostile bytes cannot make it read out of bounds or loop.
 * Kept rather than dicom-parser (which the tests use as the independent reader): it parses the Mortara sample in
 * about 0.1 ms against dicom-parser's 0.43 ms (commit 7339baf, docs/PERFORMANCE.md).
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

/** One element: where its value lies in the input. */
export interface DicomElement {
  tag: number;
  /** VR from the file (explicit) or from the reader's small dictionary (implicit; `UN` when unknown). */
  vr: string;
  /** Offset of the value in the input bytes. */
  offset: number;
  /** Length of the value in bytes (for undefined-length sequences, the bytes up to the delimiter). */
  length: number;
  /** Items of a sequence, once DicomDataset.items() has read them. */
  items?: DicomDataset[];
}

/**
 * A sequence whose items are read on first use: waveform files carry large annotation sequences the decoder never
 * looks at, and building their elements cost more than the rest of the data set together.
 */
interface PendingSequence {
  reader: Reader;
  /** Nesting depth of the sequence itself. */
  depth: number;
  undefinedLength: boolean;
  /** A guessed sequence (implicit VR, unknown tag): when its items do not parse, it is data after all. */
  guessed: boolean;
}

/** Elements of one data set (the top level or one sequence item), by tag (group << 16 | element). */
export class DicomDataset {
  readonly elements = new Map<number, DicomElement>();
  /** Offset just after the last element read (where a `stopAtTag` parse stopped). */
  end = 0;
  /** Sequences not read yet, by tag. */
  readonly #pending = new Map<number, PendingSequence>();
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly encoding: DicomEncoding,
  ) {}

  get(tag: number): DicomElement | undefined {
    return this.elements.get(tag);
  }

  /**
   * Items of a sequence element (empty when absent or not a sequence). Items are read on first use, so a
   * malformed item surfaces here, as MalformedInputError, rather than when the data set was parsed.
   */
  items(tag: number): DicomDataset[] {
    const el = this.elements.get(tag);
    if (!el) return [];
    const pending = this.#pending.get(tag);
    if (pending) {
      const { reader, depth, undefinedLength, guessed } = pending;
      const end = undefinedLength ? el.offset + el.length + 8 : el.offset + el.length;
      const items: DicomDataset[] = [];
      try {
        reader.readSequence(tag, items, el.offset, end, depth, undefinedLength);
      } catch (err) {
        // A broken sequence stays pending (it throws again); a guessed one that does not parse was data.
        if (!guessed || !(err instanceof MalformedInputError)) throw err;
        this.#pending.delete(tag);
        return [];
      }
      this.#pending.delete(tag);
      el.items = items;
      if (guessed) el.vr = 'SQ';
    }
    return el.items ?? [];
  }

  /** @internal Records a sequence to be read on first use (the reader's side of items()). */
  defer(el: DicomElement, pending: PendingSequence): void {
    this.#pending.set(el.tag, pending);
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

/** A VR's two characters as one number, as they lie in an explicit VR header (`'SQ'` -> 0x5351). */
const vrCode = (vr: string) => (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
const SQ = vrCode('SQ');
const UN = vrCode('UN');
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR: 1 at their code (a table, read per element). */
const LONG_VRS = new Uint8Array(0x10000);
for (const vr of ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'])
  LONG_VRS[vrCode(vr)] = 1;
/** The standard VRs' names by code, so that reading a header allocates no string. */
const VR_NAMES = new Map(
  [
    ...['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM'],
    ...['UI', 'UL', 'US', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'],
  ].map((vr) => [vrCode(vr), vr]),
);
const vrName = (code: number) => VR_NAMES.get(code) ?? String.fromCharCode(code >> 8, code & 0xff);

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

/** Options of {@link parseDataset}. */
export interface ParseDatasetOptions {
  /**
   * Stop before the first top-level element whose tag is at or above this one (elements come in tag order): reads
   * the group 0002 meta header alone, or a data set only as far as the identifiers a caller needs.
   */
  stopAtTag?: number;
}

/**
 * Parses a data set from `start` to `end` (exclusive) of `bytes`. Every element header is checked now; the items
 * of a sequence are read when DicomDataset.items() first asks for them. An undefined-length sequence is walked
 * now, with every check, to find where it ends; a defined-length one is only bounds-checked.
 */
export function parseDataset(
  bytes: Uint8Array,
  start: number,
  end: number,
  encoding: DicomEncoding,
  options: ParseDatasetOptions = {},
): DicomDataset {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new Reader(bytes, view, encoding);
  const ds = new DicomDataset(bytes, view, encoding);
  ds.end = reader.readElements(ds, start, end, 0, false, options.stopAtTag);
  return ds;
}

class Reader {
  private readonly littleEndian: boolean;
  private readonly explicitVr: boolean;
  /** The reader for implicit VR little endian, which undefined-length UN sequences use (PS3.5 6.2.2). */
  private implicitReader: Reader | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly encoding: DicomEncoding,
  ) {
    this.littleEndian = encoding.littleEndian;
    this.explicitVr = encoding.explicitVr;
  }

  private u16(at: number): number {
    return this.view.getUint16(at, this.littleEndian);
  }
  private u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }
  private tagAt(at: number): number {
    return ((this.u16(at) << 16) | this.u16(at + 2)) >>> 0;
  }

  /** The reader for the items of an undefined-length sequence with this VR. */
  private readerFor(vr: number): Reader {
    if (vr !== UN || !this.explicitVr) return this;
    this.implicitReader ??= new Reader(this.bytes, this.view, { littleEndian: true, explicitVr: false });
    return this.implicitReader;
  }

  /**
   * Reads elements from `pos` until `end`, or, for an undefined-length item, until an item delimiter: into `ds`,
   * or, without one, only checking them (the walk that finds where an undefined-length sequence ends).
   * Returns the position after the last element (after the delimiter, when one ended the item).
   */
  readElements(
    ds: DicomDataset | undefined,
    pos: number,
    end: number,
    depth: number,
    untilDelimiter: boolean,
    stopAtTag = 0x100000000,
  ): number {
    const { bytes, explicitVr } = this;
    while (pos < end) {
      // The tag alone decides a stop: what follows may be in another encoding (the data set after the meta header).
      if (pos + 8 > end) {
        if (pos + 4 <= end && this.tagAt(pos) >= stopAtTag) return pos;
        throw malformed('element header runs past the end', pos);
      }
      const tag = this.tagAt(pos);
      if (tag >= stopAtTag) return pos;
      if (tag === ITEM_DELIMITER) {
        if (!untilDelimiter) throw malformed('item delimiter outside an undefined-length item', pos);
        return pos + 8;
      }
      if (tag === SEQUENCE_DELIMITER || tag === ITEM) throw malformed('sequence delimiter or item out of place', pos);
      let vr: number;
      let length: number;
      let valueAt: number;
      if (explicitVr) {
        vr = ((bytes[pos + 4] as number) << 8) | (bytes[pos + 5] as number);
        if (LONG_VRS[vr] === 1) {
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
        vr = KNOWN_SEQUENCES.has(tag) ? SQ : UN;
      }
      let pending: PendingSequence | undefined;
      let valueLength = length;
      if (length === UNDEFINED_LENGTH) {
        if (vr === SQ || vr === UN) {
          // An undefined-length UN is an implicit VR little endian sequence (PS3.5 6.2.2). Its end is only
          // found by walking its items, so the walk checks them all now.
          const reader = this.readerFor(vr);
          const after = reader.readSequence(tag, undefined, valueAt, end, depth + 1, true);
          valueLength = after - 8 - valueAt;
          pos = after;
          if (ds) pending = { reader, depth: depth + 1, undefinedLength: true, guessed: false };
        } else {
          // Encapsulated data (e.g. OB fragments): skip items up to the sequence delimiter.
          pos = this.skipFragments(valueAt, end);
          valueLength = 0;
        }
      } else {
        if (valueAt + length > end) throw malformed(`element ${tagLabel(tag)} runs past its container`, pos);
        pos = valueAt + length;
        if (ds) {
          if (vr === SQ) {
            pending = { reader: this, depth: depth + 1, undefinedLength: false, guessed: false };
          } else if (!explicitVr && length >= 8 && !NEVER_SEQUENCES.has(tag) && this.tagAt(valueAt) === ITEM) {
            // Implicit VR: a value that starts with an item tag is most likely a sequence the dictionary lacks.
            pending = { reader: this, depth: depth + 1, undefinedLength: false, guessed: true };
          }
        }
      }
      // The first occurrence wins; a repeated tag is a broken file, but not one worth refusing.
      if (ds && !ds.elements.has(tag)) {
        const el: DicomElement = { tag, vr: vrName(vr), offset: valueAt, length: valueLength };
        ds.elements.set(tag, el);
        if (pending) ds.defer(el, pending);
      }
    }
    if (untilDelimiter) throw malformed('undefined-length item has no delimiter', pos);
    return pos;
  }

  /**
   * Reads the items of sequence `tag` into `items`, or, without it, only checks them. Returns the position after
   * the sequence (after the delimiter when undefined-length).
   */
  readSequence(
    tag: number,
    items: DicomDataset[] | undefined,
    pos: number,
    end: number,
    depth: number,
    undefinedLength: boolean,
  ): number {
    if (depth > MAX_DEPTH) throw malformed('sequences nested too deep', pos);
    while (pos < end) {
      if (pos + 8 > end) throw malformed('item header runs past the end', pos);
      const itemTag = this.tagAt(pos);
      const length = this.u32(pos + 4);
      if (itemTag === SEQUENCE_DELIMITER) {
        if (!undefinedLength) throw malformed('sequence delimiter in a defined-length sequence', pos);
        return pos + 8;
      }
      if (itemTag !== ITEM) throw malformed(`expected an item in sequence ${tagLabel(tag)}`, pos);
      let item: DicomDataset | undefined;
      if (items) {
        item = new DicomDataset(this.bytes, this.view, this.encoding);
        items.push(item);
      }
      if (length === UNDEFINED_LENGTH) {
        pos = this.readElements(item, pos + 8, end, depth, true);
      } else {
        const itemEnd = pos + 8 + length;
        if (itemEnd > end) throw malformed('item runs past its sequence', pos);
        this.readElements(item, pos + 8, itemEnd, depth, false);
        pos = itemEnd;
      }
    }
    if (undefinedLength) throw malformed(`sequence ${tagLabel(tag)} has no delimiter`, pos);
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
