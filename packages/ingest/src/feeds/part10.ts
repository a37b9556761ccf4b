/**
 * The DICOM Part 10 file meta header (group 0002, always Explicit VR Little Endian): written in front of a dataset
 * received over the network, so the decoder and the rejected store get a real file, and read from files received
 * over HTTP, to name the instance in a STOW-RS response even when it cannot be decoded.
 */

/** ecgcad's Implementation Class UID (a UUID-derived UID under 2.25, PS3.5 B.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.22090574261030432335772584590302068221';
/** Implementation Version Name (SH, <= 16 chars). */
export const IMPLEMENTATION_VERSION_NAME = 'ECGCAD_0_1';

/** What the meta header says about its dataset. */
export interface Part10Meta {
  sopClassUid?: string;
  sopInstanceUid?: string;
  transferSyntaxUid?: string;
}

const MAX_META_BYTES = 64 * 1024;

/**
 * Wraps a dataset (already encoded in `transferSyntaxUid`) as a Part 10 file: 128-byte preamble, `DICM`, meta header,
 * dataset. The dataset bytes are copied once, unchanged.
 */
export function writePart10(
  dataset: Uint8Array,
  meta: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; sourceAeTitle?: string },
): Uint8Array {
  const elements: Uint8Array[] = [
    element(0x0001, 'OB', new Uint8Array([0, 1])),
    element(0x0002, 'UI', uid(meta.sopClassUid)),
    element(0x0003, 'UI', uid(meta.sopInstanceUid)),
    element(0x0010, 'UI', uid(meta.transferSyntaxUid)),
    element(0x0012, 'UI', uid(IMPLEMENTATION_CLASS_UID)),
    element(0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME)),
  ];
  if (meta.sourceAeTitle) elements.push(element(0x0016, 'AE', text(meta.sourceAeTitle.trim().slice(0, 16))));
  const groupLength = elements.reduce((n, e) => n + e.byteLength, 0);
  const lengthElement = element(0x0000, 'UL', u32(groupLength));
  const out = new Uint8Array(132 + lengthElement.byteLength + groupLength + dataset.byteLength);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  let at = 132;
  for (const e of [lengthElement, ...elements]) {
    out.set(e, at);
    at += e.byteLength;
  }
  out.set(dataset, at);
  return out;
}

/**
 * Reads the meta header of a Part 10 file. Returns undefined when the bytes are not Part 10 (no `DICM` at 128) or the
 * header is broken; never throws on hostile bytes.
 */
export function readPart10Meta(bytes: Uint8Array): Part10Meta | undefined {
  if (!isPart10(bytes)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const meta: Part10Meta = {};
  let at = 132;
  const end = Math.min(bytes.byteLength, 132 + MAX_META_BYTES);
  while (at + 8 <= end) {
    const group = view.getUint16(at, true);
    if (group !== 0x0002) break;
    const elementNo = view.getUint16(at + 2, true);
    const vr = String.fromCharCode(bytes[at + 4] ?? 0, bytes[at + 5] ?? 0);
    let length: number;
    let valueAt: number;
    if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr)) {
      if (at + 12 > end) return undefined;
      length = view.getUint32(at + 8, true);
      valueAt = at + 12;
    } else {
      length = view.getUint16(at + 6, true);
      valueAt = at + 8;
    }
    if (length === 0xffffffff || valueAt + length > bytes.byteLength) return undefined;
    if (vr === 'UI') {
      const value = decodeUid(bytes.subarray(valueAt, valueAt + length));
      if (elementNo === 0x0002) meta.sopClassUid = value;
      else if (elementNo === 0x0003) meta.sopInstanceUid = value;
      else if (elementNo === 0x0010) meta.transferSyntaxUid = value;
    }
    at = valueAt + length;
  }
  return meta;
}

/** True when the bytes carry the Part 10 `DICM` prefix at offset 128. */
export function isPart10(bytes: Uint8Array): boolean {
  return (
    bytes.byteLength >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

/** A UID is at most 64 chars of digits and dots; anything else is dropped rather than echoed back. */
function decodeUid(raw: Uint8Array): string | undefined {
  let s = '';
  for (const b of raw) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  s = s.trim();
  return /^[0-9.]{1,64}$/.test(s) ? s : undefined;
}

function element(elementNo: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB';
  const out = new Uint8Array((long ? 12 : 8) + value.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0002, true);
  view.setUint16(2, elementNo, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.byteLength, true);
  else view.setUint16(6, value.byteLength, true);
  out.set(value, long ? 12 : 8);
  return out;
}

/** UI values pad to even length with NUL. */
function uid(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  if (bytes.byteLength % 2 === 0) return bytes;
  const padded = new Uint8Array(bytes.byteLength + 1);
  padded.set(bytes);
  return padded;
}

/** SH / AE values pad to even length with a space. */
function text(value: string): Uint8Array {
  const ascii = value.replace(/[^\x20-\x7e]/g, '?');
  return new TextEncoder().encode(ascii.length % 2 === 0 ? ascii : `${ascii} `);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}
