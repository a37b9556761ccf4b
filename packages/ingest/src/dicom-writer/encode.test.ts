import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { readPart10Header } from '../dicom/part10.js';
import { ds, ECGCAD_IMPLEMENTATION_VERSION_NAME, encodeElements, encodePart10, tag } from './encode.js';
import { ECGCAD_IMPLEMENTATION_CLASS_UID } from './uid.js';

const TWELVE_LEAD = '1.2.840.10008.5.1.4.1.1.9.1.1';
const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** dicom-parser (an independent reader) over the bytes. */
const parse = (bytes: Uint8Array) => dicomParser.parseDicom(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));

describe('encodeElements', () => {
  it('sorts by tag, pads UI with NUL and other strings with a space, writes long headers for OB/OW/SQ/UT', () => {
    const bytes = encodeElements([
      { tag: tag(0x0010, 0x0010), vr: 'PN', value: 'A^B' },
      { tag: tag(0x0008, 0x0018), vr: 'UI', value: '1.2.3' },
      { tag: tag(0x5400, 0x1010), vr: 'OW', value: new Uint8Array([1, 0, 2, 0]) },
    ]);
    // (0008,0018) UI len 6 "1.2.3\0"
    expect([...bytes.subarray(0, 14)]).toEqual([8, 0, 0x18, 0, 0x55, 0x49, 6, 0, 0x31, 0x2e, 0x32, 0x2e, 0x33, 0]);
    // (0010,0010) PN len 4 "A^B "
    expect([...bytes.subarray(14, 26)]).toEqual([0x10, 0, 0x10, 0, 0x50, 0x4e, 4, 0, 0x41, 0x5e, 0x42, 0x20]);
    // (5400,1010) OW, 2 reserved bytes, 32-bit length 4
    expect([...bytes.subarray(26, 42)]).toEqual([0, 0x54, 0x10, 0x10, 0x4f, 0x57, 0, 0, 4, 0, 0, 0, 1, 0, 2, 0]);
  });

  it('refuses odd-length OB/OW values and short-header values over 64 KiB', () => {
    expect(() => encodeElements([{ tag: tag(0x5400, 0x1010), vr: 'OW', value: new Uint8Array(3) }])).toThrow(
      RangeError,
    );
    expect(() => encodeElements([{ tag: tag(0x0008, 0x1030), vr: 'LO', value: 'x'.repeat(70_000) }])).toThrow(
      RangeError,
    );
  });

  it('formats decimal strings in at most 16 characters', () => {
    expect(ds(2.5)).toBe('2.5');
    expect(ds(1 / 3).length).toBeLessThanOrEqual(16);
    expect(Number(ds(1 / 3))).toBeCloseTo(1 / 3, 9);
    expect(ds(1.23456789e-20).length).toBeLessThanOrEqual(16);
    expect(() => ds(Number.NaN)).toThrow(RangeError);
  });
});

describe('encodePart10', () => {
  it('writes preamble, DICM and a meta group whose length is right, then the encoded elements', () => {
    const file = encodePart10(
      {
        mediaStorageSopClassUid: TWELVE_LEAD,
        mediaStorageSopInstanceUid: '1.2.3.4',
        transferSyntaxUid: EXPLICIT_LITTLE,
      },
      [
        { tag: tag(0x0008, 0x0016), vr: 'UI', value: TWELVE_LEAD },
        { tag: tag(0x0008, 0x0018), vr: 'UI', value: '1.2.3.4' },
        { tag: tag(0x5400, 0x0100), vr: 'SQ', value: [[{ tag: tag(0x003a, 0x0020), vr: 'SH', value: 'RHYTHM' }]] },
      ],
    );
    const parsed = parse(file);
    expect(parsed.string('x00020002')).toBe(TWELVE_LEAD);
    expect(parsed.string('x00020003')).toBe('1.2.3.4');
    expect(parsed.string('x00020010')).toBe(EXPLICIT_LITTLE);
    expect(parsed.string('x00020012')).toBe(ECGCAD_IMPLEMENTATION_CLASS_UID);
    expect(parsed.string('x00020013')).toBe(ECGCAD_IMPLEMENTATION_VERSION_NAME);
    expect(parsed.elements.x00020016).toBeUndefined();
    expect(parsed.string('x00080018')).toBe('1.2.3.4');
    expect(parsed.elements.x54000100?.items?.[0]?.dataSet?.string('x003a0020')).toBe('RHYTHM');
    const groupLength = parsed.uint32('x00020000') ?? 0;
    // The first data set element starts where the group length says the meta group ends.
    expect(new DataView(file.buffer).getUint16(132 + 12 + groupLength, true)).toBe(0x0008);
    expect(readPart10Header(file).datasetStart).toBe(132 + 12 + groupLength);
  });

  it('wraps data set bytes received over the network unchanged, naming the calling AE title', () => {
    // (0008,0060) CS "ECG " in implicit VR little endian, as a C-STORE may carry it.
    const dataset = new Uint8Array([0x08, 0x00, 0x60, 0x00, 0x04, 0x00, 0x00, 0x00, 0x45, 0x43, 0x47, 0x20]);
    const file = encodePart10(
      {
        mediaStorageSopClassUid: TWELVE_LEAD,
        mediaStorageSopInstanceUid: '1.2.3.45',
        transferSyntaxUid: IMPLICIT_LITTLE,
        sourceAeTitle: '  CART\u00e9 WITH A VERY LONG TITLE ',
      },
      dataset,
    );
    expect(Array.from(file.subarray(file.length - dataset.length))).toEqual(Array.from(dataset));
    const meta = dicomParser.readPart10Header(Buffer.from(file));
    expect(meta.string('x00020010')).toBe(IMPLICIT_LITTLE);
    expect(meta.string('x00020003')).toBe('1.2.3.45');
    // AE: trimmed, cut to 16 characters, non-ASCII replaced.
    expect(meta.string('x00020016')).toBe('CART? WITH A VER');
    const groupLength = meta.uint32('x00020000') ?? 0;
    expect(132 + 12 + groupLength + dataset.length).toBe(file.length);
    // The project's reader finds the same boundary and the data set in its own syntax.
    const header = readPart10Header(file);
    expect(header).toMatchObject({ transferSyntaxUid: IMPLICIT_LITTLE, sopInstanceUid: '1.2.3.45' });
    expect(header.datasetStart).toBe(file.length - dataset.length);
    expect(parse(file).string('x00080060')).toBe('ECG');
  });

  it('joins data set fragments (PDV values) into the same file as the whole bytes', () => {
    const dataset = new Uint8Array([0x08, 0x00, 0x60, 0x00, 0x04, 0x00, 0x00, 0x00, 0x45, 0x43, 0x47, 0x20]);
    const meta = {
      mediaStorageSopClassUid: TWELVE_LEAD,
      mediaStorageSopInstanceUid: '1.2.3.45',
      transferSyntaxUid: IMPLICIT_LITTLE,
    };
    const whole = encodePart10(meta, dataset);
    const joined = encodePart10(meta, {
      fragments: [dataset.subarray(0, 5), dataset.subarray(5, 5), dataset.subarray(5)],
    });
    expect(Array.from(joined)).toEqual(Array.from(whole));
  });
});
