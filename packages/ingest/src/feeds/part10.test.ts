import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATION_CLASS_UID, isPart10, readPart10Meta, writePart10 } from './part10.js';

describe('Part 10 meta header', () => {
  it('writes a header that reads back, with even-length values and a correct group length', () => {
    const dataset = new Uint8Array([0x08, 0x00, 0x60, 0x00, 0x43, 0x53, 0x04, 0x00, 0x45, 0x43, 0x47, 0x20]);
    const file = writePart10(dataset, {
      sopClassUid: '1.2.840.10008.5.1.4.1.1.9.1.1',
      sopInstanceUid: '1.2.3.45',
      transferSyntaxUid: '1.2.840.10008.1.2',
      sourceAeTitle: 'CART',
    });
    expect(isPart10(file)).toBe(true);
    expect(readPart10Meta(file)).toEqual({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.9.1.1',
      sopInstanceUid: '1.2.3.45',
      transferSyntaxUid: '1.2.840.10008.1.2',
    });
    const view = new DataView(file.buffer);
    const groupLength = view.getUint32(132 + 8, true);
    expect(132 + 12 + groupLength + dataset.byteLength).toBe(file.byteLength);
    expect(Array.from(file.subarray(file.byteLength - dataset.byteLength))).toEqual(Array.from(dataset));
    expect(new TextDecoder().decode(file)).toContain(IMPLEMENTATION_CLASS_UID);
  });

  it('returns undefined for non-Part-10 bytes and never throws on hostile ones', () => {
    expect(readPart10Meta(new TextEncoder().encode('<AnnotatedECG/>'))).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
        const bytes = new Uint8Array(132 + tail.byteLength);
        bytes.set([0x44, 0x49, 0x43, 0x4d], 128);
        bytes.set(tail, 132);
        const meta = readPart10Meta(bytes);
        if (meta?.sopInstanceUid !== undefined) expect(meta.sopInstanceUid).toMatch(/^[0-9.]+$/);
      }),
      { numRuns: 500 },
    );
  });
});
