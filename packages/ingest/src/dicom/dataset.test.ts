import { MalformedInputError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { parseDataset } from './dataset.js';

/** Little-endian byte builder. */
class Bytes {
  private readonly parts: number[] = [];
  u16(v: number): this {
    this.parts.push(v & 0xff, v >> 8);
    return this;
  }
  u32(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    return this;
  }
  tag(group: number, element: number): this {
    return this.u16(group).u16(element);
  }
  ascii(s: string): this {
    for (const c of s) this.parts.push(c.charCodeAt(0));
    return this;
  }
  build(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

const EXPLICIT = { littleEndian: true, explicitVr: true };
const IMPLICIT = { littleEndian: true, explicitVr: false };
const UNDEFINED = 0xffffffff;

describe('parseDataset', () => {
  it('reads undefined-length sequences and items (explicit VR)', () => {
    const b = new Bytes()
      .tag(0x0008, 0x0060)
      .ascii('CS')
      .u16(4)
      .ascii('ECG ')
      .tag(0x5400, 0x0100)
      .ascii('SQ')
      .u16(0)
      .u32(UNDEFINED)
      .tag(0xfffe, 0xe000)
      .u32(UNDEFINED)
      .tag(0x003a, 0x0020)
      .ascii('SH')
      .u16(6)
      .ascii('RHYTHM')
      .tag(0xfffe, 0xe00d)
      .u32(0)
      .tag(0xfffe, 0xe000)
      .u32(14)
      .tag(0x003a, 0x0020)
      .ascii('SH')
      .u16(6)
      .ascii('MEDIAN')
      .tag(0xfffe, 0xe0dd)
      .u32(0)
      .tag(0x0010, 0x0020)
      .ascii('LO')
      .u16(2)
      .ascii('P1')
      .build();
    const ds = parseDataset(b, 0, b.length, EXPLICIT);
    expect(ds.string(0x00080060)).toBe('ECG');
    expect(ds.items(0x54000100).map((i) => i.string(0x003a0020))).toEqual(['RHYTHM', 'MEDIAN']);
    expect(ds.string(0x00100020)).toBe('P1');
  });

  it('reads an undefined-length UN as an implicit VR sequence', () => {
    const b = new Bytes()
      .tag(0x0009, 0x1010)
      .ascii('UN')
      .u16(0)
      .u32(UNDEFINED)
      .tag(0xfffe, 0xe000)
      .u32(10)
      .tag(0x0009, 0x0001)
      .u32(2)
      .ascii('AB')
      .tag(0xfffe, 0xe0dd)
      .u32(0)
      .tag(0x0010, 0x0020)
      .ascii('LO')
      .u16(2)
      .ascii('P2')
      .build();
    const ds = parseDataset(b, 0, b.length, EXPLICIT);
    expect(ds.items(0x00091010)[0]?.string(0x00090001)).toBe('AB');
    expect(ds.string(0x00100020)).toBe('P2');
  });

  it('recognises unknown sequences in implicit VR by their item tag, and falls back to data when that fails', () => {
    const b = new Bytes()
      .tag(0x0040, 0xa730)
      .u32(18) // ContentSequence, not in the dictionary
      .tag(0xfffe, 0xe000)
      .u32(10)
      .tag(0x0008, 0x0100)
      .u32(2)
      .ascii('C1')
      .tag(0x0011, 0x0010)
      .u32(8) // data that only looks like an item
      .tag(0xfffe, 0xe000)
      .u32(99)
      .build();
    const ds = parseDataset(b, 0, b.length, IMPLICIT);
    expect(ds.items(0x0040a730)[0]?.string(0x00080100)).toBe('C1');
    expect(ds.get(0x0040a730)?.vr).toBe('SQ');
    expect(ds.items(0x00110010)).toEqual([]);
    expect(ds.get(0x00110010)?.vr).toBe('UN');
    expect(ds.get(0x00110010)?.length).toBe(8);
  });

  it('refuses elements and items that run past their container, missing delimiters and deep nesting', () => {
    const past = new Bytes().tag(0x0010, 0x0020).ascii('LO').u16(40).ascii('P1').build();
    expect(() => parseDataset(past, 0, past.length, EXPLICIT)).toThrow(MalformedInputError);
    const open = new Bytes()
      .tag(0x5400, 0x0100)
      .ascii('SQ')
      .u16(0)
      .u32(UNDEFINED)
      .tag(0xfffe, 0xe000)
      .u32(UNDEFINED)
      .build();
    expect(() => parseDataset(open, 0, open.length, EXPLICIT)).toThrow(/no delimiter/);
    let deep = new Bytes();
    for (let i = 0; i < 40; i++)
      deep = deep.tag(0x5400, 0x0100).ascii('SQ').u16(0).u32(UNDEFINED).tag(0xfffe, 0xe000).u32(UNDEFINED);
    const deepBytes = deep.build();
    expect(() => parseDataset(deepBytes, 0, deepBytes.length, EXPLICIT)).toThrow(/nested too deep/);
  });

  it('reads a defined-length sequence on first use: a broken item surfaces then, not when the data set is parsed', () => {
    const b = new Bytes()
      .tag(0x0040, 0xb020)
      .ascii('SQ')
      .u16(0)
      .u32(16) // WaveformAnnotationSequence, whose only item claims more bytes than the sequence holds
      .tag(0xfffe, 0xe000)
      .u32(40)
      .tag(0x0008, 0x0100)
      .ascii('SH')
      .u16(0)
      .tag(0x0010, 0x0020)
      .ascii('LO')
      .u16(2)
      .ascii('P3')
      .build();
    const ds = parseDataset(b, 0, b.length, EXPLICIT);
    expect(ds.string(0x00100020)).toBe('P3');
    expect(() => ds.items(0x0040b020)).toThrow(/item runs past its sequence/);
    expect(() => ds.items(0x0040b020)).toThrow(/item runs past its sequence/);
  });

  it('walks an undefined-length sequence when parsing, and reads the same items later', () => {
    const item = (value: string) =>
      new Bytes().tag(0xfffe, 0xe000).u32(UNDEFINED).tag(0x0008, 0x0100).ascii('SH').u16(2).ascii(value);
    const head = new Bytes().tag(0x0040, 0xb020).ascii('SQ').u16(0).u32(UNDEFINED).build();
    const items = [item('A1'), item('A2')].map((i) => i.tag(0xfffe, 0xe00d).u32(0).build());
    const tail = new Bytes().tag(0xfffe, 0xe0dd).u32(0).tag(0x0010, 0x0020).ascii('LO').u16(2).ascii('P4').build();
    const whole = new Uint8Array([...head, ...items.flatMap((i) => [...i]), ...tail]);
    const ds = parseDataset(whole, 0, whole.length, EXPLICIT);
    expect(ds.string(0x00100020)).toBe('P4');
    expect(ds.get(0x0040b020)?.length).toBe(whole.length - 12 - 8 - 10);
    expect(ds.items(0x0040b020).map((i) => i.string(0x00080100))).toEqual(['A1', 'A2']);
    // An item without its delimiter is found by the walk, before anyone asks for the items.
    const broken = new Uint8Array([...head, ...item('A1').build(), ...tail]);
    expect(() => parseDataset(broken, 0, broken.length, EXPLICIT)).toThrow(MalformedInputError);
  });

  it('checks value lengths of numbers', () => {
    const b = new Bytes().tag(0x003a, 0x0005).ascii('US').u16(1).ascii('x').ascii(' ').build();
    const ds = parseDataset(b.subarray(0, 9), 0, 9, EXPLICIT);
    expect(() => ds.uint16(0x003a0005)).toThrow(/shorter than 2 bytes/);
  });
});

describe('parseDataset stopAtTag', () => {
  it('stops before the first top-level element at or above the tag, and says where', () => {
    const b = new Bytes()
      .tag(0x0008, 0x0016)
      .ascii('UI')
      .u16(4)
      .ascii('1.2\0')
      .tag(0x0020, 0x000d)
      .ascii('UI')
      .u16(4)
      .ascii('1.3\0')
      .tag(0x0020, 0x000e)
      // garbage after the stop is never read
      .ascii('??')
      .u16(0xffff)
      .build();
    const ds = parseDataset(b, 0, b.length, EXPLICIT, { stopAtTag: 0x0020000e });
    expect(ds.string(0x0020000d)).toBe('1.3');
    expect(ds.end).toBe(24);
    expect(() => parseDataset(b, 0, b.length, EXPLICIT)).toThrow(MalformedInputError);
    expect(parseDataset(b, 0, b.length, EXPLICIT, { stopAtTag: 0x00080017 }).end).toBe(12);
  });
});
