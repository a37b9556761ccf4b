import { describe, expect, it } from 'vitest';
import { detectFormat } from './sniff.js';
import { decodeXmlText, findXmlRoot } from './xml.js';

const enc = (s: string) => new TextEncoder().encode(s);

function utf16(s: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + s.length * 2);
  const dv = new DataView(out.buffer);
  if (bom) dv.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < s.length; i++) dv.setUint16((bom ? 2 : 0) + i * 2, s.charCodeAt(i), littleEndian);
  return out;
}

describe('detectFormat', () => {
  it('recognises DICOM Part 10 and bare data sets', () => {
    const p10 = new Uint8Array(200);
    p10.set(enc('DICM'), 128);
    expect(detectFormat(p10)).toBe('dicom');
    // (0008,0016) UI, explicit VR
    expect(detectFormat(new Uint8Array([0x08, 0, 0x16, 0, 0x55, 0x49, 2, 0, 0x31, 0]))).toBe('dicom');
    // (0008,0005) implicit VR, length 10
    expect(detectFormat(new Uint8Array([0x08, 0, 0x05, 0, 10, 0, 0, 0, ...new Array(10).fill(0x41)]))).toBe('dicom');
    // group 0008 but an impossible implicit length
    expect(detectFormat(new Uint8Array([0x08, 0, 0x05, 0, 0xff, 0xff, 0, 0, 1, 2]))).toBe('unknown');
  });

  it('recognises XML roots behind declarations, comments, DOCTYPEs and BOMs', () => {
    const aecg = '<?xml version="1.0"?>\n<!-- c --><AnnotatedECG xmlns="urn:hl7-org:v3"><id/></AnnotatedECG>';
    expect(detectFormat(enc(aecg))).toBe('aecg');
    expect(detectFormat(enc(`\ufeff${aecg}`))).toBe('aecg');
    expect(detectFormat(utf16(aecg, true, true))).toBe('aecg');
    expect(detectFormat(utf16(aecg, false, true))).toBe('aecg');
    expect(detectFormat(utf16(aecg, true, false))).toBe('aecg');
    expect(detectFormat(enc('<v3:AnnotatedECG xmlns:v3="urn:hl7-org:v3"/>'))).toBe('aecg');
    expect(detectFormat(enc('<AnnotatedECG xmlns="urn:other"/>'))).toBe('unknown');
    expect(detectFormat(enc('<?xml version="1.0"?><!DOCTYPE RestingECG SYSTEM "restecg.dtd"><RestingECG/>'))).toBe(
      'ge-muse',
    );
    expect(
      detectFormat(enc('<!DOCTYPE x [<!ENTITY a "b">]><restingecgdata xmlns="http://www3.medical.philips.com"/>')),
    ).toBe('philips-sierra');
    expect(detectFormat(enc('<html><body/></html>'))).toBe('unknown');
  });

  it('says unknown for empty, tiny and random input', () => {
    expect(detectFormat(new Uint8Array(0))).toBe('unknown');
    expect(detectFormat(enc('hello'))).toBe('unknown');
    expect(detectFormat(enc('<'))).toBe('unknown');
    expect(detectFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('unknown');
  });
});

describe('xml helpers', () => {
  it('honours an ISO-8859-1 declaration', () => {
    const bytes = new Uint8Array([...enc('<?xml version="1.0" encoding="ISO-8859-1"?><a>'), 0xe9, ...enc('</a>')]);
    expect(decodeXmlText(bytes)).toContain('<a>\u00e9</a>');
  });
  it('finds prefixed roots and their namespace', () => {
    expect(findXmlRoot('<p:Root xmlns="x" xmlns:p="y">')).toEqual({ localName: 'Root', namespace: 'y' });
    expect(findXmlRoot('<!-- never closed')).toBeUndefined();
  });
});
