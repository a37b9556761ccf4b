import { MalformedInputError } from '@ecgcad/ecg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bareDatasetEncoding,
  DICOM_TRANSFER_SYNTAXES,
  encodingOfTransferSyntax,
  isBareDicomDataset,
  isDicomPart10,
  readPart10Header,
  readPart10Meta,
} from './part10.js';

/** One explicit VR little endian element with a 16-bit length (written by hand: the writer is tested apart). */
function element(group: number, elementNo: number, vr: string, text: string): number[] {
  const value = [...text].map((c) => c.charCodeAt(0));
  if (value.length % 2 === 1) value.push(0);
  return [group & 0xff, group >> 8, elementNo & 0xff, elementNo >> 8, vr.charCodeAt(0), vr.charCodeAt(1)]
    .concat([value.length & 0xff, value.length >> 8])
    .concat(value);
}

function file(meta: number[], dataset: number[]): Uint8Array {
  const bytes = new Uint8Array(132 + meta.length + dataset.length);
  bytes.set([0x44, 0x49, 0x43, 0x4d], 128);
  bytes.set(meta, 132);
  bytes.set(dataset, 132 + meta.length);
  return bytes;
}

const SOP_CLASS = '1.2.840.10008.5.1.4.1.1.9.1.1';
// (0008,0016) in implicit VR little endian: the data set need not share the meta header's encoding.
const IMPLICIT_DATASET = [0x08, 0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x31, 0x2e, 0x32, 0x00];

describe('isDicomPart10 / isBareDicomDataset', () => {
  it('tells Part 10 files, bare data sets and other bytes apart', () => {
    const p10 = file([], []);
    expect(isDicomPart10(p10)).toBe(true);
    expect(isDicomPart10(p10.subarray(0, 131))).toBe(false);
    expect(isDicomPart10(new TextEncoder().encode('<AnnotatedECG/>'))).toBe(false);
    expect(isBareDicomDataset(new Uint8Array(IMPLICIT_DATASET))).toBe(true);
    expect(isBareDicomDataset(new Uint8Array(element(0x0008, 0x0016, 'UI', '1.2')))).toBe(true);
    // group 0008 but an impossible implicit length
    expect(isBareDicomDataset(new Uint8Array([0x08, 0, 0x05, 0, 0xff, 0xff, 0, 0, 1, 2]))).toBe(false);
  });

  it('guesses a bare data set explicit when bytes 4-5 are a VR, else implicit; little endian always', () => {
    expect(bareDatasetEncoding(new Uint8Array(element(0x0008, 0x0016, 'UI', '1.2')))).toEqual({
      littleEndian: true,
      explicitVr: true,
    });
    expect(bareDatasetEncoding(new Uint8Array(IMPLICIT_DATASET))).toEqual({ littleEndian: true, explicitVr: false });
  });
});

describe('readPart10Meta / readPart10Header', () => {
  it('walks group 0002 whatever the group length says, and finds where the data set starts', () => {
    const meta = [
      ...element(0x0002, 0x0000, 'UL', ''), // a group length of 0: wrong, and ignored
      ...element(0x0002, 0x0002, 'UI', SOP_CLASS),
      ...element(0x0002, 0x0003, 'UI', '1.2.3.45'),
      ...element(0x0002, 0x0010, 'UI', DICOM_TRANSFER_SYNTAXES.implicitLittle),
    ];
    const bytes = file(meta, IMPLICIT_DATASET);
    expect(readPart10Header(bytes)).toEqual({
      transferSyntaxUid: DICOM_TRANSFER_SYNTAXES.implicitLittle,
      sopClassUid: SOP_CLASS,
      sopInstanceUid: '1.2.3.45',
      datasetStart: 132 + meta.length,
    });
  });

  it('reads a meta header with no data set after it', () => {
    const meta = element(0x0002, 0x0010, 'UI', DICOM_TRANSFER_SYNTAXES.explicitLittle);
    expect(readPart10Header(file(meta, [])).datasetStart).toBe(132 + meta.length);
  });

  it('gives what it found without a transfer syntax; the header reader then refuses the file', () => {
    const bytes = file(element(0x0002, 0x0003, 'UI', '1.2.3.45'), IMPLICIT_DATASET);
    expect(readPart10Meta(bytes)).toEqual({ sopInstanceUid: '1.2.3.45', datasetStart: 132 + 16 });
    expect(() => readPart10Header(bytes)).toThrow(/missing TransferSyntaxUID/);
  });

  it('throws MalformedInputError on a meta element that runs past the end', () => {
    const meta = element(0x0002, 0x0010, 'UI', DICOM_TRANSFER_SYNTAXES.explicitLittle);
    meta[6] = 0xff; // length 255, past the end
    expect(() => readPart10Meta(file(meta, []))).toThrow(MalformedInputError);
  });

  it('throws nothing but MalformedInputError on hostile bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
        const bytes = file([...tail], []);
        try {
          const meta = readPart10Meta(bytes);
          expect(meta.datasetStart).toBeGreaterThanOrEqual(132);
          expect(meta.datasetStart).toBeLessThanOrEqual(bytes.length);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedInputError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodingOfTransferSyntax', () => {
  it('maps the three uncompressed syntaxes and nothing else', () => {
    expect(encodingOfTransferSyntax(DICOM_TRANSFER_SYNTAXES.implicitLittle)).toEqual({
      littleEndian: true,
      explicitVr: false,
    });
    expect(encodingOfTransferSyntax(DICOM_TRANSFER_SYNTAXES.explicitLittle)).toEqual({
      littleEndian: true,
      explicitVr: true,
    });
    expect(encodingOfTransferSyntax(DICOM_TRANSFER_SYNTAXES.explicitBig)).toEqual({
      littleEndian: false,
      explicitVr: true,
    });
    expect(encodingOfTransferSyntax('1.2.840.10008.1.2.1.99')).toBeUndefined();
  });
});
